import type { Kysely, Migration } from "kysely";
import { fold, searchTextFor } from "../../domain/user-fields.js";

const BATCH = 1000;

/**
 * `fold` (domain/user-fields.ts) now takes compatibility forms to plain ones (NFKC) before case, so
 * ｓｙｓａｄｍｉｎ typed at login finds sysadmin. The keys stored with the old fold are written again
 * where the new one differs: `users.login_key`, `users.search_text` and `groups.name_key` (only rows
 * with such characters change). A login or group name whose new key another row already holds keeps
 * its old one (the first by id wins), as the look-alike keys did in 010b-name-skeletons. By the live
 * functions, as lookups and the search compare with them (domain/stored-keys.test.ts pins their output).
 */
export const nfkcKeysMigration: Migration = {
  async up(db: Kysely<any>) {
    await rekey(db, "users", ["login_name", "login_key", "username", "first_name", "last_name", "email", "search_text"], (row) => ({
      login_key: fold(row.login_name),
      search_text: searchTextFor({ username: row.username, first_name: row.first_name, last_name: row.last_name, email: row.email }),
    }), "login_key");
    await rekey(db, "groups", ["name", "name_key"], (row) => ({ name_key: fold(row.name) }), "name_key");
  },
};

/** Walks `table` in id order and writes the columns `keysOf` gives where they differ; the unique `uniqueKey` only where it is free. */
export async function rekey(db: Kysely<any>, table: string, columns: string[], keysOf: (row: Record<string, any>) => Record<string, string>, uniqueKey?: string): Promise<void> {
  for (let after = 0; ; ) {
    const rows: Record<string, any>[] = await db.selectFrom(table).select(["id", ...columns]).where("id", ">", after).orderBy("id").limit(BATCH).execute();
    if (rows.length === 0) return;
    for (const row of rows) {
      const keys = keysOf(row);
      const changed = Object.fromEntries(Object.entries(keys).filter(([column, value]) => row[column] !== value));
      if (Object.keys(changed).length === 0) continue;
      if (uniqueKey !== undefined && uniqueKey in changed && (await db.selectFrom(table).select("id").where(uniqueKey, "=", changed[uniqueKey]).executeTakeFirst())) delete changed[uniqueKey];
      if (Object.keys(changed).length > 0) await db.updateTable(table).set(changed).where("id", "=", row.id).execute();
    }
    after = rows[rows.length - 1]!.id;
  }
}
