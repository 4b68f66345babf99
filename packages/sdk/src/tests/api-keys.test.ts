import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startServerThread, type ThreadServer } from "../../test/server-thread.js";
import { ECM, ECMAuthError, ECMSync, ECMValidationError } from "../index.js";

let server: ThreadServer;
before(async () => {
  server = await startServerThread();
});
after(async () => {
  await server?.close();
});

test("createUser makes a service account, which the user objects show; it takes no password", async () => {
  const admin = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const robot = await admin.security.createUser("sdk_svc", { serviceAccount: true, remark: "nightly" });
  assert.equal(robot.serviceAccount, true);
  assert.equal((await admin.security.getUser(robot)).serviceAccount, true);
  const listed = await admin.security.users({ extendedInfo: true, search: "sdk_svc" });
  assert.deepEqual(listed.map((u) => [u.username, u.serviceAccount]), [["sdk_svc", true]]);
  assert.equal((await admin.security.users({ search: "sdk_svc" }))[0]!.serviceAccount, false, "not without extendedInfo");
  assert.equal((await admin.security.createUser("sdk_person")).serviceAccount, false);
  await assert.rejects(admin.security.createUser("sdk_svc2", { serviceAccount: true, password: "Passw0rd-Long!" }), ECMValidationError);
});

test("an API key made with the SDK authenticates a client of its own; revoked, it stops", async () => {
  const admin = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const robot = await admin.security.createUser("sdk_robot", { serviceAccount: true });
  const key = await admin.security.createApiKey(robot, "sdk test", { expiresAt: new Date(Date.now() + 3_600_000) });
  assert.match(key.secret, /^ecm_/);
  assert.ok(key.expiresAt instanceof Date);
  const script = new ECM({ baseUrl: server.baseUrl, apiKey: key.secret });
  assert.equal((await script.security.me()).username, "sdk_robot");
  await script.logout(); // nothing to log out: the key still works
  assert.equal((await script.security.me()).username, "sdk_robot");
  const sync = new ECMSync({ baseUrl: server.baseUrl, apiKey: key.secret });
  assert.equal(sync.security.me().username, "sdk_robot");
  sync.close();
  const listed = await admin.security.apiKeys(robot);
  assert.deepEqual(listed.map((k) => [k.id, k.prefix]), [[key.id, key.secret.slice(0, 12)]]);
  assert.equal("secret" in listed[0]!, false);
  // A name or prefix is no id: a TypeError, not a 404 a script could take for a key revoked already while it works on.
  for (const notId of [key.name, key.prefix]) {
    await assert.rejects(admin.security.revokeApiKey(robot, notId), (e: unknown) => e instanceof TypeError && e.message === `an API key's id (or the key from apiKeys or createApiKey) is expected, not ${JSON.stringify(notId)}: apiKeys(user) lists the keys with their ids`);
  }
  assert.equal((await script.security.me()).username, "sdk_robot");
  // The key itself, as ECMUser and ECMGroup are taken for their guids.
  await admin.security.revokeApiKey(robot, listed[0]!);
  await assert.rejects(script.security.me(), ECMAuthError);
  assert.throws(() => new ECM({ baseUrl: server.baseUrl, apiKey: "not-a-key" }), /ecm_/);
  // No key the server makes holds more than letters, digits, - and _: another is refused here, not sent as "cannot reach".
  for (const apiKey of ["ecm_\u{1F600}", "ecm_ab\u00e9", "ecm_a b"]) assert.throws(() => new ECM({ baseUrl: server.baseUrl, apiKey }), TypeError, apiKey);
});

test("ECMSync has the key methods: create, list, revoke", () => {
  const admin = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    const robot = admin.security.createUser("sdk_sync_robot", { serviceAccount: true });
    assert.equal(robot.serviceAccount, true);
    const expiresAt = new Date(Date.now() + 3_600_000);
    const key = admin.security.createApiKey(robot, "sync test", { expiresAt });
    assert.match(key.secret, /^ecm_/);
    assert.ok(key.expiresAt instanceof Date && Math.abs(key.expiresAt.getTime() - expiresAt.getTime()) < 1000, "a Date, through the worker");
    const listed = admin.security.apiKeys(robot);
    assert.deepEqual(listed.map((k) => [k.id, k.name, k.prefix]), [[key.id, "sync test", key.secret.slice(0, 12)]]);
    assert.ok(listed[0]!.createdAt instanceof Date);
    const script = new ECMSync({ baseUrl: server.baseUrl, apiKey: key.secret });
    try {
      assert.equal(script.security.me().username, "sdk_sync_robot");
      assert.throws(() => admin.security.revokeApiKey(robot, key.name), TypeError);
      assert.equal(script.security.me().username, "sdk_sync_robot");
      admin.security.revokeApiKey(robot, key);
      assert.throws(() => script.security.me(), ECMAuthError);
    } finally {
      script.close();
    }
    assert.deepEqual(admin.security.apiKeys(robot), []);
  } finally {
    admin.close();
  }
});

test("every time the SDK takes — an API key's expiresAt, a user's validFrom and validTo — takes a Date or an ISO 8601 string, a date alone meaning its midnight UTC (as the CLI's flags)", async () => {
  const admin = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    const robot = await admin.security.createUser("sdk_dated_robot", { serviceAccount: true });
    const midnight = "2031-01-01T00:00:00.000Z";
    for (const expiresAt of ["2031-01-01", "2031-01-01T00:00:00Z", "2031-01-01T01:00:00+01:00", new Date(midnight)]) {
      const name = `k ${String(expiresAt instanceof Date ? "Date" : expiresAt)}`;
      assert.equal((await admin.security.createApiKey(robot, name, { expiresAt })).expiresAt?.toISOString(), midnight, name);
      assert.equal(sync.security.createApiKey(robot, `${name} sync`, { expiresAt }).expiresAt?.toISOString(), midnight, `${name}, ECMSync`);
    }
    const dated = await admin.security.createUser("sdk_dated", { validFrom: "2031-01-01", validTo: "2031-12-31" });
    assert.deepEqual([dated.validFrom?.toISOString(), dated.validTo?.toISOString()], [midnight, "2031-12-31T00:00:00.000Z"]);
    const changed = sync.security.updateUser(dated, { validTo: "2032-06-30" });
    assert.equal(changed.validTo?.toISOString(), "2032-06-30T00:00:00.000Z");
    // What is no time is the server's refusal, naming the field; a Date that is none, the SDK's.
    for (const expiresAt of ["2031-02-30", "2031-01-01T10:00", "soon"]) {
      await assert.rejects(admin.security.createApiKey(robot, `bad ${expiresAt}`, { expiresAt }), (e: unknown) => e instanceof ECMValidationError && /expiresAt/.test(e.message), expiresAt);
      await assert.rejects(admin.security.updateUser(dated, { validFrom: expiresAt }), (e: unknown) => e instanceof ECMValidationError && /validFrom/.test(e.message), expiresAt);
    }
    await assert.rejects(admin.security.createApiKey(robot, "bad Date", { expiresAt: new Date("soon") }), /expiresAt is an invalid Date/);
    await assert.rejects(admin.security.updateUser(dated, { validTo: new Date("soon") }), /validTo is an invalid Date/);
  } finally {
    sync.close();
  }
});
