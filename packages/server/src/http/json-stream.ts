import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";

/** A JSON array written batch by batch as the batches are read, so a long list never sits in memory at once. */
export async function* jsonArray<T>(batches: AsyncIterable<T[]>, toJson: (batch: T[]) => Promise<string[]> | string[]): AsyncGenerator<string> {
  yield "[";
  let first = true;
  for await (const batch of batches) {
    const items = await toJson(batch);
    if (items.length === 0) continue;
    yield (first ? "" : ",") + items.join(",");
    first = false;
  }
  yield "]";
}

/** Sends generated JSON text as the body. Streams bypass Fastify's serializer; the route schema still documents the shape. */
export function sendJsonStream(reply: FastifyReply, chunks: AsyncIterable<string>): FastifyReply {
  return reply.type("application/json; charset=utf-8").send(Readable.from(chunks));
}

/** Sends JSON text rendered elsewhere (the store) as it is: Fastify does not serialize a string sent with a JSON type. */
export function sendJsonText(reply: FastifyReply, json: string): FastifyReply {
  return reply.type("application/json; charset=utf-8").send(json);
}
