import assert from "node:assert/strict";
import { before, it } from "node:test";
import { createGroup, createSecurityAdministrator, createUser, groupId, USER_PASSWORD } from "../test-support/accounts.js";
import { ADMIN_PASSWORD, describeEachStore } from "../test-support/server.js";

/** A body each route that needs one accepts, so the request reaches the rule and not the schema. */
const BODIES: Record<string, unknown> = {
  "PUT /portal/security/v1/users/:id": { description: "taken over" },
  "PUT /portal/security/v1/users/:id/reset-password": { type: "password", value: "Taken-Over-Pass-1" },
  "POST /portal/security/v1/users/:id/api-keys": { name: "taken over" },
  "PUT /portal/security/v1/users/:id/federated-identities/:alias": { subject: "taken-over" },
};

/**
 * "May administer this user": every route that changes a user, read from the app's route table (so a
 * route added later is walked too), refuses a security administrator acting on a system administrator.
 */
describeEachStore("every route that acts on a user checks who may administer it", (server) => {
  let adminToken: string;
  let secToken: string;
  let systemAdministrator: string;
  let plainGroup: string;

  before(async () => {
    const s = server();
    adminToken = await s.login();
    secToken = (await createSecurityAdministrator(s, adminToken, "walk.secadmin")).token;
    const target = await createUser(s, adminToken, "walk.sysadmin");
    const admins = await groupId(s, adminToken, "administrators");
    assert.equal((await s.api("PUT", `/security/v1/users/${target.uuid}/user-groups/${admins}`, { token: adminToken })).status, 204);
    systemAdministrator = target.uuid;
    plainGroup = await createGroup(s, adminToken, "walk.plain");
    const endpoints = { issuer: "https://idp.example", authorizationUrl: "https://idp.example/auth", tokenUrl: "https://idp.example/token", jwksUrl: "https://idp.example/jwks" };
    const idp = await s.api("POST", "/idp/v1/external-identity-provider", { token: adminToken, body: { alias: "walk-idp", clientId: "c", clientSecret: "s", config: endpoints } });
    assert.equal(idp.status, 201, idp.text);
  });

  it("a security administrator gets 403 from each of them against a system administrator, and nothing changes", async () => {
    const s = server();
    const acting = s.server.routes.filter((r) => /\/users\/:id(\/|$)/.test(r.url) && !["GET", "HEAD"].includes(r.method));
    assert.ok(acting.length >= 6, `the route table lists the user routes: ${acting.map((r) => `${r.method} ${r.url}`).join(", ")}`);
    const before = (await s.api("GET", `/security/v1/users/${systemAdministrator}?extendedInfo=true`, { token: adminToken })).body;
    for (const { method, url } of acting) {
      const key = `${method} ${url}`;
      const path = url.replace(/^\/portal/, "").replace(":id", systemAdministrator).replace(":groupId", plainGroup).replace(":alias", "walk-idp");
      const r = await s.api(method, path, { token: secToken, body: BODIES[key] });
      assert.equal(r.status, 403, `${key} (add its body to BODIES if it needs one): ${r.text}`);
      assert.match(r.body.errorMessage, /^ECMS1103-E /);
    }
    // The rule comes before the password policy: a weak password tells the caller nothing either.
    const weak = await s.api("PUT", `/security/v1/users/${systemAdministrator}/reset-password`, { token: secToken, body: { type: "password", value: "password1234" } });
    assert.equal(weak.status, 403, weak.text);
    assert.deepEqual((await s.api("GET", `/security/v1/users/${systemAdministrator}?extendedInfo=true`, { token: adminToken })).body, before);
    assert.equal((await s.login("walk.sysadmin", USER_PASSWORD)).length > 0, true);
  });

  it("a profile a system administrator is assigned to is theirs too: its groups are theirs, on every route, in bulk actions and imports", async () => {
    const s = server();
    const profile = await createUser(s, adminToken, "walk.admins-profile", { profile_id: 0 });
    const assigned = await createUser(s, adminToken, "walk.assigned-admin", { profile_id: profile.id });
    const admins = await groupId(s, adminToken, "administrators");
    assert.equal((await s.api("PUT", `/security/v1/users/${assigned.uuid}/user-groups/${admins}`, { token: adminToken })).status, 204);
    assert.equal((await s.api("PUT", `/security/v1/users/${profile.uuid}/user-groups/${plainGroup}`, { token: adminToken })).status, 204);
    const groupsOf = async (uuid: string) => (await s.api("GET", `/security/v1/users/${uuid}?extendedInfo=true`, { token: adminToken })).body.groups;
    const before = await groupsOf(assigned.uuid);
    assert.ok(before.includes("walk.plain"), "the administrator is in the profile's group");
    const acting = s.server.routes.filter((r) => /\/users\/:id(\/|$)/.test(r.url) && !["GET", "HEAD"].includes(r.method));
    for (const { method, url } of acting) {
      const key = `${method} ${url}`;
      const path = url.replace(/^\/portal/, "").replace(":id", profile.uuid).replace(":groupId", plainGroup).replace(":alias", "walk-idp");
      const r = await s.api(method, path, { token: secToken, body: BODIES[key] });
      assert.equal(r.status, 403, `${key}: ${r.text}`);
    }
    const bulk = await s.api("POST", "/security/v1/users/bulk-actions", { token: secToken, body: { action: "remove-from-group", groupId: plainGroup, ids: [profile.uuid] } });
    assert.equal(bulk.status, 202, bulk.text);
    await s.server.deps.bulkActions.settled(bulk.body.id);
    const run = (await s.api("GET", `/security/v1/users/bulk-actions/${bulk.body.id}`, { token: secToken })).body;
    assert.deepEqual(run.report.map((r: { username: string; reason: string }) => [r.username, /assigned to it/.test(r.reason)]), [["walk.admins-profile", true]]);
    const imported = await s.api("POST", "/security/v1/users/import", { token: secToken, body: `${JSON.stringify({ username: "walk.admins-profile", groups: ["users"] })}\n`, headers: { "content-type": "application/x-ndjson" } });
    assert.match(imported.text, /"status":"failed".*assigned to it/);
    assert.deepEqual(await groupsOf(assigned.uuid), before, "the administrator's groups did not change");
    // The group the administrator is in through the profile stays theirs to delete.
    assert.equal((await s.api("DELETE", `/security/v1/user-groups/${plainGroup}`, { token: secToken })).status, 403);
    // Handing the profile to another user changes no administrator: still the security administrator's to do.
    const other = await createUser(s, adminToken, "walk.takes-profile");
    const assign = await s.api("PUT", `/security/v1/users/${other.uuid}`, { token: secToken, body: { profileId: profile.id } });
    assert.equal(assign.status, 200, assign.text);
  });

  it("the bulk clear-lockout refuses whom DELETE /users/{id}/lockout refuses (one rule), and clears the others", async () => {
    const s = server();
    const admins = await groupId(s, adminToken, "administrators");
    const profile = await createUser(s, adminToken, "walk.admin-profile", { profile_id: 0 });
    assert.equal((await s.api("PUT", `/security/v1/users/${profile.uuid}/user-groups/${admins}`, { token: adminToken })).status, 204);
    const subjects = [
      { username: "walk.sysadmin", id: systemAdministrator, refused: true },
      { username: "walk.inherits", id: (await createUser(s, adminToken, "walk.inherits", { profile_id: profile.id })).uuid, refused: true },
      { username: "walk.plain-user", id: (await createUser(s, adminToken, "walk.plain-user")).uuid, refused: false },
    ];
    const loginFrom = async (username: string, password: string) => (await s.api("POST", "/auth/v1/providers/builtin/token", { from: "127.0.0.20", body: { username, password } })).status;
    for (const { username } of subjects) {
      for (let i = 0; i < 5; i++) await loginFrom(username, `wrong-guess-${i}`);
      assert.equal(await loginFrom(username, USER_PASSWORD), 401, `${username}'s address is locked out`);
    }
    const started = await s.api("POST", "/security/v1/users/bulk-actions", { token: secToken, body: { action: "clear-lockout", ids: subjects.map((u) => u.id) } });
    assert.equal(started.status, 202, started.text);
    await s.server.deps.bulkActions.settled(started.body.id);
    const run = (await s.api("GET", `/security/v1/users/bulk-actions/${started.body.id}`, { token: secToken })).body;
    assert.deepEqual(run.report.map((r: { username: string }) => r.username).sort(), subjects.filter((u) => u.refused).map((u) => u.username).sort());
    for (const { username, id, refused } of subjects) {
      assert.equal(await loginFrom(username, USER_PASSWORD), refused ? 401 : 200, `${username} after the bulk clear`);
      const single = await s.api("DELETE", `/security/v1/users/${id}/lockout`, { token: secToken });
      assert.equal(single.status, refused ? 403 : 204, `${username}: ${single.text}`);
    }
  });

  it("nobody resets their own password through reset-password (it would skip the current password that /me/password asks for)", async () => {
    const s = server();
    for (const [username, token, password] of [["sysadmin", adminToken, ADMIN_PASSWORD], ["walk.secadmin", secToken, USER_PASSWORD]] as const) {
      const self = (await s.api("GET", "/security/v1/me", { token })).body;
      const r = await s.api("PUT", `/security/v1/users/${self.id}/reset-password`, { token, body: { type: "password", value: "Stolen-Token-Pass-1" } });
      assert.equal(r.status, 409, `${username}: ${r.text}`);
      assert.match(r.body.errorMessage, /^ECMS1302-E .*\/me\/password/);
      await s.login(username, password);
    }
  });
});
