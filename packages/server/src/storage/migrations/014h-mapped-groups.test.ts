import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { mappedGroupsMigration } from "./014h-mapped-groups.js";

for (const kind of storeKinds) {
  describe(`migration 014h on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("records, per directory, the local groups holding a membership its sync made (its own groups and those by hand left out), the mappings as not known", async () => {
      await withBareDatabase(kind, async (db) => {
        // The tables as the migrations before left them, with the columns that matter here.
        await sql`create table groups (id integer primary key, directory_id integer)`.execute(db);
        await sql`create table group_members (group_id integer not null, user_id integer not null, synced_by integer)`.execute(db);
        await sql`create table directory_sync_state (directory_id integer primary key)`.execute(db);
        await sql`insert into directory_sync_state (directory_id) values (1), (2)`.execute(db);
        // Groups 10 and 11 are local, 12 is directory 1's own.
        await sql`insert into groups (id, directory_id) values (10, null), (11, null), (12, 1)`.execute(db);
        await sql`insert into group_members (group_id, user_id, synced_by) values (11, 1, 1), (10, 1, 1), (10, 2, 1), (12, 1, 1), (11, 3, null), (11, 4, 2)`.execute(db);

        await mappedGroupsMigration.up(db);

        const rows = (await sql<{ directory_id: number; mapped_groups: string }>`select directory_id, mapped_groups from directory_sync_state order by directory_id`.execute(db)).rows;
        assert.deepEqual(rows.map((r) => [r.directory_id, JSON.parse(r.mapped_groups)]), [
          [1, { filled: [10, 11], pairs: null }],
          [2, { filled: [11], pairs: null }],
        ]);
      });
    });
  });
}
