import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** Every user's REST JSON kept by the store (storage/user-documents.ts): lists and exports read text instead of rendering it. */
export function userDocumentsMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.createUserDocuments(db);
    },
  };
}
