import assert from "node:assert/strict";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { SignJWT } from "jose";
import { ADMIN_PASSWORD, describeEachStore } from "../../test-support/server.js";
import { insertUser } from "../../test-support/fixtures.js";

const TOKEN_PATH = "/auth/v1/providers/builtin/token";

describeEachStore("POST /auth/v1/providers/builtin/token", (server) => {
  it("answers the seed family's token shape", async () => {
    const r = await server().api("POST", TOKEN_PATH, { body: { username: "sysadmin", password: ADMIN_PASSWORD } });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body).sort(), ["access_token", "expires_in", "token_type"]);
    assert.match(r.body.access_token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(r.body.expires_in, 300);
    assert.equal(r.body.token_type, "bearer");
  });

  it("gives one identical 401 for a wrong password, an unknown user and a disabled user", async () => {
    const s = server();
    await insertUser(s.server.deps.store, { username: "disabled_one", enabled: 0 }, { hasher: s.server.deps.hasher, value: "Right-Password-1" });
    const answers = await Promise.all([
      s.api("POST", TOKEN_PATH, { body: { username: "sysadmin", password: "wrong-password" } }),
      s.api("POST", TOKEN_PATH, { body: { username: "nobody_here", password: "whatever-1" } }),
      s.api("POST", TOKEN_PATH, { body: { username: "disabled_one", password: "Right-Password-1" } }),
    ]);
    for (const r of answers) {
      assert.equal(r.status, 401);
      assert.deepEqual(r.body, answers[0]!.body);
      assert.match(r.body.errorMessage, /^ECMS\d{4}-E /);
    }
  });

  it("logs in case-insensitively by login name", async () => {
    const token = await server().login("SysAdmin");
    assert.match(token, /^eyJ/);
  });

  it("refuses malformed bodies with 400", async () => {
    const s = server();
    for (const body of [{}, { username: "sysadmin" }, { username: 1, password: "x" }, { username: "", password: "x" }]) {
      const r = await s.api("POST", TOKEN_PATH, { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.errorMessage, /^ECMS1001-E /);
    }
  });

  it("never hands a token to a user without a password (identity-provider users)", async () => {
    const s = server();
    await insertUser(s.server.deps.store, { username: "federated_only" });
    const r = await s.api("POST", TOKEN_PATH, { body: { username: "federated_only", password: "anything-at-all" } });
    assert.equal(r.status, 401);
  });
});

describeEachStore("token lifetime and revocation", (server) => {
  it("stops working after logout", async () => {
    const s = server();
    const token = await s.login();
    assert.equal((await s.api("GET", "/security/v1/me", { token })).status, 200);
    assert.equal((await s.api("POST", "/auth/v1/logout", { token })).status, 204);
    const after = await s.api("GET", "/security/v1/me", { token });
    assert.equal(after.status, 401);
    assert.equal(after.headers.get("www-authenticate"), 'Bearer realm="ecm-security"');
    assert.equal((await s.api("POST", "/auth/v1/logout", { token })).status, 401);
  });

  it("expires after its idle lifetime, and each use moves the end forward", async () => {
    const s = server();
    const idle = await s.login();
    const active = await s.login();
    for (let i = 0; i < 4; i++) {
      await sleep(700);
      assert.equal((await s.api("GET", "/security/v1/me", { token: active })).status, 200, `use ${i}`);
    }
    // 2.8 s have passed: beyond the 2 s idle lifetime of the unused token.
    assert.equal((await s.api("GET", "/security/v1/me", { token: idle })).status, 401);
    await sleep(2300);
    assert.equal((await s.api("GET", "/security/v1/me", { token: active })).status, 401);
  });

  it("rejects tokens that are forged, malformed or signed with another key", async () => {
    const s = server();
    const real = await s.login();
    const [header, payload] = real.split(".");
    const forged = await new SignJWT({ sid: "x" }).setProtectedHeader({ alg: "HS256" }).setIssuer("ecm-security").setSubject("x").sign(new Uint8Array(32));
    for (const token of [forged, `${header}.${payload}.`, `${header}.${payload}.AAAA`, "not-a-jwt", "eyJ.eyJ.e"]) {
      assert.equal((await s.api("GET", "/security/v1/me", { token })).status, 401, token);
    }
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${payload}.`;
    assert.equal((await s.api("GET", "/security/v1/me", { token: none })).status, 401);
  });
}, { tokenTtlSeconds: 2 });

describeEachStore("validity window at every use of a token", (server) => {
  it("a token stops working once its user's validTo has passed or validFrom lies ahead, not only at the next login", async () => {
    const s = server();
    const admin = await s.login();
    for (const [username, window] of [["valid.until", { validTo: "2001-01-01" }], ["valid.from", { validFrom: "2999-01-01" }]] as const) {
      const user = await insertUser(s.server.deps.store, { username }, { hasher: s.server.deps.hasher, value: "Window-Password-1" });
      const token = await s.login(username, "Window-Password-1");
      assert.equal((await s.api("GET", "/security/v1/me", { token })).status, 200);
      assert.equal((await s.api("PUT", `/security/v1/users/${user.uuid}`, { token: admin, body: window })).status, 200);
      const r = await s.api("GET", "/security/v1/me", { token });
      assert.equal(r.status, 401, `${username}: ${r.text}`);
      assert.match(r.body.errorMessage, /^ECMS1101-E /);
    }
  });
});

describeEachStore("password maximum age (ECM_PASSWORD_MAX_AGE_DAYS)", (server) => {
  const PASSWORD = "Aging-Password-1";
  const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

  it("the first login after the maximum age must change the password, unless it never expires", async () => {
    const s = server();
    const { store, hasher } = s.server.deps;
    const password = { hasher, value: PASSWORD };
    await insertUser(store, { username: "stale.pw", password_changed_at: daysAgo(31) }, password);
    await insertUser(store, { username: "fresh.pw", password_changed_at: daysAgo(29) }, password);
    await insertUser(store, { username: "never.pw", password_changed_at: daysAgo(400), password_never_expires: 1 }, password);
    const admin = await s.login();
    const changePasswordOf = async (username: string) =>
      (await s.api("GET", `/security/v1/users?search=${username}&extendedInfo=true`, { token: admin })).body[0].changePassword;

    const stale = await s.login("stale.pw", PASSWORD);
    const blocked = await s.api("GET", "/security/v1/users", { token: stale });
    assert.equal(blocked.status, 403);
    assert.deepEqual(JSON.parse(blocked.body.additionalInfo), { passwordChangeRequired: true });
    assert.equal(await changePasswordOf("stale.pw"), true);
    const events = await s.api("GET", "/security/v1/audit-events?action=user.password-expired", { token: admin });
    assert.deepEqual(events.body.map((e: { targetName: string }) => e.targetName), ["stale.pw"]);

    const changed = await s.api("PUT", "/security/v1/me/password", { token: stale, body: { currentPassword: PASSWORD, newPassword: "Renewed-Password-2" } });
    assert.equal(changed.status, 204, changed.text);
    await s.login("stale.pw", "Renewed-Password-2");
    assert.equal(await changePasswordOf("stale.pw"), false, "a fresh password is not expired");

    for (const username of ["fresh.pw", "never.pw"]) {
      await s.login(username, PASSWORD);
      assert.equal(await changePasswordOf(username), false, username);
    }
  });
}, { passwordMaxAgeDays: 30 });
