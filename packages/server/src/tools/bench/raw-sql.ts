import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { searchFold } from "../../domain/user-fields.js";
import { containsPattern } from "../../storage/like.js";
import type { LdapUser } from "./slapd.js";

/**
 * The raw-SQL baseline: the straightforward single query for each operation, sent straight to the
 * store with no HTTP and no plan choice (the database's planner decides).
 */
export interface RawStore {
  search(needle: string): Promise<number>;
  countAll(): Promise<number>;
  pageAfter(username: string): Promise<number>;
  /** The username at a 0-based position in username order (for the cursor of a deep page). */
  usernameAt(position: number): Promise<string>;
  /** A seeded user who can log in now: enabled, no validity window. */
  loginUsername(): Promise<string>;
  /** Seeded (not built-in) users after an id, in id order, for slapd's LDIF. */
  usersAfter(id: number, limit: number): Promise<(LdapUser & { id: number })[]>;
  close(): Promise<void>;
}

const ftsPhrase = (needle: string) => `"${needle.replaceAll('"', '""')}"`;

const USER_COLUMNS = "id, username, first_name, last_name, display_name, email";
const LOGIN_USER = "select username from users where builtin = 0 and enabled = 1 and valid_from is null and valid_to is null order by id limit 1";

export function openRawSqlite(file: string): RawStore {
  const db = new BetterSqlite3(file, { readonly: true });
  // The index's rowid is the user's order key (migration 004), not its id.
  const byIndex = db.prepare("select * from users where sort_key in (select rowid from users_search where users_search match ?) order by username limit 100");
  const byScan = db.prepare("select * from users where instr(search_text, ?) > 0 order by username limit 100");
  const countAll = db.prepare("select count(*) n from users");
  const page = db.prepare("select * from users where username > ? order by username limit 100");
  const at = db.prepare("select username from users order by username limit 1 offset ?");
  const loginUser = db.prepare(LOGIN_USER);
  const usersAfter = db.prepare(`select ${USER_COLUMNS} from users where builtin = 0 and id > ? order by id limit ?`);
  return {
    async search(needle) {
      const n = searchFold(needle);
      return ([...n].length >= 3 ? byIndex.all(ftsPhrase(n)) : byScan.all(n)).length;
    },
    async countAll() {
      return (countAll.get() as { n: number }).n;
    },
    async pageAfter(username) {
      return page.all(username).length;
    },
    async usernameAt(position) {
      return (at.get(position) as { username: string }).username;
    },
    async loginUsername() {
      return (loginUser.get() as { username: string }).username;
    },
    async usersAfter(id, limit) {
      return usersAfter.all(id, limit) as (LdapUser & { id: number })[];
    },
    async close() {
      db.close();
    },
  };
}

export async function openRawPostgres(url: string): Promise<RawStore> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    async search(needle) {
      // The trigram index lives on the narrow search table (migration 006).
      return (await client.query("select * from users where id in (select user_id from user_search where search_text like $1) order by username limit 100", [containsPattern(searchFold(needle))])).rowCount ?? 0;
    },
    async countAll() {
      return Number((await client.query("select count(*) n from users")).rows[0].n);
    },
    async pageAfter(username) {
      return (await client.query("select * from users where username > $1 order by username limit 100", [username])).rowCount ?? 0;
    },
    async usernameAt(position) {
      return (await client.query("select username from users order by username limit 1 offset $1", [position])).rows[0].username;
    },
    async loginUsername() {
      return (await client.query(LOGIN_USER)).rows[0].username;
    },
    async usersAfter(id, limit) {
      return (await client.query(`select ${USER_COLUMNS} from users where builtin = 0 and id > $1 order by id limit $2`, [id, limit])).rows;
    },
    async close() {
      await client.end();
    },
  };
}
