import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { sql } from "kysely";
import { createDirectoryQueries } from "../storage/directory-queries.js";
import { directoryConfig, startDirectory, syncAndWait, waitForSync } from "../test-support/directories.js";
import type { DirectoryTree } from "../test-support/directory-trees.js";
import { describeEachStore } from "../test-support/server.js";
import type { Slapd } from "../test-support/slapd.js";

/**
 * What a sync writes to its run's row (`GET …/sync` on every node reads it): between batches, one
 * UPDATE with the counts, the problems and the heartbeat; while it reads nothing, the heartbeat alone,
 * from the timer that renews its lease. A small OpenLDAP tree in a real slapd.
 */
const PAGE_SIZE = 20;

let tree: DirectoryTree;
let slapd: Slapd;
before(async () => {
  ({ tree, slapd } = await startDirectory("openldap", 200));
});
after(async () => {
  await slapd?.remove();
});

describeEachStore("a directory sync's run row", (server, kind) => {
  before(async () => {
    // Every UPDATE of a run, as the store sees it.
    const { db } = server().server.deps.store;
    await sql`create table run_updates (id integer)`.execute(db);
    if (kind === "sqlite") {
      await sql`create trigger run_updated after update on directory_sync_runs begin insert into run_updates values (new.id); end`.execute(db);
    } else {
      await sql`create function run_updated() returns trigger language plpgsql as $$ begin insert into run_updates values (new.id); return null; end $$`.execute(db);
      await sql`create trigger run_updated after update on directory_sync_runs for each row execute function run_updated()`.execute(db);
    }
  });
  it("between two pages, one UPDATE of the run: its progress carries the heartbeat (the lease's renewal writes none)", async () => {
    const token = await server().login();
    const created = await server().api("POST", "/security/v1/external-user-storage", { token, body: directoryConfig(tree, slapd, { pageSize: PAGE_SIZE }) });
    assert.equal(created.status, 201, created.text);
    const run = await syncAndWait(server(), token, created.body.id);
    assert.equal(run.state, "succeeded", run.message);
    const { db } = server().server.deps.store;
    const updates = await sql<{ n: number | string }>`select count(*) as n from run_updates where id = ${run.id}`.execute(db);
    const pages = Math.ceil(tree.userCount / PAGE_SIZE);
    // A page's progress, and the run's end (a last, empty page of the search may add one).
    assert.ok(Number(updates.rows[0]!.n) <= pages + 2, `${updates.rows[0]!.n} UPDATEs of the run for ${pages} pages`);
    // A node that wakes after its run was ended (closed as interrupted by another, its lease run out) writes
    // no progress over the ending: the counts stay those the audit event of the ending gives.
    const { store } = server().server.deps;
    const ended = await db.selectFrom("directory_sync_runs").selectAll().where("id", "=", run.id).executeTakeFirstOrThrow();
    const late = { seen: 1, created: 1, updated: 1, disabled: 1, unchanged: 1, failed: 1, joined: 1, left: 1 };
    await createDirectoryQueries(db, store.dialect).progress(run.id, late, "[]", new Date().toISOString());
    assert.deepEqual(await db.selectFrom("directory_sync_runs").selectAll().where("id", "=", run.id).executeTakeFirstOrThrow(), ended);
  });
}, { directories: { leaseSeconds: 600, schedulerSeconds: 0 } });

describeEachStore("a directory sync's heartbeat while the directory does not answer", (server) => {
  it("the timer that renews the lease (a third of it) writes the run's heartbeat, and the run goes on once the directory answers", async () => {
    const token = await server().login();
    const created = await server().api("POST", "/security/v1/external-user-storage", { token, body: directoryConfig(tree, slapd, { name: "held directory", pageSize: PAGE_SIZE }) });
    assert.equal(created.status, 201, created.text);
    // slapd stopped: the run connects and waits for its answer, writing no progress.
    const pid = Number(readFileSync(join(slapd.dir, "slapd.pid"), "utf8"));
    process.kill(pid, "SIGSTOP");
    try {
      const started = await server().api("POST", `/security/v1/external-user-storage/${created.body.id}/sync`, { token, body: { mode: "full" } });
      assert.equal(started.status, 202, started.text);
      const { db } = server().server.deps.store;
      const row = () => db.selectFrom("directory_sync_runs").select(["id", "started_at", "heartbeat_at", "seen"]).orderBy("id", "desc").limit(1).executeTakeFirstOrThrow();
      const first = await row();
      for (let i = 0; ; i++) {
        const now = await row();
        assert.equal(now.seen, 0, "nothing read");
        if (now.heartbeat_at > first.started_at) break;
        assert.ok(i < 100, `no heartbeat within 5 s of a lease of 3 s: ${JSON.stringify(now)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const run = await waitForSync(server(), token, created.body.id);
    assert.equal(run.state, "succeeded", run.message);
  });
}, { directories: { leaseSeconds: 3, schedulerSeconds: 0 } });
