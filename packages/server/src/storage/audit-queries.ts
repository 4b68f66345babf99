import { sql, type Selectable, type SelectQueryBuilder } from "kysely";
import { fold } from "../domain/user-fields.js";
import type { AuditEventsTable, Database } from "./schema.js";
import { keysetBatches } from "./keyset.js";
import type { Store } from "./store.js";

export type AuditEventRow = Selectable<AuditEventsTable>;

/**
 * Filters of the audit log; all are exact matches except the time range. Names (actor, target) match
 * in any case, as logins tell names apart (domain/audit.ts nameKeyOf).
 */
export interface AuditFilter {
  /** Username of the actor as recorded (the event keeps it when the user is gone). */
  actor?: string;
  /** Target by its id (user or group UUID)… */
  targetId?: string;
  /** …or by a name it was recorded under. */
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

/** A target and one name it was recorded under. */
type TargetName = { target_id: string; target_name: string };
type TargetNames = SelectQueryBuilder<Database, "audit_target_names", TargetName>;

/** What an event's or a target's name is compared by (migration 014z's indexes). */
const actorKey = sql<string>`coalesce(actor_key, actor_name)`;
const targetKey = sql<string>`coalesce(target_key, target_name)`;

/** Reads the append-only audit log, newest first; writing is `recordAudit`'s job alone. */
export function createAuditQueries({ db }: Store) {
  /** A page of the events of one target (under one of its names), or of those `targets` selects. */
  const page = (filter: AuditFilter, target: string | TargetName | TargetNames | undefined, beforeId: number | undefined, limit: number): Promise<AuditEventRow[]> => {
    let q = db.selectFrom("audit_events").selectAll();
    if (filter.actor !== undefined) q = q.where(actorKey, "=", fold(filter.actor));
    if (typeof target === "string") q = q.where("target_id", "=", target);
    else if (target !== undefined && "target_id" in target) q = q.where("target_id", "=", target.target_id).where("target_name", "=", target.target_name);
    else if (target !== undefined) q = q.where((eb) => eb(eb.refTuple("target_id", "target_name"), "in", target.$asTuple("target_id", "target_name")));
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
      if (filter.targetName === undefined) return page(filter, filter.targetId, beforeId, limit);
      // By name (migrations 014g, 014z): the targets recorded under it, in any case, each with the
      // names of that key it had (events before 014z keep no key of their own). A few (a user, a
      // renamed or remade one) are each read by the target index in id order, their pages merged;
      // more (a bulk action's name is that of each of its runs) in one statement whose matches the store sorts.
      let targets = db.selectFrom("audit_target_names").select(["target_id", "target_name"]).where(targetKey, "=", fold(filter.targetName));
      if (filter.targetId !== undefined) targets = targets.where("target_id", "=", filter.targetId);
      const named = await targets.limit(MERGED_TARGETS + 1).execute();
      if (named.length > MERGED_TARGETS) return page(filter, targets, beforeId, limit);
      const rows: AuditEventRow[] = [];
      for (const target of named) rows.push(...(await page(filter, target, beforeId, limit)));
      return rows.sort((a, b) => b.id - a.id).slice(0, limit);
    },

    /** Every matching event, newest first, in keyset batches so memory stays flat. */
    listAll(filter: AuditFilter, beforeId?: number, batchSize = 1000): AsyncGenerator<AuditEventRow[]> {
      return keysetBatches((before, n) => this.listPage(filter, before, n), (e) => e.id, beforeId, batchSize);
    },
  };
}

export type AuditQueries = ReturnType<typeof createAuditQueries>;
