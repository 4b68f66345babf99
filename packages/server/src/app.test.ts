import assert from "node:assert/strict";
import { request } from "node:http";
import { it } from "node:test";
import { describeEachStore } from "./test-support/server.js";

/** A raw HTTP request, for what fetch will not send (bad headers, odd methods). */
function rawRequest(url: string, options: { method: string; headers?: Record<string, string>; body?: string }) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { method: options.method, headers: options.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

const ERROR_SHAPE = /^ECMS\d{4}-E \S/;

function assertErrorShape(body: unknown) {
  assert.ok(body && typeof body === "object");
  const { errorMessage, additionalInfo } = body as Record<string, unknown>;
  assert.match(String(errorMessage), ERROR_SHAPE);
  assert.equal(typeof additionalInfo, "string");
  JSON.parse(additionalInfo as string);
  assert.deepEqual(Object.keys(body).sort(), ["additionalInfo", "errorMessage"]);
}

describeEachStore("errors and operations", (server) => {
  it("answers bad requests with a 4xx in the error shape, never a 500", async () => {
    const s = server();
    const token = await s.login();
    const cases: [string, string, { body?: unknown; headers?: Record<string, string>; token?: string }, number][] = [
      ["POST", "/auth/v1/providers/builtin/token", { body: "{not json", headers: { "content-type": "application/json" } }, 400],
      ["POST", "/auth/v1/providers/builtin/token", { body: "", headers: { "content-type": "application/json" } }, 400],
      ["POST", "/auth/v1/providers/builtin/token", { body: "[]" }, 400],
      ["POST", "/auth/v1/providers/builtin/token", { body: '{"username":"a","password":"b","extra":1}' }, 400],
      ["POST", "/auth/v1/providers/builtin/token", { body: "username=a", headers: { "content-type": "text/plain" } }, 415],
      ["POST", "/auth/v1/providers/builtin/token", { body: JSON.stringify({ username: "a", password: "x".repeat(2_000_000) }) }, 413],
      ["GET", "/security/v1/users?max=abc", { token }, 400],
      ["GET", "/security/v1/users?enabled=maybe", { token }, 400],
      ["GET", "/security/v1/users?search=" + "x".repeat(300), { token }, 400],
      ["GET", "/no/such/route", {}, 404],
      ["GET", "/security/v1/users/00000000-0000-4000-8000-000000000000", { token }, 404],
    ];
    for (const [method, path, options, status] of cases) {
      const r = await s.api(method, path, options);
      assert.equal(r.status, status, `${method} ${path}: ${r.text.slice(0, 200)}`);
      assertErrorShape(r.body);
    }
  });

  it("accepts the seed's header spelling `Authorization:Bearer <t>` and refuses other schemes", async () => {
    const s = server();
    const token = await s.login();
    const url = `${s.baseUrl}/security/v1/me`;
    assert.equal((await rawRequest(url, { method: "GET", headers: { Authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await rawRequest(url, { method: "GET", headers: { authorization: `bearer   ${token}` } })).status, 200);
    const basic = await rawRequest(url, { method: "GET", headers: { authorization: `Basic ${token}` } });
    assert.equal(basic.status, 401);
    assertErrorShape(JSON.parse(basic.body));
  });

  it("publishes an OpenAPI 3.1 document of every route", async () => {
    const s = server();
    const doc = await s.api("GET", "/openapi.json");
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, "3.1.0");
    for (const path of ["/auth/v1/providers/builtin/token", "/auth/v1/logout", "/security/v1/users", "/security/v1/users/count", "/security/v1/users/{id}", "/security/v1/me", "/health"]) {
      assert.ok(doc.body.paths[path], `${path} missing from OpenAPI`);
    }
    const docs = await fetch(`${s.baseUrl}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
  });
});
