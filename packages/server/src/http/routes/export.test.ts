import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { createGroup, createUser, groupId } from "../../test-support/accounts.js";
import { describeEachStore } from "../../test-support/server.js";
import { FIELD_SEPARATOR } from "../../domain/user-fields.js";

describeEachStore("export", (server) => {
  it("exports roles, groups, role mappings, users (extended) and memberships, and audits the export", async () => {
    const s = server();
    const token = await s.login();
    const r = await s.api("GET", "/security/v1/export", { token });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(Object.keys(r.body), ["exportedAt", "roles", "groups", "roleMappings", "users", "memberships"]);
    assert.deepEqual(r.body.roles.map((x: { name: string }) => x.name), ["security-administrator", "system-administrator", "user"]);
    const admins = await groupId(s, token, "administrators");
    const sysadmin = r.body.users.find((u: { username: string }) => u.username === "sysadmin");
    assert.deepEqual(sysadmin.groups, ["administrators", "users"]);
    assert.equal(sysadmin.passwordNeverExpires, true);
    assert.ok(!JSON.stringify(r.body).includes("argon2"), "no password hashes");
    assert.ok(r.body.roleMappings.some((m: { groupId: string; roleName: string }) => m.groupId === admins && m.roleName === "system-administrator"));
    assert.ok(r.body.memberships.some((m: { userId: string; groupId: string }) => m.userId === sysadmin.id && m.groupId === admins));
    const event = await s.server.deps.store.db.selectFrom("audit_events").selectAll().where("action", "=", "security.export").executeTakeFirst();
    assert.equal(event?.actor_name, "sysadmin");
  });

  it("limits the export to the given groups: their members (also through a profile), memberships and role mappings", async () => {
    const s = server();
    const token = await s.login();
    const shipped = await createGroup(s, token, "Shipped", ["user"]);
    const other = await createGroup(s, token, "Not shipped", ["security-administrator"]);
    const member = await createUser(s, token, "shipped.member");
    const profile = await createUser(s, token, "shipped.profile", { profile_id: 0 });
    const assigned = await createUser(s, token, "shipped.assigned", { profile_id: profile.id });
    const outsider = await createUser(s, token, "not.shipped");
    for (const u of [member, profile]) await s.api("PUT", `/security/v1/users/${u.uuid}/user-groups/${shipped}`, { token });
    await s.api("PUT", `/security/v1/users/${outsider.uuid}/user-groups/${other}`, { token });

    const r = await s.api("GET", `/security/v1/export?groupIds=${shipped.toUpperCase()}`, { token });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.groups.map((g: { name: string }) => g.name), ["Shipped"]);
    assert.deepEqual(r.body.roleMappings, [{ groupId: shipped, roleName: "user" }]);
    assert.deepEqual(r.body.users.map((u: { username: string }) => u.username), ["shipped.assigned", "shipped.member", "shipped.profile"]);
    assert.deepEqual(r.body.users[0].groups, ["Shipped", "users"]);
    assert.deepEqual(
      r.body.memberships.map((m: { userId: string }) => m.userId).sort(),
      [member.uuid, profile.uuid].sort(),
    );
    const both = await s.api("GET", `/security/v1/export?groupIds=${shipped},${other}`, { token });
    assert.deepEqual(both.body.groups.map((g: { name: string }) => g.name), ["Not shipped", "Shipped"]);
    assert.equal(both.body.users.length, 4);
    // A group's numericId names it as its id does.
    const otherNumeric = both.body.groups.find((g: { name: string }) => g.name === "Not shipped").numericId;
    const byNumber = await s.api("GET", `/security/v1/export?groupIds=${shipped},${otherNumeric}`, { token });
    assert.deepEqual(byNumber.body, { ...both.body, exportedAt: byNumber.body.exportedAt });
  });

  it("answers 404 for an unknown group and 400 for an empty list", async () => {
    const s = server();
    const token = await s.login();
    const known = await createGroup(s, token, "Known export");
    assert.equal((await s.api("GET", `/security/v1/export?groupIds=${known},${randomUUID()}`, { token })).status, 404);
    assert.equal((await s.api("GET", `/security/v1/export?groupIds=nope`, { token })).status, 404);
    for (const id of ["999999", "99999999999", "9".repeat(20)]) assert.equal((await s.api("GET", `/security/v1/export?groupIds=${id}`, { token })).status, 404, id);
    assert.equal((await s.api("GET", `/security/v1/export?groupIds=,`, { token })).status, 400);
  });

  it("streams across keyset batches: 2,500 members come out whole and in order", async () => {
    const s = server();
    const token = await s.login();
    const group = await createGroup(s, token, "Bulk");
    const db = s.server.deps.store.db;
    const now = new Date().toISOString();
    const names = Array.from({ length: 2500 }, (_, i) => `bulk.${String(i).padStart(5, "0")}`);
    for (let i = 0; i < names.length; i += 500) {
      await db
        .insertInto("users")
        .values(
          names.slice(i, i + 500).map((username) => ({
            uuid: randomUUID(),
            username,
            login_name: username,
            login_key: username,
            display_name: username,
            first_name: null,
            last_name: null,
            email: null,
            description: null,
            dn: null,
            directory_id: null,
            valid_from: null,
            valid_to: null,
            password_hash: null,
            password_by_system_administrator: 1,
            password_changed_at: null,
            locked_out_until: null,
            created_at: now,
            updated_at: now,
            search_text: [username, "", "", ""].join(FIELD_SEPARATOR),
          })),
        )
        .execute();
    }
    const groupRow = await db.selectFrom("groups").select("id").where("uuid", "=", group).executeTakeFirstOrThrow();
    await db
      .insertInto("group_members")
      .columns(["group_id", "user_id"])
      .expression((eb) => eb.selectFrom("users").select([eb.val(groupRow.id).as("group_id"), "id"]).where("username", "like", "bulk.%"))
      .execute();
    const r = await s.api("GET", `/security/v1/export?groupIds=${group}`, { token });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.users.map((u: { username: string }) => u.username), names);
    assert.equal(r.body.memberships.length, 2500);
    assert.equal(new Set(r.body.memberships.map((m: { userId: string }) => m.userId)).size, 2500);
    const members = await s.api("GET", `/security/v1/user-groups/${group}/members`, { token });
    assert.equal(members.body.length, 2500);
  });
});
