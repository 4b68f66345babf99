import assert from "node:assert/strict";
import { before, it } from "node:test";
import { createGroup, createSecurityAdministrator, createUser, groupId, USER_PASSWORD } from "../../test-support/accounts.js";
import { describeEachStore } from "../../test-support/server.js";

type Caller = "anonymous" | "user" | "securityAdmin" | "systemAdmin";

/**
 * Every group, membership, role and export route × anonymous, plain user, security administrator and
 * system administrator. Each case names the status each caller gets; changes are made on objects of
 * their own so the order of the calls does not matter.
 */
describeEachStore("groups, roles and export: permission matrix", (server) => {
  const tokens = {} as Record<Caller, string | undefined>;
  let ids: { group: string; adminGroup: string; user: string; admins: string; users: string };

  before(async () => {
    const s = server();
    const admin = await s.login();
    tokens.anonymous = undefined;
    tokens.systemAdmin = admin;
    tokens.securityAdmin = (await createSecurityAdministrator(s, admin, "matrix.sec")).token;
    await createUser(s, admin, "matrix.user");
    tokens.user = await s.login("matrix.user", USER_PASSWORD);
    ids = {
      group: await createGroup(s, admin, "Matrix"),
      adminGroup: await createGroup(s, admin, "Matrix root", ["system-administrator"]),
      user: (await createUser(s, admin, "matrix.target")).uuid,
      admins: await groupId(s, admin, "administrators"),
      users: await groupId(s, admin, "users"),
    };
  });

  /** [method, path ({name} stands for ids.name), body, status for a security administrator, status for a system administrator] */
  const routes: [string, string, unknown, number, number][] = [
    ["GET", "/security/v1/user-groups", undefined, 200, 200],
    ["POST", "/security/v1/user-groups", { name: "Matrix new" }, 201, 409],
    ["GET", "/security/v1/user-groups/{group}", undefined, 200, 200],
    ["PUT", "/security/v1/user-groups/{group}", { description: "changed" }, 200, 200],
    ["GET", "/security/v1/user-groups/{group}/members", undefined, 200, 200],
    ["GET", "/security/v1/user-groups/{group}/role-mappings/portal", undefined, 200, 200],
    ["GET", "/security/v1/user-groups/{group}/role-mappings/portal/available", undefined, 200, 200],
    ["PUT", "/security/v1/user-groups/{group}/role-mappings/portal/user", undefined, 204, 204],
    ["DELETE", "/security/v1/user-groups/{group}/role-mappings/portal/user", undefined, 204, 204],
    ["PUT", "/security/v1/user-groups/{group}/role-mappings/portal/system-administrator", undefined, 403, 204],
    ["DELETE", "/security/v1/user-groups/{group}/role-mappings/portal/system-administrator", undefined, 403, 204],
    // A group that grants system-administrator: only a system administrator renames it or changes its roles.
    ["PUT", "/security/v1/user-groups/{adminGroup}", { name: "Matrix root renamed" }, 403, 200],
    ["PUT", "/security/v1/user-groups/{adminGroup}", { description: "its description is not its power" }, 200, 200],
    ["PUT", "/security/v1/user-groups/{adminGroup}/role-mappings/portal/user", undefined, 403, 204],
    ["DELETE", "/security/v1/user-groups/{adminGroup}/role-mappings/portal/user", undefined, 403, 204],
    // Every account is in `users`: an administrator role there is refused to everyone.
    ["PUT", "/security/v1/user-groups/{users}/role-mappings/portal/security-administrator", undefined, 409, 409],
    ["PUT", "/security/v1/user-groups/{users}/role-mappings/portal/system-administrator", undefined, 403, 409],
    ["GET", "/security/v1/roles", undefined, 200, 200],
    ["GET", "/security/v1/users/{user}/roles", undefined, 200, 200],
    ["GET", "/security/v1/users/{user}/user-groups", undefined, 200, 200],
    ["PUT", "/security/v1/users/{user}/user-groups/{group}", undefined, 204, 204],
    ["DELETE", "/security/v1/users/{user}/user-groups/{group}", undefined, 204, 204],
    ["PUT", "/security/v1/users/{user}/user-groups/{adminGroup}", undefined, 403, 204],
    ["DELETE", "/security/v1/users/{user}/user-groups/{adminGroup}", undefined, 403, 204],
    ["DELETE", "/security/v1/users/{user}/user-groups", undefined, 200, 200],
    ["DELETE", "/security/v1/user-groups/{adminGroup}", undefined, 403, 204],
    ["DELETE", "/security/v1/user-groups/{admins}", undefined, 409, 409],
    ["GET", "/security/v1/export", undefined, 200, 200],
  ];

  for (const [method, path, body, securityAdmin, systemAdmin] of routes) {
    const expected: Record<Caller, number> = { anonymous: 401, user: 403, securityAdmin, systemAdmin };
    it(`${method} ${path}`, async () => {
      const s = server();
      const url = path.replace(/\{(\w+)\}/g, (_, name: keyof typeof ids) => ids[name]);
      for (const caller of ["anonymous", "user", "securityAdmin", "systemAdmin"] as const) {
        const r = await s.api(method, url, { token: tokens[caller], body });
        assert.equal(r.status, expected[caller], `${caller}: ${r.text}`);
        if (r.status >= 400) assert.match(r.body.errorMessage, /^ECMS\d{4}-E /);
      }
    });
  }
});
