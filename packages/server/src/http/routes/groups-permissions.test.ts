import assert from "node:assert/strict";
import { before, it } from "node:test";
import { createGroup, createSecurityAdministrator, createUser, groupId, USER_PASSWORD } from "../../test-support/accounts.js";
import { insertUser } from "../../test-support/fixtures.js";
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
    // A group that grants system-administrator: only a system administrator changes it (its description too) or its roles.
    ["PUT", "/security/v1/user-groups/{adminGroup}", { name: "Matrix root renamed" }, 403, 200],
    ["PUT", "/security/v1/user-groups/{adminGroup}", { description: "what it says of itself" }, 403, 200],
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

/**
 * A group a system administrator is in, itself or through its profile: a security administrator may
 * not take them out of it one by one (DELETE of the membership), nor all at once by deleting it, nor
 * rename it or change its roles; its description stays theirs to change.
 */
describeEachStore("groups a system administrator is in", (server) => {
  let admin: string;
  let securityAdmin: string;
  let administrators: string;

  before(async () => {
    const s = server();
    admin = await s.login();
    securityAdmin = (await createSecurityAdministrator(s, admin, "staffed.sec")).token;
    administrators = await groupId(s, admin, "administrators");
  });

  const join = async (user: string, group: string) => assert.equal((await server().api("PUT", `/security/v1/users/${user}/user-groups/${group}`, { token: admin })).status, 204);

  /** What a security administrator gets for each change of the group. */
  async function securityAdminMay(group: string): Promise<Record<string, number>> {
    const s = server();
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await s.api(method, `/security/v1/user-groups/${group}${path}`, { token: securityAdmin, body });
      if (r.status === 403) assert.match(r.body.errorMessage, /^ECMS\d{4}-E Only a system administrator may .*: a system administrator is a member of it\.$/);
      return r.status;
    };
    return {
      rename: await call("PUT", "", { name: `renamed ${group}` }),
      describe: await call("PUT", "", { description: "changed" }),
      grant: await call("PUT", "/role-mappings/portal/user"),
      revoke: await call("DELETE", "/role-mappings/portal/user"),
      delete: await call("DELETE", ""),
    };
  }
  const refused = { rename: 403, describe: 200, grant: 403, revoke: 403, delete: 403 };

  it("a system administrator in it directly: refused to a security administrator, as removing the membership is; a system administrator may", async () => {
    const s = server();
    const admin2 = await createUser(s, admin, "staffed.admin2");
    await join(admin2.uuid, administrators);
    const auditors = await createGroup(s, admin, "staffed-auditors");
    await join(admin2.uuid, auditors);
    assert.equal((await s.api("DELETE", `/security/v1/users/${admin2.uuid}/user-groups/${auditors}`, { token: securityAdmin })).status, 403);
    assert.deepEqual(await securityAdminMay(auditors), refused);
    assert.equal((await s.api("GET", `/security/v1/users/count?groupId=${auditors}`, { token: admin })).body, 1, "admin2 is still in it");
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${auditors}`, { token: admin, body: { name: "staffed-auditors-old" } })).status, 200);
    assert.equal((await s.api("DELETE", `/security/v1/user-groups/${auditors}`, { token: admin })).status, 204);
  });

  it("through a profile: a profile that holds the role in it, a user of that profile in it, a user that holds the role in a group its profile is in", async () => {
    const s = server();
    const { store } = s.server.deps;
    const adminProfile = await insertUser(store, { username: "staffed.admin-profile", profile_id: 0 });
    await join(adminProfile.uuid, administrators);
    const plainProfile = await insertUser(store, { username: "staffed.plain-profile", profile_id: 0 });
    const inherits = await insertUser(store, { username: "staffed.inherits", profile_id: adminProfile.id });
    const ownRole = await insertUser(store, { username: "staffed.own-role", profile_id: plainProfile.id });
    await join(ownRole.uuid, administrators);

    const profileIn = await createGroup(s, admin, "staffed-profile-in");
    await join(adminProfile.uuid, profileIn);
    const inheritorIn = await createGroup(s, admin, "staffed-inheritor-in");
    await join(inherits.uuid, inheritorIn);
    const viaPlainProfile = await createGroup(s, admin, "staffed-via-plain-profile");
    await join(plainProfile.uuid, viaPlainProfile);
    for (const group of [profileIn, inheritorIn, viaPlainProfile]) assert.deepEqual(await securityAdminMay(group), refused);

    // Without a system administrator among its members (the plain profile's user no longer holds the role), it is the security administrator's.
    assert.equal((await s.api("DELETE", `/security/v1/users/${ownRole.uuid}/user-groups/${administrators}`, { token: admin })).status, 204);
    assert.deepEqual(await securityAdminMay(viaPlainProfile), { rename: 200, describe: 200, grant: 204, revoke: 204, delete: 204 });
  });
});
