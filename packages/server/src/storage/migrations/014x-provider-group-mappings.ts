import type { Kysely, Migration } from "kysely";

/**
 * A provider's `customGroupList` holds no idpGroupName with white space at an edge and no mapping
 * twice since the routes refuse them (a claim value is matched exactly: such a value's mapping never
 * applied, and a repeated one was shown twice). Mappings stored before are trimmed and each kept
 * once, so that a provider read with GET can be saved back as it is.
 */
export const providerGroupMappingsMigration: Migration = {
  async up(db: Kysely<any>) {
    const providers: { id: number; config: string }[] = await db.selectFrom("identity_providers").select(["id", "config"]).execute();
    for (const { id, config } of providers) {
      const stored = JSON.parse(config) as { customGroupList?: { idpGroupName: string; localGroupId: string }[] };
      if (!Array.isArray(stored.customGroupList)) continue;
      const kept = new Map<string, { idpGroupName: string; localGroupId: string }>();
      for (const m of stored.customGroupList) {
        const mapping = { idpGroupName: m.idpGroupName.trim(), localGroupId: m.localGroupId };
        if (mapping.idpGroupName !== "") kept.set(JSON.stringify(mapping), mapping);
      }
      const customGroupList = [...kept.values()];
      if (JSON.stringify(customGroupList) === JSON.stringify(stored.customGroupList)) continue;
      await db.updateTable("identity_providers").set({ config: JSON.stringify({ ...stored, customGroupList }) }).where("id", "=", id).execute();
    }
  },
};
