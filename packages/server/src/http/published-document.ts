import { gzipSync } from "node:zlib";
import negotiate from "@fastify/accept-negotiator";
import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * Sends the OpenAPI document (`document()`, complete once the routes are in) as JSON made once, the
 * first time it is asked for, and gzipped then too for the clients that take gzip. Anyone may ask for
 * it without end: made again for each request, its 372 KB cost a server process milliseconds of CPU
 * each, and a few dozen connections asking at once held every other answer of that process.
 */
export function publishedDocument(document: () => unknown): (request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  let made: { json: string; gzip: Buffer } | undefined;
  return (request, reply) => {
    if (made === undefined) {
      const json = JSON.stringify(document());
      made = { json, gzip: gzipSync(json) };
    }
    void reply.type("application/json; charset=utf-8").header("vary", "accept-encoding");
    // Accept-Encoding read as @fastify/static reads it for the console's files.
    if (negotiate(request.headers["accept-encoding"] ?? "", ["gzip"]) !== "gzip") return reply.send(made.json);
    return reply.header("content-encoding", "gzip").send(made.gzip);
  };
}
