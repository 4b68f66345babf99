import fc from "fast-check";
import { TOKEN_KINDS, type TokenKind } from "./credentials.js";
import { almostValidValue, collectionOf, hostileString, hostileValue, Nested, poolKindOf, PoolPick, validValue, type JsonSchema } from "./schema-values.js";

/** One operation of the server: from the OpenAPI document, or from the route table for routes it does not show (docs, console). */
export interface Operation {
  method: string;
  /** The path below the base URL, parameters as `{name}`. */
  path: string;
  parameters: { name: string; in: "path" | "query" | "header"; required: boolean; schema: JsonSchema }[];
  body?: { contentTypes: string[]; schema?: JsonSchema };
  /** Statuses the document says the operation can answer with. */
  declared: Set<number>;
}

/** A segment of the path: a value (percent-encoded when sent) or raw text sent as it is (bad encodings, dots, slashes). */
export type Segment = { value: unknown } | { raw: string };

export type Body = { json: unknown; contentType?: string } | { raw: string | Buffer; contentType?: string };

export interface FuzzRequest {
  /** What the generator meant: the schema followed, broken in one place, or no schema at all. */
  kind: "valid" | "almost" | "hostile";
  operation: Operation;
  method: string;
  path: Segment[];
  /** Parameters as values, or a raw query string. */
  query: [string, unknown][] | { raw: string };
  headers: Record<string, string>;
  token: TokenKind;
  tokenPick: number;
  body?: Body;
}

interface OpenApiOperation {
  parameters?: { name: string; in: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, unknown>;
}

/** The operations of the document, and the routes of `routeTable` (`/portal/…`, `:param`) it leaves out. */
export function operationsOf(document: { paths: Record<string, Record<string, OpenApiOperation>>; components?: { schemas?: Record<string, JsonSchema> } }, routeTable: readonly { method: string; url: string }[], basePath: string): Operation[] {
  const components = document.components?.schemas ?? {};
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const content = op.requestBody?.content;
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: (op.parameters ?? []).map((p) => ({ name: p.name, in: p.in as "path", required: p.required ?? false, schema: resolved(p.schema ?? {}, components) })),
        body: content ? { contentTypes: Object.keys(content), schema: resolved(Object.values(content)[0]?.schema ?? {}, components) } : undefined,
        declared: new Set(Object.keys(op.responses ?? {}).map(Number)),
      });
    }
  }
  const documented = new Set(operations.map((o) => `${o.method} ${o.path}`));
  for (const { method, url } of routeTable) {
    const path = url.slice(basePath.length).replace(/:(\w+)/g, "{$1}").replace("*", "{file}") || "/";
    if (documented.has(`${method} ${path}`)) continue;
    const parameters = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name: name!, in: "path" as const, required: true, schema: { type: "string" } }));
    operations.push({ method, path, parameters, declared: new Set() });
  }
  return operations;
}

/** `schema` with its `$ref`s to the document's components replaced by them. */
function resolved(schema: JsonSchema, components: Record<string, JsonSchema>, depth = 0): JsonSchema {
  if (depth > 8) return {};
  if (schema.$ref) return resolved(components[schema.$ref.split("/").pop()!] ?? {}, components, depth + 1);
  return JSON.parse(JSON.stringify(schema), (_key, value) => (value && typeof value === "object" && typeof value.$ref === "string" ? resolved(value, components, depth + 1) : value));
}

/** Who the request is from: mostly someone who may do it, so valid requests go deep; every kind of bad token too. */
const tokenKind: fc.Arbitrary<TokenKind> = fc.oneof(
  { arbitrary: fc.constant<TokenKind>("sysadmin"), weight: 10 },
  { arbitrary: fc.constant<TokenKind>("secadmin"), weight: 4 },
  { arbitrary: fc.constant<TokenKind>("user"), weight: 2 },
  { arbitrary: fc.constant<TokenKind>("apiKey"), weight: 2 },
  { arbitrary: fc.constantFrom<TokenKind>(...TOKEN_KINDS), weight: 3 },
);

/** Requests over every operation: valid, almost valid and hostile ones. */
export function requestArbitrary(operations: readonly Operation[]): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    ...operations.map((operation) => {
      const valid = validRequest(operation);
      return fc.oneof({ arbitrary: valid, weight: 9 }, { arbitrary: valid.chain(almostValid), weight: 7 }, { arbitrary: valid.chain(hostile), weight: 4 });
    }),
  ).map(printable);
}

/** The request as fast-check prints a counterexample: a line, not its megabyte of body. */
function printable(request: FuzzRequest): FuzzRequest {
  const shown = (value: unknown) => (typeof value === "string" && value.length > 60 ? `${value.slice(0, 60)}…(${value.length})` : value instanceof PoolPick ? `pool:${value.collection ?? "any"}.${value.kind}#${value.index}` : value);
  const line = () => {
    const path = request.path.map((s) => ("raw" in s ? s.raw.slice(0, 60) : `{${JSON.stringify(shown(s.value))?.slice(0, 60)}}`)).join("/");
    const body = request.body ? ` body ${request.body.contentType ?? "(no type)"} ${"json" in request.body ? (JSON.stringify(request.body.json, (_k, v) => shown(v)) ?? "").slice(0, 120) : `${request.body.raw.length} bytes`}` : "";
    return `${request.kind} ${request.method} /${path} as ${request.token}${body}`;
  };
  return Object.defineProperty(request, fc.toStringMethod, { value: line, enumerable: false });
}

const ETAGS = ['"1"', '"2"', 'W/"1"', "*", '"0"', "1", '"x"', '"99999999999999999999"', ""];

function validRequest(operation: Operation): fc.Arbitrary<FuzzRequest> {
  const byPlace = (place: string) => operation.parameters.filter((p) => p.in === place);
  const path = fc.tuple(
    ...operation.path
      .split("/")
      .slice(1)
      .map((part, i, parts): fc.Arbitrary<Segment> => {
        const name = /^\{(\w+)\}$/.exec(part)?.[1];
        if (name === undefined) return fc.constant({ raw: part });
        const schema = byPlace("path").find((p) => p.name === name)?.schema ?? {};
        const pool = poolKindOf(name) ?? "id";
        const collection = collectionOf(parts.slice(0, i));
        return fc
          .oneof({ arbitrary: fc.nat().map((n) => new PoolPick(pool, n, collection)), weight: 3 }, { arbitrary: fc.nat().map((n) => new PoolPick(pool, n)), weight: 1 }, { arbitrary: validValue(schema), weight: 1 })
          .map((value) => ({ value }));
      }),
  );
  const query = fc.tuple(...byPlace("query").map((p) => fc.option(validValue(p.schema, p.name).map((v): [string, unknown] => [p.name, v]), { freq: 2 }))).map((pairs) => pairs.filter((p): p is [string, unknown] => p !== null));
  const ifMatch = byPlace("header").some((p) => p.name === "if-match") ? fc.option(fc.constantFrom(...ETAGS)) : fc.constant(null);
  const body: fc.Arbitrary<Body | undefined> = operation.body
    ? fc.tuple(validValue(operation.body.schema ?? {}), fc.constantFrom(...operation.body.contentTypes)).map(([json, contentType]) => ({ json, contentType }))
    : operation.path.endsWith("/import")
      ? importBody(operation)
      : fc.constant(undefined);
  return fc.record({ path, query, ifMatch, body, token: tokenKind, tokenPick: fc.nat() }).map(({ path, query, ifMatch, body, token, tokenPick }): FuzzRequest => ({
    kind: "valid",
    operation,
    method: operation.method,
    path,
    query,
    headers: ifMatch === null ? {} : { "if-match": ifMatch },
    token,
    tokenPick,
    body,
  }));
}

/** An import's rows: the document gives the route no body schema (it streams), so rows of users as NDJSON or CSV. */
function importBody(_operation: Operation): fc.Arbitrary<Body> {
  const row = fc.record({ username: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9._-]{0,20}$/), hostileString), email: fc.option(fc.emailAddress()), enabled: fc.option(fc.boolean()), groups: fc.option(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 })) }, { requiredKeys: ["username"] });
  const rows = fc.array(row, { minLength: 1, maxLength: 8 });
  return fc.oneof(
    rows.map((rs) => ({ raw: rs.map((r) => JSON.stringify(r)).join("\n"), contentType: "application/x-ndjson" })),
    rows.map((rs) => ({ raw: ["username,email,enabled", ...rs.map((r) => [r.username, r.email ?? "", r.enabled ?? ""].map(csvCell).join(","))].join("\r\n"), contentType: "text/csv" })),
    fc.tuple(hostileString, fc.constantFrom("text/csv", "application/x-ndjson", "application/jsonl")).map(([raw, contentType]) => ({ raw, contentType })),
  );
}

function csvCell(value: unknown): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The request broken in one place: the body, a parameter, a path segment, the content type, a header. */
function almostValid(request: FuzzRequest): fc.Arbitrary<FuzzRequest> {
  const { operation } = request;
  const queryNames = operation.parameters.filter((p) => p.in === "query").map((p) => p.name);
  const pathIndexes = request.path.map((s, i) => ("value" in s ? i : -1)).filter((i) => i >= 0);
  const mutations: fc.Arbitrary<FuzzRequest>[] = [
    fc.tuple(fc.constantFrom("colour", "locked", "__proto__", "max[]", ""), hostileValue).map(([name, value]) => ({ ...request, kind: "almost", query: [...(request.query as [string, unknown][]), [name, value]] })),
    fc.constantFrom(undefined, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16", "application/xml", "application/json; charset=iso-8859-1", "APPLICATION/JSON").map((contentType) => ({ ...request, kind: "almost", body: { json: request.body && "json" in request.body ? request.body.json : { a: 1 }, contentType } })),
    fc.constantFrom(...ETAGS, '"1", "2"', "W/").map((etag) => ({ ...request, kind: "almost", headers: { ...request.headers, "if-match": etag } })),
  ];
  if (operation.body?.schema) mutations.push(almostValidValue(operation.body.schema).map((json) => ({ ...request, kind: "almost", body: { json, contentType: "application/json" } })));
  if (queryNames.length > 0) mutations.push(fc.tuple(fc.constantFrom(...queryNames), hostileValue).map(([name, value]) => ({ ...request, kind: "almost", query: [...(request.query as [string, unknown][]).filter(([n]) => n !== name), [name, value]] })));
  if (pathIndexes.length > 0) mutations.push(fc.tuple(fc.constantFrom(...pathIndexes), hostileValue).map(([i, value]) => ({ ...request, kind: "almost", path: request.path.map((s, j) => (j === i ? { value } : s)) })));
  return fc.oneof(...mutations);
}

/** Bodies no parser expects. */
const HOSTILE_BODIES: readonly (string | Buffer)[] = [
  "",
  "{",
  "}",
  "[",
  "nul",
  "{'a':1}",
  '{"a":1,}',
  '{"a":1}{"b":2}',
  '{"username":"x","username":"y"}',
  '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}',
  "\ufeff{}",
  '"\\ud800"',
  '{"a":"\\u0000"}',
  "1e999999",
  "-",
  "[".repeat(100_000),
  "[".repeat(5000) + "]".repeat(5000),
  '{"a":'.repeat(3000) + "1" + "}".repeat(3000),
  Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
  Buffer.from([0x80, 0x81, 0x82]),
];

const HOSTILE_PATH_SEGMENTS = ["%", "%E0%A4%A", "%zz", "%00", "%2F", "%2e%2e", "..", ".", "", "%C0%AE", "%ED%A0%80", "%FF", "a%", "%%", "ü", "ｓｙｓａｄｍｉｎ", "\u{1F600}", "x".repeat(300), "x".repeat(5000), "*", ";a=b", "%3B"];
const HOSTILE_QUERIES = ["%", "a=%zz", "&&&", "=", "a", "a=1&a=2&a=3", "__proto__=1", "constructor[prototype][x]=1", "max=1&max=2", "search=%00", "search=%ED%A0%80", "search=" + "%41".repeat(3000), "cursor=" + "A".repeat(500), "cursor=eyJhIjoxfQ", "cursor=eyJhIjoiXHUwMDAwIn0", "x".repeat(8000)];
const HOSTILE_METHODS = ["PATCH", "OPTIONS", "TRACE", "HEAD", "POST", "PUT", "DELETE", "GET", "PROPFIND", "CONNECTX"];

/** The request made hostile: another method, a raw path or query, a body no parser expects, odd headers. */
function hostile(request: FuzzRequest): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    fc.constantFrom(...HOSTILE_METHODS).map((method) => ({ ...request, kind: "hostile" as const, method })),
    fc.tuple(fc.nat({ max: request.path.length - 1 }), fc.constantFrom(...HOSTILE_PATH_SEGMENTS)).map(([i, raw]) => ({ ...request, kind: "hostile" as const, path: request.path.map((s, j) => (j === i ? { raw } : s)) })),
    fc.constantFrom(...HOSTILE_QUERIES).map((raw) => ({ ...request, kind: "hostile" as const, query: { raw } })),
    fc.tuple(fc.constantFrom(...HOSTILE_BODIES), fc.constantFrom("application/json", "text/csv", "application/x-ndjson", "text/plain", "application/octet-stream")).map(([raw, contentType]) => ({ ...request, kind: "hostile" as const, body: { raw, contentType } })),
    fc.tuple(fc.integer({ min: 2, max: 3000 }), fc.boolean()).map(([depth, object]) => ({ ...request, kind: "hostile" as const, body: { json: { name: "deep", value: new Nested(depth, object), username: "deep" }, contentType: "application/json" } })),
    fc.constantFrom<Record<string, string>>(
      { "content-encoding": "gzip" },
      { "accept-encoding": "br, gzip, deflate" },
      { accept: "text/html" },
      { "x-forwarded-for": "1.2.3.4, 127.0.0.1, ::1" },
      { host: "evil.example" },
      { "if-match": "\u00ff\u00fe" },
      { cookie: "ecm_session=" + "a".repeat(3000) },
      { origin: "http://evil.example" },
    ).map((headers) => ({ ...request, kind: "hostile" as const, headers: { ...request.headers, ...headers } })),
    // Rarely: each is a megabyte.
    fc.integer({ min: 0, max: 9 }).map((n): FuzzRequest => ({ ...request, kind: "hostile", body: { raw: n === 0 ? `{"a":"${"x".repeat(1_048_577)}"}` : `{"a":"${"x".repeat(n * 1000)}"}`, contentType: "application/json" } })),
  );
}
