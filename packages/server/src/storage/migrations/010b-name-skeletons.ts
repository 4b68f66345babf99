import { sql, type Kysely, type Migration } from "kysely";
import { confusableKey } from "../../domain/names.js";

const BATCH = 1000;

/**
 * Confusable names (domain/names.ts): usernames, login names and group names keep their UTS #39
 * skeleton in a uniquely indexed column, so a new name that looks like an existing one is refused by
 * one index probe. Existing rows get theirs here; where two existing names already look alike, the
 * first (by id) holds the key and the later one keeps none (null is not unique-checked).
 */
export const nameSkeletonsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("users").addColumn("username_skeleton", "text").execute();
    await db.schema.alterTable("users").addColumn("login_skeleton", "text").execute();
    await db.schema.alterTable("groups").addColumn("name_skeleton", "text").execute();
    await fillNameSkeletons(db, "users", [["username", "username_skeleton"], ["login_name", "login_skeleton"]]);
    await fillNameSkeletons(db, "groups", [["name", "name_skeleton"]]);
    await db.schema.createIndex("users_username_skeleton").unique().on("users").column("username_skeleton").execute();
    await db.schema.createIndex("users_login_skeleton").unique().on("users").column("login_skeleton").execute();
    await db.schema.createIndex("groups_name_skeleton").unique().on("groups").column("name_skeleton").execute();
  },
};

/**
 * Sets each `[source, key]` column pair where the key is null, in id order, a batch per statement (a
 * CASE over the batch's ids). A key that an earlier row of this pass took stays null, and so, with
 * `keysStored` (some rows hold keys already: looked up by the keys' unique indexes), does one another
 * row holds.
 */
export async function fillNameSkeletons(db: Kysely<any>, table: string, pairs: [string, string][], keysStored = false): Promise<void> {
  const seen = pairs.map(() => new Set<string>());
  for (let after = 0; ; ) {
    const rows: Record<string, any>[] = await db
      .selectFrom(table)
      .select(["id", ...pairs.flat()])
      .where("id", ">", after)
      .where((eb) => eb.or(pairs.map(([, key]) => eb(key, "is", null))))
      .orderBy("id")
      .limit(BATCH)
      .execute();
    if (rows.length === 0) return;
    const sets = [];
    for (const [i, [source, key]] of pairs.entries()) {
      const missing = rows.filter((row) => row[key] === null);
      const values = new Map(missing.map((row) => [row.id, confusableKey(row[source])]));
      if (values.size === 0) continue;
      if (keysStored) for (const row of await db.selectFrom(table).select(key).where(key, "in", [...new Set(values.values())]).execute()) seen[i]!.add(row[key]);
      const cases = missing.map((row) => {
        const value = values.get(row.id)!;
        const taken = seen[i]!.has(value);
        seen[i]!.add(value);
        return sql`when ${row.id} then ${taken ? null : value}`;
      });
      sets.push(sql`${sql.ref(key)} = case id ${sql.join(cases, sql` `)} else ${sql.ref(key)} end`);
    }
    await sql`update ${sql.table(table)} set ${sql.join(sets)} where id in (${sql.join(rows.map((r) => r.id))})`.execute(db);
    after = rows[rows.length - 1]!.id;
  }
}
