import assert from "node:assert/strict";
import { before, it } from "node:test";
import { createSecurityAdministrator, createUser, USER_PASSWORD } from "../../test-support/accounts.js";
import { ADMIN_PASSWORD, describeEachStore, type TestServer } from "../../test-support/server.js";

type Caller = "anonymous" | "user" | "securityAdministrator" | "systemAdministrator";

interface RouteCase {
  name: string;
  /** The request, given a fresh tag so each caller's writes touch their own data. */
  request: (s: TestServer, tag: string) => Promise<{ method: string; path: string; body?: unknown }>;
  /** Status of an allowed call. */
  ok: number;
  /** Open to every logged-in user (own account routes). */
  selfService?: boolean;
}

describeEachStore("permissions of the user routes", (server) => {
  const tokens: Partial<Record<Caller, string>> = {};
  const passwords: Record<string, string> = {};
  let target: string;
  let adminToken: string;

  before(async () => {
    const s = server();
    adminToken = await s.login();
    tokens.systemAdministrator = adminToken;
    passwords.systemAdministrator = ADMIN_PASSWORD;
    tokens.securityAdministrator = (await createSecurityAdministrator(s, adminToken, "perm.secadmin")).token;
    passwords.securityAdministrator = USER_PASSWORD;
    await createUser(s, adminToken, "perm.user");
    tokens.user = await s.login("perm.user", USER_PASSWORD);
    passwords.user = USER_PASSWORD;
    target = (await createUser(s, adminToken, "perm.target")).uuid;
  });

  const victim = async (s: TestServer, tag: string) => (await createUser(s, adminToken, `victim.${tag}`)).uuid;

  const routes: RouteCase[] = [
    { name: "GET users", request: async () => ({ method: "GET", path: "/security/v1/users" }), ok: 200 },
    { name: "GET users/count", request: async () => ({ method: "GET", path: "/security/v1/users/count" }), ok: 200 },
    { name: "GET users/{id}", request: async () => ({ method: "GET", path: `/security/v1/users/${target}` }), ok: 200 },
    { name: "POST users", request: async (_s, tag) => ({ method: "POST", path: "/security/v1/users", body: { username: `new.${tag}` } }), ok: 201 },
    { name: "PUT users/{id}", request: async (_s, tag) => ({ method: "PUT", path: `/security/v1/users/${target}`, body: { description: tag } }), ok: 200 },
    { name: "DELETE users/{id}", request: async (s, tag) => ({ method: "DELETE", path: `/security/v1/users/${await victim(s, tag)}` }), ok: 204 },
    { name: "PUT users/{id}/reset-password", request: async () => ({ method: "PUT", path: `/security/v1/users/${target}/reset-password`, body: { type: "password", value: "Reset-By-Admin-1" } }), ok: 204 },
    { name: "DELETE users/{id}/lockout", request: async () => ({ method: "DELETE", path: `/security/v1/users/${target}/lockout` }), ok: 204 },
    { name: "GET audit-events", request: async () => ({ method: "GET", path: "/security/v1/audit-events?max=5" }), ok: 200 },
    { name: "GET me", request: async () => ({ method: "GET", path: "/security/v1/me" }), ok: 200, selfService: true },
  ];

  const expected = (route: RouteCase, caller: Caller) =>
    caller === "anonymous" ? 401 : caller === "user" && !route.selfService ? 403 : route.ok;

  for (const caller of ["anonymous", "user", "securityAdministrator", "systemAdministrator"] as const) {
    it(`${caller}: every user route answers as the matrix says`, async () => {
      const s = server();
      for (const route of routes) {
        const { method, path, body } = await route.request(s, `${caller}.${route.name.replace(/\W+/g, "-")}`.toLowerCase());
        const r = await s.api(method, path, { token: tokens[caller as Exclude<Caller, "anonymous">], body });
        assert.equal(r.status, expected(route, caller), `${caller} ${route.name} → ${r.status} ${r.text}`);
        if (r.status >= 400) assert.match(r.body.errorMessage, /^ECMS\d{4}-E /);
      }
      // The own password: every logged-in caller may change it (and anonymous may not).
      const current = caller === "anonymous" ? "whatever-it-is" : passwords[caller]!;
      const change = await s.api("PUT", "/security/v1/me/password", { token: tokens[caller as Exclude<Caller, "anonymous">], body: { currentPassword: current, newPassword: `${current}-next` } });
      assert.equal(change.status, caller === "anonymous" ? 401 : 204, `${caller} PUT me/password → ${change.status} ${change.text}`);
      if (caller !== "anonymous") passwords[caller] = `${current}-next`;
    });
  }

  it("a security administrator cannot change, reset, disable or delete a system administrator, nor hand out a profile that is one", async () => {
    const s = server();
    const secToken = tokens.securityAdministrator!;
    const sysadmin = (await s.api("GET", "/security/v1/me", { token: adminToken })).body;
    const admin2 = await s.api("POST", "/security/v1/users", { token: adminToken, body: { username: "second.admin", profileId: 0 } });
    assert.equal(admin2.status, 201);
    const adminsGroup = (await s.api("GET", "/security/v1/user-groups?search=administrators", { token: adminToken })).body.find((g: { name: string }) => g.name === "administrators");
    assert.equal((await s.api("PUT", `/security/v1/users/${admin2.body.id}/user-groups/${adminsGroup.id}`, { token: adminToken })).status, 204);
    for (const [method, path, body] of [
      ["PUT", `/security/v1/users/${sysadmin.id}`, { description: "mine now" }],
      ["PUT", `/security/v1/users/${admin2.body.id}`, { enabled: false }],
      ["PUT", `/security/v1/users/${admin2.body.id}/reset-password`, { type: "password", value: "Taken-Over-1" }],
      ["DELETE", `/security/v1/users/${admin2.body.id}`, undefined],
      ["POST", "/security/v1/users", { username: "escalator", profileId: admin2.body.numericId }],
      ["PUT", `/security/v1/users/${target}`, { profileId: admin2.body.numericId }],
    ] as const) {
      const r = await s.api(method, path, { token: secToken, body });
      assert.equal(r.status, 403, `${method} ${path} → ${r.status} ${r.text}`);
    }
    // A system administrator may do it.
    assert.equal((await s.api("PUT", `/security/v1/users/${target}`, { token: adminToken, body: { profileId: admin2.body.numericId } })).status, 200);
  });
});
