import { sql, type Migration } from "kysely";

/**
 * `users.provider_made` (014i) was taken from the accounts that still had their provider: those whose
 * provider was removed before lost the mark with it. The audit log still says who made them (the
 * `user.create` event of an `identity-provider:<alias>` actor), where it keeps them.
 */
export const providerMadeFromAuditMigration: Migration = {
  async up(db) {
    await sql`update users set provider_made = 1
      where provider_made = 0
        and uuid in (select target_id from audit_events where action = 'user.create' and actor_name like 'identity-provider:%' and target_id is not null)`.execute(db);
  },
};
