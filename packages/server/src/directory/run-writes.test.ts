import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { sql } from "kysely";
import { directoryConfig, startDirectory, syncAndWait } from "../test-support/directories.js";
import type { DirectoryTree } from "../test-support/directory-trees.js";
import { describeEachStore } from "../test-support/server.js";
import type { Slapd } from "../test-support/slapd.js";

/**
 * What a sync writes to its run's row (`GET …/sync` on every node reads it): between batches, one
 * UPDATE with the counts, the problems and the heartbeat. A small OpenLDAP tree in a real slapd.
 */
const PAGE_SIZE = 20;

describeEachStore("a directory sync's run row", (server, kind) => {
  let tree: DirectoryTree;
  let slapd: Slapd;
  before(async () => {
    ({ tree, slapd } = await startDirectory("openldap", 200));
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
  after(async () => {
    await slapd?.remove();
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
  });
}, { directories: { leaseSeconds: 600, schedulerSeconds: 0 } });
