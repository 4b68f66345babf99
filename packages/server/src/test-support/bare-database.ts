import BetterSqlite3 from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { createTemporaryDatabase, type StoreKind } from "./server.js";

/**
 * An empty database of `kind` for a migration's test, which makes the tables as the migrations before
 * left them (PostgreSQL: a temporary database, dropped after; SQLite: in memory). `work` gets it; then
 * it is closed, whatever `work` did.
 */
export async function withBareDatabase(kind: StoreKind, work: (db: Kysely<any>) => Promise<void>): Promise<void> {
  const temporary = kind === "postgres" ? await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!) : null;
  const pool = temporary ? new pg.Pool({ connectionString: temporary.url }) : null;
  // The pool's end resolves once its connections are asked to close, not once they have: the drop
  // (with force) may end one still closing, whose error, unheard, would end the test's process.
  pool?.on("error", () => {});
  const db = new Kysely<any>({
    dialect: pool ? new PostgresDialect({ pool }) : new SqliteDialect({ database: new BetterSqlite3(":memory:") }),
  });
  try {
    await work(db);
  } finally {
    await db.destroy();
    await temporary?.drop();
  }
}
