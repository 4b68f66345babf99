import type { Selectable, SelectQueryBuilder } from "kysely";
import type { AuditEventsTable, Database } from "./schema.js";
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

/** The targets of a name whose events are read apart and merged, at most. */
const MERGED_TARGETS = 16;

type TargetIds = SelectQueryBuilder<Database, "audit_target_names", { target_id: string }>;

/** Reads the append-only audit log, newest first; writing is `recordAudit`'s job alone. */
export function createAuditQueries({ db }: Store) {
  /** A page of the events of one target, or of those `targetIds` selects. */
  const page = (filter: AuditFilter, target: string | TargetIds | undefined, beforeId: number | undefined, limit: number): Promise<AuditEventRow[]> => {
    let q = db.selectFrom("audit_events").selectAll();
    if (filter.actor !== undefined) q = q.where("actor_name", "=", filter.actor);
    if (typeof target === "string") q = q.where("target_id", "=", target);
    else if (target !== undefined) q = q.where("target_id", "in", target);
    if (filter.targetName !== undefined) q = q.where("target_name", "=", filter.targetName);
    if (filter.targetType !== undefined) q = q.where("target_type", "=", filter.targetType);
    if (filter.action !== undefined) q = q.where("action", "=", filter.action);
    if (filter.outcome !== undefined) q = q.where("outcome", "=", filter.outcome);
    if (filter.from !== undefined) q = q.where("at", ">=", filter.from);
    if (filter.to !== undefined) q = q.where("at", "<", filter.to);
    if (beforeId !== undefined) q = q.where("id", "<", beforeId);
    return q.orderBy("id", "desc").limit(limit).execute();
  };
  return {
    /** One page, newest first, of events older than `beforeId` (keyset paging on the serial id). */
    async listPage(filter: AuditFilter, beforeId: number | undefined, limit: number): Promise<AuditEventRow[]> {
      if (filter.targetName === undefined || filter.targetId !== undefined) return page(filter, filter.targetId, beforeId, limit);
      // By name (migration 014g): the targets recorded under it. A few (a user, a renamed or remade
      // one) are each read by the target index in id order, their pages merged; more (a bulk action's
      // name is that of each of its runs) in one statement whose matches the store sorts.
      const targets = db.selectFrom("audit_target_names").select("target_id").where("target_name", "=", filter.targetName);
      const ids = (await targets.limit(MERGED_TARGETS + 1).execute()).map((t) => t.target_id);
      if (ids.length > MERGED_TARGETS) return page(filter, targets, beforeId, limit);
      const rows: AuditEventRow[] = [];
      for (const id of ids) rows.push(...(await page(filter, id, beforeId, limit)));
      return rows.sort((a, b) => b.id - a.id).slice(0, limit);
    },

    /** Every matching event, newest first, in keyset batches so memory stays flat. */
    listAll(filter: AuditFilter, beforeId?: number, batchSize = 1000): AsyncGenerator<AuditEventRow[]> {
      return keysetBatches((before, n) => this.listPage(filter, before, n), (e) => e.id, beforeId, batchSize);
    },
  };
}

export type AuditQueries = ReturnType<typeof createAuditQueries>;
