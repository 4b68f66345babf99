import assert from "node:assert/strict";
import { before, it } from "node:test";
import { createUser, USER_PASSWORD } from "../test-support/accounts.js";
import { describeEachStore } from "../test-support/server.js";

/** Routes anyone may call. Every other route of the OpenAPI document must want a token. */
const PUBLIC = new Set([
  "POST /auth/v1/providers/builtin/token",
  "GET /health",
  // The token keys, for other services to verify tokens offline.
  "GET /auth/v1/certs",
  // Identity-provider logins: the browser and the provider call these (provider-login.test.ts).
  "GET /auth/v1/providers",
  "GET /auth/v1/providers/{alias}/login",
  "GET /auth/v1/providers/{alias}/callback",
  "POST /auth/v1/providers/{alias}/exchange",
  "POST /auth/v1/providers/{alias}/backchannel-logout",
  // A download link is its own credential (users.test.ts).
  "GET /security/v1/users/csv-links/{link}",
]);
/** Routes open to every logged-in user, whatever its roles: its own account. */
const OWN_ACCOUNT = new Set(["POST /auth/v1/logout", "GET /security/v1/me", "PUT /security/v1/me/password"]);

const PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000";

/**
 * The permission floor of every route, read from the OpenAPI document so that a route added later is
 * covered too: no token → 401, a token with only the `user` role → 403 (its own account aside).
 * The route files' own matrices check what each administrator role may do.
 */
describeEachStore("every route's permission floor", (server) => {
  let routes: { method: string; path: string; secured: boolean }[];
  let userToken: string;

  before(async () => {
    const s = server();
    const adminToken = await s.login();
    await createUser(s, adminToken, "plain_user");
    userToken = await s.login("plain_user", USER_PASSWORD);
    const doc = (await s.api("GET", "/openapi.json")).body as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    routes = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([method]) => ["get", "post", "put", "delete", "patch"].includes(method))
        .map(([method, op]) => ({ method: method.toUpperCase(), path, secured: (op.security ?? []).length > 0 })),
    );
    assert.ok(routes.length > 20, "the OpenAPI document lists the routes");
  });

  const concrete = (path: string) => path.replace(/\{[^}]+\}/g, (name) => (name === "{roleName}" ? "user" : PLACEHOLDER_ID));

  it("declares bearer security on every route but the public ones", () => {
    for (const { method, path, secured } of routes) {
      assert.equal(secured, !PUBLIC.has(`${method} ${path}`), `${method} ${path}`);
    }
  });

  it("answers 401 without a token and with a bad one", async () => {
    const s = server();
    for (const { method, path } of routes.filter((r) => !PUBLIC.has(`${r.method} ${r.path}`))) {
      for (const token of [undefined, "eyJhbGciOiJIUzI1NiJ9.e30.x"]) {
        const r = await s.api(method, concrete(path), { token });
        assert.equal(r.status, 401, `${method} ${path} ${token ? "bad token" : "no token"}: ${r.text.slice(0, 120)}`);
      }
    }
  });

  it("answers 403 to a user without an administrator role", async () => {
    const s = server();
    for (const { method, path } of routes) {
      const key = `${method} ${path}`;
      if (PUBLIC.has(key) || OWN_ACCOUNT.has(key)) continue;
      const r = await s.api(method, concrete(path), { token: userToken, body: ["POST", "PUT"].includes(method) ? {} : undefined });
      assert.equal(r.status, 403, `${key}: ${r.text.slice(0, 120)}`);
    }
  });
});
