import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** Users an earlier directory sync or import left without an ordered search entry get one (StoreDialect.keyUnkeyedUsers). */
export function unkeyedUsersMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.keyUnkeyedUsers(db);
    },
  };
}
