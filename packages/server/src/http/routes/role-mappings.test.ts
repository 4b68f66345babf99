import assert from "node:assert/strict";
import { it } from "node:test";
import { createGroup, createSecurityAdministrator, groupId } from "../../test-support/accounts.js";
import { describeEachStore } from "../../test-support/server.js";

describeEachStore("role mappings", (server) => {
  const mapped = async (group: string, token: string, available = false) =>
    (await server().api<{ name: string }[]>("GET", `/security/v1/user-groups/${group}/role-mappings/portal${available ? "/available" : ""}`, { token })).body.map(
      (r) => r.name,
    );

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

  it("a grant or revoke with If-Match takes the group's ETag: stale, it is a 412 and changes nothing", async () => {
    const s = server();
    const token = await s.login();
    const created = await s.api<{ id: string }>("POST", "/security/v1/user-groups", { token, body: { name: "Guarded" } });
    const group = created.body.id;
    const etag = created.headers.get("etag")!;
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${group}`, { token, body: { description: "changed by another" } })).status, 200);
    for (const method of ["PUT", "DELETE"]) {
      const stale = await s.api(method, `/security/v1/user-groups/${group}/role-mappings/portal/user`, { token, headers: { "if-match": etag } });
      assert.equal(stale.status, 412, `${method}: ${stale.text}`);
      assert.match(stale.body.errorMessage, /^ECMS1303-E /);
    }
    assert.deepEqual(await mapped(group, token), []);
    const current = (await s.api("GET", `/security/v1/user-groups/${group}`, { token })).headers.get("etag")!;
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${group}/role-mappings/portal/user`, { token, headers: { "if-match": current } })).status, 204);
    assert.deepEqual(await mapped(group, token), ["user"]);
    assert.equal((await s.api("DELETE", `/security/v1/user-groups/${group}/role-mappings/portal/user`, { token, headers: { "if-match": `W/${current}` } })).status, 204);
    assert.deepEqual(await mapped(group, token), []);
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
