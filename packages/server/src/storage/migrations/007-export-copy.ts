import type { Migration } from "kysely";

/**
 * Was: SQLite kept each user's group names and an index of every exported column. Migration 008's
 * user documents replaced both (and remove them from stores that ran this), so it does nothing now.
 */
export const exportCopyMigration: Migration = {
  async up() {},
};
