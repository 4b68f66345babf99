import { sql, type Kysely, type Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";
import { keyUnkeyedAuditNames } from "./014z-audit-name-keys.js";

/**
 * Work that was found by walking tables is now marked where it is made:
 *
 * - `provider_releases`: a provider's deletion, or the removal of its links (links=remove), leaves its
 *   users to be made local after the commit, in batches (federation/providers.ts releaseMadeUsers); the
 *   same transaction writes a row here, deleted once they are. Each start of each worker finished a
 *   release that a stop cut short by walking every user a provider made (a million, all still linked,
 *   at each start); it now reads this table. The releases left unfinished before are marked here once.
 * - The names of audit events beyond printable ASCII are keyed by the writer of their event
 *   (storage/audit-names.ts), no longer by the filters before they read: the names recorded unkeyed
 *   before are keyed here once.
 */
export function pendingWorkMarkedMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.createTable("provider_releases").addColumn("id", sql.raw(dialect.serialPrimaryKey)).addColumn("provider_id", "integer", (c) => c.notNull()).execute();
      await sql`insert into provider_releases (provider_id)
        select distinct identity_provider_id from users u where identity_provider_id is not null
          and not exists (select 1 from federated_identities f where f.user_id = u.id and f.provider_id = u.identity_provider_id)`.execute(db);
      await keyUnkeyedAuditNames(db);
    },
  };
}
