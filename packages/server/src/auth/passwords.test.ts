import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { configFromEnv } from "../config.js";
import { startTestServer, type TestServer } from "../test-support/server.js";

describe("the bounded queue in front of argon2", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer("sqlite", { hashQueue: { concurrency: 1, maxWaiting: 2 }, argon2: configFromEnv({}).argon2 });
  });
  after(() => s?.close());

  it("refuses password checks beyond the queue at once (503, error shape, Retry-After) instead of queueing them", async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: `flood-${i}`, password: "wrong-guess" } })),
    );
    const busy = answers.filter((r) => r.status === 503);
    assert.deepEqual([...new Set(answers.map((r) => r.status))].sort(), [401, 503]);
    for (const r of busy) {
      assert.match(r.body.errorMessage, /^ECMS1901-E The server is busy checking passwords/);
      assert.equal(r.headers.get("retry-after"), "1");
    }
    assert.match(await s.login(), /^eyJ/, "once the flood is over, logins work");
  });
});
