import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** Counting a common 1–2 character needle without visiting its every hit, where the store needs it. */
export function shortNeedleCountsMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.createShortNeedleCounts(db);
    },
  };
}
