import { sql, type Kysely, type Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/**
 * External user storage (LDAP, Active Directory) and the users' `source`: users and groups keyed by their
 * directory's stable id (renames and moves keep them), matched by normalized DN, the directory's
 * membership graph, sync runs, the per-directory lease and high-water mark; the identity provider a
 * user came from (set by provider logins, migration 012); documents that show `source`, whose per-row
 * upkeep a sync's batch can defer.
 */
export function directoriesMigration(dialect: StoreDialect): Migration {
  const serial = sql.raw(dialect.serialPrimaryKey);
  return {
    async up(db: Kysely<any>) {
      for (const table of ["users", "groups"]) {
        await db.schema.alterTable(table).addColumn("directory_key", "text").execute();
        await db.schema.alterTable(table).addColumn("dn_key", "text").execute();
      }
      await db.schema.alterTable("users").addColumn("identity_provider_id", "integer").execute();
      await db.schema.alterTable("groups").addColumn("member_hash", "text").execute();
      await db.schema.dropIndex("users_directory_dn").execute();
      await db.schema.createIndex("users_directory_key").on("users").columns(["directory_id", "directory_key"]).unique().execute();
      await db.schema.createIndex("users_directory_dn_key").on("users").columns(["directory_id", "dn_key"]).execute();
      await db.schema.createIndex("users_identity_provider").on("users").column("identity_provider_id").execute();
      await db.schema.createIndex("groups_directory_key").on("groups").columns(["directory_id", "directory_key"]).unique().execute();
      await db.schema.createIndex("groups_directory_dn_key").on("groups").columns(["directory_id", "dn_key"]).execute();

      await db.schema
        .createTable("directory_members")
        .addColumn("directory_id", "integer", (c) => c.notNull().references("directories.id").onDelete("cascade"))
        .addColumn("group_id", "integer", (c) => c.notNull().references("groups.id").onDelete("cascade"))
        .addColumn("member_key", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("directory_members_pk", ["group_id", "member_key"])
        .execute();
      await db.schema.createIndex("directory_members_member").on("directory_members").columns(["directory_id", "member_key", "group_id"]).execute();

      await db.schema
        .createTable("directory_sync_runs")
        .addColumn("id", serial)
        .addColumn("directory_id", "integer", (c) => c.notNull().references("directories.id").onDelete("cascade"))
        .addColumn("mode", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("forced", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("started_at", "text", (c) => c.notNull())
        .addColumn("finished_at", "text")
        .addColumn("heartbeat_at", "text", (c) => c.notNull())
        .addColumn("started_by", "text")
        .addColumn("seen", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("updated", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("disabled", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("unchanged", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("failed", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("problems", "text", (c) => c.notNull().defaultTo("[]"))
        .addColumn("message", "text")
        .execute();
      await db.schema.createIndex("directory_sync_runs_directory").on("directory_sync_runs").columns(["directory_id", "id"]).execute();

      await db.schema
        .createTable("directory_sync_state")
        .addColumn("directory_id", "integer", (c) => c.primaryKey().references("directories.id").onDelete("cascade"))
        .addColumn("lease_owner", "text")
        .addColumn("lease_until", "text")
        .addColumn("high_water", "text")
        .addColumn("last_full_at", "text")
        .addColumn("last_changed_at", "text")
        .addColumn("unreachable_since", "text")
        .addColumn("unreachable_error", "text")
        .execute();

      await dialect.createDeferredUpkeep(db);
      await dialect.installUserDocuments(db);
    },
  };
}
