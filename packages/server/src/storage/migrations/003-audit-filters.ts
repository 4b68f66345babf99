import type { Kysely, Migration } from "kysely";

/** The audit log's name filters (actor, target) read an index too, newest first by id. */
export const auditFiltersMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex("audit_events_actor_name").on("audit_events").columns(["actor_name", "id"]).execute();
    await db.schema.createIndex("audit_events_target_name").on("audit_events").columns(["target_name", "id"]).execute();
  },
};
