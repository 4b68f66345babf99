import type { Kysely, Migration } from "kysely";

/** A sync run counts the memberships it added (`joined`) and removed (`left`), beside its users' counts. */
export const syncRunMembershipsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("directory_sync_runs").addColumn("joined", "integer", (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable("directory_sync_runs").addColumn("left", "integer", (c) => c.notNull().defaultTo(0)).execute();
  },
};
