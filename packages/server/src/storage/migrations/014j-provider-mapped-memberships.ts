import { sql, type Kysely, type Migration } from "kysely";

/**
 * A membership says whether an identity provider's group mapping made it at a login (`mapped_by`:
 * that provider) or not: a login removes only the memberships its provider's mapping made, never one
 * an administrator or a directory's sync made. Memberships from before are taken as the mapping's
 * where it decided them until now — a linked user's memberships in the provider's mapped local
 * groups that are not among its default groups, nor a sync's — since a login would have removed those anyway.
 */
export const providerMappedMembershipsMigration: Migration = {
  async up(db: Kysely<any>) {
    // A removed provider takes its mapped memberships with it (federation/providers.ts); set null is the store's fallback.
    await db.schema.alterTable("group_members").addColumn("mapped_by", "integer", (c) => c.references("identity_providers.id").onDelete("set null")).execute();
    await db.schema.createIndex("group_members_mapped_by").on("group_members").column("mapped_by").where(sql.ref("mapped_by"), "is not", null).execute();
    for (const p of await db.selectFrom("identity_providers").select(["id", "config"]).orderBy("id").execute()) {
      const config = JSON.parse(p.config) as { defaultGroupList?: string[]; customGroupList?: { localGroupId: string }[] };
      const defaults = new Set(config.defaultGroupList ?? []);
      const mapped = [...new Set((config.customGroupList ?? []).map((m) => m.localGroupId))].filter((uuid) => !defaults.has(uuid));
      if (mapped.length === 0) continue;
      await sql`update group_members set mapped_by = ${p.id}
        where mapped_by is null and synced_by is null
          and group_id in (select id from groups where uuid in (${sql.join(mapped)}))
          and user_id in (select user_id from federated_identities where provider_id = ${p.id})`.execute(db);
    }
  },
};
