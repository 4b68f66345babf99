import { sql, type Kysely, type Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";
import { keyAuditNames } from "../audit-names.js";

/**
 * The audit log's `actor` and `target` filters match a name in any case, as logins and the names'
 * uniqueness tell names apart (`fold`): `actor=SYSADMIN` matched no event of sysadmin. No event is
 * written again (actor names such as `directory:<Name>` are on most of a large log's events): the
 * names are keyed apart, once each. `audit_actor_names` holds each actor name recorded, once, as
 * `audit_target_names` (014g) does each target's name; both get a key column (`fold` of the name)
 * and an index by key, then name. The trigger that kept `audit_target_names`
 * keeps both, for every event whoever writes it (a node on older code too), with the key of a name of
 * printable ASCII (SQL's ASCII lower case is `fold` there); a name beyond ASCII comes without its key,
 * which the filters write before they read (storage/audit-names.ts). Here the actor names already
 * recorded are copied in one statement (from the index on actor_name) and the target names keyed in
 * one, both as the trigger keys them; then the names beyond ASCII, a batch of a thousand a statement. The filters read the keys, then the events by
 * the indexes on actor_name and target_id (storage/audit-queries.ts).
 */
export function auditNameKeysMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.createTable("audit_actor_names").addColumn("actor_name", "text", (c) => c.primaryKey()).addColumn("actor_key", "text").execute();
      await db.schema.alterTable("audit_target_names").addColumn("target_key", "text").execute();
      await dialect.keepAuditActorNames(db);
      // After the trigger, so that no actor is missed (as in 014g).
      await sql`insert into audit_actor_names (actor_name, actor_key)
        select distinct actor_name, ${dialect.asciiNameKey("actor_name")} from audit_events where actor_name is not null
        on conflict do nothing`.execute(db);
      await sql`update audit_target_names set target_key = ${dialect.asciiNameKey("target_name")}`.execute(db);
      // By key, then name: a filter's names, and the names without a key yet in name order.
      await db.schema.createIndex("audit_actor_names_key").on("audit_actor_names").columns(["actor_key", "actor_name"]).execute();
      await db.schema.createIndex("audit_target_names_key").on("audit_target_names").columns(["target_key", "target_name", "target_id"]).execute();
      await keyAuditNames(db);
    },
  };
}
