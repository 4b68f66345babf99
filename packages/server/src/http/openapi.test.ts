import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { get, type IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { startTestServer, type TestServer } from "../test-support/server.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** A GET whose answer's bytes are read as sent (fetch would undo a Content-Encoding). */
function rawGet(server: TestServer, path: string, headers: Record<string, string>): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(`${server.baseUrl}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on("error", reject);
  });
}

/** The response body of seed 003 (GET …/security/v1/users), as the seed prints it. */
const SEED_USERS = `[ { "id": "a010279b-ae66-4c1d-b066-c45d50c9f75a", "username": "sysadmin", "firstName": "firstName", "lastName": null, "email": "sysadmin@example.com", "dn": null, "description": "Built-in user", "enabled": true, "builtin": true, "federatedIdentities": null }, { "id": "82576381-e765-4645-a697-782111f8f5b5", "username": "user_1", "firstName": "1", "lastName": "user", "email": "user_1@example.com", "dn": null, "description": "description user_1", "enabled": true, "builtin": false, "federatedIdentities": [ { "alias": "dummy_alias", "displayName": "DUMMY DISPLAY NAME" } ] } ]`;

type Operation = { security?: unknown[]; parameters?: { in: string; name: string }[]; requestBody?: unknown; responses: Record<string, any>; operationId?: string };

describe("OpenAPI document", () => {
  let server: TestServer;
  let doc: any;
  before(async () => {
    server = await startTestServer("sqlite");
    doc = (await server.api("GET", "/openapi.json")).body;
  });
  after(async () => {
    await server?.close();
  });

  const operations = (): [string, string, Operation][] =>
    Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => [path, method, op] as [string, string, Operation]));

  // Anyone may ask for it without end: 372 KB of JSON made for each request cost a server process
  // milliseconds of CPU each, and 50 connections asking at once held a logged-in user's answer seconds.
  it("is made once and sent compressed to a client that takes gzip, at /openapi.json and the docs' /docs/json", async () => {
    const plain = JSON.stringify(doc);
    for (const path of ["/openapi.json", "/docs/json"]) {
      const zipped = await rawGet(server, path, { "accept-encoding": "gzip, deflate, br" });
      assert.equal(zipped.headers["content-encoding"], "gzip", path);
      assert.match(String(zipped.headers.vary), /accept-encoding/i);
      assert.match(String(zipped.headers["content-type"]), /^application\/json/);
      assert.ok(zipped.body.length * 5 < plain.length, `${path}: ${zipped.body.length} bytes of ${plain.length}`);
      assert.equal(gunzipSync(zipped.body).toString(), plain, path);
      for (const refused of [undefined, "identity", "gzip;q=0", "br"]) {
        const sent = await rawGet(server, path, refused === undefined ? {} : { "accept-encoding": refused });
        assert.equal(sent.headers["content-encoding"], undefined, `${path} with ${refused}`);
        assert.equal(sent.body.toString(), plain);
      }
    }
  });

  it("names its schemas", () => {
    const names = Object.keys(doc.components.schemas);
    for (const name of ["User", "Group", "Role", "AuditEvent", "Error"]) assert.ok(names.includes(name), `${name} in ${names.join(", ")}`);
    assert.ok(!JSON.stringify(doc).includes("def-"), "no def-N names");
    assert.deepEqual(doc.paths["/security/v1/users/{id}"].get.responses["200"].content["application/json"].schema, { $ref: "#/components/schemas/User" });
  });

  it("lists the error statuses each operation can answer with, and their codes", () => {
    for (const [path, method, op] of operations()) {
      const statuses = Object.keys(op.responses).map(Number);
      const where = `${method.toUpperCase()} ${path}`;
      const guarded = (op.security ?? []).length > 0;
      if (guarded) assert.ok(statuses.includes(401) && statuses.includes(429), `${where}: 401 and 429`);
      if (op.requestBody) for (const s of [400, 413, 415]) assert.ok(statuses.includes(s), `${where}: ${s}`);
      if (op.parameters?.some((p) => p.in === "path")) assert.ok(statuses.includes(404), `${where}: 404`);
      if (op.parameters?.some((p) => p.in === "header" && p.name === "if-match")) assert.ok(statuses.includes(412), `${where}: 412`);
      if (["post", "put", "delete"].includes(method)) assert.ok(statuses.includes(409), `${where}: 409`);
      assert.ok(statuses.includes(503), `${where}: 503 (a busy store)`);
      for (const status of statuses.filter((s) => s >= 400)) {
        const response = op.responses[status];
        const codes = [...response.description.matchAll(/`(ECMS\d{4})`/g)].map((m) => m[1]);
        assert.ok(codes.length > 0, `${where} ${status}: codes listed`);
        assert.deepEqual(Object.keys(response.content["application/json"].examples), codes, `${where} ${status}: an example per code`);
      }
    }
    const update = doc.paths["/security/v1/users/{id}"].put.responses;
    assert.deepEqual(Object.keys(update).map(Number).filter((s) => s >= 400), [400, 401, 403, 404, 409, 412, 413, 415, 429, 503]);
    assert.match(update["409"].description, /ECMS1301[\s\S]*ECMS1302/);
    assert.match(doc.paths["/auth/v1/providers/builtin/token"].post.responses["401"].description, /ECMS1102/);
    assert.deepEqual(doc.paths["/auth/v1/providers/builtin/token"].post.security, []);
    // The import's body is rows, NDJSON or CSV: documented by a row's fields; a bad row is a line of the answer, not a 400.
    const importing = doc.paths["/security/v1/users/import"].post;
    assert.deepEqual(Object.keys(importing.requestBody.content).sort(), ["application/jsonl", "application/x-ndjson", "text/csv"]);
    assert.ok("passwordHash" in importing.requestBody.content["text/csv"].schema.properties);
    assert.doesNotMatch(importing.responses["400"].description, /ECMS1002/);
  });

  it("says in words what every pattern a request must match is (the 400 quotes it instead of the regular expression)", async () => {
    const bare: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`));
      if (node === null || typeof node !== "object") return;
      const schema = node as Record<string, unknown>;
      if (typeof schema.pattern === "string" && typeof schema["x-pattern-message"] !== "string") bare.push(where);
      for (const [key, value] of Object.entries(schema)) walk(value, `${where}/${key}`);
    };
    for (const [path, method, op] of operations()) walk({ parameters: op.parameters, requestBody: op.requestBody }, `${method.toUpperCase()} ${path}`);
    assert.deepEqual(bare, []);
    const token = await server.login();
    const r = await server.api("GET", "/security/v1/users?source=ldap", { token });
    assert.equal(r.status, 400);
    assert.match(r.text, /ECMS1001-E source must be builtin, local, directory, identity-provider, directory:<id> or identity-provider:<alias>\./);
  });

  it("has the seed's users as the users list example", () => {
    const example = doc.paths["/security/v1/users"].get.responses["200"].content["application/json"].example as Record<string, unknown>[];
    const seed = JSON.parse(SEED_USERS) as Record<string, unknown>[];
    assert.equal(example.length, seed.length);
    // The seed's fields with their values and in their order; the API's additions after them.
    example.forEach((user, i) => assert.deepEqual(Object.fromEntries(Object.keys(seed[i]!).map((k) => [k, user[k]])), seed[i]));
    example.forEach((user, i) => assert.deepEqual(Object.keys(user).slice(0, Object.keys(seed[i]!).length), Object.keys(seed[i]!)));
  });

  it("says what the users list answers besides JSON users: CSV, and a 404 for a groupId of no group (the count too)", async () => {
    const list = doc.paths["/security/v1/users"].get.responses;
    assert.deepEqual(Object.keys(list["200"].content).sort(), ["application/json", "text/csv"]);
    assert.ok(list["404"] && doc.paths["/security/v1/users/count"].get.responses["404"]);
    const token = await server.login();
    const r = await server.api("GET", "/security/v1/users/count?groupId=00000000-0000-4000-8000-000000000000", { token });
    assert.equal(r.status, 404);
  });

  it("declares the headers its answers carry: Location of what was made, Link to the next page, ETag for If-Match, Retry-After, WWW-Authenticate", async () => {
    const token = await server.login();
    const answers: [string, string, { status: number; headers: Headers }][] = [];
    const send = async (method: string, path: string, template: string, body?: unknown, auth = token) => {
      const r = await server.api(method, path, { token: auth, body });
      answers.push([template, method.toLowerCase(), r]);
      return r;
    };
    const user = await send("POST", "/security/v1/users", "/security/v1/users", { username: "headers_user" });
    assert.equal(user.status, 201, user.text);
    await send("GET", `/security/v1/users/${user.body.id}`, "/security/v1/users/{id}");
    await send("PUT", `/security/v1/users/${user.body.id}`, "/security/v1/users/{id}", { description: "d" });
    await send("GET", "/security/v1/users?max=1", "/security/v1/users");
    const group = await send("POST", "/security/v1/user-groups", "/security/v1/user-groups", { name: "headers_group" });
    await send("GET", `/security/v1/user-groups/${group.body.id}`, "/security/v1/user-groups/{id}");
    await send("GET", "/security/v1/user-groups?max=1", "/security/v1/user-groups");
    await send("GET", "/security/v1/audit-events?max=1", "/security/v1/audit-events");
    await send("POST", `/security/v1/users/${user.body.id}/api-keys`, "/security/v1/users/{id}/api-keys", { name: "k" });
    await send("POST", "/security/v1/users/bulk-actions", "/security/v1/users/bulk-actions", { action: "disable", ids: [user.body.id] });
    await send("GET", "/security/v1/users", "/security/v1/users", undefined, "not-a-token");
    const declared = (path: string, method: string, status: number): string[] => Object.keys(doc.paths[path][method].responses[status]?.headers ?? {}).map((h) => h.toLowerCase());
    for (const [path, method, r] of answers) {
      const sent = ["location", "link", "etag", "retry-after", "www-authenticate"].filter((h) => r.headers.get(h) !== null);
      assert.ok(sent.length > 0, `${method} ${path} ${r.status}: sent none of them`);
      assert.deepEqual(sent.filter((h) => !declared(path, method, r.status).includes(h)), [], `${method.toUpperCase()} ${path} ${r.status}: sent but not declared`);
    }
    // Every operation, by what it declares: whatever it makes (201, 202) is at its Location; a paged list links on; every 401 says the scheme, every 429 and 503 when to retry.
    for (const [path, method, op] of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      for (const status of ["201", "202"]) if (op.responses[status]) assert.ok(declared(path, method, Number(status)).includes("location"), `${where} ${status}: Location`);
      if (op.parameters?.some((p) => p.in === "query" && p.name === "cursor")) assert.ok(declared(path, method, 200).includes("link"), `${where}: Link`);
      if (op.responses["401"]) assert.ok(declared(path, method, 401).includes("www-authenticate"), `${where}: WWW-Authenticate`);
      for (const status of [429, 503]) if (op.responses[status]) assert.ok(declared(path, method, status).includes("retry-after"), `${where} ${status}: Retry-After`);
    }
    // ETag only where a version is kept: not on a list, nor on what answers no version (an API key).
    assert.ok(!declared("/security/v1/users", "get", 200).includes("etag"));
    assert.ok(!declared("/security/v1/users/{id}/api-keys", "post", 201).includes("etag"));
    assert.ok(!declared("/security/v1/users/{id}/user-groups", "get", 200).includes("etag"));
  });

  it("has examples that match their schemas", () => {
    const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
    ajv.addSchema({ $id: "doc", components: doc.components });
    const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
    const check = (schema: unknown, value: unknown, where: string) => {
      const key = JSON.stringify(schema);
      const validate = compiled.get(key) ?? ajv.compile(rewriteRefs(schema) as object);
      compiled.set(key, validate);
      assert.ok(validate(value), `${where}: ${ajv.errorsText(validate.errors)}`);
    };
    let checked = 0;
    for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, { examples?: unknown[] }>)) {
      for (const example of schema.examples ?? []) (check({ $ref: `#/components/schemas/${name}` }, example, `schema ${name}`), checked++);
    }
    for (const [path, method, op] of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        for (const [type, media] of Object.entries((response.content ?? {}) as Record<string, { schema: unknown; example?: unknown; examples?: Record<string, { value: unknown }> }>)) {
          const where = `${method.toUpperCase()} ${path} ${status} ${type}`;
          if (media.example !== undefined) (check(media.schema, media.example, where), checked++);
          for (const [key, example] of Object.entries(media.examples ?? {})) (check(media.schema, example.value, `${where} ${key}`), checked++);
        }
      }
    }
    assert.ok(checked > 50, `${checked} examples checked`);
  });

  it("passes Redocly's recommended rules without errors", () => {
    const dir = mkdtempSync(join(tmpdir(), "ecm-openapi-"));
    try {
      const file = join(dir, "openapi.json");
      writeFileSync(file, JSON.stringify(doc));
      const cli = createRequire(import.meta.url).resolve("@redocly/cli/bin/cli.js");
      const run = spawnSync(process.execPath, [cli, "lint", file, "--extends", "recommended", "--format", "summary"], { encoding: "utf8", timeout: 50_000, env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" } });
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.doesNotMatch(run.stdout + run.stderr, /^error /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The document's `#/components/…` references, pointed at the components schema registered as "doc". */
function rewriteRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rewriteRefs);
  if (schema === null || typeof schema !== "object") return schema;
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === "$ref" && typeof v === "string" && v.startsWith("#/") ? `doc${v}` : rewriteRefs(v)]));
}
