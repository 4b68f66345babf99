import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** Streaming every user's extended JSON in username order without a random read and a group join per user, where the store gains by it. */
export function exportCopyMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.createExportCopy(db);
    },
  };
}
