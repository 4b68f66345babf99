import { sql, type Kysely, type Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";
import { fold } from "../../domain/user-fields.js";

/**
 * The audit log's `actor` and `target` filters match a name in any case, as logins and the names'
 * uniqueness tell names apart (`fold`): `actor=SYSADMIN` matched no event of sysadmin. No event is
 * written again (actor names such as `directory:<Name>` are on most of a large log's events): the
 * names are keyed apart, once each. `audit_actor_names` holds each actor name recorded, once, as
 * `audit_target_names` (014g) does each target's name; both get a key column (`fold` of the name)
 * and an index by key, then name. The trigger that kept `audit_target_names`
 * keeps both, for every event whoever writes it (a node on older code too), with the key of a name of
 * printable ASCII (SQL's ASCII lower case is `fold` there); a name beyond ASCII comes without its key,
 * which its event's writer writes (storage/audit-names.ts; before migration 015c, the filters did
 * before they read). Here the actor names already recorded are copied in one statement (from the index on actor_name) and the target names keyed in
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
      await keyUnkeyedAuditNames(db);
    },
  };
}

/** Names keyed by one statement: two bound values each (SQLite allows 32 766 a statement). */
const KEY_BATCH = 1000;

/**
 * Writes the key of every recorded name that has none (those beyond printable ASCII): set-wise, a
 * batch of names a statement, in name order from the index by key and name, each batch after the last.
 * Kept here, as the tables were when this migration was written (015c runs it once more); the key is
 * the live `fold`, which every key stored must equal (domain/stored-keys.test.ts pins it).
 */
export async function keyUnkeyedAuditNames(db: Kysely<any>): Promise<void> {
  for (const [table, name, key] of [["audit_actor_names", "actor_name", "actor_key"], ["audit_target_names", "target_name", "target_key"]] as const) {
    for (let after: string | undefined; ; ) {
      let q = db.selectFrom(table).select(name).distinct().where(key, "is", null).orderBy(name).limit(KEY_BATCH);
      if (after !== undefined) q = q.where(name, ">", after);
      const names = (await q.execute()).map((r: Record<string, string>) => r[name]!);
      if (names.length === 0) break;
      const keys = sql.join(names.map((n) => sql`(${n}, ${fold(n)})`));
      // By the names' index, a batch's names each (a condition on the key would have SQLite walk the unkeyed names instead).
      await sql`update ${sql.table(table)} set ${sql.ref(key)} = k.column2 from (values ${keys}) as k
        where ${sql.ref(`${table}.${name}`)} = k.column1`.execute(db);
      if (names.length < KEY_BATCH) break;
      after = names.at(-1);
    }
  }
}
