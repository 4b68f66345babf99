import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { sql } from "kysely";
import { recordAudit, recordAuditMany, recordAuditRows } from "../../domain/audit.js";
import { describeEachStore, startTestServer, type TestServer } from "../../test-support/server.js";

/** Names beyond ASCII, whose key (fold) neither store computes in SQL. */
const ACTORS = Array.from({ length: 2500 }, (_, i) => `jürgen-${String(i).padStart(4, "0")}`);
const TARGETS = Array.from({ length: 1500 }, (_, i) => `ölaf-${String(i).padStart(4, "0")}`);

describeEachStore("audit names beyond ASCII", (server, kind) => {
  let token: string;
  let other: TestServer;

  before(async () => {
    const s = server();
    token = await s.login();
    other = await startTestServer(kind, { store: s.server.deps.config.store });
    const { db, dialect } = s.server.deps.store;
    // Written as each writer writes them: one event at a time (an administrator's change), many in one
    // JSON statement (a sync's batch), through the API, and counted refusals (written by the tally).
    assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "Ærling", password: "Secret-Pass-9" } })).status, 201);
    await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "Ærling", password: "wrong-password" } });
    await s.server.deps.auditTally.flush();
    await db.transaction().execute(async (trx) => {
      for (const name of ACTORS) await recordAudit(trx, { id: null, name, sourceIp: null }, { action: "group.update", target: { type: "group", id: "g-1", name: "Night-Shift" } });
    });
    await recordAuditRows(db, dialect, { id: null, name: "directory:Zürich", sourceIp: null }, TARGETS.map((name, i) => ({ action: "user.create", target: { type: "user", id: `u-${i}`, name } })));
  });
  after(async () => {
    await other?.close();
  });

  const unkeyed = async () => {
    const { db } = server().server.deps.store;
    const actors = await db.selectFrom("audit_actor_names").select("actor_name as name").where("actor_key", "is", null).execute();
    const targets = await db.selectFrom("audit_target_names").select("target_name as name").where("target_key", "is", null).execute();
    return [...actors, ...targets].map((r) => r.name);
  };

  it("are keyed as their events are written, by every writer", async () => {
    assert.deepEqual(await unkeyed(), []);
  });

  it("new to the log and written by many writers at once on two nodes, in any order, are each keyed, with no error", async () => {
    const s = server();
    const names = ["zoë", "åke", "łukasz", "þór"];
    await Promise.all(
      Array.from({ length: 24 }, (_, k) => {
        const targets = [...names.slice(k % 4), ...names.slice(0, k % 4)];
        if (k % 3 === 0) targets.reverse();
        return recordAuditMany((k % 2 === 0 ? s : other).server.deps.store.db, { id: null, name: names[k % 4]!.toUpperCase(), sourceIp: null }, targets.map((name) => ({ action: "user.update", target: { type: "user", id: `t-${name}`, name } })));
      }),
    );
    assert.deepEqual(await unkeyed(), []);
    const r = await other.api("GET", `/security/v1/audit-events?actor=${encodeURIComponent("Zoë")}&target=${encodeURIComponent("ŁUKASZ")}`, { token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.length, 6);
  });

  it("written without their key (a node of an earlier version, during an upgrade) are keyed by housekeeping, then found", async () => {
    const s = server();
    // As an earlier version writes an event: the row alone; the trigger records its names unkeyed.
    await s.server.deps.store.db.insertInto("audit_events").values({ at: new Date().toISOString(), actor_id: null, actor_name: "Björn-Earlier", action: "group.update", target_type: "group", target_id: "g-earlier", target_name: "Ünits-Earlier", source_ip: null, outcome: "success", details: null, aggregate_key: null }).execute();
    assert.deepEqual((await unkeyed()).sort(), ["Björn-Earlier", "Ünits-Earlier"]);
    await other.server.housekeeping();
    assert.deepEqual(await unkeyed(), []);
    const r = await s.api("GET", `/security/v1/audit-events?actor=${encodeURIComponent("björn-earlier")}&target=${encodeURIComponent("ÜNITS-EARLIER")}`, { token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.length, 1);
  });

  it("are found in any case by filtered reads on two nodes at once, which write nothing", async () => {
    const s = server();
    const { db } = s.server.deps.store;
    // Every version of the names' rows (PostgreSQL): a read that keys names writes new ones.
    const versions = async () =>
      kind === "postgres"
        ? (await sql<{ v: string }>`select md5((select string_agg(xmin::text, ',' order by actor_name) from audit_actor_names) || (select string_agg(xmin::text, ',' order by target_name, target_id) from audit_target_names)) as v`.execute(db)).rows[0]!.v
        : "";
    const before = await versions();
    const read = async (node: TestServer, query: string) => {
      const r = await node.api("GET", `/security/v1/audit-events?${query}`, { token });
      assert.equal(r.status, 200, r.text);
      return r.body as { actor: string; targetName: string }[];
    };
    const checks = [7, 1234, 2499].map((i) => async (node: TestServer) => assert.deepEqual((await read(node, `actor=${encodeURIComponent(ACTORS[i]!.toUpperCase())}`)).map((e) => e.actor), [ACTORS[i]]));
    checks.push(...[0, 1499].map((i) => async (node: TestServer) => assert.deepEqual((await read(node, `target=${encodeURIComponent(TARGETS[i]!.toUpperCase())}`)).map((e) => e.targetName), [TARGETS[i]])));
    checks.push(async (node) => assert.equal((await read(node, "actor=DIRECTORY:ZÜRICH&max=2000")).length, TARGETS.length));
    checks.push(async (node) => assert.deepEqual(new Set((await read(node, "target=ærling")).map((e) => e.targetName)), new Set(["Ærling"])));
    await Promise.all(checks.flatMap((check) => [check(s), check(other)]));
    assert.equal(await versions(), before, "the reads wrote nothing");
  });
});
