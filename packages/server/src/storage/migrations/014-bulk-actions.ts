import { sql, type Kysely, type Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/**
 * Bulk actions over users (domain/bulk-actions.ts): one row per run, written with each batch the run
 * commits, so every node shows the same progress and a run left by a stopped node can be resumed.
 */
export function bulkActionsMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("bulk_actions")
        .addColumn("id", sql.raw(dialect.serialPrimaryKey))
        .addColumn("uuid", "text", (c) => c.notNull().unique())
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("params", "text", (c) => c.notNull())
        .addColumn("actor_id", "integer")
        .addColumn("actor_name", "text")
        .addColumn("actor_roles", "text", (c) => c.notNull())
        .addColumn("source_ip", "text")
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("total", "integer")
        .addColumn("processed", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("changed", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("unchanged", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("refused", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("report", "text", (c) => c.notNull().defaultTo("[]"))
        .addColumn("cursor", "text")
        .addColumn("error", "text")
        .addColumn("owner", "text")
        .addColumn("heartbeat_at", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("finished_at", "text")
        .execute();
      await db.schema.createIndex("bulk_actions_status").on("bulk_actions").columns(["status", "heartbeat_at"]).execute();
    },
  };
}
