import type { FastifySchema, RouteOptions } from "fastify";
import { ErrorCodes, errorBody, type ErrorKind } from "./errors.js";

/**
 * The OpenAPI document as a product: named schemas, and every error status an operation can answer
 * with its codes and an example. The statuses are derived from what each route declares (its guard,
 * body, parameters, headers, method) when the document is built, so a route added later gets them
 * without listing them; statuses only its handler knows (409 refused, 503, …) it declares itself.
 */

/** Marks the guard's hooks with the roles they require, so the document can say who gets a 401 or 403. */
export interface GuardHook {
  requiredRoles: readonly string[];
}

export function guardOf(route: Pick<RouteOptions, "onRequest">): GuardHook | undefined {
  const hooks = [route.onRequest ?? []].flat() as unknown[];
  return hooks.find((h): h is GuardHook => typeof h === "function" && Array.isArray((h as Partial<GuardHook>).requiredRoles));
}

/** What each code means, as the document lists it, and an example message. */
const MEANING: Partial<Record<ErrorKind, { meaning: string; example: string }>> = {
  invalidRequest: { meaning: "the request breaks a rule of a field, parameter or header", example: "username is required." },
  malformedJson: { meaning: "the body is not JSON", example: "Unexpected token } in JSON at position 12" },
  bodyTooLarge: { meaning: "the body is larger than the server takes", example: "The body is larger than the 1048576 bytes this server takes (ECM_BODY_LIMIT_BYTES)." },
  unsupportedMediaType: { meaning: "the body's content type is not one the operation takes", example: "Send the body as application/json, not text/plain." },
  authenticationRequired: { meaning: "no, or an invalid, expired or revoked token or API key", example: "A bearer token is required." },
  invalidCredentials: { meaning: "wrong username or password, or an account that may not log in now", example: "The username or password is incorrect." },
  forbidden: { meaning: "the caller's roles do not allow it, or its password must be changed first", example: "You do not have permission to perform this operation." },
  requestTimeout: { meaning: "the body came too slowly (an import: below the minimum rate once its first seconds are over)", example: "The upload is too slow: at least 10000 bytes a second are needed after the first 30 s." },
  notFound: { meaning: "the object named in the path does not exist", example: "The specified user does not exist." },
  conflict: { meaning: "a name is taken", example: "A user with this username already exists." },
  refused: { meaning: "a rule refuses the change", example: "A built-in user cannot be deleted." },
  preconditionFailed: { meaning: "If-Match names a version that is no longer current", example: "The resource was changed by someone else; read it again and retry." },
  preconditionRequired: { meaning: "the operation needs an If-Match header", example: "This change needs an If-Match header." },
  tooManyRequests: { meaning: "too many attempts; Retry-After says when to try again", example: "Too many attempts; try again later." },
  unavailable: { meaning: "the server is busy (the store with other writers, password checks: nothing was changed) or the store, a directory or an identity provider cannot be reached (a write whose connection was lost after its commit was sent may have been made); Retry-After says when to try again", example: "The server is busy with other changes and nothing was changed; try again in a moment." },
  internal: { meaning: "an unexpected failure", example: "An internal error occurred." },
};

const KINDS = Object.keys(MEANING) as ErrorKind[];
const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The error kinds a route can answer with, from its declaration. */
function errorKindsOf(route: Pick<RouteOptions, "method" | "onRequest">, schema: FastifySchema): Set<ErrorKind> {
  const kinds = new Set<ErrorKind>();
  const guard = guardOf(route);
  const methods = [route.method].flat();
  if (guard) {
    kinds.add("authenticationRequired");
    // API keys are rate-limited on every use.
    kinds.add("tooManyRequests");
    if (guard.requiredRoles.length > 0) kinds.add("forbidden");
  }
  if (schema.body) ["invalidRequest", "bodyTooLarge", "unsupportedMediaType"].forEach((k) => kinds.add(k as ErrorKind));
  if (takesJson(schema)) kinds.add("malformedJson");
  if (schema.querystring || schema.params || schema.headers) kinds.add("invalidRequest");
  if (schema.params) kinds.add("notFound");
  if (hasProperty(schema.headers, "if-match")) kinds.add("preconditionFailed");
  // A concurrent writer may take a name, or change what the write is based on, first.
  if (methods.some((m) => WRITES.has(m))) kinds.add("conflict");
  // The store may stay busy through every try (other writers, no free connection): 503, send it again.
  kinds.add("unavailable");
  // Statuses the route declares itself: every code of that status that can apply to it.
  for (const status of Object.keys(schema.response ?? {}).map(Number).filter((s) => s >= 400)) {
    for (const kind of KINDS) {
      if (ErrorCodes[kind].status !== status) continue;
      if (kind === "invalidCredentials" && guard) continue;
      if (kind === "authenticationRequired" && !guard) continue;
      if (kind === "malformedJson" && !takesJson(schema)) continue;
      kinds.add(kind);
    }
  }
  return kinds;
}

/** A JSON body, the one a malformed body is refused for; a body of rows (an import) answers a bad row in its stream. */
function takesJson(schema: FastifySchema): boolean {
  return schema.body !== undefined && ((schema as { consumes?: string[] }).consumes ?? ["application/json"]).includes("application/json");
}

function hasProperty(schema: unknown, name: string): boolean {
  const properties = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties !== undefined && name in properties;
}

/**
 * The route's schema as the document shows it: its security (the bearer scheme when guarded, none
 * otherwise), an operationId from its summary unless it has one, its error responses, and the headers
 * its answers carry. `versioned`: the paths whose objects keep a version (keepsVersion).
 */
export function documentRoute(route: Pick<RouteOptions, "method" | "onRequest" | "url">, schema: FastifySchema & { operationId?: string }, versioned: ReadonlySet<string>): FastifySchema {
  const described = {
    ...schema,
    security: schema.security ?? (guardOf(route) ? [{ bearerAuth: [] }] : []),
    ...(schema.operationId === undefined && schema.summary !== undefined && { operationId: operationIdOf(schema.summary) }),
  };
  return withResponseHeaders(route, withErrorResponses(route, described), versioned);
}

/** A path whose object keeps a version: its PUT takes If-Match and answers the object, whose version is its ETag. */
export function keepsVersion(route: Pick<RouteOptions, "method" | "schema">): boolean {
  const schema = route.schema as FastifySchema | undefined;
  return [route.method].flat().includes("PUT") && hasProperty(schema?.headers, "if-match") && (schema?.response as Record<string, unknown> | undefined)?.[200] !== undefined;
}

const HEADERS = {
  Location: { type: "string", description: "The URL of what was made (201), or of the run that was started (202)" },
  Link: { type: "string", description: 'With `max`, when more follow: `<…>; rel="next"`, the URL of the next page (its cursor is opaque)' },
  ETag: { type: "string", description: "The object's version, for If-Match" },
  "Retry-After": { type: "string", description: "Seconds to wait before trying again" },
  "WWW-Authenticate": { type: "string", description: 'The scheme to authenticate with: `Bearer realm="ecm-security"`' },
} as const;

/**
 * The headers each answer of the route carries, by what it declares, as its error statuses are: what
 * it makes is at the Location of its 201 or 202; a list that takes a cursor links to its next page;
 * the object of a versioned path, as read, changed or made (the POST at its parent), has its ETag;
 * every 401 names the scheme, every 429 and 503 says when to try again (error-handling.ts).
 */
function withResponseHeaders(route: Pick<RouteOptions, "method" | "url">, schema: FastifySchema, versioned: ReadonlySet<string>): FastifySchema {
  const methods = [route.method].flat();
  const made = [...versioned].some((path) => path.startsWith(`${route.url}/:`) && !path.slice(route.url.length + 2).includes("/"));
  const byStatus: Record<string, (keyof typeof HEADERS)[]> = {
    200: [...(hasProperty(schema.querystring, "cursor") ? ["Link" as const] : []), ...(versioned.has(route.url) && methods.some((m) => m === "GET" || m === "PUT") ? ["ETag" as const] : [])],
    201: ["Location", ...(made && methods.includes("POST") ? ["ETag" as const] : [])],
    202: ["Location"],
    401: ["WWW-Authenticate"],
    429: ["Retry-After"],
    503: ["Retry-After"],
  };
  const response: Record<string, unknown> = { ...(schema.response as Record<string, unknown> | undefined) };
  for (const [status, names] of Object.entries(byStatus)) {
    if (response[status] === undefined || names.length === 0) continue;
    response[status] = { ...(response[status] as object), headers: Object.fromEntries(names.map((name) => [name, HEADERS[name]])) };
  }
  return { ...schema, response };
}

/** "Get a user's roles" → "getUsersRoles". */
function operationIdOf(summary: string): string {
  const words = summary.replace(/'/g, "").split(/[^\p{L}\p{N}]+/u).filter((w) => w && !["a", "an", "the"].includes(w.toLowerCase()));
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1))).join("");
}

/** The route's schema with an `Error` response, its codes and examples, for every status it can answer with. */
function withErrorResponses(route: Pick<RouteOptions, "method" | "onRequest">, schema: FastifySchema): FastifySchema {
  const byStatus = new Map<number, ErrorKind[]>();
  for (const kind of errorKindsOf(route, schema)) {
    const { status } = ErrorCodes[kind];
    byStatus.set(status, [...(byStatus.get(status) ?? []), kind]);
  }
  const response: Record<string, unknown> = { ...(schema.response as Record<string, unknown> | undefined) };
  for (const [status, kinds] of [...byStatus].sort(([a], [b]) => a - b)) {
    const lines = kinds.map((k) => `\`${ErrorCodes[k].code}\`: ${MEANING[k]!.meaning}`);
    const examples = Object.fromEntries(kinds.map((k) => [ErrorCodes[k].code, { summary: MEANING[k]!.meaning, value: errorBody(ErrorCodes[k].code, MEANING[k]!.example) }]));
    response[status] = {
      description: `Error codes:\n\n${lines.map((l) => `- ${l}`).join("\n")}`,
      content: { "application/json": { schema: { $ref: "Error" }, examples } },
    };
  }
  return { ...schema, response };
}

/**
 * `schema` with every embedded copy of a shared schema (one the app registered, by its `$id`)
 * replaced by a reference to it, so the document names it (`User`) instead of repeating it inline.
 */
export function referencingShared<T>(schema: T, shared: ReadonlySet<string>): T {
  if (Array.isArray(schema)) return schema.map((s) => referencingShared(s, shared)) as T;
  if (schema === null || typeof schema !== "object") return schema;
  const id = (schema as { $id?: unknown }).$id;
  if (typeof id === "string" && shared.has(id)) return { $ref: id } as T;
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, referencingShared(v, shared)])) as T;
}
