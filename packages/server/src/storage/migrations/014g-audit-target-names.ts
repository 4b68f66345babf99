import { sql, type Kysely, type Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/**
 * The audit log's filter by target name no longer has an index of every event by name: each event
 * went into two indexes at random places (by target id and by target name), and a bulk action or a
 * directory sync over existing users spent most of its audit time writing those pages (91 000 events
 * into a log of 2 000 000: 10.1 s with both, 5.8 s with the id's alone, SQLite; 3.6–4.6 s against 2.8 s,
 * PostgreSQL). Instead `audit_target_names` holds each name a target has been recorded under, once:
 * an event of a known target under its known name only reads it. The filter finds the target ids of
 * a name there, then their events by the target index (storage/audit-queries.ts). A named target
 * always has an id (domain/audit.ts). The retention removes a name with the last event recorded under it.
 */
export function auditTargetNamesMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await dialect.createAuditTargetNames(db);
      // After the trigger, so that no event is missed; SQLite migrates statement by statement, and an
      // event another process records meanwhile may have put its name there first.
      await sql`insert into audit_target_names (target_name, target_id)
        select distinct target_name, target_id from audit_events where target_name is not null and target_id is not null
        on conflict do nothing`.execute(db);
      await db.schema.dropIndex("audit_events_target_name").ifExists().execute();
    },
  };
}
