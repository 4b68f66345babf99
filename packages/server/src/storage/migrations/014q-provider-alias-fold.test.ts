import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { providerAliasFoldMigration } from "./014q-provider-alias-fold.js";

for (const kind of storeKinds) {
  describe(`migration 014q on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("keeps every provider: an alias held twice but for case keeps the first, each later one takes the first free -<n> (none past 64 characters); then the store tells aliases apart without regard to case", async () => {
      await withBareDatabase(kind, async (db) => {
        // The table as the migrations before left it, with the columns that matter here.
        await sql`create table identity_providers (id integer primary key, alias text not null unique)`.execute(db);
        // corp-2 was given by hand: CORP and the second corp take the next free numbers instead.
        await sql`insert into identity_providers (id, alias) values (1, 'Corp'), (2, 'corp'), (3, 'CORP'), (4, 'corp-2'), (5, 'other'), (6, ${"x".repeat(64)}), (7, ${"X".repeat(64)})`.execute(db);

        await providerAliasFoldMigration.up(db);

        const rows = (await sql`select id, alias from identity_providers order by id`.execute(db)).rows;
        assert.deepEqual(rows, [
          { id: 1, alias: "Corp" },
          { id: 2, alias: "corp-3" },
          { id: 3, alias: "CORP-4" },
          { id: 4, alias: "corp-2" },
          { id: 5, alias: "other" },
          { id: 6, alias: "x".repeat(64) },
          { id: 7, alias: `${"X".repeat(62)}-2` },
        ]);
        await assert.rejects(sql`insert into identity_providers (id, alias) values (8, 'OTHER')`.execute(db));
        await sql`insert into identity_providers (id, alias) values (8, 'another')`.execute(db);
      });
    });
  });
}
