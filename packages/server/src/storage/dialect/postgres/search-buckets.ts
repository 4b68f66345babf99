import { sql, type Kysely, type RawBuilder, type SqlBool } from "kysely";
import { DEFERRED } from "./user-documents.js";
import { containsPattern } from "../../like.js";

/**
 * PostgreSQL's search index, in username order by buckets.
 *
 * GIN returns its hits in no order, so a common string's first page in username order would need
 * every hit read and sorted. Instead `user_search` holds a narrow copy of each user's search text,
 * written in username order and cut into buckets of consecutive usernames (`user_search_buckets`:
 * each bucket's first username). Both GIN indexes lead with the bucket (btree_gin), so one index
 * lookup answers "the hits of this bucket", and a search walks the buckets in order from the
 * cursor's and stops as soon as a page is full: it reads about one page of hits, not all of them.
 *
 * Buckets are a range of usernames, so a username always belongs to exactly one, found from the
 * bucket table. Bucket keys are spaced 2^32 apart; a bucket that grows past twice the target size
 * is split at its median username into a new key between its own and the next one. A bucket's
 * `rows` only counts arrivals (deletes and renames away do not lower it, so they take no second
 * lock); a split recounts, and splits only when the real count is past the limit.
 */

/** Users per bucket after a rebuild: a bucket lookup then costs ~0.1 ms at a million users. */
const BUCKET_ROWS = 4096;

const KEY_GAP = sql.raw("4294967296");

/** Creates the table, its buckets from the users there are now, the triggers that keep them, and the indexes. */
export async function createUserSearch(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists btree_gin`.execute(db);
  await sql`create table user_search_settings (bucket_rows integer not null)`.execute(db);
  await sql`insert into user_search_settings values (${BUCKET_ROWS})`.execute(db);
  await sql`create table user_search_buckets (
    bucket bigint primary key, first_username text collate "C" not null unique, rows integer not null)`.execute(db);
  await sql`create table user_search (
    user_id integer primary key references users(id) on delete cascade,
    bucket bigint not null, username text collate "C" not null, search_text text not null)`.execute(db);
  await createBucketFunctions(db);
  await createSearchFunction(db);
  await rebuildUserSearch(db);
  await createUserSearchIndexes(db);
  await createUserSearchTriggers(db);
  await sql`analyze user_search`.execute(db);
}

/** The functions of the buckets (create or replace): run by migrations 006, 011, 014b, 014e and 014u, which changed them. */
export async function createBucketFunctions(db: Kysely<any>) {
  // The bucket a row's short-needle counts were kept in, when a split moved it since (null: its
  // bucket). Migration 014u; a nullable column costs no rewrite.
  await sql`alter table user_search add column if not exists counted_in bigint`.execute(db);
  // The bucket a username belongs in, locked for this transaction. The lock waits for a split of that
  // bucket, which may move the username into the new bucket: so look again once it is held.
  await sql`create or replace function ecm_user_search_bucket(name text) returns bigint language plpgsql as $$
    declare b bigint; again bigint;
    begin
      loop
        select bucket into b from user_search_buckets where first_username <= name collate "C" order by first_username desc limit 1;
        perform 1 from user_search_buckets where bucket = b for update;
        select bucket into again from user_search_buckets where first_username <= name collate "C" order by first_username desc limit 1;
        if again = b then
          update user_search_buckets set rows = rows + 1 where bucket = b;
          return b;
        end if;
      end loop;
    end $$`.execute(db);
  // The key of a bucket split off b: halfway to the next bucket's key, or a gap past the last one
  // (b itself when no key is left between them).
  await sql`create or replace function ecm_user_search_key_after(b bigint) returns bigint language sql stable as $$
      select coalesce(b + (min(k.bucket) - b) / 2, b + ${KEY_GAP}) from user_search_buckets k where k.bucket > b $$`.execute(db);
  // Splits a bucket (locked by the caller) that holds more than twice the target at its median username.
  // Its counter of arrivals says when to look; the real count decides.
  await sql`create or replace function ecm_user_search_split(b bigint) returns void language plpgsql as $$
    declare n integer; target integer; new_key bigint; median text;
    begin
      select bucket_rows into target from user_search_settings;
      if (select rows from user_search_buckets where bucket = b) <= 2 * target then return; end if;
      select count(*) into n from user_search where bucket = b;
      if n <= 2 * target then update user_search_buckets set rows = n where bucket = b; return; end if;
      new_key := ecm_user_search_key_after(b);
      if new_key = b then return; end if; -- no key left between b and the next bucket: it stays big
      select username into median from user_search where bucket = b order by username offset n / 2 limit 1;
      insert into user_search_buckets values (new_key, median, n - n / 2);
      update user_search set bucket = new_key, counted_in = coalesce(counted_in, bucket) where bucket = b and username >= median;
      update user_search_buckets set rows = n / 2 where bucket = b;
    end $$`.execute(db);
  await sql`create or replace function ecm_user_search_insert() returns trigger language plpgsql as $$
    declare b bigint;
    begin
      b := ecm_user_search_bucket(new.username);
      insert into user_search values (new.id, b, new.username, new.search_text);
      perform ecm_user_search_split(b);
      return null;
    end $$`.execute(db);
  await sql`create or replace function ecm_user_search_update() returns trigger language plpgsql as $$
    declare b bigint;
    begin
      if new.username is distinct from old.username then
        b := ecm_user_search_bucket(new.username);
        update user_search set bucket = b, username = new.username, search_text = new.search_text where user_id = new.id;
        perform ecm_user_search_split(b);
      else
        update user_search set search_text = new.search_text where user_id = new.id;
      end if;
      return null;
    end $$`.execute(db);
  await sql`create or replace function ecm_user_search_bucket_of(name text) returns bigint language sql stable as $$
      select bucket from user_search_buckets where first_username <= name collate "C" order by first_username desc limit 1 $$`.execute(db);
  // Each user's bucket is looked up once per pass (an inline subquery, not a call of the function
  // above for every row of every statement: that cost more than the rest of a batch's upkeep).
  //
  // A bucket the batch would take past twice the target, whose arrivals all come after the first
  // `target` rows it keeps (a directory or a file read in username order), is split before the insert,
  // at the first arrival: the arrivals go straight into the new bucket and only the kept rows after
  // them move (a bucket split after the insert moves half its rows, about one row a user arriving).
  await sql`create or replace function ecm_user_search_refresh(ids integer[]) returns void language plpgsql as $$
    declare wanted bigint[]; held bigint[] := '{}'; b bigint; placed_ids integer[]; placed_buckets bigint[];
      target integer; arriving integer; first_arrival text; counted integer; kept integer; kept_before integer; new_key bigint;
    begin
      loop
        select array_agg(f.id order by f.id), array_agg(f.bucket order by f.id) into placed_ids, placed_buckets from (select u.id,
            (select k.bucket from user_search_buckets k where k.first_username <= u.username collate "C" order by k.first_username desc limit 1) as bucket
          from users u where u.id = any(ids)) f;
        select array_agg(distinct x) into wanted from unnest(placed_buckets) x;
        exit when wanted is null or wanted <@ held;
        perform 1 from user_search_buckets where bucket = any(wanted) and not bucket = any(held) order by bucket for update;
        held := held || wanted;
      end loop;
      select bucket_rows into target from user_search_settings;
      for b, arriving, first_arrival, counted in
          select f.bucket, count(*), min(u.username collate "C"), min(k.rows)
          from unnest(placed_ids, placed_buckets) as f(id, bucket) join users u on u.id = f.id join user_search_buckets k on k.bucket = f.bucket
          group by f.bucket loop
        -- A bucket's counter of arrivals bounds its rows: most buckets of most batches stop here, uncounted.
        continue when counted + arriving <= 2 * target;
        select count(*), count(*) filter (where s.username < first_arrival) into kept, kept_before
          from user_search s where s.bucket = b and s.user_id <> all(ids);
        continue when kept + arriving <= 2 * target or kept_before < target;
        new_key := ecm_user_search_key_after(b);
        continue when new_key = b; -- no key left between b and the next bucket
        insert into user_search_buckets values (new_key, first_arrival, kept - kept_before);
        update user_search set bucket = new_key, counted_in = coalesce(counted_in, bucket) where bucket = b and username >= first_arrival and user_id <> all(ids);
        select array_agg(case when f.bucket = b and u.username collate "C" >= first_arrival then new_key else f.bucket end order by f.id) into placed_buckets
          from unnest(placed_ids, placed_buckets) as f(id, bucket) join users u on u.id = f.id;
        wanted := wanted || new_key;
      end loop;
      update user_search_buckets k set rows = k.rows + c.n
        from (select f.bucket, count(*) as n from unnest(placed_ids, placed_buckets) as f(id, bucket)
          left join user_search s on s.user_id = f.id where s.bucket is distinct from f.bucket group by f.bucket) c
        where k.bucket = c.bucket;
      delete from user_search where user_id = any(ids);
      insert into user_search (user_id, bucket, username, search_text)
        select u.id, f.bucket, u.username, u.search_text from unnest(placed_ids, placed_buckets) as f(id, bucket) join users u on u.id = f.id;
      foreach b in array coalesce(wanted, '{}') loop perform ecm_user_search_split(b); end loop;
    end $$`.execute(db);
}

/**
 * The ordered search in one round trip, its statements planned once per connection (PL/pgSQL caches
 * them; planning the bucket query costs more than running it) and with index plans forced. A needle
 * is given as a LIKE pattern (trigram index) or, when it has no three letters or digits in a row, as
 * its 1–2-grams (the other index) plus the needle for the exact check.
 */
async function createSearchFunction(db: Kysely<any>) {
  await sql`create function ecm_user_search_page(pattern text, grams text[], needle text, after text, wanted integer, first_buckets integer, few_hits integer)
    returns setof integer language plpgsql stable
    set enable_seqscan = off set plan_cache_mode = force_generic_plan as $$
    declare b bigint; n integer := 0; got integer; walked integer := 0; hits integer;
    begin
      for b in select k.bucket from user_search_buckets k
          where k.bucket >= (select c.bucket from user_search_buckets c where c.first_username <= after order by c.first_username desc limit 1)
          order by k.bucket loop
        if walked = first_buckets then
          -- The first buckets did not fill the page: a needle with few hits in all is collected and sorted
          -- instead (bucket + 0: the bucket is checked per hit, not looked up in the index).
          if pattern is not null then
            select count(*) into hits from (select 1 from user_search s where s.search_text like pattern limit few_hits + 1) x;
            if hits <= few_hits then
              return query select s.user_id from user_search s where s.search_text like pattern and s.bucket + 0 >= b and s.username > after order by s.username limit wanted - n;
              return;
            end if;
          else
            select count(*) into hits from (select 1 from user_search s where ecm_short_grams(s.search_text) @> grams and strpos(s.search_text, needle) > 0 limit few_hits + 1) x;
            if hits <= few_hits then
              return query select s.user_id from user_search s where ecm_short_grams(s.search_text) @> grams and strpos(s.search_text, needle) > 0
                and s.bucket + 0 >= b and s.username > after order by s.username limit wanted - n;
              return;
            end if;
          end if;
        end if;
        if pattern is not null then
          return query select s.user_id from user_search s where s.bucket = b and s.search_text like pattern and s.username > after order by s.username limit wanted - n;
        else
          return query select s.user_id from user_search s where s.bucket = b and ecm_short_grams(s.search_text) @> grams and strpos(s.search_text, needle) > 0
            and s.username > after order by s.username limit wanted - n;
        end if;
        get diagnostics got = row_count;
        n := n + got;
        walked := walked + 1;
        exit when n >= wanted;
      end loop;
    end $$`.execute(db);
}

const TRIGGERS = ["users_search_insert", "users_search_update"];

/** The per-row upkeep; a bulk writer switches it off for its transaction and calls refreshUserSearch (batchUserWrites). */
async function createUserSearchTriggers(db: Kysely<any>) {
  await sql.raw(`create trigger users_search_insert after insert on users for each row when (${DEFERRED}) execute function ecm_user_search_insert()`).execute(db);
  await sql.raw(`create trigger users_search_update after update of username, search_text on users for each row
    when ((new.username is distinct from old.username or new.search_text is distinct from old.search_text) and ${DEFERRED})
    execute function ecm_user_search_update()`).execute(db);
}

/**
 * Migration 011: the triggers remade so a bulk writer can defer them, and the set-wise refresh it
 * calls instead (the bucket functions are made again, as their definitions may have changed).
 */
export async function createDeferredUserSearch(db: Kysely<any>): Promise<void> {
  for (const t of TRIGGERS) await sql`drop trigger if exists ${sql.id(t)} on users`.execute(db);
  await createBucketFunctions(db);
  await createUserSearchTriggers(db);
}

/**
 * Brings the search entries of `ids` (new users, or users whose username or search text changed) up
 * to date at once, after writes made with the per-row triggers off: the buckets of their usernames
 * locked (in order; looked up again once held, as a split may have moved a username meanwhile),
 * arrivals counted, entries replaced (the gram counts' statement triggers run once per statement),
 * then each bucket split if it grew too big. One statement a step instead of several per user.
 */
export async function refreshUserSearch(db: Kysely<any>, ids: readonly number[]): Promise<void> {
  await sql`select ecm_user_search_refresh(${[...ids]}::integer[])`.execute(db);
}

async function setUserSearchTriggers(db: Kysely<any>, enabled: boolean): Promise<void> {
  for (const t of TRIGGERS) await sql`alter table users ${sql.raw(enabled ? "enable" : "disable")} trigger ${sql.id(t)}`.execute(db);
}

/** The trigram index (needles with three letters or digits in a row) and the 1–2-gram index (the others). */
async function createUserSearchIndexes(db: Kysely<any>): Promise<void> {
  await sql`create index user_search_trgm on user_search using gin (bucket, search_text gin_trgm_ops)`.execute(db);
  await sql`create index user_search_short on user_search using gin (bucket, ecm_short_grams(search_text))`.execute(db);
}

/** Stops the triggers and drops the indexes for a bulk load: rebuilding once afterwards is many times faster. */
export async function suspendUserSearch(db: Kysely<any>): Promise<void> {
  await setUserSearchTriggers(db, false);
  await sql`drop index if exists user_search_trgm, user_search_short`.execute(db);
}

/** After a bulk load: the table rewritten in username order with fresh buckets, its indexes, its triggers. */
export async function resumeUserSearch(db: Kysely<any>): Promise<void> {
  await rebuildUserSearch(db);
  await createUserSearchIndexes(db);
  await setUserSearchTriggers(db, true);
}

/**
 * Rewrites the table from `users` in username order (so a bucket's rows sit together on disk) with
 * fresh buckets of `bucketRows` users. Run by the migration and after a bulk load; tests use small buckets.
 */
export async function rebuildUserSearch(db: Kysely<any>, bucketRows = BUCKET_ROWS): Promise<void> {
  await sql`truncate user_search, user_search_buckets`.execute(db);
  if (await hasGramCounts(db)) await sql`truncate user_search_grams`.execute(db); // the insert below counts them again
  await sql`update user_search_settings set bucket_rows = ${bucketRows}`.execute(db);
  await sql`insert into user_search (user_id, bucket, username, search_text)
    select id, (row_number() over (order by username) - 1) / ${bucketRows} * ${KEY_GAP}, username, search_text from users order by username`.execute(db);
  await sql`insert into user_search_buckets (bucket, first_username, rows)
    select bucket, case when bucket = 0 then '' else min(username) end, count(*) from user_search group by bucket`.execute(db);
  // An empty store still has the bucket every username falls into.
  await sql`insert into user_search_buckets values (0, '', 0) on conflict do nothing`.execute(db);
}

/**
 * How the indexes answer "search_text contains `needle`": a LIKE pattern for the trigram index when
 * the needle has three letters or digits in a row (pg_trgm takes trigrams from such runs only);
 * otherwise all the needle's 2-grams (or the 1–2 character needle itself) from the other index, with
 * strpos dropping the false hits.
 */
function needleForIndex(needle: string): { pattern: string | null; grams: string[] | null } {
  if (/[\p{L}\p{N}]{3}/u.test(needle)) return { pattern: containsPattern(needle), grams: null };
  const chars = [...needle];
  return { pattern: null, grams: chars.length <= 2 ? [needle] : chars.slice(1).map((c, i) => chars[i] + c) };
}

/** `user_search.search_text` (as `s`) contains `needle`, as a condition the indexes answer. */
export function searchCondition(needle: string): RawBuilder<SqlBool> {
  const { pattern, grams } = needleForIndex(needle);
  if (pattern !== null) return sql<SqlBool>`s.search_text like ${pattern}`;
  return sql<SqlBool>`ecm_short_grams(s.search_text) @> ${grams}::text[] and strpos(s.search_text, ${needle}) > 0`;
}

/** Buckets a first walk reads before asking whether the needle is rare. */
const FIRST_BUCKETS = 8;
/** A needle with at most this many hits in all is answered by collecting and sorting them. */
const FEW_HITS = 200;

/**
 * Ids of the first `limit` users after `after` whose search text contains `needle`, in username order:
 * the buckets from the cursor's on, one GIN lookup each, until the page is full. A needle that the
 * first buckets do not fill may be rare: when it has few hits in all, they are collected and sorted
 * instead of walking every bucket. (ecm_user_search_page does it in the store, in one round trip.)
 */
export async function searchInOrder(db: Kysely<any>, needle: string, after: string | undefined, limit: number): Promise<number[]> {
  const { pattern, grams } = needleForIndex(needle);
  const rows = await sql<{ id: number }>`select id from ecm_user_search_page(${pattern}, ${grams}::text[], ${needle}, ${after ?? ""}, ${limit}, ${FIRST_BUCKETS}, ${FEW_HITS}) as id`.execute(db);
  return rows.rows.map((r) => r.id);
}

/** Number of users whose search text contains `needle`: a 1–2 character one from the kept counts. */
export async function countMatches(db: Kysely<any>, needle: string): Promise<number> {
  const row = [...needle].length <= 2
    ? await sql<{ n: string | null }>`select sum(users) as n from user_search_grams where gram = ${needle}`.execute(db)
    : await sql<{ n: string }>`select count(*) as n from user_search s where ${searchCondition(needle)}`.execute(db);
  return Number(row.rows[0]!.n ?? 0);
}

/**
 * Migration 009: per bucket, how many users' search text holds each 1- and 2-character string.
 * Counting a common short needle from the index visits every hit (`a`: 965 000 at a million users,
 * 0.2–0.8 s); the kept counts answer it from one row per bucket. Statement triggers on `user_search`
 * keep them: inserts, deletes, and updates (renames, text changes) add and subtract each row's
 * distinct grams in one upsert, in (gram, bucket) order, so concurrent writers lock the counters
 * they share in the same order. A bucket's counters change with its rows, whose inserts hold the
 * bucket's lock: they add no wait of their own there.
 */
export async function createGramCounts(db: Kysely<any>): Promise<void> {
  await sql`create table user_search_grams (gram text collate "C" not null, bucket bigint not null, users integer not null, primary key (gram, bucket))`.execute(db);
  await sql`create function ecm_distinct_grams(t text) returns setof text language sql immutable strict parallel safe as $$ select distinct unnest(ecm_short_grams(t)) $$`.execute(db);
  await createGramCountsUpkeep(db);
  await sql`insert into user_search_grams (gram, bucket, users) select g, s.bucket, count(*) from user_search s, ecm_distinct_grams(s.search_text) g group by 1, 2`.execute(db);
  await sql`create trigger user_search_grams_insert after insert on user_search referencing new table as added for each statement execute function ecm_user_search_grams()`.execute(db);
  await sql`create trigger user_search_grams_delete after delete on user_search referencing old table as removed for each statement execute function ecm_user_search_grams()`.execute(db);
  await sql`create trigger user_search_grams_update after update on user_search referencing old table as removed new table as added for each statement execute function ecm_user_search_grams()`.execute(db);
}

/**
 * The counts' trigger function (create or replace). Since migration 014u a row stays counted in the
 * bucket it was counted in when a split moves it (`counted_in`): a split changed no count, yet
 * recounted each moved row's grams twice (a sixth of a PostgreSQL import's store time). Only rows
 * whose text or counting bucket changed are counted again.
 */
export async function createGramCountsUpkeep(db: Kysely<any>): Promise<void> {
  const upsert = (rows: string) => `insert into user_search_grams (gram, bucket, users)
      select g, r.bucket, sum(r.d) from (${rows}) r, ecm_distinct_grams(r.search_text) g group by 1, 2 having sum(r.d) <> 0 order by 1, 2
      on conflict (gram, bucket) do update set users = user_search_grams.users + excluded.users`;
  // A row whose text and counting bucket are the same before and after (+1 and −1 of one user) cancels out.
  await sql.raw(`create or replace function ecm_user_search_grams() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then ${upsert("select coalesce(counted_in, bucket) as bucket, search_text, 1 as d from added")};
      elsif tg_op = 'DELETE' then ${upsert("select coalesce(counted_in, bucket) as bucket, search_text, -1 as d from removed")};
      else ${upsert(`select bucket, search_text, sum(d) as d from (
          select user_id, coalesce(counted_in, bucket) as bucket, search_text, 1 as d from added
          union all select user_id, coalesce(counted_in, bucket), search_text, -1 from removed) c
        group by user_id, bucket, search_text having sum(d) <> 0`)};
      end if;
      return null;
    end $$`).execute(db);
}

/** Whether migration 009 ran (migration 006 rebuilds user_search before it exists). */
async function hasGramCounts(db: Kysely<any>): Promise<boolean> {
  const row = await sql<{ t: string | null }>`select to_regclass('user_search_grams')::text as t`.execute(db);
  return row.rows[0]!.t !== null;
}
