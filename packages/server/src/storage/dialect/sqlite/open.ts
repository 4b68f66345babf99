import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import BetterSqlite3 from "better-sqlite3";
import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type QueryResult, type SqliteDatabase } from "kysely";
import { BusyRetryingKysely, busyCode, type BusyPolicy } from "../../busy.js";
import type { Database } from "../../schema.js";
import type { Store } from "../../store.js";
import { checkpointInBackground } from "./checkpoints.js";
import { sqliteDialect } from "./sqlite-dialect.js";
import { sqliteUserDocuments } from "./user-documents.js";

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

/** Opens the SQLite store in `file` (made 0600 in a 0700 directory). */
export function openSqlite(file: string, busy: BusyPolicy): Store {
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
