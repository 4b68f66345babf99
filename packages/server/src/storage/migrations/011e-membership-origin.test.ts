import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { membershipOriginMigration } from "./011e-membership-origin.js";

for (const kind of storeKinds) {
  describe(`migration 011e on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("takes the memberships a sync decided as the sync's, every other one as by hand; removing the directory leaves them by hand", async () => {
      await withBareDatabase(kind, async (db) => {
        if (kind === "sqlite") await sql`pragma foreign_keys = on`.execute(db);
        // The tables as the migrations before left them, with the columns that matter here.
        await sql`create table directories (id integer primary key, config text not null)`.execute(db);
        await sql`create table users (id integer primary key, directory_id integer references directories(id))`.execute(db);
        await sql`create table groups (id integer primary key, uuid text not null, directory_id integer references directories(id))`.execute(db);
        await sql`create table group_members (group_id integer not null references groups(id) on delete cascade, user_id integer not null references users(id) on delete cascade, primary key (group_id, user_id))`.execute(db);
        const mapped = "00000000-0000-4000-8000-00000000000a";
        await sql`insert into directories (id, config) values (1, ${JSON.stringify({ groupMappings: [{ groupDn: "cn=eng,dc=x", localGroupId: mapped }] })}), (2, '{}')`.execute(db);
        // 1: a user of directory 1; 2: a local user; 3: a user of directory 2.
        await sql`insert into users (id, directory_id) values (1, 1), (2, null), (3, 2)`.execute(db);
        // 10: directory 1's group; 11: the local group it maps to; 12: a local group it does not map to.
        await sql`insert into groups (id, uuid, directory_id) values (10, 'g10', 1), (11, ${mapped}, null), (12, 'g12', null)`.execute(db);
        await sql`insert into group_members (group_id, user_id) values (10, 1), (11, 1), (12, 1), (10, 2), (11, 2), (11, 3)`.execute(db);

        await membershipOriginMigration.up(db);

        const rows = async () => (await sql<{ group_id: number; user_id: number; synced_by: number | null }>`select group_id, user_id, synced_by from group_members order by group_id, user_id`.execute(db)).rows;
        assert.deepEqual(await rows(), [
          { group_id: 10, user_id: 1, synced_by: 1 },
          { group_id: 10, user_id: 2, synced_by: null },
          { group_id: 11, user_id: 1, synced_by: 1 },
          { group_id: 11, user_id: 2, synced_by: null },
          { group_id: 11, user_id: 3, synced_by: null },
          { group_id: 12, user_id: 1, synced_by: null },
        ]);
        await sql`update users set directory_id = null`.execute(db);
        await sql`update groups set directory_id = null`.execute(db);
        await sql`delete from directories where id = 1`.execute(db);
        assert.deepEqual((await rows()).map((r) => r.synced_by), [null, null, null, null, null, null]);
      });
    });
  });
}
