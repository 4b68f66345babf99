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
    const token = await s.login();
    assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "flooded", password: "Flooded-Account-Pass-1" } })).status, 201);
    // Unknown names and an existing account alike (the account's from a few addresses: the logins of one
    // name from one address, and from addresses it does not know, wait for each other and never fill the queue).
    const names = Array.from({ length: 40 }, (_, i) => (i % 10 === 5 ? "flooded" : `flood-${i}`));
    const answers = await Promise.all(names.map((username, i) => s.api("POST", "/auth/v1/providers/builtin/token", { from: `127.0.1.${i + 1}`, body: { username, password: "wrong-guess" } })));
    const busy = answers.filter((r) => r.status === 503);
    assert.deepEqual([...new Set(answers.map((r) => r.status))].sort(), [401, 503]);
    assert.ok(names.some((name, i) => name === "flooded" && answers[i]!.status === 503), "an existing account's check is refused as busy too");
    for (const r of busy) {
      assert.match(r.body.errorMessage, /^ECMS1901-E The server is busy checking passwords/);
      assert.equal(r.headers.get("retry-after"), "1");
    }
    assert.match(await s.login(), /^eyJ/, "once the flood is over, logins work");
  });
});
