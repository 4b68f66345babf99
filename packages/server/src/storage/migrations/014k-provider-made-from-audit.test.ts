import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { providerMadeFromAuditMigration } from "./014k-provider-made-from-audit.js";

for (const kind of storeKinds) {
  describe(`migration 014k on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("marks as made by a provider the accounts whose creation the audit log gives to one, their provider since removed", async () => {
      await withBareDatabase(kind, async (db) => {
        await sql`create table users (id integer primary key, uuid text not null, provider_made integer not null default 0)`.execute(db);
        await sql`create table audit_events (id integer primary key, action text not null, actor_name text, target_id text)`.execute(db);
        await sql`insert into users (id, uuid) values (1, 'u-1'), (2, 'u-2'), (3, 'u-3')`.execute(db);
        await sql`insert into audit_events (id, action, actor_name, target_id) values
          (1, 'user.create', 'identity-provider:gone', 'u-1'), (2, 'user.create', 'sysadmin', 'u-2'), (3, 'user.link', 'identity-provider:gone', 'u-3')`.execute(db);
        await providerMadeFromAuditMigration.up(db);
        const rows = (await sql<{ id: number; provider_made: number }>`select id, provider_made from users order by id`.execute(db)).rows;
        assert.deepEqual(rows.map((r) => [r.id, Number(r.provider_made)]), [[1, 1], [2, 0], [3, 0]]);
      });
    });
  });
}
