import type { Kysely, Migration } from "kysely";

/**
 * `users.provider_made`: the account was made by an identity provider's first login. Its email is
 * what that provider's user claimed (maybe someone else's), so a verified email never links another
 * login to it — also once its provider is removed, which leaves it without `identity_provider_id`.
 * Taken here from the accounts that still have their provider.
 */
export const providerMadeMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("users").addColumn("provider_made", "integer", (c) => c.notNull().defaultTo(0)).execute();
    await db.updateTable("users").set({ provider_made: 1 }).where("identity_provider_id", "is not", null).execute();
  },
};
