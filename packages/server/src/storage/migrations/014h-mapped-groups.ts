import type { Kysely, Migration } from "kysely";

/**
 * What a directory's syncs filled through its groupMappings (storage/directory-queries.ts
 * MappingRecord): a mapping removed since leaves memberships that sync made in a local group it no
 * longer decides, which the next sync finds by this record and removes (directory/sync.ts). Taken
 * here from the memberships themselves (the local groups holding a membership a sync of the
 * directory made), once; which mapping filled them is not known until a sync records it.
 */
export const mappedGroupsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("directory_sync_state").addColumn("mapped_groups", "text").execute();
    for (const { directory_id } of await db.selectFrom("directory_sync_state").select("directory_id").execute()) {
      const filled = await db
        .selectFrom("group_members")
        .innerJoin("groups", "groups.id", "group_members.group_id")
        .select("group_members.group_id")
        .distinct()
        .where("group_members.synced_by", "=", directory_id)
        .where("groups.directory_id", "is", null)
        .orderBy("group_members.group_id")
        .execute();
      const record = { filled: filled.map((r) => r.group_id as number), pairs: null };
      await db.updateTable("directory_sync_state").set({ mapped_groups: JSON.stringify(record) }).where("directory_id", "=", directory_id).execute();
    }
  },
};
