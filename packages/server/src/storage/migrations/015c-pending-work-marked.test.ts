import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { postgresDialect } from "../dialect/postgres/postgres-dialect.js";
import { sqliteDialect } from "../dialect/sqlite/sqlite-dialect.js";
import { pendingWorkMarkedMigration } from "./015c-pending-work-marked.js";

for (const kind of storeKinds) {
  describe(`migration 015c on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("marks the releases a stop left unfinished before it and keys the audit names recorded without their key", async () => {
      await withBareDatabase(kind, async (db) => {
        // The tables as the migrations before left them, with the columns that matter here.
        await sql`create table users (id integer primary key, identity_provider_id integer)`.execute(db);
        await sql`create table federated_identities (provider_id integer not null, subject text not null, user_id integer not null)`.execute(db);
        await sql`create table audit_actor_names (actor_name text primary key, actor_key text)`.execute(db);
        await sql`create table audit_target_names (target_name text not null, target_id text not null, target_key text, primary key (target_name, target_id))`.execute(db);
        // 1 made by provider 5 and linked to it; 2 by provider 6, whose links were removed; 3 by provider 7, deleted; 4 local.
        await sql`insert into users values (1, 5), (2, 6), (3, 7), (4, null), (5, 6)`.execute(db);
        await sql`insert into federated_identities values (5, 'a', 1), (6, 'e', 5)`.execute(db);
        await sql`insert into audit_actor_names values ('sysadmin', 'sysadmin'), ('Jürgen', null), ('ÅSA', null)`.execute(db);
        await sql`insert into audit_target_names values ('Ærø', 'u1', null), ('Ærø', 'u2', null), ('ann', 'u3', 'ann')`.execute(db);

        await pendingWorkMarkedMigration(kind === "postgres" ? postgresDialect : sqliteDialect).up(db);

        const marked = await db.selectFrom("provider_releases").select("provider_id").orderBy("provider_id").execute();
        assert.deepEqual(marked.map((m) => m.provider_id), [6, 7]);
        const actors = await db.selectFrom("audit_actor_names").select(["actor_name", "actor_key"]).orderBy("actor_name").execute();
        assert.deepEqual(actors.map((a) => [a.actor_name, a.actor_key]).sort(), [["Jürgen", "jürgen"], ["sysadmin", "sysadmin"], ["ÅSA", "åsa"]].sort());
        const targets = await db.selectFrom("audit_target_names").select(["target_name", "target_id", "target_key"]).orderBy("target_id").execute();
        assert.deepEqual(targets.map((t) => [t.target_id, t.target_key]), [["u1", "ærø"], ["u2", "ærø"], ["u3", "ann"]]);
      });
    });
  });
}
