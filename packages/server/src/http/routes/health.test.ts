import assert from "node:assert/strict";
import { it } from "node:test";
import { describeEachStore } from "../../test-support/server.js";

describeEachStore("GET /health", (server) => {
  it("answers anyone that the server and its store are up, and which store", async () => {
    const s = server();
    const health = await s.api("GET", "/health");
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: "ok", store: s.kind });
    assert.equal(health.headers.get("cache-control"), "no-store");
  });
});
