import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { groupNameColumns, loginNameColumns, usernameColumns } from "../domain/names.js";
import { defaultDisplayName, emailKeyOf, searchTextFor } from "../domain/user-fields.js";
import type { NewUserRow, UserRow } from "../storage/schema.js";
import type { Store } from "../storage/store.js";
import { createUserQueries } from "../storage/user-queries.js";
import { isoNow } from "../storage/time.js";

/** Cyrillic ѕ у ѕ а: looks like "sysa". */
export const CYRILLIC_SYSADMIN = "\u0455\u0443\u0455\u0430dmin";

/** A users row as a bulk writer inserts it (its search entry and document made by the batch, not by triggers). */
export function batchUserRow(username: string, first: string) {
  const now = isoNow();
  const fields = { username, first_name: first, last_name: "Batch", email: `${username}@example.com` };
  return { ...fields, uuid: randomUUID(), password_by_system_administrator: 1, login_name: username, login_key: username, display_name: `${first} Batch`, created_at: now, updated_at: now, email_key: emailKeyOf(fields.email), search_text: searchTextFor(fields) };
}

/**
 * Writes a user straight into the store, for tests that need data the API under test does not create.
 * `password` is hashed with the server's hasher when given.
 */
export async function insertUser(
  store: Store,
  fields: Partial<Omit<NewUserRow, "search_text">> & { username: string },
  password?: { hasher: { hash(p: string): Promise<string> }; value: string },
): Promise<UserRow> {
  const now = isoNow();
  const first_name = fields.first_name ?? null;
  const last_name = fields.last_name ?? null;
  const email = fields.email ?? null;
  const login_name = fields.login_name ?? fields.username;
  return store.db
    .insertInto("users")
    .values({
      uuid: randomUUID(),
      password_by_system_administrator: 1,
      display_name: defaultDisplayName(first_name, last_name, fields.username),
      ...usernameColumns(fields.username),
      ...loginNameColumns(login_name),
      created_at: now,
      updated_at: now,
      password_hash: password ? await password.hasher.hash(password.value) : null,
      ...fields,
      login_name,
      first_name,
      last_name,
      email,
      email_key: emailKeyOf(email),
      search_text: searchTextFor({ username: fields.username, first_name, last_name, email }),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Writes groups straight into the store, in batches: the many a directory brings, without a sync. */
export async function insertGroups(store: Store, names: readonly string[]): Promise<void> {
  const now = isoNow();
  for (let i = 0; i < names.length; i += 1000) {
    const rows = names.slice(i, i + 1000).map((name) => ({ uuid: randomUUID(), ...groupNameColumns(name), created_at: now, updated_at: now }));
    await store.db.insertInto("groups").values(rows).execute();
  }
}

/** Usernames of a search, read through keyset pages of `size` to the end. */
export async function searchAllPages(store: Store, search: string, size: number): Promise<string[]> {
  const seen: string[] = [];
  for await (const page of createUserQueries(store).listAll({ search }, undefined, size)) seen.push(...page.map((u) => u.username));
  return seen;
}

/**
 * The pages PostgreSQL's search indexes still hold pending (which every search reads whole), merged as
 * they are counted; 0 on SQLite, which keeps none.
 */
export async function pendingSearchPages(store: Store): Promise<number> {
  if (store.dialect.name !== "postgres") return 0;
  const merged = await sql<{ pages: number }>`select gin_clean_pending_list('user_search_trgm'::regclass) + gin_clean_pending_list('user_search_short'::regclass) as pages`.execute(store.db);
  return Number(merged.rows[0]!.pages);
}
