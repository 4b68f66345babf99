import { sql, type Kysely, type Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** The whole data model: users, groups, roles, memberships, role mappings, directories, identity providers, sessions, audit. */
export function initialMigration(dialect: StoreDialect): Migration {
  const serial = sql.raw(dialect.serialPrimaryKey);
  const orderedText = sql.raw(dialect.orderedText);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("users")
        .addColumn("id", serial)
        .addColumn("uuid", "text", (c) => c.notNull().unique())
        .addColumn("username", orderedText, (c) => c.notNull().unique())
        .addColumn("login_name", "text", (c) => c.notNull())
        .addColumn("login_key", "text", (c) => c.notNull().unique())
        .addColumn("first_name", "text")
        .addColumn("last_name", "text")
        .addColumn("display_name", "text", (c) => c.notNull())
        .addColumn("email", "text")
        .addColumn("description", "text")
        .addColumn("enabled", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("builtin", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("dn", "text")
        .addColumn("directory_id", "integer")
        .addColumn("profile_id", "integer", (c) => c.notNull().defaultTo(-1))
        .addColumn("valid_from", "text")
        .addColumn("valid_to", "text")
        .addColumn("change_password", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("password_never_expires", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("password_hash", "text")
        .addColumn("password_changed_at", "text")
        .addColumn("failed_logins", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("lockout_count", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("locked_out_until", "text")
        .addColumn("version", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addColumn("search_text", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("users_profile_id").on("users").column("profile_id").execute();
      await db.schema.createIndex("users_enabled_username").on("users").columns(["enabled", "username"]).execute();
      await db.schema.createIndex("users_valid_to").on("users").column("valid_to").execute();
      await db.schema.createIndex("users_directory_dn").on("users").columns(["directory_id", "dn"]).execute();
      await dialect.createUserSearchIndex(db);

      await db.schema
        .createTable("groups")
        .addColumn("id", serial)
        .addColumn("uuid", "text", (c) => c.notNull().unique())
        .addColumn("name", orderedText, (c) => c.notNull())
        .addColumn("name_key", "text", (c) => c.notNull().unique())
        .addColumn("description", "text")
        .addColumn("dn", "text")
        .addColumn("directory_id", "integer")
        .addColumn("builtin", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("essential", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("external", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("profile_user_id", "integer", (c) => c.notNull().defaultTo(-1))
        .addColumn("version", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("groups_name").on("groups").column("name").execute();

      await db.schema
        .createTable("roles")
        .addColumn("id", serial)
        .addColumn("uuid", "text", (c) => c.notNull().unique())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("description", "text")
        .addColumn("builtin", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("essential", "integer", (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable("group_members")
        .addColumn("group_id", "integer", (c) => c.notNull().references("groups.id").onDelete("cascade"))
        .addColumn("user_id", "integer", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addPrimaryKeyConstraint("group_members_pk", ["group_id", "user_id"])
        .execute();
      await db.schema.createIndex("group_members_user").on("group_members").columns(["user_id", "group_id"]).execute();

      await db.schema
        .createTable("group_roles")
        .addColumn("group_id", "integer", (c) => c.notNull().references("groups.id").onDelete("cascade"))
        .addColumn("role_id", "integer", (c) => c.notNull().references("roles.id").onDelete("cascade"))
        .addPrimaryKeyConstraint("group_roles_pk", ["group_id", "role_id"])
        .execute();
      await db.schema.createIndex("group_roles_role").on("group_roles").columns(["role_id", "group_id"]).execute();

      for (const table of ["directories", "identity_providers"] as const) {
        const nameColumn = table === "directories" ? "name" : "alias";
        let builder = db.schema
          .createTable(table)
          .addColumn("id", serial)
          .addColumn("uuid", "text", (c) => c.notNull().unique())
          .addColumn(nameColumn, "text", (c) => c.notNull().unique());
        builder = table === "directories"
          ? builder.addColumn("kind", "text", (c) => c.notNull())
          : builder.addColumn("display_name", "text", (c) => c.notNull());
        await builder
          .addColumn("config", "text", (c) => c.notNull())
          .addColumn("enabled", "integer", (c) => c.notNull().defaultTo(1))
          .addColumn("version", "integer", (c) => c.notNull().defaultTo(1))
          .addColumn("created_at", "text", (c) => c.notNull())
          .addColumn("updated_at", "text", (c) => c.notNull())
          .execute();
      }

      await db.schema
        .createTable("federated_identities")
        .addColumn("provider_id", "integer", (c) => c.notNull().references("identity_providers.id").onDelete("cascade"))
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("user_id", "integer", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("created_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("federated_identities_pk", ["provider_id", "subject"])
        .execute();
      await db.schema.createIndex("federated_identities_user").on("federated_identities").column("user_id").execute();

      await db.schema
        .createTable("sessions")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "integer", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addColumn("revoked_at", "text")
        .addColumn("source_ip", "text")
        .execute();
      await db.schema.createIndex("sessions_user").on("sessions").column("user_id").execute();
      await db.schema.createIndex("sessions_expires").on("sessions").column("expires_at").execute();

      await db.schema
        .createTable("audit_events")
        .addColumn("id", serial)
        .addColumn("at", "text", (c) => c.notNull())
        .addColumn("actor_id", "integer")
        .addColumn("actor_name", "text")
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("target_type", "text")
        .addColumn("target_id", "text")
        .addColumn("target_name", "text")
        .addColumn("source_ip", "text")
        .addColumn("outcome", "text", (c) => c.notNull())
        .addColumn("details", "text")
        .execute();
      await db.schema.createIndex("audit_events_at").on("audit_events").column("at").execute();
      await db.schema.createIndex("audit_events_target").on("audit_events").columns(["target_id", "id"]).execute();
      await db.schema.createIndex("audit_events_actor").on("audit_events").columns(["actor_id", "id"]).execute();
      await db.schema.createIndex("audit_events_action").on("audit_events").columns(["action", "id"]).execute();

      await db.schema
        .createTable("settings")
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("value", "text", (c) => c.notNull())
        .execute();
    },
  };
}
