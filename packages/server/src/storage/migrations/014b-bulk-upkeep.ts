import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** Less upkeep per user in a bulk writer's batch (StoreDialect.createBulkUpkeep): imports write thousands of users a transaction. */
export function bulkUpkeepMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.createBulkUpkeep(db);
    },
  };
}
