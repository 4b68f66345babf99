import assert from "node:assert/strict";
import { it } from "node:test";
import { createGroup, createSecurityAdministrator, createUser, groupId, USER_PASSWORD } from "../../test-support/accounts.js";
import { describeEachStore } from "../../test-support/server.js";

describeEachStore("role mappings and the last system administrator", (server) => {
  const mapped = async (group: string, token: string, available = false) =>
    (await server().api<{ name: string }[]>("GET", `/security/v1/user-groups/${group}/role-mappings/portal${available ? "/available" : ""}`, { token })).body.map(
      (r) => r.name,
    );
  const refusedAsLastAdmin = (r: { status: number; body: { errorMessage: string } }) => {
    assert.equal(r.status, 409);
    assert.match(r.body.errorMessage, /^ECMS1302-E The last system administrator/);
  };

  it("grants and revokes roles idempotently; available lists what is not granted; audited", async () => {
    const s = server();
    const token = await s.login();
    const group = await createGroup(s, token, "Mapped");
    assert.deepEqual(await mapped(group, token), []);
    assert.deepEqual(await mapped(group, token, true), ["security-administrator", "system-administrator", "user"]);
    for (let i = 0; i < 2; i++) assert.equal((await s.api("PUT", `/security/v1/user-groups/${group}/role-mappings/portal/user`, { token })).status, 204);
    assert.deepEqual(await mapped(group, token), ["user"]);
    assert.deepEqual(await mapped(group, token, true), ["security-administrator", "system-administrator"]);
    for (let i = 0; i < 2; i++) assert.equal((await s.api("DELETE", `/security/v1/user-groups/${group}/role-mappings/portal/user`, { token })).status, 204);
    assert.deepEqual(await mapped(group, token), []);
    const events = await s.server.deps.store.db.selectFrom("audit_events").select(["action", "details"]).where("target_id", "=", group).orderBy("id").execute();
    assert.deepEqual(events.map((e) => e.action), ["group.create", "group.role.grant", "group.role.revoke"]);
    assert.deepEqual(JSON.parse(events[1]!.details!), { role: "user" });
    const admins = await groupId(s, token, "administrators");
    assert.deepEqual(await mapped(admins, token), ["security-administrator", "system-administrator", "user"]);
  });

  it("answers 404 for an unknown role or group", async () => {
    const s = server();
    const token = await s.login();
    const group = await createGroup(s, token, "Unmapped");
    for (const method of ["PUT", "DELETE"]) {
      assert.equal((await s.api(method, `/security/v1/user-groups/${group}/role-mappings/portal/no-such-role`, { token })).status, 404);
      assert.equal((await s.api(method, `/security/v1/user-groups/00000000-0000-4000-8000-000000000000/role-mappings/portal/user`, { token })).status, 404);
    }
    assert.equal((await s.api("GET", `/security/v1/user-groups/00000000-0000-4000-8000-000000000000/role-mappings/portal`, { token })).status, 404);
    assert.equal((await s.api("GET", `/security/v1/user-groups/nope/role-mappings/portal/available`, { token })).status, 404);
  });

  it("keeps the user role on the built-in users group", async () => {
    const s = server();
    const token = await s.login();
    const r = await s.api("DELETE", `/security/v1/user-groups/${await groupId(s, token, "users")}/role-mappings/portal/user`, { token });
    assert.equal(r.status, 409);
    assert.match(r.body.errorMessage, /user role cannot be removed/);
  });

  it("a security administrator cannot grant or revoke system-administrator, nor change a group that grants it", async () => {
    const s = server();
    const token = await s.login();
    const { token: secToken, user: secUser } = await createSecurityAdministrator(s, token, "sec.admin");
    const group = await createGroup(s, secToken, "Sec made");
    const denied = await s.api("PUT", `/security/v1/user-groups/${group}/role-mappings/portal/system-administrator`, { token: secToken });
    assert.equal(denied.status, 403);
    assert.match(denied.body.errorMessage, /^ECMS1103-E /);
    const admins = await groupId(s, token, "administrators");
    assert.equal((await s.api("DELETE", `/security/v1/user-groups/${admins}/role-mappings/portal/system-administrator`, { token: secToken })).status, 403);
    // Joining or emptying the administrators group would amount to the same.
    assert.equal((await s.api("PUT", `/security/v1/users/${secUser.uuid}/user-groups/${admins}`, { token: secToken })).status, 403);
    const me = await s.api("GET", "/security/v1/me", { token });
    assert.equal((await s.api("DELETE", `/security/v1/users/${me.body.id}/user-groups/${admins}`, { token: secToken })).status, 403);
    assert.equal((await s.api("DELETE", `/security/v1/users/${me.body.id}/user-groups`, { token: secToken })).status, 403);
    // Other roles are theirs to hand out.
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${group}/role-mappings/portal/security-administrator`, { token: secToken })).status, 204);
    assert.equal((await s.api("DELETE", `/security/v1/user-groups/${group}/role-mappings/portal/security-administrator`, { token: secToken })).status, 204);
    // A system administrator may.
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${group}/role-mappings/portal/system-administrator`, { token })).status, 204);
    assert.equal((await s.api("DELETE", `/security/v1/user-groups/${group}/role-mappings/portal/system-administrator`, { token })).status, 204);
    const gone = await s.api("DELETE", `/security/v1/user-groups/${group}`, { token: secToken });
    assert.equal(gone.status, 204);
  });

  it("nobody removes the last system administrator: not by revoking the role, removing the member or deleting the group", async () => {
    const s = server();
    const token = await s.login();
    const me = (await s.api("GET", "/security/v1/me", { token })).body.id as string;
    const admins = await groupId(s, token, "administrators");
    refusedAsLastAdmin(await s.api("DELETE", `/security/v1/user-groups/${admins}/role-mappings/portal/system-administrator`, { token }));
    refusedAsLastAdmin(await s.api("DELETE", `/security/v1/users/${me}/user-groups/${admins}`, { token }));
    refusedAsLastAdmin(await s.api("DELETE", `/security/v1/users/${me}/user-groups`, { token }));
    // Nothing was half-done.
    assert.deepEqual(await mapped(admins, token), ["security-administrator", "system-administrator", "user"]);
    assert.equal((await s.api("GET", "/security/v1/user-groups", { token })).status, 200);

    // A second administrator through another group: now sysadmin may leave administrators ...
    const root = await createGroup(s, token, "Root", ["system-administrator"]);
    const second = await createUser(s, token, "second.admin");
    assert.equal((await s.api("PUT", `/security/v1/users/${second.uuid}/user-groups/${root}`, { token })).status, 204);
    assert.equal((await s.api("DELETE", `/security/v1/users/${me}/user-groups/${admins}`, { token: token })).status, 204);
    // ... and then the root group is the last way to the role, whoever asks.
    const secondToken = await s.login("second.admin", USER_PASSWORD);
    refusedAsLastAdmin(await s.api("DELETE", `/security/v1/user-groups/${root}`, { token: secondToken }));
    refusedAsLastAdmin(await s.api("DELETE", `/security/v1/user-groups/${root}/role-mappings/portal/system-administrator`, { token: secondToken }));
    refusedAsLastAdmin(await s.api("DELETE", `/security/v1/users/${second.uuid}/user-groups/${root}`, { token: secondToken }));
    assert.equal((await s.api("PUT", `/security/v1/users/${me}/user-groups/${admins}`, { token: secondToken })).status, 204);

    // A disabled holder does not count.
    const db = s.server.deps.store.db;
    await db.updateTable("users").set({ enabled: 0 }).where("username", "=", "sysadmin").execute();
    refusedAsLastAdmin(await s.api("DELETE", `/security/v1/users/${second.uuid}/user-groups/${root}`, { token: secondToken }));
    await db.updateTable("users").set({ enabled: 1 }).where("username", "=", "sysadmin").execute();
    assert.equal((await s.api("DELETE", `/security/v1/user-groups/${root}`, { token: secondToken })).status, 204);
  });

  it("of two concurrent revocations that would each leave one way to the role, exactly one succeeds", async () => {
    const s = server();
    const token = await s.login();
    const me = (await s.api("GET", "/security/v1/me", { token })).body.id as string;
    const admins = await groupId(s, token, "administrators");
    const root = await createGroup(s, token, "Race root", ["system-administrator"]);
    await s.api("PUT", `/security/v1/users/${me}/user-groups/${root}`, { token });
    const [a, b] = await Promise.all(
      [admins, root].map((g) => s.api("DELETE", `/security/v1/user-groups/${g}/role-mappings/portal/system-administrator`, { token })),
    );
    assert.deepEqual([a!.status, b!.status].sort(), [204, 409]);
    const granting = await s.server.deps.store.db
      .selectFrom("group_roles")
      .innerJoin("roles", "roles.id", "group_roles.role_id")
      .select("group_roles.group_id")
      .where("roles.name", "=", "system-administrator")
      .execute();
    assert.equal(granting.length, 1);
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${admins}/role-mappings/portal/system-administrator`, { token })).status, 204);
  });

  it("granting a role to a group that is being deleted answers 204 or 404, never a 500", async () => {
    const s = server();
    const token = await s.login();
    for (let i = 0; i < 15; i++) {
      const group = await createGroup(s, token, `Vanishing${i}`);
      const [, grant] = await Promise.all([
        s.api("DELETE", `/security/v1/user-groups/${group}`, { token }),
        s.api("PUT", `/security/v1/user-groups/${group}/role-mappings/portal/user`, { token }),
      ]);
      assert.ok([204, 404].includes(grant.status), `${grant.status} ${grant.text}`);
    }
  });
});
