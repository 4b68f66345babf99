import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { primaryGroupsMigration } from "./014t-primary-groups.js";

for (const kind of storeKinds) {
  describe(`migration 014t on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("drops the `changed` marks of Active Directory's directories only (their users' primaryGroupID is read at the next sync), and users hold none until then", async () => {
      await withBareDatabase(kind, async (db) => {
        // The tables as the migrations before left them, with the columns that matter here.
        await sql`create table users (id integer primary key, username text, directory_id integer)`.execute(db);
        await sql`create table directories (id integer primary key, kind text not null)`.execute(db);
        await sql`create table directory_sync_state (directory_id integer primary key, high_water text)`.execute(db);
        await sql`insert into users (id, username) values (1, 'jdoe')`.execute(db);
        await sql`insert into directories (id, kind) values (1, 'active-directory'), (2, 'ldap')`.execute(db);
        await sql`insert into directory_sync_state (directory_id, high_water) values (1, '{"attribute":"uSNChanged"}'), (2, '{"attribute":"modifyTimestamp"}')`.execute(db);

        await primaryGroupsMigration.up(db);

        const marks = (await sql<{ directory_id: number; high_water: string | null }>`select directory_id, high_water from directory_sync_state order by directory_id`.execute(db)).rows;
        assert.deepEqual(marks.map((r) => [r.directory_id, r.high_water]), [[1, null], [2, '{"attribute":"modifyTimestamp"}']]);
        const users = (await sql<{ primary_group_rid: number | null }>`select primary_group_rid from users`.execute(db)).rows;
        assert.deepEqual(users.map((u) => u.primary_group_rid), [null]);
      });
    });
  });
}
