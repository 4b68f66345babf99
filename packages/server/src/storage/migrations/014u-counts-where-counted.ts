import type { Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/**
 * A bucket split moved half a bucket's rows, and PostgreSQL counted each moved row's 1–2-character
 * strings out of the old bucket and into the new one: about one row a user arriving in random order,
 * a sixth of an import's store time, for counts whose sums never changed (StoreDialect.keepCountsWhereCounted).
 */
export function countsWhereCountedMigration(dialect: StoreDialect): Migration {
  return { up: (db) => dialect.keepCountsWhereCounted(db) };
}
