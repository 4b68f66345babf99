import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** A narrow copy of the search text: PostgreSQL's search in username order, and cheap counts of common needles. */
export function narrowSearchMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.createNarrowSearch(db);
    },
  };
}
