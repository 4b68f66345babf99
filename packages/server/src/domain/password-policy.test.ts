import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../test-support/server.js";

const GOOD = "Umbrella-Quarry-73";

/** The policy is the same whatever the store: one SQLite server carries every path that sets a password. */
describe("password policy on every path that sets a password", () => {
  let s: TestServer;
  let token: string;
  before(async () => {
    s = await startTestServer("sqlite");
    token = await s.login();
  });
  after(() => s?.close());

  /** Each refused password with the rule it breaks and words the message must say. */
  const REFUSED: [password: string, rule: string, says: RegExp][] = [
    ["Short-Pw-1", "length", /at least 12 characters/],
    ["password", "length", /at least 12 characters/],
    ["            ", "common", /too easy to guess \(it repeats characters\)/],
    ["password1234", "common", /too easy to guess \(it is a commonly used password/],
    ["P@ssw0rd12345", "common", /too easy to guess/],
    ["qwertyuiop123", "common", /too easy to guess/],
    ["Policy.Person", "name", /must not be the username or login name/],
    ["POLICY.PERSON", "name", /must not be the username or login name/],
  ];

  const assertRefused = (r: { status: number; body: { errorMessage: string; additionalInfo: string } }, field: string, rule: string, says: RegExp) => {
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.errorMessage, new RegExp(`^ECMS1001-E ${field} is refused: `));
    assert.match(r.body.errorMessage, says);
    assert.deepEqual(JSON.parse(r.body.additionalInfo), { field, rule });
  };

  it("creating a user refuses short, common and own-name passwords, and says why", async () => {
    for (const [password, rule, says] of REFUSED) {
      const r = await s.api("POST", "/security/v1/users", { token, body: { username: "policy.person", password } });
      assertRefused(r, "password", rule, says);
    }
    const r = await s.api("POST", "/security/v1/users", { token, body: { username: "policy.person", loginName: "pp", firstName: "Gwendolyn", password: GOOD } });
    assert.equal(r.status, 201, r.text);
    const named = await s.api("POST", "/security/v1/users", { token, body: { username: "other.person", firstName: "Gwendolyn", password: "gwendolyn2024" } });
    assertRefused(named, "password", "name", /built on the account's own names/);
    // The names joined by anything, in either order, with digits about them: still the names.
    // Repeated too: a name twice is no stronger than once.
    for (const password of ["Quenneville.Bartholomew1", "bartholomew-quenneville", "QUENNEVILLE_bartholomew_99", "Bartholomew-Quenneville-Bartholomew", "third.person-third.person"]) {
      const joined = await s.api("POST", "/security/v1/users", { token, body: { username: "third.person", firstName: "Bartholomew", lastName: "Quenneville", password } });
      assertRefused(joined, "password", "name", /built on the account's own names/);
    }
    const more = await s.api("POST", "/security/v1/users", { token, body: { username: "third.person", firstName: "Bartholomew", lastName: "Quenneville", password: "Bartholomew-Quenneville-lantern-orbit" } });
    assert.equal(more.status, 201, "the names among other words: zxcvbn's to judge");
  });

  it("an import refuses a row whose password breaks it, and imports the others", async () => {
    const rows = [{ username: "imp.weak", password: "password1234" }, { username: "imp.strong", password: GOOD }].map((r) => JSON.stringify(r)).join("\n");
    const r = await s.api("POST", "/security/v1/users/import", { token, body: `${rows}\n`, headers: { "content-type": "application/x-ndjson" } });
    assert.equal(r.status, 200, r.text);
    const [weak, strong] = r.text.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(weak.status, "failed");
    assert.match(weak.error.message, /^password is refused: it is too easy to guess/);
    assert.equal(strong.status, "created");
  });

  it("an administrator's reset and the user's own change obey it too", async () => {
    const list = await s.api("GET", "/security/v1/users?search=policy.person", { token });
    const id = list.body[0].id;
    for (const [password, rule, says] of REFUSED) {
      const r = await s.api("PUT", `/security/v1/users/${id}/reset-password`, { token, body: { type: "password", value: password } });
      assertRefused(r, "value", rule, says);
    }
    const own = await s.login("pp", GOOD);
    for (const [password, rule, says] of REFUSED) {
      const r = await s.api("PUT", "/security/v1/me/password", { token: own, body: { currentPassword: GOOD, newPassword: password } });
      assertRefused(r, "newPassword", rule, says);
    }
    const changed = await s.api("PUT", "/security/v1/me/password", { token: own, body: { currentPassword: GOOD, newPassword: "Lantern-Gravel-Oboe" } });
    assert.equal(changed.status, 204, changed.text);
  });
});
