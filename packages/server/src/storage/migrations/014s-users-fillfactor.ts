import type { Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/**
 * The first bulk disable of a PostgreSQL store's users found every page full (the default fill factor
 * is 100): each new row version went to another page and into all of the table's indexes. New pages
 * now keep room for it (StoreDialect.leaveRoomForUpdates).
 */
export function usersFillfactorMigration(dialect: StoreDialect): Migration {
  return { up: (db) => dialect.leaveRoomForUpdates(db) };
}
