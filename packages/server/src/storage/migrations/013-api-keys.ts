import type { Kysely, Migration } from "kysely";
import { sql } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** API keys of accounts (auth/api-keys.ts); the documents again, now that they show `serviceAccount` (010c). */
export function apiKeysMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("api_keys")
        .addColumn("id", sql.raw(dialect.serialPrimaryKey))
        .addColumn("uuid", "text", (c) => c.notNull().unique())
        .addColumn("user_id", "integer", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("prefix", "text", (c) => c.notNull())
        .addColumn("secret_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text")
        .addColumn("last_used_at", "text")
        .execute();
      await db.schema.createIndex("api_keys_user").on("api_keys").column("user_id").execute();
      // The documents show serviceAccount now (a store that ran 011 before 010c was there built them without).
      await dialect.installUserDocuments(db);
    },
  };
}
