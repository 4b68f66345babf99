import { gzipSync } from "node:zlib";
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
    if (!takesGzip(request.headers["accept-encoding"])) return reply.send(made.json);
    return reply.header("content-encoding", "gzip").send(made.gzip);
  };
}

/** Whether an Accept-Encoding header takes gzip: named, or `*`, with a weight above 0 (RFC 9110 12.5.3). */
function takesGzip(header: string | undefined): boolean {
  const weights = new Map<string, number>();
  for (const part of (header ?? "").split(",")) {
    const [coding = "", ...parameters] = part.split(";").map((p) => p.trim().toLowerCase());
    const q = parameters.find((p) => p.startsWith("q="));
    if (coding !== "") weights.set(coding, q === undefined ? 1 : Number(q.slice(2)) || 0);
  }
  return (weights.get("gzip") ?? weights.get("*") ?? 0) > 0;
}
