import type { Kysely, Migration } from "kysely";

/**
 * Issue 10, part A: what the login path keeps in the store so that every server process and node
 * sees the same counts — per account and client address lockouts, rate-limit counters — and the
 * audit log's aggregated events (one row that counts repeats).
 */
export const hardeningMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("login_sources")
      .addColumn("user_id", "integer", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("failed_logins", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("lockout_count", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("locked_out_until", "text")
      .addColumn("last_success_at", "text")
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("login_sources_pk", ["user_id", "source"])
      .execute();
    await db.schema.createIndex("login_sources_updated").on("login_sources").column("updated_at").execute();

    await db.schema
      .createTable("rate_limits")
      .addColumn("key", "text", (c) => c.primaryKey())
      .addColumn("hits", "integer", (c) => c.notNull())
      .addColumn("reset_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("rate_limits_reset").on("rate_limits").column("reset_at").execute();

    await db.schema.alterTable("audit_events").addColumn("count", "integer", (c) => c.notNull().defaultTo(1)).execute();
    await db.schema.alterTable("audit_events").addColumn("aggregate_key", "text").execute();
    await db.schema.createIndex("audit_events_aggregate_key").on("audit_events").column("aggregate_key").unique().execute();
  },
};
