import { sql, type Kysely, type Migration } from "kysely";
import { nameKeyOf } from "../../domain/audit.js";
import type { StoreDialect } from "../dialect/dialect.js";

/**
 * The audit log's `actor` and `target` filters match a name in any case, as logins and the names'
 * uniqueness tell names apart (domain/audit.ts nameKeyOf): `actor=SYSADMIN` matched no event of
 * sysadmin. An event keeps the folded names where they differ from the names recorded
 * (`actor_key`, `target_key`; null where a name is its own key, as most are, so no such event is
 * rewritten here). The actor filter reads an index on coalesce(actor_key, actor_name), which takes
 * the place of the one on actor_name; `audit_target_names` keeps each name's key too (its trigger
 * copies the event's), read by an index on coalesce(target_key, target_name). Both stores fold no
 * Unicode case in SQL, so the keys are written here, once per distinct name.
 */
export function auditNameKeysMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("audit_events").addColumn("actor_key", "text").execute();
      await db.schema.alterTable("audit_events").addColumn("target_key", "text").execute();
      await db.schema.alterTable("audit_target_names").addColumn("target_key", "text").execute();
      await dialect.copyAuditTargetKeys(db);
      // The actors are few (administrators, the system): each read once from the index on actor_name.
      const actors: { actor_name: string }[] = await db.selectFrom("audit_events").select("actor_name").distinct().where("actor_name", "is not", null).execute();
      for (const { actor_name: name } of actors) {
        const key = nameKeyOf(name);
        if (key !== null) await db.updateTable("audit_events").set({ actor_key: key }).where("actor_name", "=", name).execute();
      }
      await sql`create index audit_events_actor_key on audit_events ((coalesce(actor_key, actor_name)), id)`.execute(db);
      await db.schema.dropIndex("audit_events_actor_name").execute();
      // A name a target was recorded under, once each (a million users: a million rows, read in batches).
      for (let after: { target_name: string; target_id: string } | undefined; ; ) {
        let q = db.selectFrom("audit_target_names").select(["target_name", "target_id"]).orderBy("target_name").orderBy("target_id").limit(10_000);
        if (after) q = q.where((eb) => eb(eb.refTuple("target_name", "target_id"), ">", eb.tuple(after!.target_name, after!.target_id)));
        const rows: { target_name: string; target_id: string }[] = await q.execute();
        for (const row of rows) {
          const key = nameKeyOf(row.target_name);
          if (key !== null) await db.updateTable("audit_target_names").set({ target_key: key }).where("target_name", "=", row.target_name).where("target_id", "=", row.target_id).execute();
        }
        if (rows.length < 10_000) break;
        after = rows.at(-1);
      }
      await sql`create index audit_target_names_key on audit_target_names ((coalesce(target_key, target_name)), target_id)`.execute(db);
    },
  };
}
