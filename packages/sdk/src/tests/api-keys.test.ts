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
  await admin.security.revokeApiKey(robot, key.id);
  await assert.rejects(script.security.me(), ECMAuthError);
  assert.throws(() => new ECM({ baseUrl: server.baseUrl, apiKey: "not-a-key" }), /ecm_/);
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
      admin.security.revokeApiKey(robot, key.id);
      assert.throws(() => script.security.me(), ECMAuthError);
    } finally {
      script.close();
    }
    assert.deepEqual(admin.security.apiKeys(robot), []);
  } finally {
    admin.close();
  }
});
