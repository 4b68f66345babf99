import type { Kysely, Migration } from "kysely";

/**
 * Active Directory's primary groups are followed through the users (directory/sync.ts): each user keeps
 * its entry's primaryGroupID, read with it, where a search per group found their members before. The
 * users of such a directory hold none until their entries are read again: the `changed` syncs' marks of
 * Active Directory's directories are dropped, so that the next sync, a `changed` one too, reads them all.
 */
export const primaryGroupsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("users").addColumn("primary_group_rid", "integer").execute();
    // A `changed` sync after a primary group was nested or mapped checks its primary members again.
    await db.schema.createIndex("users_directory_primary_group").on("users").columns(["directory_id", "primary_group_rid", "id"]).where("primary_group_rid", "is not", null).execute();
    await db
      .updateTable("directory_sync_state")
      .set({ high_water: null })
      .where("directory_id", "in", db.selectFrom("directories").select("id").where("kind", "=", "active-directory"))
      .execute();
  },
};
