import type { Kysely, Migration } from "kysely";

/**
 * Whether a system administrator made each way into an account that a security administrator may
 * make too: a password, an API key, a link to an identity provider's subject, the last configuration
 * of a provider or a directory; and whether the session was opened by such a way in
 * (domain/role-rules.ts madeBySystemAdministrator says what it decides). Rows from before were made
 * under the rules of their time and are taken as a system administrator's, so that no installation
 * loses its way in: that is all the default is for, as every insert names its value (the columns
 * are not optional in storage/schema.ts).
 */
export const administratorMadeMigration: Migration = {
  async up(db: Kysely<any>) {
    const made = (table: string, column: string) => db.schema.alterTable(table).addColumn(column, "integer", (c) => c.notNull().defaultTo(1)).execute();
    await made("users", "password_by_system_administrator");
    for (const table of ["api_keys", "federated_identities", "identity_providers", "directories", "sessions"]) await made(table, "by_system_administrator");
  },
};
