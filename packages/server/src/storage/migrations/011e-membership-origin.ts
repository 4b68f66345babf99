import { sql, type Kysely, type Migration } from "kysely";

/**
 * A membership says whether a directory's sync made it (`synced_by`: that directory) or someone
 * added it by hand (null): a sync removes only its own, never a directory user an administrator
 * put into a mapped local group. Memberships from before are taken as the sync's where the sync
 * decided them until now — a directory's users in its own groups and in the local groups its
 * groupMappings fill — since it would have removed those anyway; every other one is by hand.
 */
export const membershipOriginMigration: Migration = {
  async up(db: Kysely<any>) {
    // Removing a directory leaves its memberships as ones by hand.
    await db.schema.alterTable("group_members").addColumn("synced_by", "integer", (c) => c.references("directories.id").onDelete("set null")).execute();
    // What removing a directory sets to null is found by this index, not by reading every membership.
    await db.schema.createIndex("group_members_synced_by").on("group_members").column("synced_by").where(sql.ref("synced_by"), "is not", null).execute();
    await sql`update group_members set synced_by = (select u.directory_id from users u where u.id = group_members.user_id)
      where exists (select 1 from users u join groups g on g.directory_id = u.directory_id where u.id = group_members.user_id and g.id = group_members.group_id)`.execute(db);
    for (const d of await db.selectFrom("directories").select(["id", "config"]).execute()) {
      const locals = ((JSON.parse(d.config) as { groupMappings?: { localGroupId: string }[] }).groupMappings ?? []).map((m) => m.localGroupId);
      if (locals.length === 0) continue;
      await sql`update group_members set synced_by = ${d.id}
        where synced_by is null
          and group_id in (select id from groups where directory_id is null and uuid in (${sql.join(locals)}))
          and user_id in (select id from users where directory_id = ${d.id})`.execute(db);
    }
  },
};
