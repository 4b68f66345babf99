import { setTimeout as sleep } from "node:timers/promises";
import { Kysely, type DatabaseConnection, type Dialect, type Driver, type KyselyConfig, type QueryResult, type CompiledQuery, type Transaction, type TransactionBuilder, type TransactionSettings } from "kysely";
import { DomainError } from "../domain/errors.js";
import { isPlanChanged } from "./dialect/postgres/prepared-statements.js";

/**
 * How the store meets other writers: the server's other worker processes and nodes on one SQLite
 * file, concurrent transactions on PostgreSQL.
 */
export interface BusyPolicy {
  /** SQLite: how long a statement waits for another process's write lock; PostgreSQL: how long for a free connection of the pool. */
  timeoutMs: number;
  /** Tries of a transaction, or of a statement outside one, that the store turns away as busy (the first included). */
  attempts: number;
}

export const DEFAULT_BUSY_POLICY: BusyPolicy = { timeoutMs: 5000, attempts: 3 };

/** Longest random pause before the next try; the n-th waits up to 50·2^(n-1) ms below it (full jitter: writers that met do not meet again). */
const MAX_PAUSE_MS = 1000;
const FIRST_PAUSE_MS = 50;

/**
 * PostgreSQL's answers that end a statement or transaction for other sessions' sake, nothing of it
 * written: serialization failure, deadlock, a lock not had in time (`lock_timeout`, an operator may
 * set one), too many connections. (And a kept statement whose result columns changed: isPlanChanged.)
 */
const POSTGRES_BUSY = new Set(["40001", "40P01", "55P03", "53300"]);

/** pg-pool's wait for a free connection ran out (`connectionTimeoutMillis`): an error without a code. */
const POOL_TIMEOUT = "timeout exceeded when trying to connect";

/**
 * The error code when the store turned a statement or transaction away for other writers and nothing
 * of it was written (SQLite: SQLITE_BUSY and SQLITE_LOCKED with their extended codes, after the wait
 * for the lock), else undefined. The same work run again can succeed.
 */
export function busyCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED") || POSTGRES_BUSY.has(code))) return code;
  if (error instanceof Error && error.message === POOL_TIMEOUT) return "pool-timeout";
  if (isPlanChanged(error)) return "plan-changed";
  return undefined;
}

/**
 * The store stayed busy through every try: nothing was written. The API answers 503 with
 * Retry-After (ECMS1901); the request may be sent again as it is.
 */
export class StoreBusy extends DomainError {
  constructor(
    /** What the store answered the last time (SQLITE_BUSY, 40P01, pool-timeout, …): for the log, never for the client. */
    readonly storeCode: string,
    readonly attempts: number,
  ) {
    super("busy", "The server is busy with other changes and nothing was changed; try again in a moment.", { retryAfterSeconds: 1, reason: "store-busy" });
  }
}

/** `error` as a StoreBusy: one already, or a busy answer that reached no retry (a query past the wrapped driver: a safety net); else undefined. */
export function asStoreBusy(error: unknown): StoreBusy | undefined {
  if (error instanceof StoreBusy) return error;
  const code = busyCode(error);
  return code === undefined ? undefined : new StoreBusy(code, 1);
}

/**
 * Errors of a PostgreSQL that cannot be reached: the network's (a connection refused, reset or broken
 * mid-query), and the server's own while it shuts down or starts (classes 08, 57P). A request whose
 * own client reset its connection is told apart before (http/error-handling.ts clientWentAway).
 */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "57P01", "57P02", "57P03"]);
/** pg's own words for a connection that broke or never opened in time (errors without a code). */
const UNREACHABLE_MESSAGE = /^Connection terminated/;

/**
 * The store cannot be reached (PostgreSQL down, hung or across a broken network): the API answers 503
 * with Retry-After, as /health does. Not tried again at once: a store that is gone stays gone for
 * longer than a request waits.
 */
export class StoreUnreachable extends DomainError {
  constructor(readonly storeCode: string) {
    // Not "nothing was changed": a connection lost after a commit was sent may have committed it.
    super("unavailable", "The store cannot be reached; try again in a moment.", { retryAfterSeconds: 5, reason: "store-unreachable" });
  }
}

/** `error` as a StoreUnreachable when it says the store cannot be reached; else undefined. */
export function asStoreUnreachable(error: unknown): StoreUnreachable | undefined {
  if (error instanceof StoreUnreachable) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && (UNREACHABLE_CODES.has(code) || code.startsWith("08"))) return new StoreUnreachable(code);
  if (error instanceof Error && code === undefined && UNREACHABLE_MESSAGE.test(error.message)) return new StoreUnreachable("connection");
  return undefined;
}

/**
 * Runs `work`, and again after a random pause while the store turns it away as busy, up to
 * `policy.attempts` tries; then throws StoreBusy. `work` must be safe to run again from its start:
 * a transaction that changes nothing outside the store, one statement. A StoreBusy from a nested
 * retry is not retried again (the tries would multiply).
 */
export async function retryingBusy<T>(policy: BusyPolicy, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const code = busyCode(error);
      if (code === undefined) throw error;
      if (attempt >= policy.attempts) throw new StoreBusy(code, attempt);
      await sleep(Math.random() * Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** (attempt - 1)));
    }
  }
}

/**
 * A Kysely whose transactions are run again as a whole while the store turns them away as busy
 * (BEGIN IMMEDIATE waiting out the busy timeout for SQLite's lock, a PostgreSQL deadlock victim): every
 * `db.transaction().execute(work)` of the server. So `work` must change nothing outside the store,
 * or only what a second run sets the same way; it keeps its own state in its own variables.
 */
export class BusyRetryingKysely<DB> extends Kysely<DB> {
  constructor(
    config: KyselyConfig,
    private readonly policy: BusyPolicy,
  ) {
    super({ ...config, dialect: retryingStatements(config.dialect, policy) });
  }

  override transaction(): TransactionBuilder<DB> {
    const builder = super.transaction();
    const once = builder.execute.bind(builder);
    // (setIsolationLevel and setAccessMode would answer a builder without this: the server uses neither.)
    builder.execute = <T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> => retryingBusy(this.policy, () => once(work));
    return builder;
  }
}

/** The dialect with its driver wrapped: a statement outside a transaction, and taking a connection, are tried again while busy. */
function retryingStatements(dialect: Dialect, policy: BusyPolicy): Dialect {
  return {
    createDriver: () => new BusyRetryingDriver(dialect.createDriver(), policy),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}

/**
 * One statement on its own commits or fails whole: run again when busy. Inside a transaction the
 * statement is not (its transaction is, from the start: BusyRetryingKysely). Streams are not either
 * (rows may have gone out).
 */
class RetryingConnection implements DatabaseConnection {
  inTransaction = false;

  constructor(
    readonly inner: DatabaseConnection,
    private readonly policy: BusyPolicy,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.inTransaction ? this.inner.executeQuery<R>(query) : retryingBusy(this.policy, () => this.inner.executeQuery<R>(query));
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class BusyRetryingDriver implements Driver {
  /** One wrapper per connection of the inner driver, so that its transaction state stays with it. */
  private readonly wrappers = new WeakMap<DatabaseConnection, RetryingConnection>();

  constructor(
    private readonly driver: Driver,
    private readonly policy: BusyPolicy,
  ) {}

  init(): Promise<void> {
    return this.driver.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await retryingBusy(this.policy, () => this.driver.acquireConnection());
    let wrapper = this.wrappers.get(inner);
    if (!wrapper) this.wrappers.set(inner, (wrapper = new RetryingConnection(inner, this.policy)));
    return wrapper;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const c = connection as RetryingConnection;
    c.inTransaction = true;
    try {
      await this.driver.beginTransaction(c.inner, settings);
    } catch (error) {
      c.inTransaction = false;
      throw error;
    }
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.endTransaction(connection, (inner) => this.driver.commitTransaction(inner));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.endTransaction(connection, (inner) => this.driver.rollbackTransaction(inner));
  }

  /** A commit or rollback: the connection's statements are its own again, whatever the outcome. */
  private async endTransaction(connection: DatabaseConnection, end: (inner: DatabaseConnection) => Promise<void>): Promise<void> {
    const c = connection as RetryingConnection;
    try {
      await end(c.inner);
    } finally {
      c.inTransaction = false;
    }
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.driver.releaseConnection((connection as RetryingConnection).inner);
  }

  destroy(): Promise<void> {
    return this.driver.destroy();
  }
}
