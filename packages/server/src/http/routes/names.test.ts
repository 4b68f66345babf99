import assert from "node:assert/strict";
import { before, it } from "node:test";
import { FIELD_SEPARATOR } from "../../domain/user-fields.js";
import { nfkcKeysMigration } from "../../storage/migrations/010d-nfkc-keys.js";
import { ADMIN_PASSWORD, describeEachStore, startTestServer } from "../../test-support/server.js";
import { seedStore } from "../../tools/seed-data.js";
import { CYRILLIC_SYSADMIN } from "../../test-support/fixtures.js";

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

  it("usernames of scripts that write with marks, and accents typed as their own code points (NFD), are taken and stored composed", async () => {
    const s = server();
    for (const [typed, stored] of [["राम", "राम"], ["e\u0301cole", "école"], ["nai\u0308ve.1", "naïve.1"]]) {
      const r = await s.api("POST", "/security/v1/users", { token, body: { username: typed, password: "Marked-Name-Secret-1" } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.username, stored);
      assert.equal((await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: typed, password: "Marked-Name-Secret-1" } })).status, 200, typed);
    }
    const imported = await s.api("POST", "/security/v1/users/import", { token, body: JSON.stringify({ username: "mu\u0308ller.2" }), headers: { "content-type": "application/x-ndjson" } });
    assert.equal(JSON.parse(imported.text.split("\n")[0]!).status, "created", imported.text);
    // A mark has a letter to sit on (up to three): not at the start, after a dot or a digit, nor a fourth.
    for (const username of ["\u0301acute", "a.\u0301", "one1\u20dd", "a\u0301\u0301\u0301\u0301"]) {
      const refused = await s.api("POST", "/security/v1/users", { token, body: { username } });
      assert.equal(refused.status, 400, `${JSON.stringify(username)}: ${refused.text}`);
      assert.match(refused.body.errorMessage, /username may hold only letters of any script \(with their accents and signs\), digits and \. _ - @\.$/);
    }
    // A dot above a dotless ı shows an i: a look-alike of sysadmin.
    assertLookalike(await s.api("POST", "/security/v1/users", { token, body: { username: "sysadm\u0131\u0307n" } }), "sysadmin", "username");
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
    // A username that differs from a stored one only in case is another user's login name: said as POST /users says it.
    const rows = [{ username: CYRILLIC_SYSADMIN }, { username: "imp.paypal" }, { username: "imp.paypa1" }, { username: "imp.other", loginName: "\u0455ysadmin" }, { username: "SYSADMIN", description: "x" }];
    const r = await s.api("POST", "/security/v1/users/import", { token, body: rows.map((row) => JSON.stringify(row)).join("\n"), headers: { "content-type": "application/x-ndjson" } });
    assert.equal(r.status, 200, r.text);
    const lines = r.text.trim().split("\n").map((l) => JSON.parse(l));
    const refusal = (line: number) => lines.find((l) => l.line === line)?.error;
    assert.deepEqual(lines.filter((l) => l.line).map((l) => l.status), ["failed", "created", "failed", "failed", "failed"]);
    assert.deepEqual([refusal(1).code, refusal(1).field, refusal(1).existing], ["ECMS1301", "username", "sysadmin"]);
    assert.deepEqual([refusal(3).field, refusal(3).existing], ["username", "imp.paypal"]);
    assert.deepEqual([refusal(4).field, refusal(4).existing], ["loginName", "sysadmin"]);
    assert.deepEqual([refusal(5).field, refusal(5).existing, refusal(5).message], ["username", "sysadmin", 'The username is taken: the user "sysadmin" logs in with this name (login names are told apart without regard to case).']);
    const single = await s.api("POST", "/security/v1/users", { token, body: { username: "SYSADMIN" } });
    assert.equal(JSON.parse(single.body.additionalInfo).existing, "sysadmin");
    assert.equal(single.body.errorMessage, `ECMS1301-E ${refusal(5).message}`);
  });

  it("refuses names holding invisible or formatting characters (zero-width, soft hyphen, bidi controls, Hangul fillers), naming the field", async () => {
    const s = server();
    function assertInvisible(r: { status: number; body: any; text: string }, field: string, character: string) {
      assert.equal(r.status, 400, r.text);
      assert.match(r.body.errorMessage, /^ECMS1001-E .*invisible or formatting character/);
      assert.deepEqual(JSON.parse(r.body.additionalInfo), { field, character });
    }
    for (const [loginName, character] of [["sysadmin\u200b", "U+200B"], ["sys\u200badmin", "U+200B"], ["sysadmin\u00ad", "U+00AD"], ["admin2\u202e", "U+202E"], ["sys\u2066admin", "U+2066"], ["sysadmin\u0007x", "U+0007"]] as const) {
      assertInvisible(await s.api("POST", "/security/v1/users", { token, body: { username: "invisible.login", loginName } }), "loginName", character);
    }
    // A Hangul filler is a letter (the username pattern's \p{L}) that shows as nothing.
    assertInvisible(await s.api("POST", "/security/v1/users", { token, body: { username: "sysadmin\u3164" } }), "username", "U+3164");
    const user = await s.api("POST", "/security/v1/users", { token, body: { username: "invisible.user" } });
    assert.equal(user.status, 201, user.text);
    assertInvisible(await s.api("PUT", `/security/v1/users/${user.body.id}`, { token, body: { loginName: "sys\ufeffadmin" } }), "loginName", "U+FEFF");
    assertInvisible(await s.api("POST", "/security/v1/user-groups", { token, body: { name: "administrators\u200b" } }), "name", "U+200B");
    assertInvisible(await s.api("POST", "/security/v1/user-groups", { token, body: { name: "admini\u034fstrators" } }), "name", "U+034F");
    const group = await s.api("POST", "/security/v1/user-groups", { token, body: { name: "invisible-group" } });
    assertInvisible(await s.api("PUT", `/security/v1/user-groups/${group.body.id}`, { token, body: { name: "users\u2060" } }), "name", "U+2060");
    // The import: that row fails, the others are imported.
    const rows = [{ username: "imp.hidden", loginName: "sysadmin\u200d" }, { username: "imp.visible" }];
    const r = await s.api("POST", "/security/v1/users/import", { token, body: rows.map((row) => JSON.stringify(row)).join("\n"), headers: { "content-type": "application/x-ndjson" } });
    const lines = r.text.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.filter((l) => l.line).map((l) => l.status), ["failed", "created"]);
    assert.deepEqual([lines[0].error.field, lines[0].error.character], ["loginName", "U+200D"]);
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

/** A name typed in another Unicode form (fullwidth, ligatures) finds what its stored form (NFKC) finds, wherever a name is looked up. */
describeEachStore("names typed in another Unicode form", (server) => {
  let token: string;
  before(async () => {
    token = await server().login();
  });

  const login = async (username: string, password: string) => (await server().api("POST", "/auth/v1/providers/builtin/token", { body: { username, password } })).status;
  const usernames = async (path: string) => (await server().api("GET", path, { token })).body.map((x: { username?: string; name?: string }) => x.username ?? x.name);

  it("logs in: ｓｙｓａｄｍｉｎ is sysadmin, and a login name set in any form is found in any other", async () => {
    assert.equal(await login("ｓｙｓａｄｍｉｎ", ADMIN_PASSWORD), 200);
    assert.equal(await login("ＳｙｓＡｄｍｉｎ", ADMIN_PASSWORD), 200);
    const r = await server().api("POST", "/security/v1/users", { token, body: { username: "form.user", loginName: "ｆｏｒｍ.ｌｏｇｉｎ", password: "Form-User-Secret-1" } });
    assert.equal(r.status, 201, r.text);
    for (const typed of ["form.login", "ＦＯＲＭ.ｌｏｇｉｎ", "Form.Login"]) assert.equal(await login(typed, "Form-User-Secret-1"), 200, typed);
  });

  it("searches users and groups in any form (the SDK's and CLI's lookups by name search so)", async () => {
    const s = server();
    assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "form.search", firstName: "Ｗｉｄｅ" } })).status, 201);
    assert.deepEqual(await usernames("/security/v1/users?search=" + encodeURIComponent("ｓｙｓａｄ")), ["sysadmin"]);
    for (const typed of ["wide", "Ｗｉｄｅ"]) assert.deepEqual(await usernames("/security/v1/users?search=" + encodeURIComponent(typed)), ["form.search"], typed);
    assert.deepEqual(await usernames("/security/v1/user-groups?search=" + encodeURIComponent("ＡＤＭＩＮ")), ["administrators"]);
  });

  it("a login name or group name is held to its length as stored: a form that NFKC makes longer is refused, not stored past the limit", async () => {
    const s = server();
    // U+FDFA is one character, 18 in NFKC: 20 of them are 360 characters as stored; a group name of 200, 3 600.
    const longLogin = "\uFDFA".repeat(20);
    const longGroup = "\uFDFA".repeat(200);
    const refused = (r: { status: number; body: any; text: string }, field: string, max: number) => {
      assert.equal(r.status, 400, r.text);
      assert.match(r.body.errorMessage, new RegExp(`^ECMS1001-E ${field} is \\d+ characters in its normal form \\(NFKC\\), more than the ${max} `), r.text);
      assert.equal(JSON.parse(r.body.additionalInfo).field, field);
    };
    refused(await s.api("POST", "/security/v1/users", { token, body: { username: "long.login", loginName: longLogin } }), "loginName", 256);
    const user = await s.api("POST", "/security/v1/users", { token, body: { username: "long.login" } });
    assert.equal(user.status, 201, user.text);
    refused(await s.api("PUT", `/security/v1/users/${user.body.id}`, { token, body: { loginName: longLogin } }), "loginName", 256);
    const imported = await s.api("POST", "/security/v1/users/import", { token, body: JSON.stringify({ username: "long.import", loginName: longLogin }), headers: { "content-type": "application/x-ndjson" } });
    assert.equal(JSON.parse(imported.text.split("\n")[0]!).status, "failed", imported.text);
    refused(await s.api("POST", "/security/v1/user-groups", { token, body: { name: longGroup } }), "name", 255);
    const group = await s.api("POST", "/security/v1/user-groups", { token, body: { name: "long.group" } });
    refused(await s.api("PUT", `/security/v1/user-groups/${group.body.id}`, { token, body: { name: longGroup } }), "name", 255);
    // At the limit as stored, taken; and a group read back is sent back as it is.
    const atLimit = await s.api("POST", "/security/v1/user-groups", { token, body: { name: "ﬃ".repeat(85) } });
    assert.equal(atLimit.status, 201, atLimit.text);
    assert.equal(atLimit.body.name, "ffi".repeat(85));
    const read = await s.api("GET", `/security/v1/user-groups/${atLimit.body.id}`, { token });
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${atLimit.body.id}`, { token, body: read.body })).status, 200);
    assert.equal((await s.api("GET", "/security/v1/users/count?search=long.", { token })).body, 1);
  });

  it("the bulk import upserts by the stored username, whatever form a row types it in", async () => {
    const s = server();
    const created = await s.api("POST", "/security/v1/users", { token, body: { username: "john.form" } });
    const r = await s.api("POST", "/security/v1/users/import", { token, body: JSON.stringify({ username: "ｊｏｈｎ.ｆｏｒｍ", firstName: "Upserted" }), headers: { "content-type": "application/x-ndjson" } });
    const [line] = r.text.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual([line.status, line.id], ["updated", created.body.id], r.text);
    assert.equal((await s.api("GET", `/security/v1/users/${created.body.id}`, { token })).body.firstName, "Upserted");
  });

  it("keys stored by the old fold are written again by migration 010d-nfkc-keys", async () => {
    const s = server();
    const { db } = s.server.deps.store;
    const created = await s.api("POST", "/security/v1/users", { token, body: { username: "legacy.form", password: "Legacy-Form-Secret-1" } });
    // As a row written before: a login name and a first name in compatibility form, their keys only lower-cased.
    const oldFold = (text: string | null) => (text ?? "").toLowerCase();
    await db
      .updateTable("users")
      .set({ login_name: "ｌｅｇａｃｙ.ｌｏｇｉｎ", login_key: oldFold("ｌｅｇａｃｙ.ｌｏｇｉｎ"), first_name: "Ｌｅｇａｃｙ", search_text: ["legacy.form", "Ｌｅｇａｃｙ", null, null].map(oldFold).join(FIELD_SEPARATOR) })
      .where("uuid", "=", created.body.id)
      .execute();
    assert.equal(await login("legacy.login", "Legacy-Form-Secret-1"), 401);
    await nfkcKeysMigration.up(db);
    assert.equal(await login("ｌｅｇａｃｙ.ｌｏｇｉｎ", "Legacy-Form-Secret-1"), 200);
    assert.equal(await login("legacy.login", "Legacy-Form-Secret-1"), 200);
    assert.deepEqual(await usernames("/security/v1/users?search=" + encodeURIComponent("Ｌｅｇａｃｙ")), ["legacy.form"]);
  });
});
