import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { providerGroupMappingsMigration } from "./014x-provider-group-mappings.js";

for (const kind of storeKinds) {
  describe(`migration 014x on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("trims the idpGroupNames of providers stored before and keeps each mapping once, leaving the rest of their settings", async () => {
      await withBareDatabase(kind, async (db) => {
        // The table as the migrations before left it, with the columns that matter here.
        await sql`create table identity_providers (id integer primary key, config text not null)`.execute(db);
        const group = "6f1c2a9e-0000-4000-8000-000000000001";
        const padded = { clientId: "ecm", customGroupList: [{ idpGroupName: " Admins", localGroupId: group }, { idpGroupName: "Admins ", localGroupId: group }, { idpGroupName: "Staff", localGroupId: group }, { idpGroupName: "Staff", localGroupId: group }, { idpGroupName: "  ", localGroupId: group }] };
        const clean = { clientId: "ecm", customGroupList: [{ idpGroupName: "Staff", localGroupId: group }] };
        await sql`insert into identity_providers (id, config) values (1, ${JSON.stringify(padded)}), (2, ${JSON.stringify(clean)}), (3, ${JSON.stringify({ clientId: "old" })})`.execute(db);

        await providerGroupMappingsMigration.up(db);

        const rows = (await sql<{ id: number; config: string }>`select id, config from identity_providers order by id`.execute(db)).rows.map((r) => JSON.parse(r.config));
        assert.deepEqual(rows, [
          { clientId: "ecm", customGroupList: [{ idpGroupName: "Admins", localGroupId: group }, { idpGroupName: "Staff", localGroupId: group }] },
          clean,
          { clientId: "old" },
        ]);
      });
    });
  });
}
