import assert from "node:assert/strict";
import { before, it } from "node:test";
import { describeEachStore, type ApiResponse } from "../../test-support/server.js";

interface Event {
  id: number;
  time: string;
  actorNumericId: number | null;
  actor: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  targetName: string | null;
  sourceAddress: string | null;
  outcome: "success" | "failure";
  details: Record<string, any> | null;
  count: number;
}

describeEachStore("GET /security/v1/audit-events", (server) => {
  let token: string;
  let userId: string;
  let startedAt: string;
  /** The repeated attempts fell into one minute, or (rarely) two. */
  let minutesOfRepeats: number;

  before(async () => {
    const s = server();
    startedAt = new Date().toISOString();
    token = await s.login();
    const created = await s.api("POST", "/security/v1/users", { token, body: { username: "audited", firstName: "Au", password: "Secret-Pass-9" } });
    userId = created.body.id;
    await s.api("PUT", `/security/v1/users/${userId}`, { token, body: { firstName: "Audi", enabled: false } });
    await s.api("PUT", `/security/v1/users/${userId}/reset-password`, { token, body: { type: "password", value: "Other-Secret-9" } });
    await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "sysadmin", password: "wrong-password" } });
    // A password typed into the username field, three times.
    const minute = () => new Date().toISOString().slice(0, 16);
    const firstMinute = minute();
    for (let i = 0; i < 3; i++) await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "Typed-In-Username-7", password: "x" } });
    minutesOfRepeats = new Set([firstMinute, minute()]).size;
    // Refusals of unknown names are counted, and written a second later (domain/audit.ts AuditTally).
    await s.server.deps.auditTally.flush();
    await s.api("DELETE", `/security/v1/users/${userId}/lockout`, { token });
    await s.api("DELETE", `/security/v1/users/${userId}`, { token });
  });

  const events = async (query = "") => {
    const r = await server().api<Event[]>("GET", `/security/v1/audit-events${query}`, { token });
    assert.equal(r.status, 200, r.text);
    return r.body;
  };

  it("lists every change of a user, newest first, with actor, time, source address and before/after", async () => {
    const list = await events(`?target=${userId}`);
    assert.deepEqual(list.map((e) => e.action), ["user.delete", "user.lockout-cleared", "user.password-reset", "user.update", "user.create"]);
    for (let i = 1; i < list.length; i++) assert.ok(list[i - 1]!.id > list[i]!.id);
    assert.deepEqual(await events(`?target=${userId.toUpperCase()}`), list, "an id in upper case names the same target");
    const update = list.find((e) => e.action === "user.update")!;
    assert.equal(update.actor, "sysadmin");
    assert.equal(update.targetType, "user");
    assert.equal(update.targetName, "audited");
    assert.equal(update.outcome, "success");
    assert.ok(update.sourceAddress);
    assert.ok(update.time >= startedAt);
    assert.deepEqual(update.details, { before: { firstName: "Au", displayName: "Au", enabled: true }, after: { firstName: "Audi", displayName: "Audi", enabled: false } });
    const text = JSON.stringify(list);
    for (const secret of ["Secret-Pass-9", "Other-Secret-9", "$argon2"]) assert.ok(!text.includes(secret), `${secret} leaked`);
  });

  it("filters by actor, target name, action, outcome and time; filters combine", async () => {
    assert.deepEqual((await events("?target=audited&action=user.create")).map((e) => e.action), ["user.create"]);
    const failures = await events("?outcome=failure&action=auth.login&targetType=user");
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.details!.reason, "wrong-password");
    assert.ok((await events("?actor=sysadmin")).length >= 6);
    assert.deepEqual(await events("?actor=nobody"), []);
    assert.deepEqual(await events("?from=2999-01-01"), []);
    assert.deepEqual(await events("?to=2000-01-01T00:00:00Z"), []);
    const all = await events();
    assert.deepEqual(await events(`?from=${encodeURIComponent(startedAt)}&to=2999-01-01`), all.filter((e) => e.time >= startedAt));
    assert.equal(all.at(-1)!.action, "system.bootstrap");
  });

  it("a target name finds every target recorded under it — renamed, gone, or a new one of the same name — newest first, paged without gaps", async () => {
    const s = server();
    const first = await s.api("POST", "/security/v1/users", { token, body: { username: "twice", firstName: "One" } });
    await s.api("DELETE", `/security/v1/users/${first.body.id}`, { token });
    const second = await s.api("POST", "/security/v1/users", { token, body: { username: "twice", firstName: "Two" } });
    await s.api("PUT", `/security/v1/users/${second.body.id}`, { token, body: { firstName: "Deux" } });
    const group = await s.api("POST", "/security/v1/user-groups", { token, body: { name: "team-old" } });
    await s.api("PUT", `/security/v1/user-groups/${group.body.id}`, { token, body: { name: "team-new" } });
    await s.api("PUT", `/security/v1/user-groups/${group.body.id}`, { token, body: { description: "after the rename" } });
    // A name held by more targets than are read apart (a bulk action's, each run a target of its own).
    const many = Array.from({ length: 40 }, (_, i) => ({ at: new Date().toISOString(), action: "test.run", outcome: "success", target_type: "bulk-action", target_id: `run-${i % 20}`, target_name: "many-runs" }));
    await s.server.deps.store.db.insertInto("audit_events").values(many).execute();
    const all = await events("?max=1000");
    for (const name of ["twice", "team-old", "team-new", "audited", "sysadmin", "many-runs"]) {
      const expected = all.filter((e) => e.targetName === name);
      assert.ok(expected.length > 0, name);
      assert.deepEqual(await events(`?target=${name}&max=1000`), expected, name);
      const paged: Event[] = [];
      let path: string | undefined = `/security/v1/audit-events?target=${name}&max=2`;
      while (path) {
        const r: ApiResponse<Event[]> = await s.api<Event[]>("GET", path, { token });
        paged.push(...r.body);
        const link = r.headers.get("link");
        path = link ? /^<\/portal([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
      }
      assert.deepEqual(paged, expected, `${name}, two at a time`);
    }
    assert.deepEqual(new Set((await events("?target=twice")).map((e) => e.targetId)), new Set([first.body.id, second.body.id]));
    assert.deepEqual(await events("?target=nobody-of-that-name"), []);
  });

  it("names match in any case, as logins take them: the actor, a target's name, the action and the target type", async () => {
    const s = server();
    const bySysadmin = await events("?actor=sysadmin&max=1000");
    assert.ok(bySysadmin.length >= 6);
    for (const actor of ["SYSADMIN", "SysAdmin", "ｓｙｓａｄｍｉｎ"]) assert.deepEqual(await events(`?actor=${encodeURIComponent(actor)}&max=1000`), bySysadmin, actor);
    // An administrator whose name has capitals (and a letter whose capital lower case alone does not tell: Σ).
    const admin = await s.api("POST", "/security/v1/users", { token, body: { username: "Ops.ΣΑΣ", password: "Secret-Pass-9" } });
    assert.equal(admin.status, 201, admin.text);
    const administrators = await s.api<{ id: string }[]>("GET", "/security/v1/user-groups?search=administrators", { token });
    await s.api("PUT", `/security/v1/users/${admin.body.id}/user-groups/${administrators.body[0]!.id}`, { token });
    const theirs = await s.login("OPS.σας", "Secret-Pass-9");
    const group = await s.api("POST", "/security/v1/user-groups", { token: theirs, body: { name: "Night-Shift" } });
    assert.equal(group.status, 201, group.text);
    for (const actor of ["Ops.ΣΑΣ", "ops.σας", "OPS.ΣΑΣ"]) {
      const list = await events(`?actor=${encodeURIComponent(actor)}`);
      assert.deepEqual(list.map((e) => e.action), ["group.create", "auth.login"], actor);
      assert.equal(list[0]!.actor, "Ops.ΣΑΣ", "the name as recorded");
    }
    for (const target of ["night-shift", "NIGHT-SHIFT", "Night-Shift"]) assert.deepEqual((await events(`?target=${target}`)).map((e) => e.targetId), [group.body.id], target);
    assert.deepEqual((await events("?target=AUDITED&action=USER.CREATE&targetType=User")).map((e) => [e.action, e.targetName]), [["user.create", "audited"]]);
    // Names that differ by more than case stay apart, as two logins do.
    assert.deepEqual(await events("?actor=ops.sas"), []);
    assert.deepEqual(await events("?actor=nobody"), []);
  });

  it("a failed login's actor is anonymous, with the address; an unknown login name is kept only as a keyed hash; repeats within a minute are one event", async () => {
    const [wrong] = await events("?outcome=failure&action=auth.login&targetType=user");
    assert.equal(wrong!.actor, null);
    assert.equal(wrong!.actorNumericId, null);
    assert.equal(wrong!.targetName, "sysadmin");
    assert.equal(wrong!.sourceAddress, "127.0.0.1");
    const unknown = await events("?outcome=failure&action=auth.login&targetType=login-name");
    assert.equal(unknown.length, minutesOfRepeats, "three attempts on one name in one minute are one event");
    assert.equal(unknown.reduce((n, e) => n + e.count, 0), 3);
    assert.equal(unknown[0]!.actor, null);
    assert.equal(unknown[0]!.details!.reason, "unknown-user");
    assert.match(unknown[0]!.targetId!, /^[\w-]{22}$/);
    const stored = JSON.stringify(await server().server.deps.store.db.selectFrom("audit_events").selectAll().execute());
    assert.ok(!stored.toLowerCase().includes("typed-in-username-7"), "the name typed is not stored");
  });

  it("pages with max and a Link header, without gaps or repeats", async () => {
    const s = server();
    const all = await events();
    const seen: number[] = [];
    let path: string | undefined = "/security/v1/audit-events?max=3";
    while (path) {
      const r: ApiResponse<Event[]> = await s.api<Event[]>("GET", path, { token });
      assert.equal(r.status, 200);
      assert.ok(r.body.length <= 3);
      seen.push(...r.body.map((e) => e.id));
      const link = r.headers.get("link");
      path = link ? /^<\/portal([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
    }
    assert.deepEqual(seen, all.map((e) => e.id));
  });

  it("bad filters are 400s; there is no way to write, change or delete events", async () => {
    const s = server();
    for (const query of ["?from=yesterday", "?from=%2B010000-01-01T00:00:00Z", "?to=9999-12-31T23:00:00-02:00", "?outcome=maybe", "?max=0", "?cursor=%%%"]) {
      const r = await s.api("GET", `/security/v1/audit-events${query}`, { token });
      assert.equal(r.status, 400, `${query} → ${r.status}`);
    }
    // A time range that holds no instant says so, instead of answering that no event matches.
    for (const query of ["?from=2026-12-02&to=2026-12-01", "?from=2026-12-01T10:00:00Z&to=2026-12-01T12:00:00%2B02:00"]) {
      const r = await s.api("GET", `/security/v1/audit-events${query}`, { token });
      assert.equal(r.status, 400, `${query} → ${r.status}`);
      assert.match(r.body.errorMessage, /must be later than/, query);
      assert.equal(JSON.parse(r.body.additionalInfo).field, "to");
    }
    assert.equal((await s.api("GET", "/security/v1/audit-events?from=2026-12-01&to=2026-12-01T00:00:01Z", { token })).status, 200);
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const r = await s.api(method, "/security/v1/audit-events", { token, body: method === "DELETE" ? undefined : {} });
      assert.equal(r.status, 405, `${method} → ${r.status}`);
      assert.equal(r.headers.get("allow"), "GET, HEAD");
    }
  });

  it("lists every action an event may have, sorted: those of the events recorded here among them; an administrator's alone", async () => {
    const s = server();
    const r = await s.api<string[]>("GET", "/security/v1/audit-events/actions", { token });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, [...r.body].sort());
    // But the rows a test above wrote to the store itself ("test.run").
    const recorded = new Set((await events()).map((e) => e.action).filter((a) => !a.startsWith("test.")));
    assert.deepEqual([...recorded].filter((a) => !r.body.includes(a)), []);
    for (const action of ["user.create", "user.lockout-cleared", "auth.login", "group.member.add"]) assert.ok(r.body.includes(action), action);
    const plain = await s.api("POST", "/security/v1/users", { token, body: { username: "reads.no.log", password: "Secret-Pass-9" } });
    assert.equal(plain.status, 201, plain.text);
    const theirs = await s.login("reads.no.log", "Secret-Pass-9");
    assert.equal((await s.api("GET", "/security/v1/audit-events/actions", { token: theirs })).status, 403);
    assert.equal((await s.api("GET", "/security/v1/audit-events/actions")).status, 401);
  });
});
