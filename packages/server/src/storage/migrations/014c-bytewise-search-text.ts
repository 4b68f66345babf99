import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** The search entries' text compared byte by byte (StoreDialect.compareSearchTextBytewise): an import's batch sorts each user's grams. */
export function bytewiseSearchTextMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.compareSearchTextBytewise(db);
    },
  };
}
