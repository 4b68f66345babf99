import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { directoryProblemMigration } from "./011g-directory-problem.js";

for (const kind of storeKinds) {
  describe(`migration 011g on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("takes the directories listed as unreachable before as unreachable; the others have no problem", async () => {
      await withBareDatabase(kind, async (db) => {
        // The table as migration 011 left it, with the columns that matter here.
        await sql`create table directory_sync_state (directory_id integer primary key, unreachable_since text, unreachable_error text)`.execute(db);
        await sql`insert into directory_sync_state values (1, '2024-01-01T00:00:00.000Z', 'Cannot connect to dc1:389: ECONNREFUSED'), (2, null, null)`.execute(db);

        await directoryProblemMigration.up(db);

        const rows = await db.selectFrom("directory_sync_state").select(["directory_id", "unreachable_reason"]).orderBy("directory_id").execute();
        assert.deepEqual(rows, [
          { directory_id: 1, unreachable_reason: "unreachable" },
          { directory_id: 2, unreachable_reason: null },
        ]);
      });
    });
  });
}
