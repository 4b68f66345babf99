import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { providerMappedMembershipsMigration } from "./014j-provider-mapped-memberships.js";

for (const kind of storeKinds) {
  describe(`migration 014j on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("takes as a provider's mapping's the memberships of its linked users in its mapped groups, but for its default groups and a sync's", async () => {
      await withBareDatabase(kind, async (db) => {
        // The tables as the migrations before left them, with the columns that matter here.
        await sql`create table identity_providers (id integer primary key, config text not null)`.execute(db);
        await sql`create table groups (id integer primary key, uuid text not null)`.execute(db);
        await sql`create table federated_identities (provider_id integer not null, user_id integer not null)`.execute(db);
        await sql`create table group_members (group_id integer not null, user_id integer not null, synced_by integer)`.execute(db);
        const config = (mapped: string[], defaults: string[]) => JSON.stringify({ defaultGroupList: defaults, customGroupList: mapped.map((localGroupId) => ({ idpGroupName: localGroupId, localGroupId })) });
        await sql`insert into identity_providers (id, config) values (1, ${config(["g-eng", "g-ops", "g-staff"], ["g-staff"])}), (2, ${config([], [])})`.execute(db);
        await sql`insert into groups (id, uuid) values (10, 'g-eng'), (11, 'g-ops'), (12, 'g-staff'), (13, 'g-other')`.execute(db);
        // Users 1 and 2 are linked to provider 1, user 3 to provider 2, user 4 to none.
        await sql`insert into federated_identities (provider_id, user_id) values (1, 1), (1, 2), (2, 3)`.execute(db);
        await sql`insert into group_members (group_id, user_id, synced_by) values
          (10, 1, null), (12, 1, null), (13, 1, null), (11, 2, 5), (10, 2, null), (10, 3, null), (10, 4, null)`.execute(db);

        await providerMappedMembershipsMigration.up(db);

        const rows = (await sql<{ group_id: number; user_id: number; mapped_by: number | null }>`select group_id, user_id, mapped_by from group_members order by user_id, group_id`.execute(db)).rows;
        assert.deepEqual(rows.map((r) => [r.user_id, r.group_id, r.mapped_by]), [
          [1, 10, 1],
          [1, 12, null],
          [1, 13, null],
          [2, 10, 1],
          [2, 11, null],
          [3, 10, null],
          [4, 10, null],
        ]);
      });
    });
  });
}
