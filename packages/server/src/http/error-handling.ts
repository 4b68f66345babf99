import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { DomainError } from "../domain/errors.js";
import { asStoreBusy, asStoreUnreachable } from "../storage/busy.js";
import { ApiError, ErrorCodes, errorBody, fromDomainError } from "./errors.js";
import { bounded, describeValidation } from "./validation.js";
import { HSTS } from "./security-headers.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The body types a route takes, when not JSON (its 415 names them). */
    accepts?: string[];
    /** The body's fields are all optional: no body (or an empty one sent as JSON) is read as `{}`. */
    bodyOptional?: boolean;
  }
}

/**
 * Every answer that is not a success goes through here, whoever noticed the problem: a route, the
 * schema validation, the body parser, the router (a bad URL, no such route, a method the path does
 * not have) or Node's HTTP parser. All of them answer in the spec's error shape and never echo the
 * request back.
 */

/** Maps every failure to the spec's error shape; only unexpected ones are 500 and logged. */
export function handleError(this: FastifyInstance, thrown: FastifyError | ApiError | DomainError, request: FastifyRequest, reply: FastifyReply) {
  // A refusal before a large body was read (a 401 or 415 of an upload): what the client goes on sending
  // is read for a moment (so that it reads the answer, not a reset), not for as long as it likes.
  if (!request.raw.complete && largeBody(request.raw)) reply.raw.once("finish", () => drainThenClose(request.raw));
  const busy = asStoreBusy(thrown);
  const unreachable = busy || clientWentAway(thrown, request.raw) ? undefined : asStoreUnreachable(thrown);
  // What the store answered goes to the log (its code and the route's pattern: no values, no SQL); the client learns only to try again.
  const route = `${request.method} ${request.routeOptions.url}`;
  if (busy) request.log.warn({ storeCode: busy.storeCode, attempts: busy.attempts, route }, "the store stayed busy: answered 503");
  if (unreachable) request.log.warn({ storeCode: unreachable.storeCode, route }, "the store cannot be reached: answered 503");
  const stored = busy ?? unreachable;
  const error = stored ? fromDomainError(stored) : thrown instanceof DomainError ? fromDomainError(thrown) : thrown;
  if (error instanceof ApiError) {
    if (error.status === 401) void reply.header("www-authenticate", 'Bearer realm="ecm-security"');
    // Every 503 says when to try again (a refusal that knows better says so in its info).
    if (typeof error.info.retryAfterSeconds === "number") void reply.header("retry-after", String(error.info.retryAfterSeconds));
    else if (error.status === 503) void reply.header("retry-after", "5");
    return reply.code(error.status).send(error.body);
  }
  if (error.validation) {
    const { message, info } = describeValidation(error.validation, error.validationContext ?? "body");
    return reply.code(400).send(errorBody(ErrorCodes.invalidRequest.code, message, info));
  }
  const { code, status } = classify(error);
  // A client that went away while its body was read (an upload cut) is no fault of ours: noted, not an error.
  if (status >= 500 && clientWentAway(error, request.raw)) {
    request.log.info("the client went away while its request was read");
    return reply.code(400).send(errorBody(ErrorCodes.invalidRequest.code, "The request was cut off before its body was read."));
  }
  if (status >= 500) {
    request.log.error({ err: error }, "request failed");
    return reply.code(status).send(errorBody(code, "An internal error occurred."));
  }
  return reply.code(status).send(errorBody(code, bodyProblem(error, request) ?? error.message));
}

/** A body larger than this, or of a size not said (chunked), is not read to its end after a refusal. */
const LARGE_BODY_BYTES = 64 * 1024;
/** How much more of such a body is read after the refusal was sent, at most… */
const DRAIN_BYTES = 8 << 20;
/** …and for how long. */
const DRAIN_MS = 2000;

/** The bytes of body a request says it sends: Infinity when it does not say (chunked), 0 for none. */
export function declaredBodyBytes(request: IncomingMessage): number {
  return request.headers["transfer-encoding"] !== undefined ? Infinity : Number(request.headers["content-length"] ?? 0) || 0;
}

function largeBody(request: IncomingMessage): boolean {
  return declaredBodyBytes(request) > LARGE_BODY_BYTES;
}

/**
 * After a refusal sent while a large body was still coming: lets Node read on (discarding) for
 * DRAIN_MS or DRAIN_BYTES, whichever comes first, then closes the connection — a client reads the
 * answer, not a reset mid-upload, and cannot make the server read gigabytes.
 */
function drainThenClose(request: IncomingMessage): void {
  const socket = request.socket;
  if (!socket || request.complete) return;
  // Node reads the rest of the body itself (and drops it); what it read is counted on the socket.
  const start = socket.bytesRead;
  const close = () => {
    clearTimeout(timer);
    clearInterval(watch);
    socket.destroy();
  };
  const timer = setTimeout(close, DRAIN_MS);
  const watch = setInterval(() => {
    if (request.complete) {
      clearTimeout(timer);
      clearInterval(watch);
    } else if (socket.bytesRead - start > DRAIN_BYTES) close();
  }, 20);
  socket.once("close", () => {
    clearTimeout(timer);
    clearInterval(watch);
  });
}

/** The error of a request stream its client closed or reset (not a reset of the store's, a directory's or a provider's connection). */
export function clientWentAway(error: unknown, request: IncomingMessage): boolean {
  const code = (error as { code?: string } | null)?.code;
  const streamError = code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE" || (error as Error | null)?.message === "aborted";
  return streamError && (request.destroyed || request.socket?.destroyed === true);
}

/** What the body parser refused, in words that say what to send instead (Fastify's own are "Unsupported Media Type", "Request body is too large"). */
function bodyProblem(error: FastifyError, request: FastifyRequest): string | undefined {
  if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim();
    return `Send the body as ${(request.routeOptions.config.accepts ?? ["application/json"]).join(" or ")}, not ${type || "without a content type"}.`;
  }
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    const limit = request.routeOptions.bodyLimit;
    // A route open to anyone, or to any account, takes what its fields can hold: less than the server's limit (http/body-limits.ts).
    return limit < request.server.initialConfig.bodyLimit!
      ? `The body is larger than the ${limit} bytes this operation takes.`
      : `The body is larger than the ${limit} bytes this server takes (ECM_BODY_LIMIT_BYTES).`;
  }
  if (error.statusCode === 403 || error.statusCode === 404) return "No such resource.";
  if (error.code === "FST_ERR_CTP_EMPTY_JSON_BODY") return "The body is empty; send a JSON object.";
  if (error.code === "FST_ERR_CTP_INVALID_JSON_BODY") return "The body is not valid JSON.";
  return undefined;
}

function classify(error: FastifyError): { code: string; status: number } {
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return ErrorCodes.malformedJson;
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return ErrorCodes.bodyTooLarge;
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return ErrorCodes.unsupportedMediaType;
  }
  if (error instanceof SyntaxError) return ErrorCodes.malformedJson;
  const status = error.statusCode ?? 500;
  // The static files refuse a path that leaves their folder (403) or names no file (404): no such resource either way.
  if (status === 403 || status === 404) return ErrorCodes.routeNotFound;
  if (status >= 400 && status < 500) return { code: ErrorCodes.invalidRequest.code, status };
  return ErrorCodes.internal;
}

/** Fastify's `frameworkErrors`: errors the router meets before any route runs. The URL is not repeated (it may carry anything). */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  void reply.headers(request.protocol === "https" ? { ...BARE_SECURITY_HEADERS, "Strict-Transport-Security": HSTS } : BARE_SECURITY_HEADERS);
  if (error.code === "FST_ERR_MAX_PARAM_LENGTH") {
    return reply.code(ErrorCodes.uriTooLong.status).send(errorBody(ErrorCodes.uriTooLong.code, "A part of the path is too long.", { maxLength: MAX_PARAM_LENGTH }));
  }
  if (error.code === "FST_ERR_BAD_URL") {
    return reply.code(400).send(errorBody(ErrorCodes.invalidRequest.code, "The path is not valid: it has a malformed percent-encoding."));
  }
  return reply.code(400).send(errorBody(ErrorCodes.invalidRequest.code, "The request cannot be routed."));
}

/**
 * Whether the query of a request's URL escapes only as RFC 3986 says, in UTF-8. The router refuses a
 * path that does not (FST_ERR_BAD_URL); the query parser keeps such an escape as the text it spells, so
 * `search=%E0%A4` (bytes cut short, or of another charset) would search for "%E0%A4" and find nothing.
 */
export function wellEncodedQuery(url: string): boolean {
  const start = url.indexOf("?");
  if (start === -1 || !url.includes("%", start)) return true;
  try {
    decodeURIComponent(url.slice(start + 1));
    return true;
  } catch {
    return false;
  }
}

/** Longest path parameter the router takes (Fastify's default, 100, is shorter than a role name may be). */
export const MAX_PARAM_LENGTH = 256;

/**
 * No route for this method and path: 405 with `Allow` when the path has other methods, else 404 (also
 * when a route of this method found nothing to send).
 * `routes` is the app's route table; `staticMethods`, its paths' own methods (staticRouteMethods).
 */
export function notFoundHandler(app: FastifyInstance, routes: readonly { method: string }[], staticMethods: StaticRouteMethods) {
  return (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split("?")[0]!;
    const methods = [...new Set(routes.map((r) => r.method))];
    // A path of its own (`…/users/count`) takes its own methods, not those of a pattern it also fits (`…/users/:id`).
    const allowed = staticMethods(path) ?? methods.filter((method) => app.findRoute({ method: method as "GET", url: path }) !== null);
    // A route of this very method that found nothing (a static file that is not there) is a 404.
    if (allowed.length > 0 && !allowed.includes(request.method)) return methodNotAllowed(request, reply, allowed);
    const { code, status } = ErrorCodes.routeNotFound;
    // The path is not said back: it is the client's (behind a proxy, a Host header of anyone's choosing).
    return reply.code(status).send(errorBody(code, `No such resource: nothing answers ${request.method} at this path.`));
  };
}

function methodNotAllowed(request: FastifyRequest, reply: FastifyReply, allowed: readonly string[]) {
  const { code, status } = ErrorCodes.methodNotAllowed;
  return reply.code(status).header("allow", allowed.join(", ")).send(errorBody(code, `${request.method} is not allowed here; this path takes ${allowed.join(", ")}.`, { allow: allowed }));
}

export type StaticRouteMethods = (path: string) => string[] | undefined;

/** The methods of each path registered without parameters (read once the table is complete, at the first request). */
export function staticRouteMethods(routes: readonly { method: string; url: string }[]): StaticRouteMethods {
  let table: Map<string, string[]> | undefined;
  return (path) => {
    if (table === undefined) {
      table = new Map();
      for (const r of routes) if (!r.url.includes(":") && !r.url.includes("*")) table.set(r.url, [...(table.get(r.url) ?? []), r.method]);
      // A HEAD alone is the trailing-slash twin of a GET route (the docs' `/docs/`), which answers GET there too.
      for (const methods of table.values()) if (methods.includes("HEAD") && !methods.includes("GET")) methods.unshift("GET");
    }
    return table.get(path);
  };
}

/**
 * `onRequest`: a request that reached a route with parameters (`GET …/users/:id`) at a path registered
 * for other methods on its own (`…/users/import`, POST) is a 405, not that route's answer (a user named "import" not found).
 */
export function methodOfOwnPath(staticMethods: StaticRouteMethods) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const pattern = request.routeOptions.url;
    if (pattern === undefined || !pattern.includes(":")) return;
    const allowed = staticMethods(request.url.split("?")[0]!);
    if (allowed !== undefined && !allowed.includes(request.method)) return methodNotAllowed(request, reply, allowed);
  };
}

/** Fastify's `clientErrorHandler`: what Node's HTTP parser refuses (no request object exists yet), in the error shape. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket) {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [status, message] =
    error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? [408, "The request took too long to arrive."]
    : error.code === "HPE_HEADER_OVERFLOW" ? [431, "The request headers are too large."]
    : [400, "The request is not valid HTTP."];
  const code = status === 400 ? ErrorCodes.invalidRequest.code : status === 408 ? ErrorCodes.requestTimeout.code : ErrorCodes.headersTooLarge.code;
  if (socket.writable) {
    // The answer to a HEAD has no body (a client would take it for the start of another answer); its length says what a GET gets.
    const { head, body } = rawAnswer(status, code, message);
    // Where the parser's pieces were not seen (a socket Node did not let its parser read natively), the piece it refused tells.
    const isHead = (socket as ReadingSocket)[READING_HEAD] ?? (error as { rawPacket?: Buffer }).rawPacket?.subarray(0, 5).toString("latin1") === "HEAD ";
    socket.write(isHead ? head : head + body);
  }
  socket.destroy(error);
}

/**
 * What every answer carries (security-headers.ts), on the answers no route's hooks see — written before
 * Fastify has a request, or by its router: an error body is never run, framed, sniffed, sent on or kept.
 */
const BARE_SECURITY_HEADERS = {
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};
const RAW_SECURITY_HEADERS = Object.entries(BARE_SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`).join("");

/**
 * What Node answers itself, in the error shape instead: an `Expect` other than 100-continue (Node's
 * own 417 has no body) and a CONNECT (Node drops the connection unanswered). An HTTP/1.1 request with
 * no Host header reaches the app (`requireHostHeader: false`), which refuses it in the same shape.
 */
export function answerWhatNodeRefuses(server: Server | HttpsServer): void {
  const whole = ({ head, body }: { head: string; body: string }) => head + body;
  server.on("checkExpectation", (request: IncomingMessage, response: ServerResponse) => {
    response.socket?.end(whole(rawAnswer(417, ErrorCodes.invalidRequest.code, `This server takes no Expect other than 100-continue, not ${bounded(String(request.headers.expect))}.`)));
  });
  server.on("connect", (_request: IncomingMessage, socket: Socket) => {
    // Node hands the socket over without its own error listener: a client that resets it must not end the process.
    socket.on("error", () => socket.destroy());
    socket.setTimeout(5000, () => socket.destroy());
    socket.end(whole(rawAnswer(405, ErrorCodes.methodNotAllowed.code, "CONNECT is not allowed: this server is no proxy.", "Allow: GET, HEAD, POST, PUT, DELETE\r\n")), () => socket.destroy());
  });
}

/** An answer in the error shape written on the socket itself, where Node or its parser would answer (no request object to reply with). */
function rawAnswer(status: number, code: string, message: string, extraHeaders = ""): { head: string; body: string } {
  const body = JSON.stringify(errorBody(code, message));
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}${RAW_SECURITY_HEADERS}Connection: close\r\n\r\n`;
  return { head, body };
}

const READING_HEAD = Symbol("readingHead");
/** Marks a request whose headers `noteHeadRequests` has seen complete (a mark, not a reference: the request can go once answered). */
const SEEN = Symbol("seen");
type SeenRequest = IncomingMessage & { [SEEN]?: true };
/** Longer than any method a client sends (`MKCALENDAR`, `VERSION-CONTROL`). */
const MAX_METHOD_LENGTH = 20;
type ReadingSocket = Socket & { [READING_HEAD]?: boolean };
/** What of Node's HTTP parser (internal, as `longUpload` uses it) this reads: each is checked before use. */
type NodeParser = { incoming?: unknown; getCurrentBuffer?: () => Buffer; constructor: { kOnExecute?: unknown } } & Record<number, unknown>;

/**
 * Notes on each connection whether the request it is reading is a HEAD, for `clientErrorHandler`:
 * the parser's refusal comes before any request object and shows only the piece of the request it
 * was reading, which for headers too large that arrived in pieces is not the request line. Node's
 * parser reads the connection natively and calls back after each piece it read: a request whose
 * headers that piece completed gives its method; a piece that neither completed one nor was all body
 * of one still arriving (the start of a request, or a body's rest and the next request) is looked at.
 * A request that arrives whole, as nearly all do, costs a few comparisons. Where Node's internals
 * are not as expected, the refused piece alone tells, as it can when a request arrives whole.
 */
export function noteHeadRequests(server: Server): void {
  // Under TLS the parser reads the decrypted connection, which the server hands out on `secureConnection`.
  server.on(server instanceof HttpsServer ? "secureConnection" : "connection", (socket: ReadingSocket) => {
    const parser = (socket as { parser?: NodeParser }).parser;
    const kOnExecute = parser?.constructor.kOnExecute;
    if (parser === undefined || typeof kOnExecute !== "number" || typeof parser.getCurrentBuffer !== "function") return;
    const onExecute = parser[kOnExecute];
    if (typeof onExecute !== "function") return;
    parser[kOnExecute] = function (this: unknown, ...args: unknown[]) {
      // The request whose headers were last complete: Node sets it as they are, and clears it (null) once it is answered.
      const current = parser.incoming as SeenRequest | null | undefined;
      const newRequest = current != null && current[SEEN] !== true;
      if (current != null) current[SEEN] = true;
      if (newRequest) socket[READING_HEAD] = current.method === "HEAD";
      // A piece that completed a request's headers, or was all body of one still arriving, starts no other
      // (but for a refused one: the refusal may be of a request that followed in the same piece).
      const refused = args[0] instanceof Error;
      if (refused || !(newRequest || (current != null && !current.complete))) {
        const head = startsHead(parser.getCurrentBuffer!(), refused);
        if (head !== undefined) socket[READING_HEAD] = head;
      }
      return (onExecute as (...a: unknown[]) => unknown).apply(this, args);
    };
  });
}

/** A request line's start: a method, a space, and a target (`/…`, `*`, `scheme:…`). */
const REQUEST_START = /(?<![A-Z_-])([A-Z][A-Z_-]{0,19}) (?:\/|\*|[a-z][a-z0-9+.-]*:)/g;

/**
 * Whether the last request that starts in `piece` is a HEAD; undefined where none starts in it. A
 * piece starts with a request, or, on a kept-alive connection, with the rest of the body of the one
 * before (which its answer did not wait for), and then the next request. `anywhere`: a piece that
 * starts with a request may hold others after it (a refused piece).
 */
function startsHead(piece: Buffer, anywhere: boolean): boolean | undefined {
  const length = methodLength(piece);
  if (length > 0 && !anywhere) return length === 4 && piece.toString("latin1", 0, 4) === "HEAD";
  let last: string | undefined;
  for (const match of piece.toString("latin1").matchAll(REQUEST_START)) last = match[1];
  return last === undefined ? undefined : last === "HEAD";
}

/** The length of the method that starts `chunk` (capitals, `-` or `_`, then a space), or 0: a piece of headers or body starts otherwise. */
function methodLength(chunk: Buffer): number {
  for (let i = 0; i < chunk.length && i <= MAX_METHOD_LENGTH; i++) {
    const byte = chunk[i]!;
    if (byte === 0x20) return i;
    if ((byte < 0x41 || byte > 0x5a) && byte !== 0x2d && byte !== 0x5f) return 0;
  }
  return 0;
}

/**
 * `preValidation` of a route without a body schema (and no body types of its own): it takes no body,
 * so fields sent to it are a 400 that names them, as an unknown field of any body is, instead of being
 * ignored (`POST …/{id}/test` with settings in it would test the stored ones). `{}` is no body.
 */
export function refuseBody(body: unknown): void {
  if (body !== null && typeof body === "object" && !Array.isArray(body)) {
    if (Object.keys(body).length === 0) return;
    const validation = [{ keyword: "additionalProperties", instancePath: "", schemaPath: "#/additionalProperties", params: {}, parentSchema: { type: "object", properties: {} }, data: body }];
    throw Object.assign(new Error("unknown fields"), { validation, validationContext: "body" });
  }
  throw new ApiError("invalidRequest", "This request takes no body: send none, or {}.", { in: "body" });
}

/**
 * `onRoute`: every query string is closed, so an unknown or misspelt parameter is a 400 that names it
 * instead of being ignored (`GET /users?locked=true` would list every user). A route without a
 * querystring schema takes no parameters.
 */
export function closeQuerystring(route: RouteOptions): void {
  const schema = (route.schema ??= {});
  const query = schema.querystring as { type?: string; additionalProperties?: unknown } | undefined;
  if (query === undefined) schema.querystring = { type: "object", properties: {}, additionalProperties: false };
  else if (query.type === "object" && query.additionalProperties === undefined) schema.querystring = { ...query, additionalProperties: false };
}
