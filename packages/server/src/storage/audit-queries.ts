import type { Selectable, SelectQueryBuilder } from "kysely";
import { fold } from "../domain/user-fields.js";
import type { AuditEventsTable, Database } from "./schema.js";
import { keysetBatches } from "./keyset.js";
import type { Store } from "./store.js";

export type AuditEventRow = Selectable<AuditEventsTable>;

/**
 * Filters of the audit log; all are exact matches except the time range. Names (actor, target) match
 * in any case (`fold`), as logins tell names apart: by the keys of the names recorded, written with their events (storage/audit-names.ts).
 */
export interface AuditFilter {
  /** Username of the actor, in any case (the event keeps it when the user is gone). */
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

/** The targets of a name, or the actor names of a key, whose events are read apart and merged, at most. */
const MERGED_PAGES = 16;

/** A target and one name it was recorded under. */
type TargetName = { target_id: string; target_name: string };
type TargetNames = SelectQueryBuilder<Database, "audit_target_names", TargetName>;

/** The newest `limit` of the pages `pages` reads one after the other. */
async function merged(pages: (() => Promise<AuditEventRow[]>)[], limit: number): Promise<AuditEventRow[]> {
  const rows: AuditEventRow[] = [];
  for (const read of pages) rows.push(...(await read()));
  return rows.sort((a, b) => b.id - a.id).slice(0, limit);
}

/** Reads the append-only audit log, newest first; writing is `recordAudit`'s job alone. */
export function createAuditQueries({ db }: Store) {
  /** A page of the events of `actors` (names as recorded), of one target (under one of its names) or of those `targets` selects. */
  const page = (filter: AuditFilter, actors: readonly string[] | undefined, target: string | TargetName | TargetNames | undefined, beforeId: number | undefined, limit: number): Promise<AuditEventRow[]> => {
    let q = db.selectFrom("audit_events").selectAll();
    if (actors?.length === 1) q = q.where("actor_name", "=", actors[0]!);
    else if (actors !== undefined) q = q.where("actor_name", "in", actors);
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
    listPage: readPage,

    /** Every matching event, newest first, in keyset batches so memory stays flat. */
    listAll(filter: AuditFilter, beforeId?: number, batchSize = 1000): AsyncGenerator<AuditEventRow[]> {
      return keysetBatches((before, n) => readPage(filter, before, n), (e) => e.id, beforeId, batchSize);
    },
  };

  async function readPage(filter: AuditFilter, beforeId: number | undefined, limit: number): Promise<AuditEventRow[]> {
    // By actor (migration 014z): the actor names recorded of that key (one, or a few spellings). A
    // few are each read by the index on actor_name in id order, their pages merged, unless a target
    // is read by its own index; more in one statement whose matches the store sorts.
    const actors = filter.actor === undefined ? undefined : (await db.selectFrom("audit_actor_names").select("actor_name").where("actor_key", "=", fold(filter.actor)).execute()).map((a) => a.actor_name);
    if (actors?.length === 0) return [];
    if (filter.targetName === undefined) {
      if (actors === undefined || actors.length === 1 || actors.length > MERGED_PAGES || filter.targetId !== undefined) return page(filter, actors, filter.targetId, beforeId, limit);
      return merged(actors.map((actor) => () => page(filter, [actor], undefined, beforeId, limit)), limit);
    }
    // By name (migrations 014g, 014z): the targets recorded under a name of that key, each with
    // those of its names. A few (a user, a renamed or remade one) are each read by the target index
    // in id order, their pages merged; more (a bulk action's name is that of each of its runs) in
    // one statement whose matches the store sorts.
    let targets = db.selectFrom("audit_target_names").select(["target_id", "target_name"]).where("target_key", "=", fold(filter.targetName));
    if (filter.targetId !== undefined) targets = targets.where("target_id", "=", filter.targetId);
    const named = await targets.limit(MERGED_PAGES + 1).execute();
    if (named.length > MERGED_PAGES) return page(filter, actors, targets, beforeId, limit);
    return merged(named.map((target) => () => page(filter, actors, target, beforeId, limit)), limit);
  }
}

export type AuditQueries = ReturnType<typeof createAuditQueries>;
