import { sql, type Kysely } from "kysely";
import { fold } from "../domain/user-fields.js";

/** Names keyed by one statement: two bound values each (SQLite allows 32 766 a statement). */
const KEY_BATCH = 1000;

/** A name the trigger on `audit_events` keys itself (dialect.asciiNameKey: SQL's ASCII lower case is `fold` there). */
const PRINTABLE_ASCII = /^[ -~]*$/;

/** The names of some events that their writer keys, sorted. */
export interface NamesToKey {
  actors: string[];
  targets: string[];
}

/** The names of `rows` (audit_events rows) beyond printable ASCII; none, most often. */
export function namesToKey(rows: readonly { actor_name: string | null; target_name: string | null; target_id: string | null }[]): NamesToKey | undefined {
  const beyondAscii = (names: (string | null)[]) => [...new Set(names.filter((n): n is string => n !== null && !PRINTABLE_ASCII.test(n)))].sort();
  const actors = beyondAscii(rows.map((r) => r.actor_name));
  // A name is recorded with its target's id only (migration 014g).
  const targets = beyondAscii(rows.map((r) => (r.target_id === null ? null : r.target_name)));
  return actors.length + targets.length === 0 ? undefined : { actors, targets };
}

/**
 * Writes the key (`fold`, as logins and the names' uniqueness tell names apart) of `names`, once their
 * events are inserted, in the same transaction: the trigger on `audit_events` recorded them in
 * `audit_actor_names` and `audit_target_names` without it (neither store folds Unicode case in SQL;
 * migration 014z), and the filters only read keys. Only a name still without a key is written: one
 * keyed before costs an index probe and takes no lock (another writer of the same new name waits at
 * the trigger's insert until the first commits, its key with it).
 */
export async function keyNames(db: Kysely<any>, names: NamesToKey): Promise<void> {
  await keyNamesOf(db, "audit_actor_names", "actor_name", "actor_key", names.actors);
  await keyNamesOf(db, "audit_target_names", "target_name", "target_key", names.targets);
}

async function keyNamesOf(db: Kysely<any>, table: string, name: string, key: string, names: readonly string[]): Promise<void> {
  for (let i = 0; i < names.length; i += KEY_BATCH) {
    const keys = sql.join(names.slice(i, i + KEY_BATCH).map((n) => sql`(${n}, ${fold(n)})`));
    await sql`update ${sql.table(table)} set ${sql.ref(key)} = k.column2 from (values ${keys}) as k
      where ${sql.ref(`${table}.${name}`)} = k.column1 and ${sql.ref(`${table}.${key}`)} is null`.execute(db);
  }
}

/**
 * Keys the names still without a key (housekeeping): those a writer did not key — a node of an
 * earlier version, running beside this one while an upgrade rolls — are found by the filters once this
 * has run. With none, one probe of each table's index by key and name.
 */
export async function keyNamesLeftUnkeyed(db: Kysely<any>): Promise<void> {
  for (const [table, name, key] of [["audit_actor_names", "actor_name", "actor_key"], ["audit_target_names", "target_name", "target_key"]] as const) {
    for (;;) {
      const names = (await db.selectFrom(table).select(name).distinct().where(key, "is", null).limit(KEY_BATCH).execute()).map((r: Record<string, string>) => r[name]!);
      await keyNamesOf(db, table, name, key, names);
      if (names.length < KEY_BATCH) break;
    }
  }
}
