import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** The number of all users kept by the store, so counting a million users reads one row. */
export function userCountMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.createUserCount(db);
    },
  };
}
