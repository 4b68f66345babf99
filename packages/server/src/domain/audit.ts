import { sql, type Kysely } from "kysely";
import { keyNames, namesToKey } from "../storage/audit-names.js";
import { asStoreBusy } from "../storage/busy.js";
import type { StoreDialect } from "../storage/dialect/dialect.js";
import type { Database } from "../storage/schema.js";
import { countHit } from "../storage/rate-counters.js";
import { isoAfter, isoNow } from "../storage/time.js";

/** Who did something, from where: taken from the authenticated request. */
export interface Actor {
  id: number | null;
  name: string | null;
  sourceIp: string | null;
}

/**
 * Every action the server records, the one list of them, sorted: an event's action is one of these (the
 * compiler holds recordAudit to it), and GET /security/v1/audit-events/actions answers them (the
 * console suggests them in the audit log's filter).
 */
export const AUDIT_ACTIONS = [
  "api-key.create",
  "api-key.revoke",
  "audit.not-recorded",
  "auth.backchannel-logout",
  "auth.login",
  "auth.logout",
  "auth.provider-login",
  "auth.reauthenticate",
  "directory.create",
  "directory.delete",
  "directory.sync",
  "directory.sync-start",
  "directory.update",
  "group.create",
  "group.delete",
  "group.member.add",
  "group.member.remove",
  "group.role.grant",
  "group.role.revoke",
  "group.update",
  "identity-provider.create",
  "identity-provider.delete",
  "identity-provider.update",
  "security.export",
  "signing-key.rotate",
  "system.bootstrap",
  "system.seed",
  "user.create",
  "user.delete",
  "user.disable",
  "user.groups-mapped",
  "user.import",
  "user.link",
  "user.locked-out",
  "user.lockout-cleared",
  "user.password-change",
  "user.password-expired",
  "user.password-rehashed",
  "user.password-reset",
  "user.unlink",
  "user.update",
  "users.bulk-action.cancel",
  "users.bulk-action.finish",
  "users.bulk-action.start",
  "users.export-csv",
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  action: AuditAction;
  target?: { type: string; id: string; name?: string | null };
  outcome?: "success" | "failure";
  /** Before/after of changed fields and other context; never secrets. */
  details?: Record<string, unknown>;
  /**
   * Events with the same key are one row whose count grows (repeated failed logins): the key names
   * what makes them alike, including the period they share.
   */
  aggregateKey?: string;
}

/** The audit target naming a user or a group. */
export const userTarget = (u: { uuid: string; username: string }) => ({ type: "user", id: u.uuid, name: u.username });
export const groupTarget = (g: { uuid: string; name: string }) => ({ type: "group", id: g.uuid, name: g.name });

/**
 * `entry` made one with the like events of the same minute: the same action, address, actor, target
 * and details. What an anonymous caller can repeat without end is recorded so, a row a minute.
 */
export function perMinute(actor: Actor, entry: AuditEntry): AuditEntry & { aggregateKey: string } {
  const { action, target, details } = entry;
  return { ...entry, aggregateKey: [action, actor.sourceIp, actor.id, target?.type, target?.id, JSON.stringify(details ?? {}), isoNow().slice(0, 16)].join("|") };
}

/** Append-only audit log. Pass the transaction's `db` so the event commits with the change it records. */
export async function recordAudit(db: Kysely<Database>, actor: Actor, entry: AuditEntry): Promise<void> {
  await recordAuditMany(db, actor, [entry]);
}

/** Several events of one actor in one statement (a bulk action's batch). */
export async function recordAuditMany(db: Kysely<Database>, actor: Actor, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const at = isoNow();
  await insertAuditRows(db, entries.map((entry) => auditRow(actor, entry, at)));
}

/** Inserts audit rows; an aggregated one whose key is there already adds its count to that row's. */
async function insertAuditRows(db: Kysely<Database>, rows: readonly ReturnType<typeof auditRow>[]): Promise<void> {
  await withNamesKeyed(db, rows, (trx) =>
    trx
      .insertInto("audit_events")
      .values(rows)
      .$if(rows.some((row) => row.aggregate_key !== null), (q) =>
        q.onConflict((oc) => oc.column("aggregate_key").doUpdateSet({ count: sql<number>`audit_events.count + excluded.count` })),
      )
      .execute(),
  );
}

/** `insert` of `rows`, then the keys of their names beyond ASCII (storage/audit-names.ts) in the same transaction: no name is left without its key. */
async function withNamesKeyed(db: Kysely<Database>, rows: readonly ReturnType<typeof auditRow>[], insert: (trx: Kysely<Database>) => Promise<unknown>): Promise<void> {
  const names = namesToKey(rows);
  if (names === undefined) {
    await insert(db);
    return;
  }
  const write = async (trx: Kysely<Database>) => {
    await insert(trx);
    await keyNames(trx, names);
  };
  await (db.isTransaction ? write(db) : db.transaction().execute(write));
}

/** Many events of one actor (none aggregated) from one JSON parameter: a directory sync's batch writes thousands. */
export async function recordAuditRows(db: Kysely<Database>, dialect: StoreDialect, actor: Actor, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  if (entries.some((entry) => entry.aggregateKey !== undefined)) throw new Error("aggregated events are recorded by recordAuditMany");
  const at = isoNow();
  const rows = entries.map((entry) => auditRow(actor, entry, at));
  await withNamesKeyed(db, rows, (trx) => dialect.insertJson(trx, "audit_events", Object.keys(rows[0]!), rows));
}

/** The action of the event that counts, per kind and minute, the anonymous refusals not recorded as their own rows. */
export const NOT_RECORDED: AuditAction = "audit.not-recorded";

type Counted = { row: ReturnType<typeof auditRow>; count: number };

/**
 * Aggregated events that an anonymous caller can cause without limit (refused logins of unknown
 * names, attempts a rate limit refused, refused provider callbacks, codes and logout tokens), counted
 * in memory and written every `flushMs`, all in one statement: a flood costs the store one write a
 * second per process, not one per request. The counts of the last interval are lost if the process
 * dies; close() writes them. A write that fails keeps its counts for the next.
 *
 * Many addresses each under their limits still make new rows (one per address, target and minute):
 * at most `newRowsPerMinute` a minute of anonymous callers' (no actor) are written, every process
 * and node together (a counter in the store); the others are counted in one `audit.not-recorded`
 * event per kind (action) and minute, whose count says how many refusals it stands for. 0: no cap.
 */
export class AuditTally {
  private pending = new Map<string, Counted>();
  private readonly timer: NodeJS.Timeout;
  /** The write under way: a flush waits for it, so what was counted before it is stored when it returns. */
  private writing: Promise<void> = Promise.resolve();
  /** Keys this process has a row for in `minute`: their counts add to it, no new row, so they take none of the minute's rows. */
  private written = new Set<string>();
  private minute = "";

  constructor(
    private readonly db: Kysely<Database>,
    onError: (error: unknown) => void,
    flushMs = 1000,
    private readonly newRowsPerMinute = 0,
  ) {
    this.timer = setInterval(() => void this.flush().catch(onError), flushMs);
    this.timer.unref();
  }

  /** Counts one event; like events (same `aggregateKey`) become one row whose count grows. */
  add(actor: Actor, entry: AuditEntry & { aggregateKey: string }): void {
    const known = this.pending.get(entry.aggregateKey);
    if (known) known.count++;
    else this.pending.set(entry.aggregateKey, { row: auditRow(actor, entry, isoNow()), count: 1 });
  }

  /**
   * Writes the counts so far; those a failed write did not store (a busy store) are kept for the next
   * one. One write at a time: a flush asked for (close, a test reading the log) while the timer's write
   * is under way returns once that write is done too, not at once because its counts were taken.
   */
  flush(): Promise<void> {
    const write = this.writing.then(() => this.write());
    this.writing = write.catch(() => {});
    return write;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const taken = [...this.pending];
    this.pending = new Map();
    let entries: [string, Counted][];
    try {
      entries = await this.withinRowCap(taken);
    } catch (error) {
      if (asStoreBusy(error)) this.putBack(taken);
      throw error;
    }
    // In key order: two processes upserting the same keys then lock them in one order (PostgreSQL).
    entries.sort(([a], [b]) => (a < b ? -1 : 1));
    // A statement's bound values are limited (SQLite: 32 766): 12 a row.
    for (let i = 0; i < entries.length; i += 1000) {
      try {
        await insertAuditRows(this.db, entries.slice(i, i + 1000).map(([, { row, count }]) => ({ ...row, count })));
      } catch (error) {
        // A busy store wrote none of this statement's rows: these and the rest go back, with what was
        // counted meanwhile. Any other failure drops them (kept, they would grow without end).
        if (!asStoreBusy(error)) throw error;
        this.putBack(entries.slice(i));
        throw error;
      }
    }
  }

  private putBack(entries: readonly [string, Counted][]): void {
    for (const [key, unwritten] of entries) {
      const meanwhile = this.pending.get(key);
      this.pending.set(key, { row: unwritten.row, count: unwritten.count + (meanwhile?.count ?? 0) });
    }
  }

  /** `entries` with those that would make a row past this minute's cap counted in their kind's `audit.not-recorded` event instead. */
  private async withinRowCap(entries: [string, Counted][]): Promise<[string, Counted][]> {
    if (this.newRowsPerMinute === 0) return entries;
    const minute = isoNow().slice(0, 16);
    if (minute !== this.minute) {
      this.written = new Set();
      this.minute = minute;
    }
    // A logged-in user's refusals are bounded by its own limits: only anonymous callers' new rows take from the cap.
    const takesRoom = ([key, counted]: [string, Counted]) => counted.row.actor_id === null && !this.written.has(key) && !key.startsWith(`${NOT_RECORDED}|`);
    const fresh = entries.filter(takesRoom).length;
    if (fresh === 0) return entries;
    // This minute's rows, every process and node together (kept two minutes: a clock a little behind still finds it).
    const { hits } = await countHit(this.db, `audit-rows|${minute}`, 120_000, Date.now(), fresh);
    let room = Math.max(0, this.newRowsPerMinute - (hits - fresh));
    const kept: [string, Counted][] = [];
    const notRecorded = new Map<string, Counted>();
    for (const entry of entries) {
      const [key, counted] = entry;
      if (!takesRoom(entry) || room > 0) {
        if (takesRoom(entry)) room--;
        this.written.add(key);
        kept.push(entry);
        continue;
      }
      const aggregateKey = [NOT_RECORDED, counted.row.action, minute].join("|");
      const summary = notRecorded.get(aggregateKey);
      if (summary) summary.count += counted.count;
      else {
        const entry = { action: NOT_RECORDED, outcome: "failure" as const, details: { action: counted.row.action, rowsPerMinute: this.newRowsPerMinute }, aggregateKey };
        notRecorded.set(aggregateKey, { row: auditRow({ id: null, name: null, sourceIp: null }, entry, isoNow()), count: counted.count });
      }
    }
    return [...kept, ...notRecorded];
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

/** The audit_events row of an event. */
export function auditRow(actor: Actor, entry: AuditEntry, at: string) {
  return {
    at,
    actor_id: actor.id,
    actor_name: actor.name,
    action: entry.action,
    target_type: entry.target?.type ?? null,
    target_id: entry.target?.id ?? null,
    target_name: entry.target?.name ?? null,
    source_ip: actor.sourceIp,
    outcome: entry.outcome ?? "success",
    details: entry.details ? JSON.stringify(entry.details) : null,
    aggregate_key: entry.aggregateKey ?? null,
  };
}

/** The names of `targets` under which no event is left (migration 014g): a deleted user's name goes with its last event. */
async function forgetTargetNames(db: Kysely<Database>, targets: readonly { target_name: string | null; target_id: string | null }[]): Promise<void> {
  const pairs = new Map<string, [string, string]>();
  for (const { target_name: name, target_id: id } of targets) if (name !== null && id !== null) pairs.set(`${id}\u0000${name}`, [name, id]);
  const all = [...pairs.values()];
  // A statement's bound values are limited (SQLite: 32 766): two a name.
  for (let i = 0; i < all.length; i += 1000) {
    await db
      .deleteFrom("audit_target_names as n")
      .where((eb) => eb(eb.refTuple("n.target_name", "n.target_id"), "in", all.slice(i, i + 1000).map(([name, id]) => eb.tuple(name, id))))
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom("audit_events as e").select("e.id").whereRef("e.target_id", "=", "n.target_id").whereRef("e.target_name", "=", "n.target_name"))),
      )
      .execute();
  }
}

/** The actor names of `events` of whom no event is left (migration 014z): a deleted user's name goes with their last event. */
async function forgetActorNames(db: Kysely<Database>, events: readonly { actor_name: string | null }[]): Promise<void> {
  const names = [...new Set(events.flatMap((e) => (e.actor_name === null ? [] : [e.actor_name])))];
  for (let i = 0; i < names.length; i += 1000) {
    await db
      .deleteFrom("audit_actor_names as n")
      .where("n.actor_name", "in", names.slice(i, i + 1000))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom("audit_events as e").select("e.id").whereRef("e.actor_name", "=", "n.actor_name"))))
      .execute();
  }
}

/**
 * Deletes the events older than `retentionDays` (0: keeps everything), a batch at a time so that no
 * statement holds the table for long. Several processes may run it at once: a row one of them
 * deletes the others skip; so does the name of a target or an actor whose last event goes. Returns how many rows this call deleted.
 */
export async function pruneAudit(db: Kysely<Database>, retentionDays: number, batchSize = 10_000): Promise<number> {
  if (retentionDays === 0) return 0;
  const before = isoAfter(-retentionDays * 86_400);
  let deleted = 0;
  for (;;) {
    const batch = db.selectFrom("audit_events").select("id").where("at", "<", before).orderBy("id").limit(batchSize);
    const gone = await db.deleteFrom("audit_events").where("id", "in", batch).returning(["target_name", "target_id", "actor_name"]).execute();
    await forgetTargetNames(db, gone);
    await forgetActorNames(db, gone);
    deleted += gone.length;
    if (gone.length < batchSize) return deleted;
  }
}
