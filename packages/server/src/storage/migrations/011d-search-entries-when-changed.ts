import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** Search entries rewritten only when their text changed (StoreDialect.searchEntriesWhenChanged). */
export function searchEntriesWhenChangedMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.searchEntriesWhenChanged(db);
    },
  };
}
