import { PostgresDialect } from "kysely";
import pg from "pg";
import { BusyRetryingKysely, type BusyPolicy } from "../../busy.js";
import type { Database } from "../../schema.js";
import type { Store } from "../../store.js";
import { postgresDialect } from "./postgres-dialect.js";
import { preparingClient } from "./prepared-statements.js";
import { postgresUserDocuments } from "./user-documents.js";

/** Opens the PostgreSQL store at `url` with a pool of `poolSize` connections. */
export function openPostgres(url: string, busy: BusyPolicy, poolSize = 10): Store {
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

/** Whether the database at `url` holds a store (its migrations' table): a tool on the server's store must not make one. */
export async function postgresStoreExists(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ found: boolean }>("select to_regclass('kysely_migration') is not null as found")).rows[0]!.found;
  } finally {
    await client.end();
  }
}
