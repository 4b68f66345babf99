import assert from "node:assert/strict";
import { before, it } from "node:test";
import { createSecurityAdministrator, groupId } from "../test-support/accounts.js";
import { describeEachStore, type TestServer } from "../test-support/server.js";

const PLANTED = "Planted-Passw0rd-Zebra";
const OWN = "Own-Chosen-Passw0rd-9";

/**
 * A security administrator may set an ordinary account's password, make it a key, or link it to a
 * provider; none of those opens the account once it holds system-administrator (however it got the
 * role), until a system administrator makes its way in anew.
 */
describeEachStore("ways in that a security administrator made do not open a promoted account", (server) => {
  let admin: string;
  let sec: string;
  let administrators: string;
  const promote = async (s: TestServer, id: string) => assert.equal((await s.api("PUT", `/security/v1/users/${id}/user-groups/${administrators}`, { token: admin })).status, 204);
  const loginStatus = async (s: TestServer, username: string, password: string) =>
    (await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username, password } })).status;

  before(async () => {
    const s = server();
    admin = await s.login();
    sec = (await createSecurityAdministrator(s, admin, "promo.secadmin")).token;
    administrators = await groupId(s, admin, "administrators");
  });

  it("a password and a key a security administrator made, and a session opened before, stop at the promotion", async () => {
    const s = server();
    const created = await s.api("POST", "/security/v1/users", { token: sec, body: { username: "promo.bob", password: PLANTED } });
    assert.equal(created.status, 201, created.text);
    const bob = created.body.id as string;
    const key = (await s.api("POST", `/security/v1/users/${bob}/api-keys`, { token: sec, body: { name: "planted" } })).body.secret as string;
    const session = await s.login("promo.bob", PLANTED);
    assert.equal((await s.api("GET", "/security/v1/me", { token: key })).status, 200, "before the promotion, they work");

    await promote(s, bob);
    assert.equal(await loginStatus(s, "promo.bob", PLANTED), 401);
    const refusedKey = await s.api("GET", "/security/v1/signing-keys", { token: key });
    assert.equal(refusedKey.status, 401);
    assert.match(refusedKey.body.errorMessage, /not made by a system administrator/);
    assert.equal((await s.api("GET", "/security/v1/signing-keys", { token: session })).status, 401);
    const events = await s.api("GET", `/security/v1/audit-events?target=${bob}&action=auth.login&outcome=failure`, { token: admin });
    assert.ok(events.body.some((e: { details: { reason: string } }) => e.details.reason === "not-made-by-system-administrator"));

    // A system administrator's reset opens it again, and the owner's own password keeps it open.
    assert.equal((await s.api("PUT", `/security/v1/users/${bob}/reset-password`, { token: admin, body: { type: "password", value: "Reset-By-Sysadmin-7", temporary: true } })).status, 204);
    const forced = await s.login("promo.bob", "Reset-By-Sysadmin-7");
    assert.equal((await s.api("PUT", "/security/v1/me/password", { token: forced, body: { currentPassword: "Reset-By-Sysadmin-7", newPassword: OWN } })).status, 204);
    assert.equal((await s.api("GET", "/security/v1/signing-keys", { token: await s.login("promo.bob", OWN) })).status, 200);
    const sysadminKey = (await s.api("POST", `/security/v1/users/${bob}/api-keys`, { token: admin, body: { name: "made by sysadmin" } })).body.secret as string;
    assert.equal((await s.api("GET", "/security/v1/signing-keys", { token: sysadminKey })).status, 200);
    assert.equal((await s.api("GET", "/security/v1/me", { token: key })).status, 401, "the planted key stays refused");
  });

  it("a password changed with the one a security administrator set is no more trusted (whoever set it may be changing it); nor one an import set", async () => {
    const s = server();
    const carol = (await s.api("POST", "/security/v1/users", { token: sec, body: { username: "promo.carol", password: PLANTED, changePassword: true } })).body.id as string;
    const first = await s.login("promo.carol", PLANTED);
    assert.equal((await s.api("PUT", "/security/v1/me/password", { token: first, body: { currentPassword: PLANTED, newPassword: OWN } })).status, 204);
    await promote(s, carol);
    assert.equal(await loginStatus(s, "promo.carol", OWN), 401);
    // A password a system administrator set stays trusted through its owner's change.
    assert.equal((await s.api("PUT", `/security/v1/users/${carol}/reset-password`, { token: admin, body: { type: "password", value: "Reset-By-Sysadmin-8", temporary: true } })).status, 204);
    const forced = await s.login("promo.carol", "Reset-By-Sysadmin-8");
    assert.equal((await s.api("PUT", "/security/v1/me/password", { token: forced, body: { currentPassword: "Reset-By-Sysadmin-8", newPassword: `${OWN}-again` } })).status, 204);
    assert.equal(await loginStatus(s, "promo.carol", `${OWN}-again`), 200);

    const imported = await s.api("POST", "/security/v1/users/import", { token: sec, body: `${JSON.stringify({ username: "promo.dave", password: PLANTED })}\n`, headers: { "content-type": "application/x-ndjson" } });
    assert.match(imported.text, /"status":"created"/);
    const dave = (await s.api("GET", "/security/v1/users?search=promo.dave", { token: admin })).body[0].id as string;
    await promote(s, dave);
    assert.equal(await loginStatus(s, "promo.dave", PLANTED), 401);
  });

  it("the last system administrator counts only ways in a system administrator made", async () => {
    const s = server();
    // Alone with a planted password, an account does not stand for the role: sysadmin may not leave.
    const eve = (await s.api("POST", "/security/v1/users", { token: sec, body: { username: "promo.eve", password: PLANTED } })).body.id as string;
    await promote(s, eve);
    const holders = (await s.api("GET", `/security/v1/user-groups/${administrators}/members`, { token: admin })).body as { id: string; username: string }[];
    for (const holder of holders.filter((u) => u.username !== "sysadmin" && u.id !== eve)) {
      assert.equal((await s.api("DELETE", `/security/v1/users/${holder.id}/user-groups/${administrators}`, { token: admin })).status, 204);
    }
    const me = (await s.api("GET", "/security/v1/me", { token: admin })).body.id as string;
    assert.equal((await s.api("DELETE", `/security/v1/users/${me}/user-groups/${administrators}`, { token: admin })).status, 409);
  });
});
