import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startServerThread, type ThreadServer } from "../../test/server-thread.js";
import { ECM, ECMAuthError, ECMSync } from "../index.js";

let server: ThreadServer;
before(async () => {
  server = await startServerThread();
});
after(async () => {
  await server?.close();
});

test("an API key made with the SDK authenticates a client of its own; revoked, it stops", async () => {
  const admin = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const robot = await admin.request<{ id: string }>("POST", "/security/v1/users", { body: { username: "sdk_robot", serviceAccount: true } });
  const key = await admin.security.createApiKey(robot.id, "sdk test", { expiresAt: new Date(Date.now() + 3_600_000) });
  assert.match(key.secret, /^ecm_/);
  assert.ok(key.expiresAt instanceof Date);
  const script = new ECM({ baseUrl: server.baseUrl, apiKey: key.secret });
  assert.equal((await script.security.me()).username, "sdk_robot");
  await script.logout(); // nothing to log out: the key still works
  assert.equal((await script.security.me()).username, "sdk_robot");
  const sync = new ECMSync({ baseUrl: server.baseUrl, apiKey: key.secret });
  assert.equal(sync.security.me().username, "sdk_robot");
  sync.close();
  const listed = await admin.security.apiKeys(robot.id);
  assert.deepEqual(listed.map((k) => [k.id, k.prefix]), [[key.id, key.secret.slice(0, 12)]]);
  assert.equal("secret" in listed[0]!, false);
  await admin.security.revokeApiKey(robot.id, key.id);
  await assert.rejects(script.security.me(), ECMAuthError);
  assert.throws(() => new ECM({ baseUrl: server.baseUrl, apiKey: "not-a-key" }), /ecm_/);
});
