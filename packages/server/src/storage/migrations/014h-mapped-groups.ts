import type { Kysely, Migration } from "kysely";

/**
 * The local groups a directory's last completed sync filled through its groupMappings: a mapping
 * removed since (or one whose directory group is gone) leaves memberships that sync made in a group
 * it no longer decides, which the next sync finds by this list and removes (directory/sync.ts). Null
 * until a sync records it: nothing is taken for removed then.
 */
export const mappedGroupsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("directory_sync_state").addColumn("mapped_groups", "text").execute();
  },
};
