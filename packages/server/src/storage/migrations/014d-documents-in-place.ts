import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** Kept documents rewritten in place (StoreDialect.rewriteDocumentsInPlace): a bulk action writes fewer pages a user. */
export function documentsInPlaceMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.rewriteDocumentsInPlace(db);
    },
  };
}
