import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import BetterSqlite3 from "better-sqlite3";
import { CompiledQuery, type Kysely, Migrator, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection, type Migration, type MigrationProvider, type QueryResult, type SqliteDatabase } from "kysely";
import pg from "pg";
import type { StoreDialect } from "./dialect/dialect.js";
import { postgresDialect } from "./dialect/postgres/postgres-dialect.js";
import { sqliteDialect } from "./dialect/sqlite/sqlite-dialect.js";
import { sqliteUserDocuments } from "./dialect/sqlite/user-documents.js";
import { postgresUserDocuments } from "./dialect/postgres/user-documents.js";
import { preparingClient } from "./dialect/postgres/prepared-statements.js";
import { initialMigration } from "./migrations/001-initial.js";
import { auditFiltersMigration } from "./migrations/003-audit-filters.js";
import { exportCopyMigration } from "./migrations/007-export-copy.js";
import { signingKeysMigration } from "./migrations/010b-signing-keys.js";
import { nameSkeletonsMigration } from "./migrations/010b-name-skeletons.js";
import { bulkActionsMigration } from "./migrations/014-bulk-actions.js";
import { apiKeysMigration } from "./migrations/013-api-keys.js";
import { apiKeyNamesMigration } from "./migrations/013b-api-key-names.js";
import { serviceAccountsMigration } from "./migrations/010c-service-accounts.js";
import { identityProvidersMigration } from "./migrations/012-identity-providers.js";
import { sessionOriginMigration } from "./migrations/012b-session-origin.js";
import { directoriesMigration } from "./migrations/011-directories.js";
import { membershipOriginMigration } from "./migrations/011e-membership-origin.js";
import { syncRunMembershipsMigration } from "./migrations/011f-sync-run-memberships.js";
import { directoryProblemMigration } from "./migrations/011g-directory-problem.js";
import { runningSyncsMigration } from "./migrations/011h-running-syncs.js";
import { syncedNameSkeletonsMigration } from "./migrations/011i-synced-name-skeletons.js";
import { hardeningMigration } from "./migrations/010-hardening.js";
import { nfkcKeysMigration } from "./migrations/010d-nfkc-keys.js";
import { administratorMadeMigration } from "./migrations/014f-administrator-made.js";
import { auditTargetNamesMigration } from "./migrations/014g-audit-target-names.js";
import { mappedGroupsMigration } from "./migrations/014h-mapped-groups.js";
import { BusyRetryingKysely, busyCode, DEFAULT_BUSY_POLICY, type BusyPolicy } from "./busy.js";
import type { JsonBody } from "./json-body.js";
import { checkpointInBackground } from "./sqlite-checkpoints.js";
import type { Database } from "./schema.js";

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  /**
   * Every user's REST JSON after `after` (a username) in username order, at `now`, as a JSON body of
   * bytes (storage/user-documents.ts): each store streams its kept documents its fastest way, or
   * sends `fallback` where that way is busy (PostgreSQL: streams that each hold a connection).
   */
  userDocuments(after: string | undefined, extended: boolean, now: string, fallback: () => JsonBody): JsonBody;
  close(): Promise<void>;
}

export type StoreLocation = ({ kind: "sqlite"; file: string } | { kind: "postgres"; url: string; poolSize?: number }) & {
  /** Waits and tries against other writers (storage/busy.ts); DEFAULT_BUSY_POLICY when left out. */
  busy?: BusyPolicy;
};

/** A migration that is one step of the store's dialect (each is described where StoreDialect declares it, "Migration NNN"). */
const step = (up: (db: Kysely<any>) => Promise<void>): Migration => ({ up });

function migrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    "001-initial": initialMigration(dialect),
    "002-search-at-scale": step((db) => dialect.createScaleIndexes(db)),
    "003-audit-filters": auditFiltersMigration,
    "004-ordered-search": step((db) => dialect.createOrderedSearch(db)),
    "005-user-count": step((db) => dialect.createUserCount(db)),
    "006-narrow-search": step((db) => dialect.createNarrowSearch(db)),
    "007-export-copy": exportCopyMigration,
    "008-user-documents": step((db) => dialect.createUserDocuments(db)),
    "009-short-needle-counts": step((db) => dialect.createShortNeedleCounts(db)),
    "014-bulk-actions": bulkActionsMigration(dialect),
    "014b-bulk-upkeep": step((db) => dialect.createBulkUpkeep(db)),
    "014c-bytewise-search-text": step((db) => dialect.compareSearchTextBytewise(db)),
    "014d-documents-in-place": step((db) => dialect.rewriteDocumentsInPlace(db)),
    "014e-arrivals-in-new-buckets": step((db) => dialect.placeArrivalsInNewBuckets(db)),
    "013-api-keys": apiKeysMigration(dialect),
    "013b-api-key-names": apiKeyNamesMigration,
    "010c-service-accounts": serviceAccountsMigration,
    "010b-signing-keys": signingKeysMigration,
    "010b-name-skeletons": nameSkeletonsMigration,
    "012-identity-providers": identityProvidersMigration,
    "012b-session-origin": sessionOriginMigration,
    "011-directories": directoriesMigration(dialect),
    "010-hardening": hardeningMigration,
    "011b-keyed-neighbours": step((db) => dialect.createKeyedNeighbours(db)),
    "011c-unkeyed-users": step((db) => dialect.keyUnkeyedUsers(db)),
    "011d-search-entries-when-changed": step((db) => dialect.searchEntriesWhenChanged(db)),
    "011e-membership-origin": membershipOriginMigration,
    "011f-sync-run-memberships": syncRunMembershipsMigration,
    "011g-directory-problem": directoryProblemMigration,
    "011h-running-syncs": runningSyncsMigration,
    "011i-synced-name-skeletons": syncedNameSkeletonsMigration,
    "010d-nfkc-keys": nfkcKeysMigration,
    "014f-administrator-made": administratorMadeMigration,
    "014g-audit-target-names": auditTargetNamesMigration(dialect),
    "014h-mapped-groups": mappedGroupsMigration,
  };
}

/**
 * Opens the store and brings its schema up to date (every node may do this: PostgreSQL locks the
 * migrations across nodes; Kysely's SQLite adapter only within the process, the one that forks the workers).
 * Numbers are reserved per issue and land in any order, so a store may have run a later one first.
 */
export async function openStore(location: StoreLocation): Promise<Store> {
  const busy = location.busy ?? DEFAULT_BUSY_POLICY;
  const store = location.kind === "sqlite" ? openSqlite(location.file, busy) : openPostgres(location.url, busy, location.poolSize);
  const provider: MigrationProvider = { getMigrations: async () => migrations(store.dialect) };
  const { error } = await new Migrator({ db: store.db, provider, allowUnorderedMigrations: true }).migrateToLatest();
  if (error) {
    await store.close();
    throw error instanceof Error ? error : new Error(String(error));
  }
  return store;
}

/**
 * The SQLite file holds password hashes, session ids and the token keys: its directory is 0700 and
 * the database, its -wal and its -shm are 0600, also when they exist already with wider modes.
 * (SQLite gives the -wal and -shm files it creates the database file's mode.)
 */
function restrictSqliteFiles(file: string): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  closeSync(openSync(file, "a", 0o600));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(path, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
}

/** The longest a turn of the event loop may spend in SQLite before the store lets other work in. */
const MAX_TURN_MS = 20;

/**
 * Kysely's SQLite driver, with three changes.
 *
 * Transactions take SQLite's write lock as they begin (BEGIN IMMEDIATE). Begun deferred, one that
 * reads and then writes fails at once with SQLITE_BUSY_SNAPSHOT when another process (the server's
 * other worker, another node on the file) committed in between: no wait can help it. Within a
 * process the one connection runs one transaction at a time anyway.
 *
 * The lock is waited for up to the busy policy's timeout with the event loop running
 * (LockWaitingConnection).
 *
 * better-sqlite3 answers at once, so work that runs query after query (a bulk action's batches, a
 * prune, a directory's removal) is one chain of promises that never lets the event loop read a
 * socket: the whole server stopped answering until it ended (a bulk action over 90 000 users held
 * a request 22 s). A query or transaction that starts after MAX_TURN_MS of such a turn waits for
 * the loop to come round first.
 */
class SqliteStoreDriver extends SqliteDriver {
  /** When this turn of the event loop first used the store; undefined once the loop came round. */
  #turnStarted: number | undefined;
  #connection: LockWaitingConnection | undefined;

  constructor(
    config: ConstructorParameters<typeof SqliteDriver>[0],
    /** How long a statement or transaction waits for another process's write lock (the busy policy's timeout). */
    private readonly lockWaitMs: number,
    private readonly inTransaction: () => boolean,
  ) {
    super(config);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const now = performance.now();
    if (this.#turnStarted === undefined) this.#startTurn(now);
    else if (now - this.#turnStarted > MAX_TURN_MS) {
      await new Promise(setImmediate);
      this.#startTurn(performance.now());
    }
    const inner = await super.acquireConnection();
    if (this.#connection?.inner !== inner) this.#connection = new LockWaitingConnection(inner, this.lockWaitMs, this.inTransaction);
    return this.#connection;
  }

  #startTurn(now: number) {
    this.#turnStarted = now;
    setImmediate(() => (this.#turnStarted = undefined));
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

/**
 * Waits for another process's write lock between tries that let the event loop run, instead of in
 * SQLite's busy handler (the busy timeout is 0), which sleeps with the whole process stopped:
 * better-sqlite3 is synchronous, so each of the other worker's commits held every request of this
 * one (bind logins at 300/s with two workers: p99 76–639 ms, against 18–25 ms with one). A statement
 * outside a transaction (BEGIN IMMEDIATE among them) turned away as busy did nothing, so it is sent
 * again. Meanwhile the process's other store work waits for the one connection.
 */
class LockWaitingConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly lockWaitMs: number,
    private readonly inTransaction: () => boolean,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // Inside a transaction the lock is held already: anything busy there is its transaction's to run again whole.
    if (this.inTransaction()) return this.inner.executeQuery<R>(query);
    const deadline = performance.now() + this.lockWaitMs;
    for (let pause = 1; ; pause = Math.min(2 * pause, MAX_LOCK_PAUSE_MS)) {
      try {
        return await this.inner.executeQuery<R>(query);
      } catch (error) {
        if (!busyCode(error)?.startsWith("SQLITE_BUSY") || performance.now() + pause > deadline) throw error;
      }
      await sleep(pause * (0.5 + Math.random() / 2));
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/**
 * The longest pause between two tries for the write lock. About a commit's length: a waiter that
 * paused longer (16 ms) could keep finding the lock taken again by the other worker, which took it
 * between its tries (part of the tail of bind logins at 300/s with two workers; docs/benchmarks.md).
 */
const MAX_LOCK_PAUSE_MS = 2;

/** How many compiled statements a SQLite store keeps (distinct SQL texts; the least recently used go first). */
const STATEMENT_CACHE = 1000;

/**
 * Kysely prepares every query anew, and better-sqlite3 compiles the SQL at each prepare: the
 * compiled statement is kept per SQL text instead (SQLite recompiles one by itself after a schema
 * change). One still being read (a stream) is not handed out again.
 */
function keepingStatements(database: BetterSqlite3.Database): SqliteDatabase {
  const kept = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => database.close(),
    prepare(text) {
      let statement = kept.get(text);
      kept.delete(text);
      if (!statement || statement.busy) statement = database.prepare(text);
      kept.set(text, statement);
      if (kept.size > STATEMENT_CACHE) kept.delete(kept.keys().next().value!);
      return statement;
    },
  };
}

function openSqlite(file: string, busy: BusyPolicy): Store {
  if (file !== ":memory:") restrictSqliteFiles(file);
  const database = new BetterSqlite3(file);
  database.pragma("journal_mode = WAL");
  database.pragma("synchronous = NORMAL");
  database.pragma("foreign_keys = ON");
  // Another process's write lock is waited for by the driver, with the event loop running (LockWaitingConnection).
  database.pragma("busy_timeout = 0");
  const stopCheckpoints = file === ":memory:" ? async () => {} : checkpointInBackground(database);
  const kept = keepingStatements(database);
  const dialect = new (class extends SqliteDialect {
    override createDriver() {
      return new SqliteStoreDriver({ database: kept }, busy.timeoutMs, () => database.inTransaction);
    }
  })({ database: kept });
  const db = new BusyRetryingKysely<Database>({ dialect }, busy);
  return { db, dialect: sqliteDialect, userDocuments: (after, extended, now) => sqliteUserDocuments(db, after, extended, now),
    close: async () => {
      await stopCheckpoints();
      await db.destroy();
    },
  };
}

function openPostgres(url: string, busy: BusyPolicy, poolSize = 10): Store {
  // A request that waits longer for a free connection is answered 503 (StoreBusy), not left hanging.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: busy.timeoutMs, Client: preparingClient() });
  // An idle connection that PostgreSQL ends (restart, failover, an administrator) must not take the
  // process down: the pool drops it and opens a new one on next use.
  pool.on("error", () => {});
  // So must one ended while it is checked out (a query or a COPY running): pg emits the error on the
  // client too, where the pool listens only while it is idle. The query it ran fails with it (a 503 or
  // a cut stream), and the pool does not take the client back.
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = new BusyRetryingKysely<Database>({ dialect: new PostgresDialect({ pool }) }, busy);
  return { db, dialect: postgresDialect, userDocuments: postgresUserDocuments(pool, poolSize, busy), close: () => db.destroy() };
}
