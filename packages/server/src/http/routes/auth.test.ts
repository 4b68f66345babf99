import assert from "node:assert/strict";
import { it } from "node:test";
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

  it("a revoked token stays dead: after re-enabling its user (disabled one by one, in bulk or by an import), a password reset (also by an import), a logout, or a delete and re-create of the same username", async () => {
    const s = server();
    const admin = await s.login();
    const me = async (token: string) => (await s.api("GET", "/security/v1/me", { token })).status;
    const create = async (username: string) => {
      const r = await s.api("POST", "/security/v1/users", { token: admin, body: { username, password: "Revoked-Pass-11" } });
      assert.equal(r.status, 201, r.text);
      return { id: r.body.id as string, token: await s.login(username, "Revoked-Pass-11") };
    };
    const put = async (path: string, body: unknown, expected: number) => assert.equal((await s.api("PUT", path, { token: admin, body })).status, expected, path);
    const importRow = async (row: object) => {
      const r = await s.api("POST", "/security/v1/users/import", { token: admin, body: `${JSON.stringify(row)}\n`, headers: { "content-type": "application/x-ndjson" } });
      assert.equal(r.status, 200, r.text);
      assert.equal(JSON.parse(r.text.split("\n")[0]!).error, undefined, r.text);
    };
    const disableAndEnable = async (user: { id: string }, disable: () => Promise<void>) => {
      await disable();
      assert.equal((await s.api("GET", `/security/v1/users/${user.id}`, { token: admin })).body.enabled, false);
      await put(`/security/v1/users/${user.id}`, { enabled: true }, 200);
    };

    const disabled = await create("revoked.disabled");
    await disableAndEnable(disabled, () => put(`/security/v1/users/${disabled.id}`, { enabled: false }, 200));
    const bulk = await create("revoked.bulk");
    await disableAndEnable(bulk, async () => {
      const run = await s.api("POST", "/security/v1/users/bulk-actions", { token: admin, body: { action: "disable", ids: [bulk.id] } });
      assert.equal(run.status, 202, run.text);
      await s.server.deps.bulkActions.settled(run.body.id);
    });
    const imported = await create("revoked.imported");
    await disableAndEnable(imported, () => importRow({ username: "revoked.imported", enabled: false }));
    const reset = await create("revoked.reset");
    await put(`/security/v1/users/${reset.id}/reset-password`, { type: "password", value: "Revoked-Pass-22" }, 204);
    const importReset = await create("revoked.import-reset");
    await importRow({ username: "revoked.import-reset", password: "Revoked-Pass-22" });
    const loggedOut = await create("revoked.logout");
    assert.equal((await s.api("POST", "/auth/v1/logout", { token: loggedOut.token })).status, 204);
    const recreated = await create("revoked.recreated");
    assert.equal((await s.api("DELETE", `/security/v1/users/${recreated.id}`, { token: admin })).status, 204);
    await create("revoked.recreated");
    // Each account can log in again (a fresh token works); the old tokens stay dead.
    for (const [username, password] of [
      ["revoked.disabled", "Revoked-Pass-11"],
      ["revoked.bulk", "Revoked-Pass-11"],
      ["revoked.imported", "Revoked-Pass-11"],
      ["revoked.reset", "Revoked-Pass-22"],
      ["revoked.import-reset", "Revoked-Pass-22"],
      ["revoked.logout", "Revoked-Pass-11"],
    ] as const) {
      assert.equal(await me(await s.login(username, password)), 200, username);
    }
    for (const [what, old] of [
      ["re-enabled", disabled],
      ["re-enabled after a bulk disable", bulk],
      ["re-enabled after an import disabled it", imported],
      ["reset", reset],
      ["reset by an import", importReset],
      ["logged out", loggedOut],
      ["re-created", recreated],
    ] as const) {
      assert.equal(await me(old.token), 401, what);
    }
  });

  it("expires after its idle lifetime, each use moves the end forward, and no use outlives the session's maximum", async () => {
    const s = server();
    const me = async (token: string) => (await s.api("GET", "/security/v1/me", { token })).status;
    const [idle, edge, active] = [await s.login(), await s.login(), await s.login()];
    // The server's clock moves; nothing waits. Idle lifetime 300 s, session maximum 1000 s.
    s.clock.advance(200);
    assert.equal(await me(active), 200);
    s.clock.advance(90);
    assert.equal(await me(edge), 200, "not yet idle for 300 s");
    s.clock.advance(20);
    assert.equal(await me(idle), 401, "idle for longer than 300 s");
    assert.equal(await me(active), 200, "its use at 200 s moved its end forward");
    for (const at of [510, 710, 910]) {
      s.clock.advance(200);
      assert.equal(await me(active), 200, `used again at ${at} s`);
    }
    s.clock.advance(200);
    assert.equal(await me(active), 401, "past the session maximum, however active");
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
}, { tokenTtlSeconds: 300, sessionMaxSeconds: 1000 });

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
    assert.deepEqual(JSON.parse(blocked.body.additionalInfo), { passwordChangeRequired: true, passwordChangeIn: "here" });
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
