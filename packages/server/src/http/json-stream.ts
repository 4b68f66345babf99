import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import type { JsonBody } from "../storage/json-body.js";
import { whileAuthorized } from "./auth-guard.js";

/** A JSON array written as its body is read. */
export async function* jsonArray(body: JsonBody): AsyncGenerator<string | Buffer> {
  yield "[";
  yield* body;
  yield "]";
}

/** Sends generated JSON text as the body. Streams bypass Fastify's serializer; the route schema still documents the shape. */
export function sendJsonStream(reply: FastifyReply, chunks: AsyncIterable<string | Buffer>): FastifyReply {
  return reply.type("application/json; charset=utf-8").send(Readable.from(whileAuthorized(reply.request, chunks)));
}

/** Sends JSON text rendered elsewhere (the store) as it is: Fastify does not serialize a string sent with a JSON type. */
export function sendJsonText(reply: FastifyReply, json: string): FastifyReply {
  return reply.type("application/json; charset=utf-8").send(json);
}
