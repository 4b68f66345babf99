import { sql, type Kysely, type Migration } from "kysely";

/**
 * OpenID Connect logins. Everything a login carries between requests is in the store, so
 * any node may serve any step: the pending login between the redirect to the provider and its
 * callback, the one-time code between the callback and the exchange, and the provider session a
 * token was opened from (back-channel logout ends it on every node).
 */
export const identityProvidersMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("provider_logins")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("provider_id", "integer", (c) => c.notNull().references("identity_providers.id").onDelete("cascade"))
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("nonce", "text", (c) => c.notNull())
      .addColumn("code_verifier", "text", (c) => c.notNull())
      .addColumn("redirect_uri", "text", (c) => c.notNull())
      .addColumn("return_to", "text", (c) => c.notNull())
      .addColumn("expires_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("provider_logins_expires").on("provider_logins").column("expires_at").execute();

    await db.schema
      .createTable("login_codes")
      .addColumn("code_hash", "text", (c) => c.primaryKey())
      .addColumn("provider_id", "integer", (c) => c.notNull().references("identity_providers.id").onDelete("cascade"))
      .addColumn("user_id", "integer", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("subject", "text", (c) => c.notNull())
      .addColumn("sid", "text")
      .addColumn("source_ip", "text")
      .addColumn("expires_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("login_codes_expires").on("login_codes").column("expires_at").execute();
    await db.schema.createIndex("login_codes_subject").on("login_codes").columns(["provider_id", "subject"]).execute();

    await db.schema
      .createTable("provider_sessions")
      .addColumn("session_id", "text", (c) => c.primaryKey().references("sessions.id").onDelete("cascade"))
      .addColumn("provider_id", "integer", (c) => c.notNull().references("identity_providers.id").onDelete("cascade"))
      .addColumn("subject", "text", (c) => c.notNull())
      .addColumn("sid", "text")
      .execute();
    await db.schema.createIndex("provider_sessions_subject").on("provider_sessions").columns(["provider_id", "subject"]).execute();
    await db.schema.createIndex("provider_sessions_sid").on("provider_sessions").columns(["provider_id", "sid"]).execute();

    // A user has at most one subject per provider; linking by email looks users up by their email.
    await db.schema.createIndex("federated_identities_user_provider").unique().on("federated_identities").columns(["user_id", "provider_id"]).execute();
    await sql`create index users_email_key on users (lower(email))`.execute(db);
  },
};
