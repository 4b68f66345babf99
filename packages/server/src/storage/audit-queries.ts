import type { Selectable } from "kysely";
import type { AuditEventsTable } from "./schema.js";
import { keysetBatches } from "./keyset.js";
import type { Store } from "./store.js";

export type AuditEventRow = Selectable<AuditEventsTable>;

/** Filters of the audit log; all are exact matches except the time range. */
export interface AuditFilter {
  /** Username of the actor as recorded (the event keeps it when the user is gone). */
  actor?: string;
  /** Target by its id (user or group UUID)… */
  targetId?: string;
  /** …or by its name as recorded. */
  targetName?: string;
  targetType?: string;
  action?: string;
  outcome?: "success" | "failure";
  /** ISO 8601 UTC: events at or after `from` and before `to`. */
  from?: string;
  to?: string;
}

/** Reads the append-only audit log, newest first; writing is `recordAudit`'s job alone. */
export function createAuditQueries({ db }: Store) {
  return {
    /** One page, newest first, of events older than `beforeId` (keyset paging on the serial id). */
    listPage(filter: AuditFilter, beforeId: number | undefined, limit: number): Promise<AuditEventRow[]> {
      let q = db.selectFrom("audit_events").selectAll();
      if (filter.actor !== undefined) q = q.where("actor_name", "=", filter.actor);
      if (filter.targetId !== undefined) q = q.where("target_id", "=", filter.targetId);
      if (filter.targetName !== undefined) q = q.where("target_name", "=", filter.targetName);
      if (filter.targetType !== undefined) q = q.where("target_type", "=", filter.targetType);
      if (filter.action !== undefined) q = q.where("action", "=", filter.action);
      if (filter.outcome !== undefined) q = q.where("outcome", "=", filter.outcome);
      if (filter.from !== undefined) q = q.where("at", ">=", filter.from);
      if (filter.to !== undefined) q = q.where("at", "<", filter.to);
      if (beforeId !== undefined) q = q.where("id", "<", beforeId);
      return q.orderBy("id", "desc").limit(limit).execute();
    },

    /** Every matching event, newest first, in keyset batches so memory stays flat. */
    listAll(filter: AuditFilter, beforeId?: number, batchSize = 1000): AsyncGenerator<AuditEventRow[]> {
      return keysetBatches((before, n) => this.listPage(filter, before, n), (e) => e.id, beforeId, batchSize);
    },
  };
}

export type AuditQueries = ReturnType<typeof createAuditQueries>;
