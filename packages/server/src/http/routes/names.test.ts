import assert from "node:assert/strict";
import { before, it } from "node:test";
import { describeEachStore, startTestServer } from "../../test-support/server.js";
import { seedStore } from "../../tools/seed-data.js";

/** Cyrillic ѕ у ѕ а: looks like "sysa". */
const CYRILLIC_SYSADMIN = "\u0455\u0443\u0455\u0430dmin";

/** Names are stored in NFKC, and a new name that looks like an existing one (UTS #39 skeleton) is a 409 naming that one. */
describeEachStore("names that only look alike", (server, kind) => {
  let token: string;
  before(async () => {
    token = await server().login();
  });

  function assertLookalike(r: { status: number; body: any; text: string }, existing: string, field?: string) {
    assert.equal(r.status, 409, r.text);
    assert.match(r.body.errorMessage, /^ECMS1301-E /);
    assert.ok(r.body.errorMessage.includes(`"${existing}"`), r.body.errorMessage);
    const info = JSON.parse(r.body.additionalInfo);
    assert.equal(info.existing, existing);
    if (field) assert.equal(info.field, field);
  }

  it("usernames: fullwidth forms are stored as plain letters, and Cyrillic or digit look-alikes of an existing name are refused", async () => {
    const s = server();
    assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "ｓｙｓａｄｍｉｎ" } })).status, 409, "NFKC makes it sysadmin itself");
    assertLookalike(await s.api("POST", "/security/v1/users", { token, body: { username: CYRILLIC_SYSADMIN } }), "sysadmin", "username");
    const john = await s.api("POST", "/security/v1/users", { token, body: { username: "ｊｏｈｎ.ｄｏｅ" } });
    assert.equal(john.status, 201, john.text);
    assert.equal(john.body.username, "john.doe");
    assert.equal(john.body.loginName, "john.doe");
    assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "paypal" } })).status, 201);
    assertLookalike(await s.api("POST", "/security/v1/users", { token, body: { username: "paypa1" } }), "paypal", "username");
    assertLookalike(await s.api("POST", "/security/v1/users", { token, body: { username: "JOHN.D0E" } }), "john.doe", "username");
  });

  it("login names: on create and on change", async () => {
    const s = server();
    assertLookalike(await s.api("POST", "/security/v1/users", { token, body: { username: "login.one", loginName: CYRILLIC_SYSADMIN } }), "sysadmin", "loginName");
    const other = await s.api("POST", "/security/v1/users", { token, body: { username: "login.two" } });
    assert.equal(other.status, 201, other.text);
    assertLookalike(await s.api("PUT", `/security/v1/users/${other.body.id}`, { token, body: { loginName: "ѕysadmin" } }), "sysadmin", "loginName");
    const fullwidth = await s.api("PUT", `/security/v1/users/${other.body.id}`, { token, body: { loginName: "ｌｏｇｉｎ２" } });
    assert.equal(fullwidth.status, 200, fullwidth.text);
    assert.equal(fullwidth.body.loginName, "login2");
  });

  it("group names: on create and on rename", async () => {
    const s = server();
    assertLookalike(await s.api("POST", "/security/v1/user-groups", { token, body: { name: "\u0430dministrators" } }), "administrators");
    const g = await s.api("POST", "/security/v1/user-groups", { token, body: { name: "Ｆｉｎａｎｃｅ" } });
    assert.equal(g.status, 201, g.text);
    assert.equal(g.body.name, "Finance");
    const h = await s.api("POST", "/security/v1/user-groups", { token, body: { name: "Sales" } });
    assertLookalike(await s.api("PUT", `/security/v1/user-groups/${h.body.id}`, { token, body: { name: "Fіnance" } }), "Finance");
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${g.body.id}`, { token, body: { name: "Finance" } })).status, 200, "a group may keep its own name");
  });

  it("the bulk import refuses a look-alike by the same rule, of a stored user and of another row", async () => {
    const s = server();
    const rows = [{ username: CYRILLIC_SYSADMIN }, { username: "imp.paypal" }, { username: "imp.paypa1" }, { username: "imp.other", loginName: "\u0455ysadmin" }];
    const r = await s.api("POST", "/security/v1/users/import", { token, body: rows.map((row) => JSON.stringify(row)).join("\n"), headers: { "content-type": "application/x-ndjson" } });
    assert.equal(r.status, 200, r.text);
    const lines = r.text.trim().split("\n").map((l) => JSON.parse(l));
    const refusal = (line: number) => lines.find((l) => l.line === line)?.error;
    assert.deepEqual(lines.filter((l) => l.line).map((l) => l.status), ["failed", "created", "failed", "failed"]);
    assert.deepEqual([refusal(1).code, refusal(1).field, refusal(1).existing], ["ECMS1301", "username", "sysadmin"]);
    assert.deepEqual([refusal(3).field, refusal(3).existing], ["username", "imp.paypal"]);
    assert.deepEqual([refusal(4).field, refusal(4).existing], ["loginName", "sysadmin"]);
  });

  it("users and groups of npm run seed are guarded too", async () => {
    const s = await startTestServer(kind);
    try {
      await seedStore(s.server.deps.store, { users: 20, seed: 11, passwordHash: "not-a-login" });
      const own = await s.login();
      const seeded = (await s.api("GET", "/security/v1/users", { token: own })).body.find((u: { username: string }) => /^[a-z]+[0-9]+$/.test(u.username));
      assertLookalike(await s.api("POST", "/security/v1/users", { token: own, body: { username: seeded.username.toUpperCase(), loginName: "seed.check" } }), seeded.username, "username");
      const group = (await s.api("GET", "/security/v1/user-groups?search=-1", { token: own })).body[0];
      assertLookalike(await s.api("POST", "/security/v1/user-groups", { token: own, body: { name: group.name.replace(/1$/, "l") } }), group.name);
    } finally {
      await s.close();
    }
  });
});
