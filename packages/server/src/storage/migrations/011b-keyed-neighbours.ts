import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** A new user's neighbours with an order key, found through an index instead of a walk (a directory's first sync inserts thousands into one gap). */
export function keyedNeighboursMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.createKeyedNeighbours(db);
    },
  };
}
