import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { configFromEnv } from "../config.js";
import { startTestServer, type TestServer } from "../test-support/server.js";

describe("the bounded queue in front of argon2", () => {
  let s: TestServer;
  before(async () => {
    // Checks dear enough (a few hundred ms each) that the queue stays full for as long as the test needs it.
    s = await startTestServer("sqlite", { hashQueue: { concurrency: 1, maxWaiting: 2 }, argon2: { ...configFromEnv({}).argon2, timeCost: 60 } });
  });
  after(() => s?.close());

  it("refuses password checks beyond the queue at once (503, error shape, Retry-After) instead of queueing them", async () => {
    const token = await s.login();
    assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "flooded", password: "Flooded-Account-Pass-1" } })).status, 201);
    // Unknown names and an existing account alike (the account's from a few addresses: the logins of one
    // name from one address, and from addresses it does not know, wait for each other and never fill the queue).
    const attempt = (username: string, i: number) => s.api("POST", "/auth/v1/providers/builtin/token", { from: `127.0.1.${i + 1}`, body: { username, password: "wrong-guess" } });
    // The flood fills the queue; the account's attempts come the moment it is seen full (its first refusal),
    // while the checks it holds still run (one at a time: they are of one name).
    let full!: () => void;
    const queueFull = new Promise<void>((resolve) => (full = resolve));
    const flood = Promise.all(Array.from({ length: 36 }, (_, i) => attempt(`flood-${i}`, i).then((r) => (r.status === 503 && full(), r))));
    await queueFull;
    const account = await Promise.all(Array.from({ length: 4 }, (_, i) => attempt("flooded", 36 + i)));
    const answers = [...(await flood), ...account];
    const busy = answers.filter((r) => r.status === 503);
    assert.deepEqual([...new Set((await flood).map((r) => r.status))].sort(), [401, 503]);
    assert.ok(account.some((r) => r.status === 503), `an existing account's check is refused as busy too: ${account.map((r) => r.status)}`);
    for (const r of busy) {
      assert.match(r.body.errorMessage, /^ECMS1901-E The server is busy checking passwords/);
      assert.equal(r.headers.get("retry-after"), "1");
    }
    assert.match(await s.login(), /^eyJ/, "once the flood is over, logins work");
  });
});
