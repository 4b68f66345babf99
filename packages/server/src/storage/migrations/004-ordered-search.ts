import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** Search hits that come out of the index already in username order, where the store can do it. */
export function orderedSearchMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.createOrderedSearch(db);
    },
  };
}
