import assert from "node:assert/strict";
import { it } from "node:test";
import { describeEachStore, startTestServer, storeKinds, storeSkip, type TestServer } from "../../test-support/server.js";

describeEachStore("API keys and service accounts", (server) => {
  let admin: string;
  let robot: { id: string };
  let secret: string;
  let keyId: string;
  const call = (method: string, path: string, token: string, body?: unknown) => server().api(method, path, { token, body });

  it("a service account has no password; an administrator gives it a key, shown once", async () => {
    admin = await server().login();
    const created = await call("POST", "/security/v1/users", admin, { username: "robot", serviceAccount: true });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.serviceAccount, true);
    robot = created.body;
    assert.equal((await call("POST", "/security/v1/users", admin, { username: "robot2", serviceAccount: true, password: "Tr0ub4dor&3-horse-battery" })).status, 400);
    assert.equal((await call("PUT", `/security/v1/users/${robot.id}/reset-password`, admin, { type: "password", value: "Tr0ub4dor&3-horse-battery" })).status, 409);
    const group = await call("POST", "/security/v1/user-groups", admin, { name: "robots" });
    await call("PUT", `/security/v1/user-groups/${group.body.id}/role-mappings/portal/security-administrator`, admin);
    assert.equal((await call("PUT", `/security/v1/users/${robot.id}/user-groups/${group.body.id}`, admin)).status, 204);

    const key = await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name: "nightly sync" });
    assert.equal(key.status, 201, key.text);
    secret = key.body.secret;
    keyId = key.body.id;
    assert.match(secret, /^ecm_[A-Za-z0-9_-]{40}$/);
    assert.equal(key.body.prefix, secret.slice(0, 12));
    assert.match(key.headers.get("location")!, new RegExp(`/api-keys/${keyId}$`));
    // Its Location reads it, without the secret.
    const read = await call("GET", `/security/v1/users/${robot.id}/api-keys/${keyId}`, admin);
    assert.equal(read.status, 200, read.text);
    assert.deepEqual([read.body.id, read.body.name, read.body.secret], [keyId, "nightly sync", undefined]);
    const list = await call("GET", `/security/v1/users/${robot.id}/api-keys`, admin);
    assert.deepEqual(list.body.map((k: { name: string }) => k.name), ["nightly sync"]);
    assert.ok(!list.text.includes(secret) && list.body[0].secret === undefined, "the secret is never listed");
    const audit = await call("GET", `/security/v1/audit-events?action=api-key.create`, admin);
    assert.equal(audit.body.length, 1);
    assert.ok(!audit.text.includes(secret), "nor audited");
    const stored = await server().server.deps.store.db.selectFrom("api_keys").select("secret_hash").executeTakeFirstOrThrow();
    assert.ok(!stored.secret_hash.includes(secret.slice(4)), "only a hash is kept");
  });

  it("a service account is never asked to change its password: it has none, and its keys would stop", async () => {
    const refused = "ECMS1001-E A service account has no password to change: changePassword must be false.";
    const created = await call("POST", "/security/v1/users", admin, { username: "robot_due", serviceAccount: true, changePassword: true });
    assert.deepEqual([created.status, created.body.errorMessage], [400, refused]);
    const changed = await call("PUT", `/security/v1/users/${robot.id}`, admin, { changePassword: true });
    assert.deepEqual([changed.status, changed.body.errorMessage], [400, refused]);
    const imported = await server().api("POST", "/security/v1/users/import", {
      token: admin,
      headers: { "content-type": "application/x-ndjson" },
      body: `${JSON.stringify({ username: "robot", changePassword: true })}\n${JSON.stringify({ username: "robot_due", serviceAccount: true, changePassword: true })}\n`,
    });
    assert.deepEqual(imported.text.trim().split("\n").slice(0, 2).map((l) => JSON.parse(l).error?.message), [refused.slice("ECMS1001-E ".length), refused.slice("ECMS1001-E ".length)]);
    assert.equal((await call("GET", "/security/v1/me", secret)).status, 200, "the key still works");
  });

  it("the key authenticates as the account, with its roles at most", async () => {
    assert.equal((await call("GET", "/security/v1/me", secret)).body.username, "robot");
    assert.equal((await call("GET", "/security/v1/users", secret)).status, 200, "security-administrator through its group");
    const sysadmin = (await call("GET", "/security/v1/users?search=sysadmin", admin)).body[0];
    assert.equal((await call("PUT", `/security/v1/users/${sysadmin.id}`, secret, { firstName: "Mallory" })).status, 403, "not a system administrator");
    assert.equal((await call("POST", `/security/v1/users/${sysadmin.id}/api-keys`, secret, { name: "escalate" })).status, 403);
    // One character changed (a random key ends in "x" one time in 64: then another letter).
    const altered = `${secret.slice(0, -1)}${secret.endsWith("x") ? "y" : "x"}`;
    assert.equal((await call("GET", "/security/v1/me", altered)).status, 401);
    assert.equal((await server().api("POST", "/auth/v1/providers/builtin/token", { body: { username: "robot", password: "anything-at-all" } })).status, 401, "no password login");
    const later = await call("GET", `/security/v1/users/${robot.id}/api-keys`, admin);
    assert.ok(later.body[0].lastUsedAt, "last use is kept");
  });

  it("disabling the account stops its keys at once, enabling lets them work again; revoking ends one for good", async () => {
    assert.equal((await call("PUT", `/security/v1/users/${robot.id}`, admin, { enabled: false })).status, 200);
    assert.equal((await call("GET", "/security/v1/me", secret)).status, 401);
    assert.equal((await call("PUT", `/security/v1/users/${robot.id}`, admin, { enabled: true })).status, 200);
    assert.equal((await call("GET", "/security/v1/me", secret)).status, 200);
    assert.equal((await call("DELETE", `/security/v1/users/${robot.id}/api-keys/${keyId}`, admin)).status, 204);
    assert.equal((await call("GET", "/security/v1/me", secret)).status, 401);
    assert.equal((await call("DELETE", `/security/v1/users/${robot.id}/api-keys/${keyId}`, admin)).status, 404);
    const revoked = await call("GET", `/security/v1/audit-events?action=api-key.revoke`, admin);
    assert.equal(revoked.body.length, 1);
  });

  it("expired keys and keys of deleted accounts do not work; bad input is a 400", async () => {
    const soon = await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name: "short", expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    assert.equal(soon.status, 201);
    assert.equal((await call("GET", "/security/v1/me", soon.body.secret)).status, 200);
    // The server's clock moves past the hour (no waiting); the administrator's token expires with it.
    server().clock.advance(3601);
    assert.equal((await call("GET", "/security/v1/me", soon.body.secret)).status, 401);
    admin = await server().login();
    assert.equal((await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name: "past", expiresAt: "2001-01-01T00:00:00Z" })).status, 400);
    // A date alone, as validFrom and validTo take it: its midnight UTC.
    const dated = await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name: "dated", expiresAt: "2091-01-01" });
    assert.deepEqual([dated.status, dated.body.expiresAt], [201, "2091-01-01T00:00:00.000Z"]);
    for (const expiresAt of ["2091-02-30", "next year", "2091-01-01T10:00"]) {
      assert.equal((await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name: `bad ${expiresAt}`, expiresAt })).status, 400, expiresAt);
    }
    assert.equal((await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name: "" })).status, 400);
    assert.equal((await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name: "x", scope: "all" })).status, 400);
    for (const name of ["nightly\r\nrevoked: all", "nightly\tkey", "nightly\u202ekey"]) {
      const broken = await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name });
      assert.deepEqual([broken.status, broken.body.errorMessage], [400, "ECMS1001-E name must not hold line breaks, tabs or other invisible or formatting characters."], JSON.stringify(name));
    }
    const blank = await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name: "  \t " });
    assert.deepEqual([blank.status, blank.body.errorMessage], [400, "ECMS1001-E name must say what the key is for: it is blank."]);
    // A key's name is unique among the account's keys (trimmed), so revoking "the nightly key" means one key.
    assert.equal((await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name: "twice" })).status, 201);
    const twice = await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name: " twice " });
    assert.deepEqual([twice.status, twice.body.errorMessage], [409, 'ECMS1301-E robot already has an API key named "twice".']);
    // The same on the screen is the same name: "café" typed composed or decomposed (NFC, NFD), or in full-width letters.
    const composed = await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name: "caf\u00e9" });
    assert.deepEqual([composed.status, composed.body.name], [201, "caf\u00e9"]);
    for (const name of ["cafe\u0301", "\uff43\uff41\uff46\u00e9"]) {
      const same = await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name });
      assert.deepEqual([same.status, same.body.errorMessage], [409, 'ECMS1301-E robot already has an API key named "caf\u00e9".'], JSON.stringify(name));
    }
    const key = await call("POST", `/security/v1/users/${robot.id}/api-keys`, admin, { name: "doomed" });
    assert.equal((await call("DELETE", `/security/v1/users/${robot.id}`, admin)).status, 204);
    assert.equal((await call("GET", "/security/v1/me", key.body.secret)).status, 401);
  });
});

for (const kind of storeKinds) {
  it(`an API key is rate-limited per minute, on every node together [${kind}]`, { skip: storeSkip(kind) }, async () => {
    let a: TestServer | undefined;
    let b: TestServer | undefined;
    try {
      a = await startTestServer(kind, { apiKeyRatePerMinute: 4 });
      b = await startTestServer(kind, { store: a.server.deps.config.store, apiKeyRatePerMinute: 4 });
      const admin = await a.login();
      const user = (await a.api("POST", "/security/v1/users", { token: admin, body: { username: "limited", serviceAccount: true } })).body;
      const { secret } = (await a.api("POST", `/security/v1/users/${user.id}/api-keys`, { token: admin, body: { name: "busy" } })).body;
      const statuses = [];
      for (const node of [a, b, a, b, a]) statuses.push((await node.api("GET", "/security/v1/me", { token: secret })).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
      const refused = await b.api("GET", "/security/v1/me", { token: secret });
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    } finally {
      await b?.close();
      await a?.close();
    }
  });
}
