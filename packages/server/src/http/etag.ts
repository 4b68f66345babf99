import type { FastifyRequest, RouteOptions } from "fastify";
import { Type } from "typebox";
import { checkPrecondition } from "../domain/versioned.js";
import { UUID_PATTERN } from "../domain/lookups.js";
import type { UserQueries } from "../storage/user-queries.js";
import { ApiError } from "./errors.js";
import { bounded } from "./validation.js";

/** The request header of a guarded write (declared on the route, so it shows in the OpenAPI). */
export const IfMatchHeaders = Type.Object({
  "if-match": Type.Optional(Type.String({ description: "ETag of the version this change is based on (or a list of them: any current one passes); 412 when stale" })),
});

/** Versioned resources (users, groups) carry their version column as a strong ETag. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/** An entity tag of a list (RFC 9110 8.8.3), weak or strong, after any empty elements, and the comma after it. */
const LISTED_TAG = /[\s,]*(?:W\/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)/y;

/**
 * The versions a write may find, from its `If-Match` header (a list of tags: any one may match):
 * undefined when the header is absent or `*` (any version). A weak tag names the same version. A
 * header naming no version we could hold can never match, so it is a 412 like a stale one.
 */
export function ifMatchVersions(header: string | string[] | undefined): readonly number[] | undefined {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header.join(",") : header).trim();
  if (value === "*") return undefined;
  const versions: number[] = [];
  let read = 0;
  LISTED_TAG.lastIndex = 0;
  for (let match = LISTED_TAG.exec(value); match; match = LISTED_TAG.exec(value)) {
    read = LISTED_TAG.lastIndex;
    if (/^\d{1,15}$/.test(match[1]!)) versions.push(Number(match[1]));
  }
  // Empty elements are allowed anywhere (RFC 9110 5.6.1), anything else left over is not a list.
  if (versions.length === 0 || !/^[\s,]*$/.test(value.slice(read))) {
    throw new ApiError("preconditionFailed", "The If-Match header does not name a current version.", { ifMatch: bounded(value) });
  }
  return versions;
}

/** A write to a part of a user (its password, groups, lockout, keys, links): `…/users/:id/<part>`. */
const USER_PART = /\/security\/v1\/users\/:id\/./;

/**
 * `onRoute`: a write to a part of a user takes `If-Match` with the user's ETag, as a write to the user
 * does: 412 when the user has changed since that version (without the header, nothing is checked).
 * Checked here before any work (a password's hash), and again by the write in its own transaction
 * (domain/versioned.ts holdVersion), where a change committed meanwhile is seen.
 */
export function userPartPrecondition(users: Pick<UserQueries, "findByUuid">) {
  const check = async (request: FastifyRequest) => {
    const versions = ifMatchVersions(request.headers["if-match"]);
    if (versions === undefined) return;
    const { id } = request.params as { id: string };
    // No such user: the route says so.
    const user = UUID_PATTERN.test(id) ? await users.findByUuid(id.toLowerCase()) : undefined;
    if (user) checkPrecondition(user, versions);
  };
  return (route: RouteOptions) => {
    if (!USER_PART.test(route.url) || ![route.method].flat().some((m) => m === "PUT" || m === "POST" || m === "DELETE")) return;
    const schema = (route.schema ??= {});
    const headers = schema.headers as { properties?: Record<string, unknown> } | undefined;
    schema.headers = headers === undefined ? IfMatchHeaders : Type.Object({ ...(headers.properties ?? {}), ...IfMatchHeaders.properties });
    route.preHandler = [...[route.preHandler ?? []].flat(), check] as RouteOptions["preHandler"];
  };
}
