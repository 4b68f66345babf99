import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";
import { keyUnkeyedAuditNames } from "./014z-audit-name-keys.js";

/**
 * Work that was found by walking tables is now marked where it is made:
 *
 * - The names of audit events beyond printable ASCII are keyed by the writer of their event
 *   (storage/audit-names.ts), no longer by the filters before they read: the names recorded unkeyed
 *   before are keyed here once.
 */
export function pendingWorkMarkedMigration(_dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await keyUnkeyedAuditNames(db);
    },
  };
}
