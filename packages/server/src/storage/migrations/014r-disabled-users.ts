import type { Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/**
 * Half of a PostgreSQL bulk enable or disable was the users' update, never a HOT update while an
 * index named `enabled` (each new row version went into all of the table's indexes); with none, the
 * same update took 45 % less (docs/benchmarks.md). The disabled users are found through a table of
 * their own instead (StoreDialect.keepDisabledUsersApart).
 */
export function disabledUsersMigration(dialect: StoreDialect): Migration {
  return { up: (db) => dialect.keepDisabledUsersApart(db) };
}
