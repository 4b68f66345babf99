import pg from "pg";
import type { TestServer } from "./server.js";

/** How long a test waits for other sessions to reach a lock before it fails (a bound, not a timing). */
const WAIT_LIMIT_MS = 20_000;

/**
 * A PostgreSQL connection of the test's own, for races in a chosen order: it opens a transaction,
 * takes locks, and waits until the server's sessions stand blocked behind them, then lets them go.
 * SQLite runs one write transaction at a time, so these races exist on PostgreSQL only.
 */
export class PgSession {
  private constructor(private readonly client: pg.Client) {}

  static async open(url: string): Promise<PgSession> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return new PgSession(client);
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    return (await this.client.query<R>(text, values)).rows;
  }

  /** Resolves once `count` other sessions wait for a lock this session holds. */
  blocking(count: number): Promise<void> {
    return this.until(`${count} sessions waiting for this one's locks`, (blocked) => blocked >= count);
  }

  /** Resolves once `work` (another session's) has ended or waits for a lock this session holds: either way it went as far as it can. */
  settledOrBlocked(work: Promise<unknown>): Promise<void> {
    let settled = false;
    void work.then(() => (settled = true), () => (settled = true));
    return this.until("the other session to end or wait for this one's locks", (blocked) => settled || blocked > 0);
  }

  /** Polls how many sessions this one blocks until `done` says so, within WAIT_LIMIT_MS. */
  private async until(what: string, done: (blocked: number) => boolean): Promise<void> {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    for (;;) {
      // Waiters for one row queue behind the first of them, so count every blocked session of this
      // database: while this session holds its locks, whoever waits waits for it. Activity is read
      // once per transaction unless its snapshot is cleared.
      await this.query("select pg_stat_clear_snapshot()");
      const [row] = await this.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where datname = current_database() and cardinality(pg_blocking_pids(pid)) > 0");
      if (done(row!.n)) return;
      if (Date.now() > deadline) throw new Error(`gave up after ${WAIT_LIMIT_MS} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  end(): Promise<void> {
    return this.client.end();
  }
}

/**
 * Starts the requests of `start` while a session of the test holds the locks that `lock` (a
 * statement, `select … for update` say) takes in the server's PostgreSQL store, lets them go once
 * `waiters` sessions wait for them, and answers the requests' responses in order. So every request
 * has done what it does before the lock it waits for, before any of them goes on.
 */
export async function whileLocked<T>(
  s: TestServer,
  lock: string,
  params: unknown[],
  waiters: number,
  start: () => Promise<T>[],
  /** Runs in the lock holder's transaction once the requests wait, before it commits (what a racing writer did meanwhile). */
  meanwhile: (holder: PgSession) => Promise<unknown> = async () => {},
): Promise<T[]> {
  const { store } = s.server.deps.config;
  if (store.kind !== "postgres") throw new Error("locks of another session need PostgreSQL");
  const holder = await PgSession.open(store.url);
  try {
    await holder.query("begin");
    await holder.query(lock, params);
    const requests = start();
    await holder.blocking(waiters);
    await meanwhile(holder);
    await holder.query("commit");
    return await Promise.all(requests);
  } finally {
    await holder.end();
  }
}
