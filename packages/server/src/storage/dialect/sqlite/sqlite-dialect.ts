import { sql, type Kysely, type RawBuilder, type SqlBool } from "kysely";
import type { StoreDialect } from "../dialect.js";
import { keyBatch, ORDER_KEY_GAP } from "./order-keys.js";
import { batchUserWrites, createDocumentsDeferral, createUserDocuments, installUserDocuments, NOT_DEFERRED, rebuildUserDocuments, remakeDocumentTriggers, suspendUserDocuments } from "./user-documents.js";

/** An SQL string literal. */
function quoteText(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** FTS5 phrase query for a literal substring: double quotes are doubled, nothing else is special. */
function ftsPhrase(needle: string): string {
  return `"${needle.replaceAll('"', '""')}"`;
}

/** Above this many distinct trigrams starting with a short needle, walking username order is cheaper. */
const MAX_SHORT_NEEDLE_TERMS = 400;

/** Greater than every character in a UTF-8 comparison: upper bound of a prefix range. */
const AFTER_ALL = "\u{10FFFF}";

const SEARCH_TRIGGERS = ["users_search_ai", "users_search_ad", "users_search_au"];

async function dropSearchTriggers(db: Kysely<any>) {
  for (const t of SEARCH_TRIGGERS) await sql`drop trigger if exists ${sql.id(t)}`.execute(db);
}

/**
 * Order keys: `users.sort_key` grows with the username, and the search index's rowid is that key, so
 * the index yields its hits in username order and a page stops after `limit` of them. Keys are
 * spaced 2^32 apart (ORDER_KEY_GAP); a new user takes the middle of its neighbours' keys. Where no
 * middle is left (32 users squeezed between the same two), the user keeps a null key and is searched
 * row by row until the next renumbering (migration, bulk load). A bulk writer's batch is keyed
 * set-wise instead (order-keys.ts).
 */

async function assignOrderKeys(db: Kysely<any>) {
  await sql`update users set sort_key = null`.execute(db);
  await sql`update users set sort_key = ranked.k
    from (select id, row_number() over (order by username) * ${sql.raw(String(ORDER_KEY_GAP))} as k from users) as ranked
    where users.id = ranked.id`.execute(db);
}

/** Indexes every user with an order key (the index text ends in two separators: see createScaleIndexes). */
async function fillSearchIndex(db: Kysely<any>) {
  await sql`insert into users_search(rowid, search_text) select sort_key, search_text || char(31, 31) from users where sort_key is not null`.execute(db);
}

/**
 * The order key for `username` between the keys of its keyed neighbours (other than the user `self`
 * itself), or null when no key is left between them.
 */
const orderKeyFor = (username: string, self: string) => sql.raw(`(select case
    when next_key is null then coalesce(prev_key, 0) + ${ORDER_KEY_GAP}
    when next_key - coalesce(prev_key, 0) > 1 then coalesce(prev_key, 0) + (next_key - coalesce(prev_key, 0)) / 2
  end
  from (select
    (select sort_key from users where username < ${username} and sort_key is not null and id <> ${self} order by username desc limit 1) as prev_key,
    (select sort_key from users where username > ${username} and sort_key is not null and id <> ${self} order by username limit 1) as next_key))`);

/**
 * Keeps the index in step with a user's changed text; a renamed user (directory syncs rename) gets a
 * new order key first. Only when a value changed: a set-wise update (updateJson) names every column
 * of every row it writes.
 */
const SEARCH_UPDATE_TRIGGER = sql`create trigger users_search_au after update of username, search_text on users
    when old.username is not new.username or old.search_text is not new.search_text begin
    delete from users_search where rowid = old.sort_key;
    update users set sort_key = ${orderKeyFor("new.username", "new.id")} where id = new.id and old.username is not new.username;
    insert into users_search(rowid, search_text) select sort_key, search_text || char(31, 31) from users where id = new.id and sort_key is not null;
    end`;

/**
 * A new user gets its order key first, then its index entry; since migration 014b not while a bulk
 * writer has deferred it (batchUserWrites), which then keys and indexes its new users set-wise.
 */
const searchInsertTrigger = (deferrable: boolean) => sql`create trigger users_search_ai after insert on users ${sql.raw(deferrable ? `when ${NOT_DEFERRED}` : "")} begin
    update users set sort_key = ${orderKeyFor("new.username", "new.id")} where id = new.id;
    insert into users_search(rowid, search_text) select sort_key, search_text || char(31, 31) from users where id = new.id and sort_key is not null;
    end`;

/** The update trigger made anew with the current statement. */
async function remakeSearchUpdateTrigger(db: Kysely<any>) {
  await sql`drop trigger if exists users_search_au`.execute(db);
  await SEARCH_UPDATE_TRIGGER.execute(db);
}

/** Keep the index in step with users (`deferrable`: the flag of batchUserWrites exists, from migration 011 on). */
async function createSearchTriggers(db: Kysely<any>, deferrable: boolean) {
  await searchInsertTrigger(deferrable).execute(db);
  await sql`create trigger users_search_ad after delete on users begin
    delete from users_search where rowid = old.sort_key; end`.execute(db);
  await SEARCH_UPDATE_TRIGGER.execute(db);
}

/** The FTS5 query for a needle: a phrase, or any of the trigrams a short needle starts; null when too common for the index. */
async function matchQuery(db: Kysely<any>, needle: string): Promise<string | null> {
  if ([...needle].length >= 3) return ftsPhrase(needle);
  // Every occurrence of a short needle starts an indexed trigram: match any of those trigrams.
  const terms = await sql<{ term: string }>`select term from users_search_terms where term >= ${needle} and term < ${needle + AFTER_ALL} limit ${MAX_SHORT_NEEDLE_TERMS + 1}`.execute(db);
  if (terms.rows.length > MAX_SHORT_NEEDLE_TERMS) return null;
  return terms.rows.map((r) => ftsPhrase(r.term)).join(" OR ");
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

  async createScaleIndexes(db: Kysely<any>) {
    // Replaces the 001 index by a contentless one over the padded, already folded text (case_sensitive:
    // the application folds, so the index and the row-by-row check agree on every character), and a
    // vocabulary table to find the trigrams that start with a 1–2 character needle. The indexed text
    // ends in two separators (char 31), so every character, even the last two, starts a trigram.
    await dropSearchTriggers(db);
    await sql`drop table users_search`.execute(db);
    await sql`create virtual table users_search using fts5(search_text, content='', contentless_delete=1, tokenize='trigram case_sensitive 1')`.execute(db);
    await sql`insert into users_search(rowid, search_text) select id, search_text || char(31, 31) from users`.execute(db);
    await sql`create virtual table users_search_terms using fts5vocab(users_search, 'row')`.execute(db);
    await sql`create trigger users_search_ai after insert on users begin
      insert into users_search(rowid, search_text) values (new.id, new.search_text || char(31, 31)); end`.execute(db);
    await sql`create trigger users_search_ad after delete on users begin
      delete from users_search where rowid = old.id; end`.execute(db);
    await sql`create trigger users_search_au after update of search_text on users begin
      delete from users_search where rowid = old.id;
      insert into users_search(rowid, search_text) values (new.id, new.search_text || char(31, 31)); end`.execute(db);
  },

  async createOrderedSearch(db: Kysely<any>) {
    await dropSearchTriggers(db);
    await sql`alter table users add column sort_key integer`.execute(db);
    await assignOrderKeys(db);
    await sql`create unique index users_sort_key on users(sort_key)`.execute(db);
    await sql`insert into users_search(users_search) values ('delete-all')`.execute(db);
    await fillSearchIndex(db);
    await createSearchTriggers(db, false);
  },

  async orderedSearch(db, needle, after, limit) {
    const query = await matchQuery(db, needle);
    if (query === null) return null;
    if (query === "") return [];
    const start = after === undefined
      ? undefined
      : (await sql<{ sort_key: number }>`select sort_key from users where username <= ${after} and sort_key is not null order by username desc limit 1`.execute(db)).rows[0]?.sort_key;
    const keyed = await sql<{ rowid: number }>`select rowid from users_search where users_search match ${query} and rowid > ${start ?? 0} order by rowid limit ${limit}`.execute(db);
    // Users without a key (see order keys above) are checked row by row, then merged in username order;
    // only the first `limit` can be on the page (a bulk load may leave many without a key, more than
    // SQLite takes as bound values).
    const unkeyed = await sql<{ id: number }>`select id from users where sort_key is null and instr(search_text, ${needle}) > 0 and username > ${after ?? ""} order by username limit ${limit}`.execute(db);
    if (unkeyed.rows.length === 0 && keyed.rows.length === 0) return [];
    const ids = await sql<{ id: number }>`select id from users
      where sort_key in (${sql.join(keyed.rows.map((r) => r.rowid).concat([-1]))}) or id in (${sql.join(unkeyed.rows.map((r) => r.id).concat([-1]))})
      order by username limit ${limit}`.execute(db);
    return ids.rows.map((r) => r.id);
  },

  // Short needles walk username order first (user-queries.ts searchIds): that fills most pages.
  orderedSearchAnyNeedle: false,
  writesInWith: false,

  async createNarrowSearch(db: Kysely<any>) {
    // A needle too common for the FTS index is counted row by row: over this index, not the wide rows.
    await sql`create index users_search_text on users(search_text)`.execute(db);
  },

  async countSearch(db, needle) {
    // 1–2 characters: instr over the narrow search_text index (~0.1 s at a million, whatever the
    // needle). Listing the trigrams that start with a common one costs more: fts5vocab reads each
    // trigram's whole posting list to count it.
    const row = [...needle].length < 3
      ? await sql<{ n: number }>`select count(*) as n from users where instr(search_text, ${needle}) > 0`.execute(db)
      : await sql<{ n: number }>`select (select count(*) from users_search where users_search match ${ftsPhrase(needle)})
          + (select count(*) from users where sort_key is null and instr(search_text, ${needle}) > 0) as n`.execute(db);
    return Number(row.rows[0]!.n);
  },

  userSearchMatches(needle: string) {
    return sql<boolean>`instr(users.search_text, ${needle}) > 0`;
  },

  async userSearchIndexed(db, needle) {
    const query = await matchQuery(db, needle);
    if (query === null) return null;
    if (query === "") return () => sql<boolean>`0 = 1`;
    return (cap) => sql<boolean>`(users.sort_key in (select rowid from users_search where users_search match ${query}${cap === undefined ? sql`` : sql` limit ${cap}`})
      or (users.sort_key is null and instr(users.search_text, ${needle}) > 0))`;
  },

  withIndexPlans(db, work) {
    return work(db);
  },

  async createUserCount(db: Kysely<any>) {
    // count(*) reads a whole index: ~10 ms at a million users once it falls out of the page cache.
    await sql`create table user_count (n integer not null)`.execute(db);
    await sql`insert into user_count select count(*) from users`.execute(db);
    await sql`create trigger users_count_ai after insert on users begin update user_count set n = n + 1; end`.execute(db);
    await sql`create trigger users_count_ad after delete on users begin update user_count set n = n - 1; end`.execute(db);
  },

  async countAllUsers(db) {
    const row = await sql<{ n: number }>`select n from user_count`.execute(db);
    return Number(row.rows[0]!.n);
  },

  async keyNearPosition(db, position, total) {
    // Order keys were spread evenly in username order when assigned; new users take keys between their neighbours'.
    const range = (await sql<{ lo: number | null; hi: number | null }>`select min(sort_key) as lo, max(sort_key) as hi from users`.execute(db)).rows[0];
    if (!range || range.lo === null || range.hi === null || position <= 0 || total <= 0) return { after: null, position: 0 };
    const target = position >= total ? range.hi + 1 : range.lo + Math.floor(((range.hi - range.lo) * position) / total);
    const before = (await sql<{ username: string }>`select username from users where sort_key < ${target} order by sort_key desc limit 1`.execute(db)).rows[0];
    return { after: before?.username ?? null, position: before ? Math.min(position, total) : 0 };
  },

  createUserDocuments,

  installUserDocuments,

  async createDeferredUpkeep(db: Kysely<any>) {
    await createDocumentsDeferral(db);
    // The search index keeps its per-row triggers (cheap here); a rename now gets a new order key.
    await remakeSearchUpdateTrigger(db);
  },

  async keyUnkeyedUsers(db: Kysely<any>) {
    if ((await sql`select 1 from users where sort_key is null limit 1`.execute(db)).rows.length === 0) return;
    await sql`insert into users_search(users_search) values ('delete-all')`.execute(db);
    await assignOrderKeys(db);
    await fillSearchIndex(db);
  },

  async createBulkUpkeep(db: Kysely<any>) {
    await sql`drop trigger users_search_ai`.execute(db);
    await searchInsertTrigger(true).execute(db);
  },

  // Order keys, not buckets: keyBatch spreads a batch over its gap (order-keys.ts).
  async placeArrivalsInNewBuckets() {},

  batchUserWrites(trx, work) {
    return batchUserWrites(trx, async () => {
      const writes = await work();
      if (writes.search.length > 0) await keyBatch(trx, writes.search);
      return writes;
    });
  },

  // FTS5 merges its segments as it writes.
  async settleBulkWrites() {},

  // One writer at a time: a transaction that writes holds the whole store.
  lockedForUpdate: (query) => query,
  lockedAgainstDelete: (query) => query,
  lockedAgainstChange: (query) => query,

  // SQLite's text compares as bytes (BINARY) unless told otherwise.
  async compareSearchTextBytewise() {},

  rewriteDocumentsInPlace: remakeDocumentTriggers,

  searchEntriesWhenChanged: remakeSearchUpdateTrigger,

  async createAuditTargetNames(db: Kysely<any>) {
    await sql`create table if not exists audit_target_names (target_name text not null, target_id text not null, primary key (target_name, target_id)) without rowid`.execute(db);
    // A known name only reads its entry: no page is written for an event of a known target.
    await sql`create trigger if not exists audit_target_names_insert after insert on audit_events
      when new.target_name is not null and new.target_id is not null
      begin insert or ignore into audit_target_names (target_name, target_id) values (new.target_name, new.target_id); end`.execute(db);
  },

  async keepAuditActorNames(db: Kysely<any>) {
    // The same trigger, now for every event (one may have an actor and no target).
    await sql`drop trigger audit_target_names_insert`.execute(db);
    await sql`create trigger audit_target_names_insert after insert on audit_events begin
      insert or ignore into audit_target_names (target_name, target_id, target_key) select new.target_name, new.target_id, ${asciiNameKey("new.target_name")} where new.target_name is not null and new.target_id is not null;
      insert or ignore into audit_actor_names (actor_name, actor_key) select new.actor_name, ${asciiNameKey("new.actor_name")} where new.actor_name is not null;
      end`.execute(db);
  },

  asciiNameKey,

  // No HOT updates to win: the index on (enabled, username) answers the filter and its count.
  async keepDisabledUsersApart() {},

  // SQLite has no fill factor: a row is rewritten in place when it still fits.
  async leaveRoomForUpdates() {},

  // SQLite keeps no counts of short needles (FTS5 answers them).
  async keepCountsWhereCounted() {},

  enabledIs: (enabled) => (eb) => eb("users.enabled", "=", enabled ? 1 : 0),

  async countEnabled(db, enabled) {
    const row = await db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n")).where("enabled", "=", enabled ? 1 : 0).executeTakeFirstOrThrow();
    return Number(row.n);
  },

  async createKeyedNeighbours(db: Kysely<any>) {
    // A new user's keyed neighbours are found without walking the unkeyed users between: many users
    // inserted in order into one gap (a directory's first sync may) left each insert walking them all.
    await sql`create index users_keyed_username on users(username) where sort_key is not null`.execute(db);
  },

  async insertJson<R>(db: Kysely<any>, table: string, columns: readonly string[], rows: readonly object[], options: { returning?: readonly string[]; skipConflicts?: boolean } = {}) {
    const values = columns.map((c) => `r.v ->> ${quoteText(`$.${c}`)}`).join(", ");
    const conflicts = options.skipConflicts ? sql` on conflict do nothing` : sql``;
    const returning = options.returning ? sql` returning ${sql.join(options.returning.map((c) => sql.id(c)))}` : sql``;
    // Each row is made binary JSON once (materialized): json_each hands out a row as text, and every
    // `->>` of it parsed that text again — a third of a 30-column users insert. `where true`: without
    // it SQLite would read the ON of ON CONFLICT as a join's.
    const query = sql<R>`with r(v) as materialized (select jsonb(j.value) from json_each(${JSON.stringify(rows)}) j)
      insert into ${sql.id(table)} (${sql.join(columns.map((c) => sql.id(c)))}) select ${sql.raw(values)} from r where true${conflicts}${returning}`;
    return (await query.execute(db)).rows;
  },

  async updateJson(db: Kysely<any>, table: string, columns: readonly string[], rows: readonly ({ id: number } & object)[], options: { increment?: readonly string[] } = {}) {
    const set = sql.join([
      ...columns.map((c) => sql`${sql.id(c)} = r.v ->> ${sql.raw(quoteText(`$.${c}`))}`),
      ...(options.increment ?? []).map((c) => sql`${sql.id(c)} = ${sql.id(table, c)} + 1`),
    ]);
    // The rows made binary JSON once, as insertJson does; each finds its row by the primary key.
    await sql`with r(v) as materialized (select jsonb(j.value) from json_each(${JSON.stringify(rows)}) j)
      update ${sql.id(table)} set ${set} from r where ${sql.id(table)}.id = r.v ->> '$.id'`.execute(db);
  },

  jsonList<T extends string | number>(values: readonly T[]) {
    return sql<T>`(select value from json_each(${JSON.stringify(values)}))`;
  },

  // A parameter a value, as Kysely writes `in`: each text is compiled once and kept (sqlite/open.ts), and a page of keys is one text.
  inList(column, values) {
    return values.length === 0 ? sql<SqlBool>`0` : sql<SqlBool>`${sql.ref(column)} in (${sql.join(values)})`;
  },

  // Counted from the narrow search_text index (countSearch): ~0.1 s at a million whatever the needle.
  async createShortNeedleCounts() {},

  async bulkLoad(db, load) {
    // Indexing once after the load is faster than a trigger per row.
    await dropSearchTriggers(db);
    await suspendUserDocuments(db);
    try {
      return await load();
    } finally {
      await rebuildUserDocuments(db);
      await sql`insert into users_search(users_search) values ('delete-all')`.execute(db);
      await assignOrderKeys(db);
      await fillSearchIndex(db);
      await sql`insert into users_search(users_search) values ('optimize')`.execute(db);
      await createSearchTriggers(db, true);
    }
  },

  async analyze(db) {
    await sql`analyze`.execute(db);
  },
};

/** dialect.asciiNameKey: SQLite's lower() folds ASCII only (no ICU here), which is what a printable-ASCII name needs. */
function asciiNameKey(column: string): RawBuilder<string | null> {
  return sql<string | null>`case when ${sql.ref(column)} not glob '*[^ -~]*' then lower(${sql.ref(column)}) end`;
}
