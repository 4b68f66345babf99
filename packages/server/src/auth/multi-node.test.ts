import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, storeKinds, storeSkip, type TestServer } from "../test-support/server.js";

/** Two server nodes on one store: a token revoked through one is dead on the other at once. */
for (const kind of storeKinds) {
  describe(`two nodes on one store [${kind}]`, { skip: storeSkip(kind) }, () => {
    let a: TestServer;
    let b: TestServer;
    before(async () => {
      a = await startTestServer(kind);
      b = await startTestServer(kind, { store: a.server.deps.config.store });
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    const meOn = async (node: TestServer, token: string) => (await node.api("GET", "/security/v1/me", { token })).status;

    it("accepts a token issued by the other node", async () => {
      const token = await a.login();
      assert.equal(await meOn(b, token), 200);
    });

    it("logout on one node revokes the token on the other", async () => {
      const token = await a.login();
      assert.equal(await meOn(b, token), 200);
      assert.equal((await a.api("POST", "/auth/v1/logout", { token })).status, 204);
      assert.equal(await meOn(b, token), 401);
    });

    it("disabling, resetting the password and deleting a user end its tokens on every node", async () => {
      const admin = await a.login();
      const create = async (username: string) => {
        const r = await a.api("POST", "/security/v1/users", { token: admin, body: { username, password: "Node-Test-Pass-1" } });
        assert.equal(r.status, 201, r.text);
        return { id: r.body.id as string, token: await b.login(username, "Node-Test-Pass-1") };
      };
      const disabled = await create("node_disabled");
      const reset = await create("node_reset");
      const deleted = await create("node_deleted");
      for (const u of [disabled, reset, deleted]) assert.equal(await meOn(b, u.token), 200);

      assert.equal((await a.api("PUT", `/security/v1/users/${disabled.id}`, { token: admin, body: { enabled: false } })).status, 200);
      assert.equal((await a.api("PUT", `/security/v1/users/${reset.id}/reset-password`, { token: admin, body: { type: "password", value: "Other-Pass-22" } })).status, 204);
      assert.equal((await a.api("DELETE", `/security/v1/users/${deleted.id}`, { token: admin })).status, 204);
      for (const u of [disabled, reset, deleted]) assert.equal(await meOn(b, u.token), 401);
    });
  });
}
