import assert from "node:assert/strict";
import { before, it } from "node:test";
import { whileLocked } from "../../test-support/pg-session.js";
import { describeEachStore, type TestServer } from "../../test-support/server.js";

const PASSWORD = "Correct-Horse-1";

/** Creates a user through the API and returns its JSON (asserting the 201). */
async function createUser(s: TestServer, token: string, body: Record<string, unknown>) {
  const r = await s.api("POST", "/security/v1/users", { token, body });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

/** The audit events of one target, oldest first, straight from the store. */
async function auditOf(s: TestServer, targetId: string) {
  const rows = await s.server.deps.store.db.selectFrom("audit_events").selectAll().where("target_id", "=", targetId).orderBy("id").execute();
  return rows.map((r) => ({ ...r, details: r.details ? JSON.parse(r.details) : null }));
}

const loginStatus = async (s: TestServer, username: string, password: string) =>
  (await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username, password } }));

/**
 * The lockout was set at some moment between the two times read around the failed logins, for
 * `seconds`: its end lies in that window moved by `seconds`, however slow the machine was.
 */
function assertLockedFor(lockedOutUntil: string, seconds: number, [from, to]: number[]) {
  const until = Date.parse(lockedOutUntil);
  assert.ok(until >= from! + seconds * 1000 && until <= to! + seconds * 1000, `${lockedOutUntil}: not ${seconds} s after a time between ${new Date(from!).toISOString()} and ${new Date(to!).toISOString()}`);
}

describeEachStore("user administration", (server, kind) => {
  let token: string;
  before(async () => {
    token = await server().login();
  });

  it("POST creates a user: 201, Location, ETag, defaults, the users group, an audit event without the password", async () => {
    const s = server();
    const r = await s.api("POST", "/security/v1/users", { token, body: { username: "jdoe", firstName: "John", lastName: "Doe", email: "john@example.com", password: PASSWORD } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get("location"), `/portal/security/v1/users/${r.body.id}`);
    assert.equal(r.headers.get("etag"), '"1"');
    assert.equal(r.body.username, "jdoe");
    assert.equal(r.body.loginName, "jdoe");
    assert.equal(r.body.displayName, "John Doe");
    assert.equal(r.body.enabled, true);
    assert.equal(r.body.builtin, false);
    assert.equal(r.body.profileId, -1);
    assert.deepEqual(r.body.groups, ["users"]);
    assert.equal(r.body.changePassword, false);
    assert.ok(!("password" in r.body));
    const got = await s.api("GET", r.headers.get("location")!.replace("/portal", ""), { token });
    assert.equal(got.status, 200);
    assert.equal(got.body.email, "john@example.com");
    const events = await auditOf(s, r.body.id);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.action, "user.create");
    assert.equal(events[0]!.actor_name, "sysadmin");
    assert.equal(events[0]!.details.after.passwordSet, true);
    assert.ok(!JSON.stringify(events[0]).includes(PASSWORD));
    // The new user can log in and holds the `user` role only.
    assert.equal((await loginStatus(s, "JDOE", PASSWORD)).status, 200);
  });

  it("a write to a part of a user (password, groups, lockout, keys) takes If-Match with the user's ETag: 412 when it changed since", async () => {
    const s = server();
    const created = await s.api<{ id: string }>("POST", "/security/v1/users", { token, body: { username: "guarded.parts", password: "Guarded-Parts-Pass-1" } });
    const id = created.body.id;
    const group = (await s.api<{ id: string }>("POST", "/security/v1/user-groups", { token, body: { name: "guarded-parts" } })).body.id;
    const etag = async () => (await s.api("GET", `/security/v1/users/${id}`, { token })).headers.get("etag")!;
    const stale = await etag();
    assert.equal((await s.api("PUT", `/security/v1/users/${id}`, { token, body: { description: "moved on" } })).status, 200);
    const writes: [string, string, unknown][] = [
      ["PUT", `/security/v1/users/${id}/reset-password`, { type: "password", value: "Another-Parts-Pass-2" }],
      ["PUT", `/security/v1/users/${id}/user-groups/${group}`, undefined],
      ["DELETE", `/security/v1/users/${id}/user-groups/${group}`, undefined],
      ["DELETE", `/security/v1/users/${id}/lockout`, undefined],
      ["POST", `/security/v1/users/${id}/api-keys`, { name: "script" }],
    ];
    for (const [method, path, body] of writes) {
      const refused = await s.api(method, path, { token, body, headers: { "if-match": stale } });
      assert.equal(refused.status, 412, `${method} ${path}: ${refused.text}`);
      const current = await etag();
      const done = await s.api(method, path, { token, body, headers: { "if-match": current } });
      assert.ok(done.status < 300, `${method} ${path}: ${done.text}`);
    }
    // A user that does not exist is a 404, whatever If-Match says.
    assert.equal((await s.api("DELETE", `/security/v1/users/00000000-0000-4000-8000-000000000000/lockout`, { token, headers: { "if-match": stale } })).status, 404);
  });

  it("refuses bad input with a 400 in the error shape", async () => {
    const s = server();
    const bad: Record<string, unknown>[] = [
      { username: "has space" },
      { username: "" },
      { username: "x".repeat(65) },
      { username: "semi;colon" },
      { username: "ok1", email: "not-an-email" },
      { username: "ok2", email: `${"e".repeat(250)}@x.de` },
      { username: "ok3", password: "short" },
      { username: "ok4", firstName: "f".repeat(256) },
      { username: "ok5", description: "d".repeat(1025) },
      { username: "ok6", loginName: "l".repeat(257) },
      { username: "ok7", profileId: -2 },
      { username: "ok8", enabled: "false" },
      { username: "ok9", validFrom: "yesterday" },
      { username: "ok10", validFrom: "2030-01-01", validTo: "2029-01-01" },
      { username: "ok11", unknownField: 1 },
      { username: "ok12", profileId: 999_999 },
      { username: "ok13", profileId: 1e20 },
      { username: "ok14", profileId: 2_147_483_648 },
      { username: "ok15", validFrom: "2030-02-30" },
      { username: "ok16", validTo: "2029-02-29T12:00:00Z" },
      { username: "ok17", firstName: "a\u0000b" },
      { username: "ok18", lastName: "\ud800" },
      // Past 9999 in UTC: an ISO 8601 time of six digits and a sign, which neither the answers nor the stores' comparisons take.
      { username: "ok19", validTo: "9999-12-31T23:00:00-02:00" },
      { username: "ok20", validFrom: "0000-01-01T00:00:00+01:00" },
    ];
    for (const body of bad) {
      const r = await s.api("POST", "/security/v1/users", { token, body });
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
      assert.match(r.body.errorMessage, /^ECMS\d{4}-E /);
      assert.equal(typeof r.body.additionalInfo, "string");
    }
    const count = await s.api("GET", "/security/v1/users/count?search=ok", { token });
    assert.equal(count.body, 0, "nothing half-written");
  });

  it("takes a leap day, and finds and updates a user by its id in upper case", async () => {
    const s = server();
    const user = await createUser(s, token, { username: "leap", validFrom: "2028-02-29" });
    assert.equal(user.validFrom, "2028-02-29T00:00:00.000Z");
    const r = await s.api("GET", `/security/v1/users/${user.id.toUpperCase()}`, { token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.id, user.id);
    const put = await s.api("PUT", `/security/v1/users/${user.id.toUpperCase()}`, { token, body: { ...r.body, id: user.id.toUpperCase(), description: "upper" } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.description, "upper");
  });

  it("accepts usernames of any script and . _ - @ up to 64 characters", async () => {
    const s = server();
    for (const username of ["Müller.Hans", "王小明", "a_b-c@d.e", "x".repeat(64)]) {
      const created = await createUser(s, token, { username });
      assert.equal(created.username, username);
    }
  });

  it("refuses a duplicate username or login name with 409", async () => {
    const s = server();
    await createUser(s, token, { username: "dup1", loginName: "dup.login" });
    const sameName = await s.api("POST", "/security/v1/users", { token, body: { username: "dup1", loginName: "other" } });
    assert.equal(sameName.status, 409);
    assert.match(sameName.body.errorMessage, /^ECMS1301-E .*username/);
    const sameLogin = await s.api("POST", "/security/v1/users", { token, body: { username: "dup2", loginName: "DUP.Login" } });
    assert.equal(sameLogin.status, 409);
    assert.match(sameLogin.body.errorMessage, /login name/);
    // A login name defaulting to the username collides too.
    const defaulted = await s.api("POST", "/security/v1/users", { token, body: { username: "dup.login" } });
    assert.equal(defaulted.status, 409);
    // Said of the username, the one name sent, naming who holds it.
    assert.equal(defaulted.body.errorMessage, 'ECMS1301-E The username is taken: the user "dup1" logs in with this name (login names are told apart without regard to case).');
    assert.equal(JSON.parse(defaulted.body.additionalInfo).field, "username");
    const empty = await s.api("POST", "/security/v1/users", { token, body: { username: "" } });
    assert.equal(empty.body.errorMessage, "ECMS1001-E username must not be empty.");
    // Renaming the login name onto another's is a 409 as well.
    const other = await createUser(s, token, { username: "dup3" });
    const rename = await s.api("PUT", `/security/v1/users/${other.id}`, { token, body: { loginName: "dup.login" } });
    assert.equal(rename.status, 409);
  });

  it("PUT changes only the fields sent; the username cannot change; the audit event has before/after", async () => {
    const s = server();
    const u = await createUser(s, token, { username: "partial", firstName: "Pat", lastName: "Tial", email: "pat@example.com", description: "keep me" });
    const r = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { lastName: "Changed", validTo: "2099-12-31" } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get("etag"), '"2"');
    assert.equal(r.body.firstName, "Pat");
    assert.equal(r.body.lastName, "Changed");
    assert.equal(r.body.displayName, "Pat Changed", "a default display name follows the names");
    assert.equal(r.body.email, "pat@example.com");
    assert.equal(r.body.description, "keep me");
    assert.equal(r.body.validTo, "2099-12-31T00:00:00.000Z");
    const search = await s.api("GET", "/security/v1/users?search=changed", { token });
    assert.deepEqual(search.body.map((x: { username: string }) => x.username), ["partial"], "search text recomputed");
    const [, update] = await auditOf(s, u.id);
    assert.equal(update!.action, "user.update");
    assert.deepEqual(update!.details.before, { lastName: "Tial", displayName: "Pat Tial", validTo: null });
    assert.deepEqual(update!.details.after, { lastName: "Changed", displayName: "Pat Changed", validTo: "2099-12-31T00:00:00.000Z" });

    // A display name and login name set by hand go back to their defaults with null; the display name then follows the names again.
    const custom = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { displayName: "The Pat", loginName: "pat.login" } });
    assert.deepEqual([custom.status, custom.body.displayName, custom.body.loginName], [200, "The Pat", "pat.login"], custom.text);
    const renamedLast = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { lastName: "Kept" } });
    assert.equal(renamedLast.body.displayName, "The Pat", "a display name set by hand stays");
    const reset = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { displayName: null, loginName: null } });
    assert.deepEqual([reset.status, reset.body.displayName, reset.body.loginName], [200, "Pat Kept", "partial"], reset.text);
    const follows = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { lastName: "Changed" } });
    assert.equal(follows.body.displayName, "Pat Changed");

    const rename = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { username: "renamed" } });
    assert.equal(rename.status, 400);
    assert.match(rename.body.errorMessage, /username cannot be changed/);
    // A user read with GET can be sent back as it is.
    const got = await s.api("GET", `/security/v1/users/${u.id}?extendedInfo=true`, { token });
    const roundTrip = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { ...got.body, description: "" } });
    assert.equal(roundTrip.status, 200, roundTrip.text);
    assert.equal(roundTrip.body.description, null, '"" clears a text field');
    // A read-only field that differs from the user's is refused, naming where it is changed: never dropped without a word.
    for (const [body, message] of [
      [{ groups: ["administrators"] }, /^ECMS1001-E groups cannot be changed with PUT: use PUT or DELETE \/security\/v1\/users\/\{id\}\/user-groups\/\{groupId\}\.$/],
      [{ serviceAccount: true }, /^ECMS1001-E serviceAccount cannot be changed with PUT: it is chosen when the user is created\.$/],
      [{ builtin: true }, /^ECMS1001-E builtin cannot be changed with PUT/],
      [{ expired: "yes" }, /^ECMS1001-E expired must be true or false/],
      [{ lockedOutUntil: 12 }, /^ECMS1001-E lockedOutUntil must be /],
    ] as const) {
      const refused = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body });
      assert.equal(refused.status, 400, JSON.stringify(body));
      assert.match(refused.body.errorMessage, message);
    }
    const sameGroups = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { groups: [...got.body.groups].reverse(), serviceAccount: false, builtin: false, dn: null, expired: false, lockedOutUntil: null } });
    assert.equal(sameGroups.status, 200, sameGroups.text);
    assert.deepEqual(sameGroups.body.groups, ["users"]);
    const unknown = await s.api("PUT", `/security/v1/users/00000000-0000-0000-0000-000000000000`, { token, body: { firstName: "x" } });
    assert.equal(unknown.status, 404);
  });

  it("If-Match: the current ETag passes, a stale one is a 412 and changes nothing", async () => {
    const s = server();
    const u = await createUser(s, token, { username: "versioned" });
    const got = await s.api("GET", `/security/v1/users/${u.id}`, { token });
    const etag = got.headers.get("etag")!;
    assert.equal(etag, '"1"');
    const first = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { firstName: "One" }, headers: { "if-match": etag } });
    assert.equal(first.status, 200);
    const stale = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { firstName: "Two" }, headers: { "if-match": etag } });
    assert.equal(stale.status, 412);
    assert.match(stale.body.errorMessage, /^ECMS1303-E /);
    const staleDelete = await s.api("DELETE", `/security/v1/users/${u.id}`, { token, headers: { "if-match": etag } });
    assert.equal(staleDelete.status, 412);
    const after = await s.api("GET", `/security/v1/users/${u.id}`, { token });
    assert.equal(after.body.firstName, "One");
    assert.equal(after.headers.get("etag"), '"2"');
    const garbage = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { firstName: "Three" }, headers: { "if-match": "nonsense" } });
    assert.equal(garbage.status, 412);
    // A list of tags (RFC 9110): the write goes ahead when any one of them is current.
    for (const list of ['"1", "7"', '"opaque", W/"9"', '"1", nonsense']) {
      assert.equal((await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { firstName: "Four" }, headers: { "if-match": list } })).status, 412, list);
    }
    const listed = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { firstName: "Five" }, headers: { "if-match": '"1", W/"2"' } });
    assert.equal(listed.status, 200);
    const current = await s.api("DELETE", `/security/v1/users/${u.id}`, { token, headers: { "if-match": ', "7",, "3" ,' } });
    assert.equal(current.status, 204);
  });

  it("50 concurrent conflicting PUTs with the same If-Match: exactly one wins, 49 get 412, the winner's write is stored", async () => {
    const s = server();
    const u = await createUser(s, token, { username: "contended" });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { firstName: `writer-${i}`, description: `by ${i}` }, headers: { "if-match": '"1"' } }),
      ),
    );
    const winners = results.filter((r) => r.status === 200);
    assert.equal(winners.length, 1, results.map((r) => r.status).join(","));
    assert.equal(results.filter((r) => r.status === 412).length, 49);
    const stored = await s.api("GET", `/security/v1/users/${u.id}`, { token });
    assert.equal(stored.body.firstName, winners[0]!.body.firstName);
    assert.equal(stored.body.description, winners[0]!.body.description);
    assert.equal(stored.headers.get("etag"), '"2"');
    const updates = (await auditOf(s, u.id)).filter((e) => e.action === "user.update");
    assert.equal(updates.length, 1);
  });

  // SQLite runs one write transaction at a time, so two writers never interleave there: the race needs PostgreSQL.
  it("two writers that read the same version: with If-Match the second gets 412, without it both land", { skip: kind === "sqlite" && "needs two open write transactions (PostgreSQL)" }, async () => {
    const s = server();
    const u = await createUser(s, token, { username: "raced" });
    const put = (description: string, headers: Record<string, string> = {}) => s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { description }, headers });
    // Both read version 1, then wait for the row lock the test holds; then one writes first.
    const lockUser = "select 1 from users where uuid = $1 for update";
    const guarded = await whileLocked(s, lockUser, [u.id], 2, () => [put("a", { "if-match": '"1"' }), put("b", { "if-match": '"1"' })]);
    assert.deepEqual(guarded.map((r) => r.status).sort(), [200, 412]);
    const blind = await whileLocked(s, lockUser, [u.id], 2, () => [put("c"), put("d")]);
    assert.deepEqual(blind.map((r) => r.status), [200, 200]);
    assert.deepEqual(blind.map((r) => r.headers.get("etag")).sort(), ['"3"', '"4"']);
  });

  it("a write to a part of a user with If-Match fails when the user changes after the request was checked", { skip: kind === "sqlite" && "needs two open write transactions (PostgreSQL)" }, async () => {
    const s = server();
    const u = await createUser(s, token, { username: "raced.parts", password: "Raced-Parts-Password-1" });
    const group = (await s.api("POST", "/security/v1/user-groups", { token, body: { name: "raced-parts" } })).body.id;
    const ifMatch = { "if-match": '"1"' };
    // Each passes the check of its request, then waits for the user's row; an administrator's change of the user commits first.
    const parts = await whileLocked(
      s,
      "select 1 from users where uuid = $1 for update",
      [u.id],
      3,
      () => [
        s.api("PUT", `/security/v1/users/${u.id}/user-groups/${group}`, { token, headers: ifMatch }),
        s.api("DELETE", `/security/v1/users/${u.id}/lockout`, { token, headers: ifMatch }),
        s.api("POST", `/security/v1/users/${u.id}/api-keys`, { token, headers: ifMatch, body: { name: "raced" } }),
      ],
      (holder) => holder.query("update users set description = 'changed meanwhile', version = version + 1 where uuid = $1", [u.id]),
    );
    assert.deepEqual(parts.map((r) => r.status), [412, 412, 412], parts.map((r) => r.text).join("\n"));
    assert.equal((await s.api("GET", `/security/v1/users/${u.id}/user-groups`, { token })).body.some((g: { id: string }) => g.id === group), false);
    assert.deepEqual((await s.api("GET", `/security/v1/users/${u.id}/api-keys`, { token })).body, []);
  });

  it("concurrent PUTs without If-Match are all applied one after another: none lost", async () => {
    const s = server();
    const u = await createUser(s, token, { username: "serialized" });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { description: `by ${i}` } })),
    );
    assert.ok(results.every((r) => r.status === 200), results.map((r) => r.status).join(","));
    const stored = await s.api("GET", `/security/v1/users/${u.id}`, { token });
    assert.equal(stored.headers.get("etag"), '"21"');
  });

  it("DELETE: built-in users are refused; others go, with their tokens", async () => {
    const s = server();
    const me = await s.api("GET", "/security/v1/me", { token });
    const builtin = await s.api("DELETE", `/security/v1/users/${me.body.id}`, { token });
    assert.equal(builtin.status, 409);
    assert.match(builtin.body.errorMessage, /^ECMS1302-E A built-in user cannot be deleted/);
    const u = await createUser(s, token, { username: "doomed", password: PASSWORD });
    const userToken = await s.login("doomed", PASSWORD);
    assert.equal((await s.api("GET", "/security/v1/me", { token: userToken })).status, 200);
    assert.equal((await s.api("DELETE", `/security/v1/users/${u.id}`, { token })).status, 204);
    assert.equal((await s.api("GET", `/security/v1/users/${u.id}`, { token })).status, 404);
    assert.equal((await s.api("GET", "/security/v1/me", { token: userToken })).status, 401);
    assert.equal((await s.api("DELETE", `/security/v1/users/${u.id}`, { token })).status, 404);
    const events = await auditOf(s, u.id);
    assert.equal(events.at(-1)!.action, "user.delete");
    const disable = await s.api("PUT", `/security/v1/users/${me.body.id}`, { token, body: { enabled: false } });
    assert.equal(disable.status, 409, "a built-in user cannot be disabled either");
  });

  it("profiles: assignment needs a profile, a profile in use cannot be deleted or un-profiled, members inherit its groups", async () => {
    const s = server();
    const profile = await createUser(s, token, { username: "profile.clerk", profileId: 0 });
    const plain = await createUser(s, token, { username: "not.a.profile" });
    const invalid = await s.api("POST", "/security/v1/users", { token, body: { username: "wants.plain", profileId: plain.numericId } });
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.errorMessage, /profileId/);
    const member = await createUser(s, token, { username: "clerk1", profileId: profile.numericId });
    assert.equal(member.profileId, profile.numericId);
    const clerks = await s.api("POST", "/security/v1/user-groups", { token, body: { name: "Clerks" } });
    assert.equal((await s.api("PUT", `/security/v1/users/${profile.id}/user-groups/${clerks.body.id}`, { token })).status, 204);
    const groupsOf = async (id: string) => (await s.api("GET", `/security/v1/users/${id}?extendedInfo=true`, { token })).body.groups;
    assert.deepEqual(await groupsOf(member.id), ["Clerks", "users"], "the profile's group, inherited");
    const self = await s.api("PUT", `/security/v1/users/${profile.id}`, { token, body: { profileId: profile.numericId } });
    assert.equal(self.status, 400);
    const del = await s.api("DELETE", `/security/v1/users/${profile.id}`, { token });
    assert.equal(del.status, 409);
    assert.match(del.body.errorMessage, /still in use/);
    const unprofile = await s.api("PUT", `/security/v1/users/${profile.id}`, { token, body: { profileId: -1 } });
    assert.equal(unprofile.status, 409);
    assert.equal((await s.api("GET", `/security/v1/users/${profile.id}`, { token })).body.profileId, 0, "rolled back");
    const listed = await s.api("GET", `/security/v1/users?profileId=${profile.numericId}`, { token });
    assert.deepEqual(listed.body.map((x: { username: string }) => x.username), ["clerk1"]);
    // Once nobody uses it, the profile can go.
    assert.equal((await s.api("PUT", `/security/v1/users/${member.id}`, { token, body: { profileId: -1 } })).status, 200);
    assert.deepEqual(await groupsOf(member.id), ["users"], "no longer inherited");
    assert.equal((await s.api("DELETE", `/security/v1/users/${profile.id}`, { token })).status, 204);
  });

  it("enabled:false locks the account: its tokens stop working at once and login is refused like a wrong password", async () => {
    const s = server();
    const u = await createUser(s, token, { username: "to.disable", password: PASSWORD });
    const userToken = await s.login("to.disable", PASSWORD);
    const r = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { enabled: false } });
    assert.equal(r.status, 200);
    assert.equal(r.body.enabled, false);
    assert.equal((await s.api("GET", "/security/v1/me", { token: userToken })).status, 401);
    const refused = await loginStatus(s, "to.disable", PASSWORD);
    const wrong = await loginStatus(s, "to.disable", "wrong-password");
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.body, wrong.body);
    const disabled = await s.api("GET", "/security/v1/users?enabled=false", { token });
    assert.ok(disabled.body.some((x: { username: string }) => x.username === "to.disable"));
    assert.equal((await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { enabled: true } })).status, 200);
    assert.equal((await loginStatus(s, "to.disable", PASSWORD)).status, 200);
  });

  it("reset-password sets a new password and revokes the user's tokens; temporary forces a change", async () => {
    const s = server();
    const u = await createUser(s, token, { username: "forgetful", password: PASSWORD });
    const oldToken = await s.login("forgetful", PASSWORD);
    const bad = await s.api("PUT", `/security/v1/users/${u.id}/reset-password`, { token, body: { type: "password", value: "short" } });
    assert.equal(bad.status, 400);
    const wrongType = await s.api("PUT", `/security/v1/users/${u.id}/reset-password`, { token, body: { type: "otp", value: "Long-Enough-1" } });
    assert.equal(wrongType.status, 400);
    const r = await s.api("PUT", `/security/v1/users/${u.id}/reset-password`, { token, body: { type: "password", value: "Brand-New-Pass-2" } });
    assert.equal(r.status, 204, r.text);
    assert.equal((await s.api("GET", "/security/v1/me", { token: oldToken })).status, 401);
    assert.equal((await loginStatus(s, "forgetful", PASSWORD)).status, 401);
    assert.equal((await loginStatus(s, "forgetful", "Brand-New-Pass-2")).status, 200);
    const events = await auditOf(s, u.id);
    assert.equal(events.filter((e) => e.action === "user.password-reset").length, 1);
    assert.ok(!JSON.stringify(events).includes("Brand-New-Pass-2"));
  });

  it("changePassword: the login works but the token only opens the own account until the password is changed", async () => {
    const s = server();
    const u = await createUser(s, token, { username: "must.change", password: PASSWORD });
    // An administrator, so the only thing stopping the admin routes is the pending change.
    const admins = await s.server.deps.store.db.selectFrom("groups").select("id").where("name", "=", "administrators").executeTakeFirstOrThrow();
    await s.server.deps.store.db.insertInto("group_members").values({ group_id: admins.id, user_id: u.numericId }).execute();
    const r = await s.api("PUT", `/security/v1/users/${u.id}/reset-password`, { token, body: { type: "password", value: "Temporary-Pass-1", temporary: true } });
    assert.equal(r.status, 204);
    const extended = await s.api("GET", `/security/v1/users/${u.id}?extendedInfo=true`, { token });
    assert.equal(extended.body.changePassword, true);
    const userToken = await s.login("must.change", "Temporary-Pass-1");
    const blocked = await s.api("GET", "/security/v1/users", { token: userToken });
    assert.equal(blocked.status, 403);
    assert.deepEqual(JSON.parse(blocked.body.additionalInfo), { passwordChangeRequired: true, passwordChangeIn: "here" });
    assert.equal((await s.api("GET", "/security/v1/me", { token: userToken })).status, 200);
    const changed = await s.api("PUT", "/security/v1/me/password", { token: userToken, body: { currentPassword: "Temporary-Pass-1", newPassword: "Chosen-By-Me-3" } });
    assert.equal(changed.status, 204, changed.text);
    assert.equal((await s.api("GET", "/security/v1/users", { token: userToken })).status, 200, "the same token now opens the admin routes");
    assert.equal((await s.api("GET", `/security/v1/users/${u.id}?extendedInfo=true`, { token })).body.changePassword, false);
  });

  it("validity window: login before validFrom or after validTo gets the wrong-password answer; expired shows and filters", async () => {
    const s = server();
    const future = await createUser(s, token, { username: "not.yet", password: PASSWORD, validFrom: "2999-01-01T00:00:00Z" });
    const past = await createUser(s, token, { username: "too.late", password: PASSWORD, validTo: "2001-01-01T00:00:00+02:00" });
    const wrong = await loginStatus(s, "not.yet", "definitely-wrong");
    for (const username of ["not.yet", "too.late"]) {
      const r = await loginStatus(s, username, PASSWORD);
      assert.equal(r.status, 401);
      assert.deepEqual(r.body, wrong.body);
    }
    const pastView = await s.api("GET", `/security/v1/users/${past.id}?extendedInfo=true`, { token });
    assert.equal(pastView.body.expired, true);
    assert.equal(pastView.body.validTo, "2000-12-31T22:00:00.000Z");
    assert.equal((await s.api("GET", `/security/v1/users/${future.id}?extendedInfo=true`, { token })).body.expired, false);
    const expired = await s.api("GET", "/security/v1/users?expired=true", { token });
    assert.deepEqual(expired.body.map((x: { username: string }) => x.username), ["too.late"]);
    assert.equal((await s.api("GET", "/security/v1/users/count?expired=true", { token })).body, 1);
    // Moving the window makes the login work.
    assert.equal((await s.api("PUT", `/security/v1/users/${past.id}`, { token, body: { validTo: null } })).status, 200);
    assert.equal((await loginStatus(s, "too.late", PASSWORD)).status, 200);
  });

  it("the OpenAPI document describes the user write routes with their request schemas", async () => {
    const doc = (await server().api("GET", "/openapi.json")).body;
    const body = (path: string, method: string) => doc.paths[path]?.[method]?.requestBody?.content?.["application/json"]?.schema;
    assert.ok(body("/security/v1/users", "post").properties.username.pattern);
    assert.ok(body("/security/v1/users/{id}", "put").properties.validTo);
    assert.ok(doc.paths["/security/v1/users/{id}"].delete);
    assert.deepEqual(body("/security/v1/users/{id}/reset-password", "put").required.sort(), ["type", "value"]);
    assert.ok(doc.paths["/security/v1/users/{id}/lockout"].delete);
    assert.ok(body("/security/v1/me/password", "put").properties.currentPassword);
    assert.ok(doc.paths["/security/v1/audit-events"].get);
  });

  it("passwordNeverExpires is stored and shown", async () => {
    const s = server();
    const u = await createUser(s, token, { username: "never.expires", passwordNeverExpires: true });
    assert.equal(u.passwordNeverExpires, true);
    const r = await s.api("PUT", `/security/v1/users/${u.id}`, { token, body: { passwordNeverExpires: false } });
    assert.equal(r.body.passwordNeverExpires, false);
  });
});

describeEachStore(
  "lockout after failed logins",
  (server, kind) => {
    let token: string;
    before(async () => {
      token = await server().login();
    });

    it("locks out after the configured failures, shows lockedOutUntil, and an administrator can clear it", async () => {
      const s = server();
      const u = await createUser(s, token, { username: "hammered", password: PASSWORD });
      const lockedBetween = [Date.now()];
      for (let i = 0; i < 3; i++) assert.equal((await loginStatus(s, "hammered", "wrong-password")).status, 401);
      lockedBetween.push(Date.now());
      const refused = await loginStatus(s, "hammered", PASSWORD);
      const wrong = await loginStatus(s, "nobody-at-all", PASSWORD);
      assert.equal(refused.status, 401, "the right password is refused while locked out");
      assert.deepEqual(refused.body, wrong.body);
      const view = await s.api("GET", `/security/v1/users/${u.id}?extendedInfo=true`, { token });
      assertLockedFor(view.body.lockedOutUntil, 60, lockedBetween);
      const listed = await s.api("GET", "/security/v1/users?lockedOut=true", { token });
      assert.deepEqual(listed.body.map((x: { username: string }) => x.username), ["hammered"]);
      const audit = await auditOf(s, u.id);
      assert.ok(audit.some((e) => e.action === "user.locked-out"));

      assert.equal((await s.api("DELETE", `/security/v1/users/${u.id}/lockout`, { token })).status, 204);
      assert.equal((await s.api("GET", `/security/v1/users/${u.id}?extendedInfo=true`, { token })).body.lockedOutUntil, null);
      assert.equal((await loginStatus(s, "hammered", PASSWORD)).status, 200);
      assert.equal((await auditOf(s, u.id)).filter((e) => e.action === "user.lockout-cleared").length, 1);
    });

    it("concurrent guesses do not get past the lockout: a right password that arrives among them after it is refused", async () => {
      const s = server();
      await createUser(s, token, { username: "swarmed", password: PASSWORD });
      // All requests read the account before any verify ends; only a check after the verify sees the lockout.
      // Whether they interleave so is up to the scheduler: the test below makes the race certain (PostgreSQL).
      const attempts = await Promise.all(Array.from({ length: 30 }, (_, i) => loginStatus(s, "swarmed", i === 29 ? PASSWORD : `wrong-password-${i}`)));
      // Refused either way: checked after the lockout (401), or past the eight that may wait behind one login of a name from an address (429, never checked).
      assert.ok([401, 429].includes(attempts[29]!.status), `the right password came after 29 wrong ones, three of which locked the account out: ${attempts[29]!.status}`);
      const view = await s.api("GET", "/security/v1/users?search=swarmed&extendedInfo=true", { token });
      assert.ok(view.body[0].lockedOutUntil, "locked out");
    });

    // The login reads the address's standing before its slow password check: a lockout written meanwhile
    // by other guesses must still refuse it. Only PostgreSQL can hold the login at that point (the test
    // holds the account's row lock, which the login's write after the check waits for).
    it("a right password is refused when its address was locked out while the password was being checked", { skip: kind === "sqlite" && "needs two open write transactions (PostgreSQL)" }, async () => {
      const s = server();
      const u = await createUser(s, token, { username: "overtaken", password: PASSWORD });
      const until = new Date(Date.now() + 3_600_000).toISOString();
      const [login] = await whileLocked(s, "select 1 from users where uuid = $1 for update", [u.id], 1, () => [loginStatus(s, "overtaken", PASSWORD)], (holder) =>
        holder.query("insert into login_sources (user_id, source, lockout_count, locked_out_until, updated_at) values ($1, '127.0.0.1', 1, $2, $2)", [u.numericId, until]),
      );
      assert.equal(login!.status, 401, login!.text);
    });

    it("wrong current passwords on PUT /me/password count toward the lockout (a stolen token cannot guess)", async () => {
      const s = server();
      const u = await createUser(s, token, { username: "token.thief", password: PASSWORD });
      const stolen = await s.login("token.thief", PASSWORD);
      for (let i = 0; i < 3; i++) {
        const r = await s.api("PUT", "/security/v1/me/password", { token: stolen, body: { currentPassword: `guess-number-${i}`, newPassword: "Taken-Over-Pass-1" } });
        assert.equal(r.status, 400);
      }
      const right = await s.api("PUT", "/security/v1/me/password", { token: stolen, body: { currentPassword: PASSWORD, newPassword: "Taken-Over-Pass-1" } });
      assert.equal(right.status, 400, "even the right password is refused while locked out");
      assert.equal((await loginStatus(s, "token.thief", PASSWORD)).status, 401);
      const audit = await auditOf(s, u.id);
      assert.equal(audit.filter((e) => e.action === "auth.reauthenticate" && e.outcome === "failure").reduce((n, e) => n + e.count, 0), 4);
      // The token's address is familiar to the account (it logged in there): the address is locked out, not the account.
      assert.deepEqual(audit.filter((e) => e.action === "user.locked-out").map((e) => e.details.scope), ["address"]);
      const view = await s.api("GET", `/security/v1/users/${u.id}?extendedInfo=true`, { token });
      assert.equal(view.body.lockedOutUntil, null);
    });

    it("the second lockout in a row lasts twice as long", async () => {
      const s = server();
      const u = await createUser(s, token, { username: "repeat.offender", password: PASSWORD });
      for (let i = 0; i < 3; i++) await loginStatus(s, "repeat.offender", "wrong-password");
      // Expire the first lockouts (the address's and the account's) without clearing the counts, as if their minute had passed.
      const { db } = s.server.deps.store;
      const past = new Date(Date.now() - 1000).toISOString();
      await db.updateTable("users").set({ locked_out_until: past }).where("id", "=", u.numericId).execute();
      await db.updateTable("login_sources").set({ locked_out_until: past }).where("user_id", "=", u.numericId).execute();
      const lockedBetween = [Date.now()];
      for (let i = 0; i < 3; i++) await loginStatus(s, "repeat.offender", "wrong-password");
      lockedBetween.push(Date.now());
      const view = await s.api("GET", `/security/v1/users/${u.id}?extendedInfo=true`, { token });
      assertLockedFor(view.body.lockedOutUntil, 120, lockedBetween);
    });
  },
  // One address, never logged in before: the address and the account lock out together.
  { lockout: { maxFailures: 3, accountMaxFailures: 3, familiarDays: 30, baseSeconds: 60, maxSeconds: 3600 } },
);
