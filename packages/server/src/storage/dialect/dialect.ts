import type { Expression, ExpressionBuilder, Kysely, RawBuilder, SqlBool } from "kysely";
import type { Database } from "../schema.js";
import type { BatchWrites } from "../user-documents.js";

/**
 * A condition on `users` answered from the search indexes. `cap` bounds how many index hits are
 * read (the hits are then an arbitrary subset, not the first ones in username order).
 */
export type IndexedSearch = (cap?: number) => Expression<SqlBool>;

/**
 * What differs between the stores. Everything else (queries, migrations, mappings) is written once
 * against Kysely; this is the contained place where SQLite and PostgreSQL part ways.
 */
export interface StoreDialect {
  readonly name: "sqlite" | "postgres";
  /** Column type of the serial primary keys, as DDL. */
  readonly serialPrimaryKey: string;
  /** Text type whose ordering is by code point on both stores (keyset paging relies on it). */
  readonly orderedText: string;
  /** Creates the substring index over users.search_text (run by the initial migration). */
  createUserSearchIndex(db: Kysely<any>): Promise<void>;
  /** Migration 002: indexes that answer 1–2 character needles too, and a cheap count of all users. */
  createScaleIndexes(db: Kysely<any>): Promise<void>;
  /** Migration 004: a search index whose hits come in username order (a no-op where the store cannot). */
  createOrderedSearch(db: Kysely<any>): Promise<void>;
  /**
   * Migration 006: a narrow copy of the search text. PostgreSQL: a table in username order cut into
   * buckets, which gives it an ordered search; SQLite: an index on search_text, so that counting a
   * needle too common for the search index scans the index instead of the table.
   */
  createNarrowSearch(db: Kysely<any>): Promise<void>;
  /**
   * Ids of the first `limit` users after `after` (a username) whose search_text contains `needle`, in
   * username order, read from an index kept in that order; null where the store has none for this
   * needle (then the application plans the search itself).
   */
  orderedSearch(db: Kysely<Database>, needle: string, after: string | undefined, limit: number): Promise<number[] | null>;
  /** True when orderedSearch answers 1–2 character needles too, faster than walking username order first. */
  readonly orderedSearchAnyNeedle: boolean;
  /** True when a statement may write in its WITH clauses (PostgreSQL's data-modifying CTEs): a login's success is then one statement. */
  readonly writesInWith: boolean;
  /** Number of users whose search_text contains `needle`. */
  countSearch(db: Kysely<Database>, needle: string): Promise<number>;
  /** A condition checked row by row (no index): search_text contains `needle` (already lower-cased). */
  userSearchMatches(needle: string): Expression<SqlBool>;
  /**
   * The same condition answered from the indexes, or null when the needle is so common that the
   * index would cost more than walking the users in username order (SQLite, 1–2 characters).
   */
  userSearchIndexed(db: Kysely<Database>, needle: string): Promise<IndexedSearch | null>;
  /** Runs `work` with plans that read the indexes: PostgreSQL's planner otherwise scans for strings it guesses are common. */
  withIndexPlans<T>(db: Kysely<Database>, work: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Migration 008: the table of the kept user documents (filled by installUserDocuments). */
  createUserDocuments(db: Kysely<any>): Promise<void>;
  /** Every user's document built with the current definition, and the triggers that keep them: run by the migrations that change what a document shows (011). */
  installUserDocuments(db: Kysely<any>): Promise<void>;
  /**
   * Migration 011: the per-row upkeep of documents (and PostgreSQL's search entries) can be switched
   * off by a bulk writer for its transaction (batchUserWrites); a renamed user's search entry follows
   * its new username.
   */
  createDeferredUpkeep(db: Kysely<any>): Promise<void>;
  /**
   * Runs `work` inside the transaction `trx` with the per-row upkeep of documents and search entries
   * off for that transaction only, then brings them up to date set-wise for the users `work` names:
   * a directory sync's batch of hundreds of users costs a few statements instead of several per user
   * and membership. Other writers keep their triggers meanwhile.
   */
  batchUserWrites<T>(trx: Kysely<Database>, work: () => Promise<BatchWrites<T>>): Promise<T>;
  /**
   * After a bulk writer's run (a directory sync, an import): leaves the search indexes as fast as
   * before it. PostgreSQL merges the entries its GIN indexes keep pending (every search reads all of
   * them until autovacuum or a full pending list merges them); SQLite has nothing to do.
   */
  settleBulkWrites(db: Kysely<Database>): Promise<void>;
  /**
   * `query` with the rows it reads locked until its transaction ends against writers that would change
   * them: PostgreSQL's `for no key update` (the lock the transaction's own update of them takes, so two
   * such transactions queue instead of deadlocking); SQLite's one writer needs none.
   */
  lockedForUpdate<Q extends { forNoKeyUpdate(): Q }>(query: Q): Q;
  /**
   * `query` with the rows it reads kept from being deleted until its transaction ends, and nothing
   * else held back (a row that references them may still be written): PostgreSQL's `for key share`;
   * SQLite's one writer needs none.
   */
  lockedAgainstDelete<Q extends { forKeyShare(): Q }>(query: Q): Q;
  /**
   * `query` with the rows it reads kept as read until its transaction ends: a writer that would change
   * them waits, and one that changed them first is waited for and its rows read as committed.
   * PostgreSQL's `for share`; SQLite's one writer needs none.
   */
  lockedAgainstChange<Q extends { forShare(): Q }>(query: Q): Q;
  /**
   * Migration 014b: a bulk writer's batch (an import's thousand rows) pays less upkeep per user.
   * SQLite: the order keys and search entries of the users it inserts are deferred too, and made
   * set-wise per batch; PostgreSQL: its set-wise refresh places each user in its bucket once.
   */
  createBulkUpkeep(db: Kysely<any>): Promise<void>;
  /**
   * Migration 014e: PostgreSQL's set-wise refresh puts a batch that arrives after the rows of a bucket
   * it would overfill into a new bucket, instead of moving half the bucket's rows after the insert.
   * SQLite's order keys have no buckets.
   */
  placeArrivalsInNewBuckets(db: Kysely<any>): Promise<void>;
  /**
   * Migration 014c: PostgreSQL's search entries (user_search.search_text) in collation "C". Their
   * 1–2-gram index and kept gram counts sort and compare each user's ~90 grams: with the database's
   * locale every comparison was a strcoll(), about half of an imported user's search upkeep. The
   * search answers are the same (equality and LIKE do not depend on a deterministic collation).
   * A no-op on SQLite, which compares bytes already.
   */
  compareSearchTextBytewise(db: Kysely<any>): Promise<void>;
  /**
   * Migration 014d: a user's kept document is rewritten in place when its username is unchanged
   * (SQLite's triggers made anew; PostgreSQL's upkeep does so already): a bulk action over many users
   * writes fewer pages.
   */
  rewriteDocumentsInPlace(db: Kysely<any>): Promise<void>;
  /**
   * Migration 014g: `audit_target_names` (target_name, target_id), each name a target was recorded
   * under, once — kept by a trigger on `audit_events`, so that every way of writing events keeps it.
   */
  createAuditTargetNames(db: Kysely<any>): Promise<void>;
  /**
   * Migration 014z: the trigger that keeps `audit_target_names` keeps `audit_actor_names` (each actor
   * name recorded, once) too, and writes each new name's key where SQL can (`asciiNameKey`); a name
   * beyond printable ASCII comes without it (storage/audit-names.ts writes it).
   */
  keepAuditActorNames(db: Kysely<any>): Promise<void>;
  /**
   * SQL for the key (`fold`) of a name made of printable ASCII only, null for any other: NFKC leaves
   * such a name as it is and lower case is ASCII's, which both stores can do in SQL whatever their locale.
   */
  asciiNameKey(column: string): RawBuilder<string | null>;
  /**
   * Migration 014r: PostgreSQL keeps `enabled` out of every index of `users`, so that a bulk enable
   * or disable (which changes no other indexed column) can be a HOT update, and finds the disabled
   * users in `disabled_users` (their usernames), kept by statement triggers on `users`. A no-op on
   * SQLite, whose index on (enabled, username) stays.
   */
  keepDisabledUsersApart(db: Kysely<any>): Promise<void>;
  /**
   * Migration 014s: PostgreSQL fills a page of `users` to 85 %, so that the new version of an updated
   * row (a bulk disable, a sync's change, a login's counters) fits on its page as a HOT update, which
   * writes no index entry. Pages already full stay so until the table is rewritten. A no-op on SQLite.
   */
  leaveRoomForUpdates(db: Kysely<any>): Promise<void>;
  /**
   * Migration 014u: PostgreSQL keeps a row's short-needle counts in the bucket they were counted in
   * when a split moves it, instead of counting its grams out of one bucket and into the other. A no-op on SQLite.
   */
  keepCountsWhereCounted(db: Kysely<any>): Promise<void>;
  /**
   * The users list's `enabled` filter as a condition on `users`. `after`: the page starts after this
   * username, so that PostgreSQL walks the disabled from there (the list's own `username > after` is
   * not carried over to them by the planner).
   */
  enabledIs(enabled: boolean, after?: string): (eb: ExpressionBuilder<Database, "users">) => Expression<SqlBool>;
  /** How many users are enabled (true) or disabled (false). */
  countEnabled(db: Kysely<Database>, enabled: boolean): Promise<number>;
  /**
   * Migration 011d: a user's search entry is rewritten only when its username or search text changed,
   * not whenever an update names them (SQLite's trigger; PostgreSQL's compared already): a directory
   * sync's batch, updated in one statement, names every synced column of every changed user.
   */
  searchEntriesWhenChanged(db: Kysely<any>): Promise<void>;
  /**
   * Migration 011c: users an earlier directory sync or import left without an order key (SQLite: a
   * sync's pages in username order ran out of keys between the same two neighbours) get one, every
   * key renumbered as a bulk load does; a no-op where there are none, and on PostgreSQL.
   */
  keyUnkeyedUsers(db: Kysely<any>): Promise<void>;
  /** Migration 011b: the search index finds a new user's neighbours in username order that hold an order key at once (SQLite). */
  createKeyedNeighbours(db: Kysely<any>): Promise<void>;
  /**
   * Migration 009: kept counts of the users whose search text holds each 1–2 character string
   * (PostgreSQL; SQLite counts those from its narrow index of migration 006 in about 0.1 s).
   */
  createShortNeedleCounts(db: Kysely<any>): Promise<void>;
  /** Migration 005: keeps the number of all users in one row (a no-op where 002 did it already). */
  createUserCount(db: Kysely<any>): Promise<void>;
  /** Number of all users without reading them all. */
  countAllUsers(db: Kysely<Database>): Promise<number>;
  /**
   * Where the user at about `position` (0-based, in username order, of `total` users) starts: the
   * username just before it (null: the start), and the position that username's successor really has
   * by the same estimate. Read from what the search index keeps in username order (SQLite: the order
   * keys, spread evenly when built; PostgreSQL: the buckets' counts), so it costs a few index reads
   * and is approximate by up to a bucket, or by the unevenness of keys since the last rebuild.
   */
  keyNearPosition(db: Kysely<Database>, position: number, total: number): Promise<{ after: string | null; position: number }>;
  /**
   * Inserts `rows` (objects with the named columns) into `table` from one JSON parameter and returns
   * the `returning` columns of the new rows (rows that would repeat a key are skipped with
   * `skipConflicts`): for thousands of rows a statement, building and binding a parameter per value
   * costs many times what the store spends on the rows.
   */
  insertJson<R>(db: Kysely<Database>, table: string, columns: readonly string[], rows: readonly object[], options?: { returning?: readonly string[]; skipConflicts?: boolean }): Promise<R[]>;
  /**
   * Sets `columns` of the rows of `table` whose `id` the rows name (objects with `id` and every one
   * of those columns: a column a row leaves out is written null) from one JSON parameter, as
   * insertJson inserts: one statement for a batch, not one a row. Ids must not repeat (which of two
   * rows would win is the store's choice). `increment` columns go up by one (a version: counted by
   * the store, whatever another writer did since it was read). Rows are locked in the order the
   * store's plan takes them: a caller that must lock in a fixed order locks first.
   */
  updateJson(db: Kysely<Database>, table: string, columns: readonly string[], rows: readonly ({ id: number } & object)[], options?: { increment?: readonly string[] }): Promise<void>;
  /** A subquery of `values` for `column in (…)`, from one JSON parameter. */
  jsonList<T extends string | number>(values: readonly T[]): RawBuilder<T>;
  /**
   * `column` is one of `values` (none: false), for the lookups by a page of keys that syncs make. PostgreSQL:
   * one array parameter whatever their number, so the statement's text is the same for every page and is
   * prepared once per connection (storage/dialect/postgres/prepared-statements.ts); a parameter a value made
   * each page's statement new text, parsed and planned anew at every page: three times the store's time.
   */
  inList(column: string, values: readonly string[] | readonly number[]): RawBuilder<SqlBool>;
  /** Runs a bulk load of users into an otherwise idle store, with the search indexes built once at the end. */
  bulkLoad<T>(db: Kysely<Database>, load: () => Promise<T>): Promise<T>;
  /** Refreshes the planner's statistics (after a bulk load). */
  analyze(db: Kysely<Database>): Promise<void>;
}
