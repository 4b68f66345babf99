import { sql, type Kysely, type Migration } from "kysely";

/** Longest alias (the route's limit). */
const MAX_ALIAS = 64;

/**
 * Aliases told apart without regard to case by the store itself: a create checked the folded alias
 * before its insert, against an index that tells `Corp` from `corp`, so two creates at once could both
 * pass. Aliases are ASCII (the route's pattern): `lower` folds them alike on both stores. A store that
 * holds such a pair already keeps the first; each later one takes the first free `<alias>-<n>` — "-2",
 * or "-3" when that is taken too — so no provider is lost and no alias given by hand is taken (its
 * redirect URI follows the new alias: register that at the provider).
 */
export const providerAliasFoldMigration: Migration = {
  async up(db: Kysely<any>) {
    const providers: { id: number; alias: string }[] = await db.selectFrom("identity_providers").select(["id", "alias"]).orderBy("id").execute();
    const taken = new Set(providers.map((p) => p.alias.toLowerCase()));
    const seen = new Set<string>();
    for (const provider of providers) {
      if (!seen.has(provider.alias.toLowerCase())) {
        seen.add(provider.alias.toLowerCase());
        continue;
      }
      let alias = provider.alias;
      for (let n = 2; taken.has(alias.toLowerCase()); n++) alias = `${provider.alias.slice(0, MAX_ALIAS - `-${n}`.length)}-${n}`;
      taken.add(alias.toLowerCase());
      seen.add(alias.toLowerCase());
      await db.updateTable("identity_providers").set({ alias }).where("id", "=", provider.id).execute();
    }
    await sql`create unique index identity_providers_alias_fold on identity_providers (lower(alias))`.execute(db);
  },
};
