import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { syncRunMembershipsMigration } from "./011f-sync-run-memberships.js";

for (const kind of storeKinds) {
  describe(`migration 011f on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("counts no joined or left membership in the runs before it; later runs write theirs", async () => {
      await withBareDatabase(kind, async (db) => {
        // The table as migration 011 left it, with the columns that matter here.
        await sql`create table directory_sync_runs (id integer primary key, created integer not null default 0)`.execute(db);
        await sql`insert into directory_sync_runs (id, created) values (1, 5)`.execute(db);

        await syncRunMembershipsMigration.up(db);

        await db.updateTable("directory_sync_runs").set({ joined: 3, left: 2 }).where("id", "=", 1).execute();
        await db.insertInto("directory_sync_runs").values({ id: 2 }).execute();
        const rows = await db.selectFrom("directory_sync_runs").select(["id", "created", "joined", "left"]).orderBy("id").execute();
        assert.deepEqual(rows, [
          { id: 1, created: 5, joined: 3, left: 2 },
          { id: 2, created: 0, joined: 0, left: 0 },
        ]);
      });
    });
  });
}
