import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { apiKeyNamesMigration } from "./013b-api-key-names.js";

for (const kind of storeKinds) {
  describe(`migration 013b on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("keeps every key: a name given twice to one account's keys gets the first free number (no name given by hand is taken, none grows past 128 characters); then a name is unique per account", async () => {
      await withBareDatabase(kind, async (db) => {
        // The table as migration 013 left it, with the columns that matter here.
        await sql`create table api_keys (id integer primary key, user_id integer not null, name text not null)`.execute(db);
        // Key 5 was named "nightly (2)" by hand: key 2 takes the next free number instead.
        await sql`insert into api_keys (id, user_id, name) values (1, 1, 'nightly'), (2, 1, 'nightly'), (3, 2, 'nightly'), (4, 1, 'other'), (5, 1, 'nightly (2)'), (6, 1, 'nightly'), (7, 1, ${"x".repeat(128)}), (8, 1, ${"x".repeat(128)})`.execute(db);

        await apiKeyNamesMigration.up(db);

        const rows = (await sql`select id, user_id, name from api_keys order by id`.execute(db)).rows;
        assert.deepEqual(rows, [
          { id: 1, user_id: 1, name: "nightly" },
          { id: 2, user_id: 1, name: "nightly (3)" },
          { id: 3, user_id: 2, name: "nightly" },
          { id: 4, user_id: 1, name: "other" },
          { id: 5, user_id: 1, name: "nightly (2)" },
          { id: 6, user_id: 1, name: "nightly (4)" },
          { id: 7, user_id: 1, name: "x".repeat(128) },
          { id: 8, user_id: 1, name: `${"x".repeat(124)} (2)` },
        ]);
        await assert.rejects(sql`insert into api_keys (id, user_id, name) values (5, 1, 'other')`.execute(db));
      });
    });
  });
}
