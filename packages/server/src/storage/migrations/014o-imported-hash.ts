import type { Kysely, Migration } from "kysely";

/**
 * `users.password_imported_digest`: the SHA-256 of the last `passwordHash` an import set on the user.
 * The first login replaces an imported hash with an argon2id one of the same password, and the user may
 * change it later: the same `passwordHash` sent again (a resent or repeated delta import) is then
 * known as already applied, not set again over them.
 */
export const importedHashMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("users").addColumn("password_imported_digest", "text").execute();
  },
};
