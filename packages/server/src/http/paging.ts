import type { FastifyRequest } from "fastify";
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

/** `Link` header value pointing at the same request with the next cursor. */
export function nextLink(request: FastifyRequest, cursor: string): string {
  const url = new URL(request.url, "http://placeholder");
  url.searchParams.set("cursor", cursor);
  return `<${url.pathname}${url.search}>; rel="next"`;
}
