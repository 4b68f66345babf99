import assert from "node:assert/strict";
import { it } from "node:test";
import { describeEachStore, startTestServer } from "../test-support/server.js";
import { AuditTally, perMinute, type AuditAction } from "./audit.js";

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

describeEachStore(
  "audit retention (ECM_AUDIT_RETENTION_DAYS), pruned in the background by every node at once",
  (server) => {
    it("deletes events past retention and keeps the rest, with two nodes pruning at the same time", async () => {
      // Closed in the test: the suite's after hook drops the store before later hooks would run.
      const second = await startTestServer(server().kind, { auditRetentionDays: 30, store: server().server.deps.config.store });
      try {
      const { db } = server().server.deps.store;
      const old = Array.from({ length: 25 }, (_, i) => ({ at: daysAgo(31 + i), action: "test.old", outcome: "success", target_type: "user", target_id: `gone-${i % 3}`, target_name: i % 2 ? "old-name" : "gone", actor_name: i % 2 ? "Gone.Admin" : "Kept.Admin" }));
      const recent = { at: daysAgo(29), action: "test.recent", outcome: "success", target_type: "user", target_id: "gone-0", target_name: "old-name", actor_name: "Kept.Admin" };
      await db.insertInto("audit_events").values([...old, recent]).execute();
      await db.insertInto("rate_limits").values([{ key: "spent", hits: 3, reset_at: daysAgo(1) }, { key: "running", hits: 1, reset_at: new Date(Date.now() + 60_000).toISOString() }]).execute();

      await Promise.all([server().server.housekeeping(), second.server.housekeeping()]);

      const actions = (await db.selectFrom("audit_events").select("action").execute()).map((e) => e.action);
      assert.ok(!actions.includes("test.old"), "events past retention are gone");
      assert.ok(actions.includes("test.recent") && actions.includes("system.bootstrap"), "the others stay");
      const names = await db.selectFrom("audit_target_names").select(["target_name", "target_id"]).where("target_id", "like", "gone-%").execute();
      assert.deepEqual(names, [{ target_name: "old-name", target_id: "gone-0" }], "a target's name goes with the last event recorded under it");
      const actors = await db.selectFrom("audit_actor_names").select("actor_name").where("actor_name", "like", "%.Admin").execute();
      assert.deepEqual(actors, [{ actor_name: "Kept.Admin" }], "so does an actor's with their last event");
      assert.deepEqual((await db.selectFrom("rate_limits").select("key").execute()).map((r) => r.key), ["running"], "spent rate-limit counters go too");
      } finally {
        await second.close();
      }
    });
  },
  { auditRetentionDays: 30 },
);

describeEachStore("counted audit events (AuditTally)", (server) => {
  it("a flush asked for while another writes returns once that write is stored too", async () => {
    const { db } = server().server.deps.store;
    const tally = new AuditTally(db, () => {}, 60_000);
    const actor = { id: null, name: null, sourceIp: "127.0.0.9" };
    try {
      for (let i = 0; i < 3; i++) tally.add(actor, perMinute(actor, { action: "test.tally" as AuditAction, outcome: "failure", details: { reason: "flood" } }));
      let timedWritten = false;
      const timed = tally.flush().then(() => (timedWritten = true)); // as the timer's, which takes the counts and writes them
      await tally.flush();
      assert.ok(timedWritten, "the asked-for flush waited for the write under way");
      const rows = await db.selectFrom("audit_events").select("count").where("action", "=", "test.tally").execute();
      assert.deepEqual(rows.map((r) => r.count), [3]);
      await timed;
    } finally {
      await tally.close();
    }
  });

  it("holds anonymous callers' new rows to the minute's cap, not a logged-in user's refusals", async () => {
    const { db } = server().server.deps.store;
    const tally = new AuditTally(db, () => {}, 60_000, 1);
    const anonymous = (sourceIp: string) => ({ id: null, name: null, sourceIp });
    const user = { id: 1, name: "sysadmin", sourceIp: "127.0.0.9" };
    try {
      for (const actor of [anonymous("127.0.0.7"), anonymous("127.0.0.8"), user]) tally.add(actor, perMinute(actor, { action: "test.capped" as AuditAction, outcome: "failure", details: { reason: "rate-limited" } }));
      await tally.flush();
      const rows = await db.selectFrom("audit_events").select(["action", "actor_id", "source_ip", "count"]).where("action", "in", ["test.capped", "audit.not-recorded"]).orderBy("action").orderBy("source_ip").execute();
      assert.deepEqual(rows, [
        { action: "audit.not-recorded", actor_id: null, source_ip: null, count: 1 },
        { action: "test.capped", actor_id: null, source_ip: "127.0.0.7", count: 1 },
        { action: "test.capped", actor_id: 1, source_ip: "127.0.0.9", count: 1 },
      ]);
    } finally {
      await tally.close();
    }
  });
});
