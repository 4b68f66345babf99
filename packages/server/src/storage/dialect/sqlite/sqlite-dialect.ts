import { sql, type Kysely } from "kysely";
import type { StoreDialect } from "../dialect.js";

/** FTS5 phrase query for a literal substring: double quotes are doubled, nothing else is special. */
function ftsPhrase(needle: string): string {
  return `"${needle.replaceAll('"', '""')}"`;
}

export const sqliteDialect: StoreDialect = {
  name: "sqlite",
  serialPrimaryKey: "integer primary key autoincrement",
  orderedText: "text",

  async createUserSearchIndex(db: Kysely<any>) {
    // External-content FTS5 trigram index over users.search_text, kept in step by triggers.
    await sql`create virtual table users_search using fts5(search_text, content='users', content_rowid='id', tokenize='trigram')`.execute(db);
    await sql`create trigger users_search_ai after insert on users begin
      insert into users_search(rowid, search_text) values (new.id, new.search_text); end`.execute(db);
    await sql`create trigger users_search_ad after delete on users begin
      insert into users_search(users_search, rowid, search_text) values ('delete', old.id, old.search_text); end`.execute(db);
    await sql`create trigger users_search_au after update of search_text on users begin
      insert into users_search(users_search, rowid, search_text) values ('delete', old.id, old.search_text);
      insert into users_search(rowid, search_text) values (new.id, new.search_text); end`.execute(db);
  },

  userSearchMatches(needle: string) {
    // Trigrams need three characters; shorter needles are matched by scanning.
    if ([...needle].length >= 3) {
      return sql<boolean>`users.id in (select rowid from users_search where users_search match ${ftsPhrase(needle)})`;
    }
    return sql<boolean>`instr(users.search_text, ${needle}) > 0`;
  },
};
