import assert from "node:assert/strict";
import { it } from "node:test";
import { createGroup, createUser, USER_PASSWORD } from "../../test-support/accounts.js";
import { describeEachStore } from "../../test-support/server.js";

describeEachStore("effective roles", (server) => {
  it("say which group grants each role, and whether through the profile", async () => {
    const s = server();
    const token = await s.login();
    const profile = await createUser(s, token, "roles.profile", { profile_id: 0 });
    const user = await createUser(s, token, "roles.user", { profile_id: profile.id });
    const auditors = await createGroup(s, token, "roles-auditors", ["security-administrator"]);
    const admins = await createGroup(s, token, "roles-admins", ["security-administrator"]);
    assert.equal((await s.api("PUT", `/security/v1/users/${profile.uuid}/user-groups/${auditors}`, { token })).status, 204);
    assert.equal((await s.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${admins}`, { token })).status, 204);
    const r = await s.api<{ name: string; builtin: boolean; grantedBy: { groupId: string; group: string; viaProfile: boolean }[] }[]>("GET", `/security/v1/users/${user.uuid}/roles`, { token });
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.map((role) => [role.name, role.grantedBy.map((g) => `${g.group}${g.viaProfile ? " (profile)" : ""}`)]),
      [
        ["security-administrator", ["roles-admins", "roles-auditors (profile)"]],
        ["user", ["users", "users (profile)"]],
      ],
    );
    assert.equal(r.body[0]!.grantedBy[0]!.groupId, admins);
    assert.equal(r.body[1]!.builtin, true);
  });

  it("any account reads its own roles; another's only an administrator", async () => {
    const s = server();
    const token = await s.login();
    const plain = await createUser(s, token, "roles.plain");
    const other = await createUser(s, token, "roles.other");
    const own = await s.login("roles.plain", USER_PASSWORD);
    const mine = await s.api<{ name: string }[]>("GET", `/security/v1/users/${plain.uuid}/roles`, { token: own });
    assert.equal(mine.status, 200);
    assert.deepEqual(mine.body.map((r) => r.name), ["user"]);
    assert.equal((await s.api("GET", `/security/v1/users/${other.uuid}/roles`, { token: own })).status, 403);
    assert.equal((await s.api("GET", `/security/v1/users/${plain.uuid}/roles`)).status, 401);
  });

  it("an administrator who must change their password first reads only their own, as on every administrator's route", async () => {
    const s = server();
    const token = await s.login();
    const secAdmin = await createUser(s, token, "roles.pending");
    assert.equal((await s.api("PUT", `/security/v1/users/${secAdmin.uuid}/user-groups/${await createGroup(s, token, "roles-pending-admins", ["security-administrator"])}`, { token })).status, 204);
    assert.equal((await s.api("PUT", `/security/v1/users/${secAdmin.uuid}`, { token, body: { changePassword: true } })).status, 200);
    const pending = await s.login("roles.pending", USER_PASSWORD);
    const sysadmin = (await s.api<{ id: string }>("GET", "/security/v1/me", { token })).body.id;
    const refused = await s.api<{ additionalInfo: string }>("GET", `/security/v1/users/${sysadmin}/roles`, { token: pending });
    assert.equal(refused.status, 403, refused.text);
    assert.deepEqual(JSON.parse(refused.body.additionalInfo), { passwordChangeRequired: true, passwordChangeIn: "here" });
    assert.equal((await s.api("GET", `/security/v1/users/${secAdmin.uuid}/roles`, { token: pending })).status, 200);
  });
});
