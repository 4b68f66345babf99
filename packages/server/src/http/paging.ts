import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "./errors.js";
import { isStorableText } from "./validation.js";

/** Opaque keyset cursor: the sort key of the last item of the previous page. */
export function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ a: after }), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (parsed && typeof parsed === "object" && typeof (parsed as { a?: unknown }).a === "string" && isStorableText((parsed as { a: string }).a)) return (parsed as { a: string }).a;
  } catch {
    // falls through to the 400 below
  }
  throw new ApiError("invalidRequest", "The cursor is not valid.", { parameter: "cursor" });
}

/**
 * One page out of `max + 1` rows read: the first `max`, and when more follow a `Link: <…>; rel="next"`
 * header pointing at the same request with the cursor of the page's last row.
 */
export function keysetPage<T>(request: FastifyRequest, reply: FastifyReply, rows: T[], max: number, sortKey: (row: T) => string): T[] {
  const page = rows.slice(0, max);
  if (rows.length > max) {
    const url = new URL(request.url, "http://placeholder");
    url.searchParams.set("cursor", encodeCursor(sortKey(page[page.length - 1]!)));
    void reply.header("link", `<${url.pathname}${url.search}>; rel="next"`);
  }
  return page;
}
