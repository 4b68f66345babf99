import type { Kysely, Migration } from "kysely";

/**
 * `bulk_actions.actor_session_id`, `actor_api_key_id`: the session or API key that started a run. A run
 * goes on after its request, so it asks before each batch whether that credential still lets its
 * holder in: a logout, a password reset or a revoked key stops it. Runs from before have neither and
 * are judged by their starter's account alone, as they were.
 */
export const bulkActionCredentialMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("bulk_actions").addColumn("actor_session_id", "text").execute();
    await db.schema.alterTable("bulk_actions").addColumn("actor_api_key_id", "text").execute();
  },
};
