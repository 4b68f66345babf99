import assert from "node:assert/strict";
import { it } from "node:test";
import { createGroup, createUser, groupId, USER_PASSWORD } from "../../test-support/accounts.js";
import { describeEachStore } from "../../test-support/server.js";

describeEachStore("group memberships and profiles", (server) => {
  const groupNames = async (userId: string, token: string) =>
    (await server().api<{ name: string }[]>("GET", `/security/v1/users/${userId}/user-groups`, { token })).body.map((g) => g.name);
  const roleNames = async (userId: string, token: string) =>
    (await server().api<{ name: string }[]>("GET", `/security/v1/users/${userId}/roles`, { token })).body.map((r) => r.name);

  it("adds and removes memberships idempotently, audits each real change", async () => {
    const s = server();
    const token = await s.login();
    const user = await createUser(s, token, "joiner");
    const group = await createGroup(s, token, "Joinable");
    for (let i = 0; i < 2; i++) assert.equal((await s.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${group}`, { token })).status, 204);
    assert.deepEqual(await groupNames(user.uuid, token), ["Joinable", "users"]);
    for (let i = 0; i < 2; i++) assert.equal((await s.api("DELETE", `/security/v1/users/${user.uuid}/user-groups/${group}`, { token })).status, 204);
    assert.deepEqual(await groupNames(user.uuid, token), ["users"]);
    const events = await s.server.deps.store.db.selectFrom("audit_events").selectAll().where("target_id", "=", user.uuid).orderBy("id").execute();
    const joinable = events.filter((e) => JSON.parse(e.details ?? "{}").groupId === group);
    assert.deepEqual(joinable.map((e) => e.action), ["group.member.add", "group.member.remove"]);
    assert.equal(joinable[0]!.source_ip, "127.0.0.1");
  });

  it("answers 404 for an unknown user or group", async () => {
    const s = server();
    const token = await s.login();
    const user = await createUser(s, token, "known.user");
    const group = await createGroup(s, token, "Known group");
    const nobody = "00000000-0000-4000-8000-000000000000";
    for (const method of ["PUT", "DELETE"]) {
      assert.equal((await s.api(method, `/security/v1/users/${nobody}/user-groups/${group}`, { token })).status, 404);
      assert.equal((await s.api(method, `/security/v1/users/${user.uuid}/user-groups/${nobody}`, { token })).status, 404);
      assert.equal((await s.api(method, `/security/v1/users/x/user-groups/y`, { token })).status, 404);
    }
    assert.equal((await s.api("GET", `/security/v1/users/${nobody}/user-groups`, { token })).status, 404);
    assert.equal((await s.api("DELETE", `/security/v1/users/${nobody}/user-groups`, { token })).status, 404);
    assert.equal((await s.api("GET", `/security/v1/users/${nobody}/roles`, { token })).status, 404);
  });

  it("removes a user from all groups but the built-in users group, which only an explicit call removes", async () => {
    const s = server();
    const token = await s.login();
    const user = await createUser(s, token, "leaver");
    for (const name of ["Leave A", "Leave B"]) await s.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${await createGroup(s, token, name)}`, { token });
    const r = await s.api<{ name: string }[]>("DELETE", `/security/v1/users/${user.uuid}/user-groups`, { token });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.map((g) => g.name), ["Leave A", "Leave B"]);
    assert.deepEqual(await groupNames(user.uuid, token), ["users"]);
    assert.deepEqual((await s.api("DELETE", `/security/v1/users/${user.uuid}/user-groups`, { token })).body, []);
    assert.equal((await s.api("DELETE", `/security/v1/users/${user.uuid}/user-groups/${await groupId(s, token, "users")}`, { token })).status, 204);
    assert.deepEqual(await groupNames(user.uuid, token), []);
    // Without the user role the account can still log in, but reaches nothing that needs a role.
    assert.deepEqual(await roleNames(user.uuid, token), []);
  });

  it("profiles: assigned users take over the profile's groups and roles at read time, and follow its changes", async () => {
    const s = server();
    const token = await s.login();
    const profile = await createUser(s, token, "profile.clerk", { profile_id: 0 });
    const clerkGroup = await createGroup(s, token, "Clerks", ["security-administrator"]);
    await s.api("PUT", `/security/v1/users/${profile.uuid}/user-groups/${clerkGroup}`, { token });
    const assigned = await createUser(s, token, "clerk.one", { profile_id: profile.id });
    const other = await createUser(s, token, "clerk.two", { profile_id: profile.id });

    assert.deepEqual(await groupNames(assigned.uuid, token), ["Clerks", "users"]);
    const direct = await s.api<{ name: string }[]>("GET", `/security/v1/users/${assigned.uuid}/user-groups?direct=true`, { token });
    assert.deepEqual(direct.body.map((g) => g.name), ["users"], "its own memberships only");
    assert.deepEqual(await roleNames(assigned.uuid, token), ["security-administrator", "user"]);
    const extended = await s.api("GET", `/security/v1/users/${assigned.uuid}?extendedInfo=true`, { token });
    assert.deepEqual(extended.body.groups, ["Clerks", "users"]);
    // The inherited role works: the assigned user may administer.
    const clerkToken = await s.login("clerk.one", USER_PASSWORD);
    assert.equal((await s.api("GET", "/security/v1/user-groups", { token: clerkToken })).status, 200);

    // Change the profile: every assigned user follows at once.
    const archive = await createGroup(s, token, "Archivists");
    await s.api("PUT", `/security/v1/users/${profile.uuid}/user-groups/${archive}`, { token });
    await s.api("DELETE", `/security/v1/users/${profile.uuid}/user-groups/${clerkGroup}`, { token });
    for (const u of [assigned, other]) {
      assert.deepEqual(await groupNames(u.uuid, token), ["Archivists", "users"]);
      assert.deepEqual(await roleNames(u.uuid, token), ["user"]);
    }
    assert.equal((await s.api("GET", "/security/v1/user-groups", { token: clerkToken })).status, 403);
    const members = await s.api<{ username: string }[]>("GET", `/security/v1/user-groups/${archive}/members`, { token });
    assert.deepEqual(members.body.map((u) => u.username), ["clerk.one", "clerk.two", "profile.clerk"]);
  });

  it("lists all roles and a user's effective roles in the role JSON", async () => {
    const s = server();
    const token = await s.login();
    const roles = await s.api("GET", "/security/v1/roles", { token });
    assert.equal(roles.status, 200);
    assert.deepEqual(roles.body.map((r: { name: string }) => r.name), ["security-administrator", "system-administrator", "user"]);
    for (const r of roles.body) {
      assert.deepEqual(Object.keys(r).sort(), ["builtin", "description", "essential", "id", "name"]);
      assert.equal(r.builtin, true);
    }
    const me = await s.api("GET", "/security/v1/me", { token });
    assert.deepEqual(await roleNames(me.body.id, token), ["security-administrator", "system-administrator", "user"]);
  });

  it("adding a member while the user or the group is being deleted answers 204 or 404, never a 500", async () => {
    const s = server();
    const token = await s.login();
    for (let i = 0; i < 15; i++) {
      const user = await createUser(s, token, `racer${i}`);
      const group = await createGroup(s, token, `Race${i}`);
      const [, , add] = await Promise.all([
        s.api("DELETE", `/security/v1/users/${user.uuid}`, { token }),
        s.api("DELETE", `/security/v1/user-groups/${group}`, { token }),
        s.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${group}`, { token }),
      ]);
      assert.ok([204, 404].includes(add.status), `${add.status} ${add.text}`);
    }
  });
});
