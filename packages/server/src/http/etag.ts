import { Type } from "typebox";
import { ApiError } from "./errors.js";
import { bounded } from "./validation.js";

/** The request header of a guarded write (declared on the route, so it shows in the OpenAPI). */
export const IfMatchHeaders = Type.Object({
  "if-match": Type.Optional(Type.String({ description: "ETag of the version this change is based on; 412 when stale" })),
});

/** Versioned resources (users, groups) carry their version column as a strong ETag. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * The version a write must find, from its `If-Match` header: undefined when the header is absent or
 * `*` (any version). A weak tag names the same version. A header naming no version we could hold
 * can never match, so it is a 412 like a stale one.
 */
export function ifMatchVersion(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header.join(",") : header).trim();
  if (value === "*") return undefined;
  const match = /^(?:W\/)?"(\d{1,15})"$/.exec(value);
  if (!match) throw new ApiError("preconditionFailed", "The If-Match header does not name a current version.", { ifMatch: bounded(value) });
  return Number(match[1]);
}
