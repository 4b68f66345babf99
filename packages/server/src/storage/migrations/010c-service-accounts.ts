import type { Kysely, Migration } from "kysely";

/**
 * Service accounts (with 013): `users.service_account`. Numbered to sort before 011, which
 * builds the user documents from the current definition, and that shows this column.
 */
export const serviceAccountsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("users").addColumn("service_account", "integer", (c) => c.notNull().defaultTo(0)).execute();
  },
};
