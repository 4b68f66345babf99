import { sql, type Kysely } from "kysely";
import { fold } from "../domain/user-fields.js";

/** The tables of the names recorded in the audit log (migrations 014g, 014z), each with its name and key columns. */
const NAME_TABLES = {
  actor: { table: "audit_actor_names", name: "actor_name", key: "actor_key" },
  target: { table: "audit_target_names", name: "target_name", key: "target_key" },
} as const;

export type AuditNameKind = keyof typeof NAME_TABLES;

/** Names keyed by one statement: two bound values each (SQLite allows 32 766 a statement). */
const KEY_BATCH = 1000;

/**
 * Writes the key (`fold`, as logins and the names' uniqueness tell names apart) of each name in
 * `audit_actor_names` and `audit_target_names` (or those of `kinds`) that has none yet. The trigger on `audit_events` keys a
 * name of printable ASCII itself (dialect.asciiNameKey) and records any other without its key (neither
 * store folds Unicode case in SQL; a node on code older than migration 014z records names unkeyed too),
 * so the name filters call this before they read the keys: such a name is keyed once, by the first
 * filtered read after it. Set-wise, a batch of names a statement, in
 * name order from the index by key and name (migration 014z), each batch after the last: entries
 * keyed already, dead ones on PostgreSQL too, are not walked again. Several readers may key the same
 * names at once: they write the same keys.
 */
export async function keyAuditNames(db: Kysely<any>, kinds: readonly AuditNameKind[] = ["actor", "target"]): Promise<void> {
  for (const { table, name, key } of kinds.map((kind) => NAME_TABLES[kind])) {
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
