import type { Kysely, Migration } from "kysely";

/**
 * Asymmetric token keys (auth/signing-keys.ts): one row per key, its public JWK published at
 * /auth/v1/certs, its private key sealed (null when it comes from ECM_TOKEN_KEY_FILE). The shared
 * HS256 secret goes: tokens signed with it stop working. Its settings row was also the mark of a
 * bootstrapped store, which `bootstrapped` now is.
 */
export const signingKeysMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("signing_keys")
      .addColumn("kid", "text", (c) => c.primaryKey())
      .addColumn("algorithm", "text", (c) => c.notNull())
      .addColumn("public_jwk", "text", (c) => c.notNull())
      .addColumn("private_key", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("retired_at", "text")
      .execute();
    const old = await db.deleteFrom("settings").where("key", "=", "token-signing-key").returning("key").executeTakeFirst();
    if (old) await db.insertInto("settings").values({ key: "bootstrapped", value: "1" }).execute();
  },
};
