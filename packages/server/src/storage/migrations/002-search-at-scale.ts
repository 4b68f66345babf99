import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** Indexes for a million users: 1–2 character needles served by an index, and a cheap count of all users. */
export function searchAtScaleMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.createScaleIndexes(db);
    },
  };
}
