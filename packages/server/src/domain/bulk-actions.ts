import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { addressLockoutsOf, clearAddressLockouts, loginRefusal, type AddressLockout } from "../auth/login.js";
import { Sessions } from "../auth/sessions.js";
import { StoreBusy } from "../storage/busy.js";
import { becomeByHand, type GroupQueries } from "../storage/group-queries.js";
import type { BulkActionRow, Database, GroupRow, UserRow } from "../storage/schema.js";
import type { Store } from "../storage/store.js";
import { isoAfter, isoNow } from "../storage/time.js";
import { savepoint } from "../storage/savepoint.js";
import { createUserQueries, type UserFilter, type UserQueries } from "../storage/user-queries.js";
import { recordAudit, recordAuditRows, type Actor, type AuditEntry, userTarget } from "./audit.js";
import { DomainError } from "./errors.js";
import { assertSystemAdministratorRemains } from "./last-admin.js";
import { requireGroup, UUID_PATTERN } from "./lookups.js";
import { assertMayChangeAdministratorGroup } from "./role-rules.js";
import { ADMINISTRATOR_ROLES, SYSTEM_ADMINISTRATOR } from "./roles.js";
import { administratorsProfile, lockoutCleared, type AdminActor } from "./users.js";

/** A batch found its run no longer this process's to go on with (cancelled, or taken over by another process): rolled back. */
class NotRunningHere extends Error {}

export const BULK_ACTIONS = ["disable", "enable", "clear-lockout", "add-to-group", "remove-from-group", "delete"] as const;
export type BulkActionName = (typeof BULK_ACTIONS)[number];

/** Most ids one request may name; larger selections are sent as a filter. */
export const BULK_IDS_MAX = 10_000;
/** How many refusals the report keeps (the counts hold them all). */
const REPORT_MAX = 100;
/** A run whose heartbeat is older than this is taken over by another process. */
const STALE_SECONDS = 60;

export interface BulkActionSettings {
  /** Users a batch (one transaction) takes. */
  batchSize?: number;
  /** How old a run's heartbeat is when another process takes the run over. */
  staleSeconds?: number;
}

/** What to act on: the users matching a filter (as the users list), or users named by id. */
export type BulkSelection = { filter: UserFilter } | { ids: string[] };

export interface BulkActionRequest {
  action: BulkActionName;
  selection: BulkSelection;
  /** Group id (UUID) of add-to-group and remove-from-group. */
  groupId?: string;
}

/** The session or API key (uuid) a run was started with; the run lasts no longer than it lets its holder in. */
export interface StartedWith {
  sessionId: string | null;
  apiKeyId: string | null;
}

/** Whether a session or key still lets its holder in, read in the batch's transaction (auth/sessions.ts, auth/api-keys.ts). */
export interface CredentialChecks {
  sessions: { keepOpen(on: Kysely<Database>, sessionId: string): Promise<boolean> };
  apiKeys: { stillValid(on: Kysely<Database>, apiKeyId: string): Promise<boolean> };
}

/** Parameters kept with a run, enough for any process to go on with it. */
interface StoredParams {
  filter?: UserFilter;
  /** The filter as the caller sent it (ids as ids), to show. */
  filterInput?: Record<string, unknown>;
  ids?: string[];
  /** Group of a group action: uuid (shown) and serial id (used). */
  group?: { uuid: string; id: number; name: string };
}

export interface BulkRefusal {
  id: string;
  username: string;
  reason: string;
}

/** What one batch did to each user: changed, unchanged (nothing to do), or refused with a reason. */
interface BatchOutcome {
  changed: UserRow[];
  unchanged: number;
  refused: BulkRefusal[];
}


/**
 * Actions over many users, done by the server in batches. Each batch is one transaction holding its
 * changes, their audit events and the run's progress, so every node reads the same progress, and a
 * run whose process stopped goes on from its last committed batch in another (see resumeStale).
 *
 * Each user gets the rules of the single-user routes: only a system administrator acts on a system
 * administrator; built-in users are neither disabled nor deleted; a directory's users are neither
 * enabled nor disabled (their directory decides); a profile still in use is not deleted; the last
 * enabled system administrator stays. Users a rule keeps out are counted and
 * reported as refused; the others are changed.
 */
export function createBulkActions(
  store: Store,
  users: UserQueries,
  groups: GroupQueries,
  credentials: CredentialChecks,
  log: (error: unknown, message: string) => void,
  { batchSize = 1000, staleSeconds = STALE_SECONDS }: BulkActionSettings = {},
) {
  const { db } = store;
  const owner = randomUUID();
  const running = new Map<string, Promise<void>>();
  let stopping = false;

  /**
   * The roles a batch acts with: those its starter held when the run began and holds still, read in
   * the batch's transaction. As an import asks again every few seconds (http/auth-guard.ts
   * whileAuthorized), a run asks before each batch: it stops, with the reason as its error, once its
   * starter is gone, disabled, outside its validity window or without an administrator role, the
   * session or key that started it has ended (a logout, a password reset, a revoked key), or it may
   * no longer change the run's group (it has come to grant system-administrator).
   */
  async function starterRoles(trx: Kysely<Database>, job: BulkActionRow, params: StoredParams): Promise<string[]> {
    const stop = (why: string) => new DomainError("not-permitted", `The run stopped: ${why}.`, { requiredRoles: [...ADMINISTRATOR_ROLES] });
    const who = job.actor_name ?? "the administrator who started it";
    const starter = job.actor_id === null ? undefined : await trx.selectFrom("users").selectAll().where("id", "=", job.actor_id).executeTakeFirst();
    if (!starter) throw stop(`${who} no longer exists`);
    // What a token or key of theirs would need at its next use (no lockout: it stops logins only).
    if (loginRefusal(starter) !== null) throw stop(`${who} may no longer log in (disabled, or outside the account's validity window)`);
    // A run lasts no longer than what started it: a stolen token logged out, or a key revoked, stops it too.
    if (job.actor_session_id !== null && !(await credentials.sessions.keepOpen(trx, job.actor_session_id))) throw stop("the session that started it has ended (logged out, expired or revoked)");
    if (job.actor_api_key_id !== null && !(await credentials.apiKeys.stillValid(trx, job.actor_api_key_id))) throw stop("the API key that started it was revoked or has expired");
    // Never more than at the start: a role gained since does not widen whom the run acts on.
    const held = await createUserQueries({ ...store, db: trx }).roleNames(starter);
    const roles = (JSON.parse(job.actor_roles) as string[]).filter((role) => held.includes(role));
    if (!roles.some((role) => (ADMINISTRATOR_ROLES as readonly string[]).includes(role))) throw stop(`${who} no longer holds an administrator role`);
    const group = params.group && (await trx.selectFrom("groups").selectAll().where("id", "=", params.group.id).executeTakeFirst());
    if (group) {
      try {
        await assertMayChangeAdministratorGroup(groups, trx, group, roles);
      } catch (error) {
        throw error instanceof DomainError ? stop(`${error.message.replace(/\.$/, "")} (the group ${group.name} grants it now)`) : error;
      }
    }
    return roles;
  }

  /** Applies the action to one batch inside `trx`, with the roles starterRoles gave. */
  async function applyBatch(trx: Kysely<Database>, job: BulkActionRow, params: StoredParams, selected: readonly UserRow[], actorRoles: readonly string[]): Promise<BatchOutcome> {
    // The batch's users as they are now, held until the batch commits: one made a system administrator (a
    // profile assigned) or deleted since the selection was read is judged as it is.
    const batch =
      selected.length === 0 ? [] : await store.dialect.lockedForUpdate(trx.selectFrom("users").selectAll().where("id", "in", selected.map((u) => u.id)).orderBy("id")).execute();
    // Who holds system-administrator, read for the batch as assertMayAdminister reads it for one user.
    const queries = createUserQueries({ ...store, db: trx });
    const admins = await queries.holdingRole(SYSTEM_ADMINISTRATOR, batch);
    const adminsProfiles = actorRoles.includes(SYSTEM_ADMINISTRATOR) ? new Set<number>() : await queries.profilesOfHolders(SYSTEM_ADMINISTRATOR, batch);
    const refused: BulkRefusal[] = [];
    const eligible: UserRow[] = [];
    const refuse = (u: UserRow, reason: string) => refused.push({ id: u.uuid, username: u.username, reason });
    const action = job.action as BulkActionName;
    // Counted as processed, so said in the report: a user deleted by another since the selection was read.
    const held = new Set(batch.map((u) => u.id));
    for (const u of selected) if (!held.has(u.id)) refuse(u, "This user was deleted while the run went on.");
    for (const u of batch) {
      if (admins.has(u.id) && !actorRoles.includes(SYSTEM_ADMINISTRATOR)) refuse(u, "Only a system administrator may act on a system administrator.");
      else if (adminsProfiles.has(u.id)) refuse(u, administratorsProfile().message);
      else if (u.builtin === 1 && (action === "disable" || action === "delete")) refuse(u, `A built-in user cannot be ${action === "delete" ? "deleted" : "disabled"}.`);
      // One click over "all matching" that holds the caller's own account would end their session and lock them
      // out until another administrator came: that account is changed on its own, deliberately, or by another.
      else if (u.id === job.actor_id && (action === "disable" || action === "delete")) refuse(u, `Your own account is not ${action === "delete" ? "deleted" : "disabled"} by a bulk action: change it on its own.`);
      // As a PUT of the user refuses it: its directory's syncs would set it back.
      else if (u.directory_id !== null && (action === "disable" || action === "enable")) refuse(u, "The directory decides whether this user is enabled: change it there.");
      else eligible.push(u);
    }
    if (action === "delete") {
      const inUse = new Set(
        (await trx.selectFrom("users").select("profile_id").distinct().where("profile_id", "in", eligible.filter((u) => u.profile_id === 0).map((u) => u.id).concat([-2])).execute()).map(
          (r) => r.profile_id,
        ),
      );
      for (let i = eligible.length - 1; i >= 0; i--) {
        if (inUse.has(eligible[i]!.id)) refuse(eligible.splice(i, 1)[0]!, "The profile is still in use.");
      }
    }
    if (action === "remove-from-group") {
      // As one removal refuses it: the directory's next sync would add it back.
      const synced = await groups.syncedMembersOf(trx, params.group!.id, eligible.map((u) => u.id));
      for (let i = eligible.length - 1; i >= 0; i--) {
        if (synced.has(eligible[i]!.id)) refuse(eligible.splice(i, 1)[0]!, "A directory's sync made this membership: change it in the directory.");
      }
    }
    const ids = eligible.map((u) => u.id).concat([-1]);
    const now = isoNow();
    /** clear-lockout: each user's lockout and addresses as the clear found them (in its transaction), for its audit event. */
    let accountsBefore = new Map<number, Pick<UserRow, "locked_out_until" | "failed_logins">>();
    let addressesBefore = new Map<number, AddressLockout[]>();
    /** The writes of the action; answers the users it changed. */
    const write = async (): Promise<number[]> => {
      switch (action) {
        case "disable":
        case "enable": {
          const enabled = action === "enable" ? 1 : 0;
          const changed = (
            await trx
              .updateTable("users")
              .set({ enabled, version: sql<number>`version + 1`, updated_at: now })
              .where("id", "in", ids)
              .where("enabled", "=", 1 - enabled)
              .returning("id")
              .execute()
          ).map((r) => r.id);
          if (action === "disable" && changed.length > 0) await Sessions.revokeAllOf(trx, changed);
          return changed;
        }
        case "clear-lockout": {
          // A user counts as changed when its account or any of its addresses had something to clear.
          accountsBefore = new Map((await trx.selectFrom("users").select(["id", "locked_out_until", "failed_logins"]).where("id", "in", ids).execute()).map((u) => [u.id, u]));
          addressesBefore = await addressLockoutsOf(trx, ids);
          const cleared = await clearAddressLockouts(trx, ids);
          const accounts = await trx
            .updateTable("users")
            .set({ failed_logins: 0, lockout_count: 0, locked_out_until: null })
            .where("id", "in", ids)
            .where((eb) => eb.or([eb("locked_out_until", "is not", null), eb("failed_logins", ">", 0), eb("lockout_count", ">", 0)]))
            .returning("id")
            .execute();
          for (const r of accounts) cleared.add(r.id);
          return [...cleared];
        }
        case "add-to-group":
          // An empty VALUES list is not SQL. A membership a directory's sync or a provider's mapping made becomes one by hand, as with one user.
          return eligible.length === 0 ? [] : (
            await trx
              .insertInto("group_members")
              .values(eligible.map((u) => ({ group_id: params.group!.id, user_id: u.id })))
              .onConflict(becomeByHand)
              .returning("user_id")
              .execute()
          ).map((r) => r.user_id);
        case "remove-from-group":
          return (await trx.deleteFrom("group_members").where("group_id", "=", params.group!.id).where("user_id", "in", ids).returning("user_id").execute()).map((r) => r.user_id);
        case "delete":
          return (await trx.deleteFrom("users").where("id", "in", ids).where("builtin", "=", 0).returning("id").execute()).map((r) => r.id);
      }
    };
    // The kept documents (and PostgreSQL's search entries) are brought up to date once for the batch,
    // not row by row; a delete takes its rows' documents with it through the usual triggers.
    const changedIds =
      action === "delete"
        ? await write()
        : await store.dialect.batchUserWrites(trx, async () => {
            const changed = await write();
            // Users assigned to a changed profile show its groups too.
            const inheriting = params.group && changed.length > 0 ? (await trx.selectFrom("users").select("id").where("profile_id", "in", changed).execute()).map((r) => r.id) : [];
            // Enabled or a lockout change only the user's own fields: its document keeps its groups.
            return params.group
              ? { result: changed, documents: [...changed, ...inheriting], search: [], groups: [params.group.id] }
              : { result: changed, documents: [], ownFields: changed, search: [], groups: [] };
          });
    const changedSet = new Set(changedIds);
    const changed = eligible.filter((u) => changedSet.has(u.id));
    if (changed.some((u) => admins.has(u.id)) && action !== "enable" && action !== "clear-lockout" && action !== "add-to-group") {
      await assertSystemAdministratorRemains(trx);
    }
    const details = { bulkActionId: job.uuid };
    const group = params.group && { groupId: params.group.uuid, group: params.group.name };
    const entry = (u: UserRow): AuditEntry => {
      switch (action) {
        case "disable":
        case "enable":
          return { action: "user.update", target: userTarget(u), details: { ...details, before: { enabled: action === "enable" ? false : true }, after: { enabled: action === "enable" } } };
        case "clear-lockout":
          return { action: "user.lockout-cleared", target: userTarget(u), details: { ...details, ...lockoutCleared(accountsBefore.get(u.id) ?? u, addressesBefore.get(u.id) ?? []) } };
        case "add-to-group":
          return { action: "group.member.add", target: userTarget(u), details: { ...details, ...group } };
        case "remove-from-group":
          return { action: "group.member.remove", target: userTarget(u), details: { ...details, ...group } };
        case "delete":
          return { action: "user.delete", target: userTarget(u), details: { ...details, before: { username: u.username, enabled: u.enabled === 1 } } };
      }
    };
    await recordAuditRows(trx, store.dialect, actorOf(job), changed.map(entry));
    return { changed, unchanged: eligible.length - changed.length, refused };
  }

  function actorOf(job: BulkActionRow): Actor {
    return { id: job.actor_id, name: job.actor_name, sourceIp: job.source_ip };
  }

  /** The next batch of the selection after the run's cursor, and the cursor after it. */
  async function nextBatch(job: BulkActionRow, params: StoredParams): Promise<{ batch: UserRow[]; missing: string[]; cursor: string; last: boolean }> {
    if (params.ids) {
      const done = Number(job.cursor ?? "0");
      const slice = params.ids.slice(done, done + batchSize);
      const rows = slice.length === 0 ? [] : await db.selectFrom("users").selectAll().where("uuid", "in", slice).orderBy("username").execute();
      // Ids that name no user (deleted before their batch, or never there) are counted and reported, not dropped unsaid.
      const found = new Set(rows.map((u) => u.uuid));
      return { batch: rows, missing: slice.filter((id) => !found.has(id)), cursor: String(done + slice.length), last: done + slice.length >= params.ids.length };
    }
    const rows = await users.listPage(params.filter ?? {}, job.cursor ?? undefined, batchSize);
    return { batch: rows, missing: [], cursor: rows.length > 0 ? rows[rows.length - 1]!.username : (job.cursor ?? ""), last: rows.length < batchSize };
  }

  /**
   * One batch committed with the run's progress; undefined once this process no longer owns the run.
   * The heartbeat goes on while the batch is written (from outside its transaction): a batch slower than
   * staleSeconds would otherwise be taken over by another process, and taken back, without an end.
   */
  async function commitBatch(job: BulkActionRow, params: StoredParams, { batch, missing, cursor, last }: Awaited<ReturnType<typeof nextBatch>>): Promise<BulkActionRow | undefined> {
    const beat = () => db.updateTable("bulk_actions").set({ heartbeat_at: isoNow() }).where("id", "=", job.id).where("owner", "=", owner).where("status", "=", "running").execute();
    const heartbeat = setInterval(() => void beat().catch(() => undefined), (staleSeconds * 1000) / 3);
    try {
      return await commitOwnedBatch(job, params, batch, missing, cursor, last);
    } catch (error) {
      if (error instanceof NotRunningHere) return undefined;
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** commitBatch's work; throws NotRunningHere, rolling the batch back, when the run was cancelled or another process owns it by now. */
  async function commitOwnedBatch(job: BulkActionRow, params: StoredParams, batch: UserRow[], missing: readonly string[], cursor: string, last: boolean): Promise<BulkActionRow> {
    const step = async (trx: Kysely<Database>, rows: UserRow[], roles: readonly string[]): Promise<BatchOutcome> => applyBatch(trx, job, params, rows, roles);
    const finish = async (trx: Kysely<Database>, done: BatchOutcome): Promise<BulkActionRow> => {
      const outcome = { ...done, refused: done.refused.concat(missing.map((id) => ({ id, username: "", reason: "No user has this id: it was deleted before its batch, or never there." }))) };
      const report = (JSON.parse(job.report) as BulkRefusal[]).concat(outcome.refused).slice(0, REPORT_MAX);
      const processed = job.processed + batch.length + missing.length;
      const row = await trx
        .updateTable("bulk_actions")
        .set({
          processed,
          changed: job.changed + outcome.changed.length,
          unchanged: job.unchanged + outcome.unchanged,
          refused: job.refused + outcome.refused.length,
          report: JSON.stringify(report),
          cursor,
          heartbeat_at: isoNow(),
          ...(last ? { status: "done", finished_at: isoNow(), total: job.total === null ? processed : Math.max(job.total, processed) } : {}),
        })
        .where("id", "=", job.id)
        .where("owner", "=", owner)
        .where("status", "=", "running")
        .returningAll()
        .executeTakeFirst();
      // Cancelled meanwhile: this batch is not done either. Or another process took the run over (this
      // one's heartbeat went stale during a slow batch): it does this batch again from the cursor it
      // found, so this one's writes would be counted by nobody.
      if (!row) throw new NotRunningHere();
      return row;
    };
    try {
      return await db.transaction().execute(async (trx) => finish(trx, await step(trx, batch, await starterRoles(trx, job, params))));
    } catch (error) {
      if (!(error instanceof DomainError && error.kind === "refused")) throw error;
      // The batch would remove the last system administrator: user by user, so only that one is refused.
      return db.transaction().execute(async (trx) => {
        const roles = await starterRoles(trx, job, params);
        const outcome: BatchOutcome = { changed: [], unchanged: 0, refused: [] };
        for (const user of batch) {
          try {
            const part = await savepoint(trx, () => step(trx, [user], roles));
            outcome.changed.push(...part.changed);
            outcome.unchanged += part.unchanged;
            outcome.refused.push(...part.refused);
          } catch (e) {
            if (!(e instanceof DomainError && e.kind === "refused")) throw e;
            outcome.refused.push({ id: user.uuid, username: user.username, reason: e.message });
          }
        }
        return finish(trx, outcome);
      });
    }
  }

  /** Runs the job to its end in this process, batch by batch. */
  async function run(initial: BulkActionRow): Promise<void> {
    let job = initial;
    const params = JSON.parse(job.params) as StoredParams;
    try {
      if (job.total === null) {
        const total = params.ids ? params.ids.length : await users.count(params.filter ?? {});
        job = (await db.updateTable("bulk_actions").set({ total }).where("id", "=", job.id).returningAll().executeTakeFirst()) ?? job;
      }
      while (!stopping) {
        const next = await commitBatch(job, params, await nextBatch(job, params));
        if (!next || next.status !== "running") break;
        job = next;
      }
    } catch (error) {
      if (error instanceof StoreBusy) {
        // Not a failure of the run: it stays "running" with the batches it committed, and once its
        // heartbeat is stale resumeStale goes on with it (here or on another node).
        log(error, `bulk action ${job.uuid} paused: the store stayed busy; it goes on from its last batch`);
        return;
      }
      await db
        .updateTable("bulk_actions")
        .set({ status: "failed", error: error instanceof Error ? error.message : String(error), finished_at: isoNow() })
        .where("id", "=", job.id)
        .where("owner", "=", owner)
        .where("status", "=", "running")
        .execute()
        .catch(() => undefined);
    }
    const done = await db.selectFrom("bulk_actions").selectAll().where("id", "=", job.id).executeTakeFirst();
    if (done && done.status !== "running") {
      await recordAudit(db, actorOf(done), {
        action: "users.bulk-action.finish",
        target: { type: "bulk-action", id: done.uuid, name: done.action },
        outcome: done.status === "done" ? "success" : "failure",
        details: { status: done.status, processed: done.processed, changed: done.changed, unchanged: done.unchanged, refused: done.refused, ...(done.error ? { error: done.error } : {}) },
      }).catch(() => undefined);
    }
  }

  /** The run with this id, or not-found. */
  async function runOf(uuid: string): Promise<BulkActionRow> {
    const row = UUID_PATTERN.test(uuid) ? await db.selectFrom("bulk_actions").selectAll().where("uuid", "=", uuid.toLowerCase()).executeTakeFirst() : undefined;
    if (!row) throw new DomainError("not-found", "The specified bulk action does not exist.", { id: uuid });
    return row;
  }

  function launch(job: BulkActionRow): void {
    // A run that cannot even read its end (the store gone) is logged; its row says where it stands.
    const promise = run(job)
      .catch((error) => log(error, `bulk action ${job.uuid} could not record its end`))
      .finally(() => running.delete(job.uuid));
    running.set(job.uuid, promise);
  }

  return {
    /**
     * Checks the request and starts the run in this process; answers the stored run at once. A caller
     * who may not change the group is refused here; users a rule keeps out are refused one by one.
     */
    async start(actor: AdminActor, startedWith: StartedWith, request: BulkActionRequest, filterInput?: Record<string, unknown>): Promise<BulkActionRow> {
      const params: StoredParams = "ids" in request.selection ? { ids: checkedIds(request.selection.ids) } : { filter: request.selection.filter, filterInput };
      const groupAction = request.action === "add-to-group" || request.action === "remove-from-group";
      if (groupAction !== (request.groupId !== undefined)) {
        throw new DomainError("invalid", groupAction ? `${request.action} needs a groupId.` : `${request.action} takes no groupId.`, { field: "groupId" });
      }
      const now = isoNow();
      const job = await db.transaction().execute(async (trx) => {
        if (request.groupId !== undefined) {
          const group: GroupRow = await requireGroup(groups, request.groupId, trx);
          await assertMayChangeAdministratorGroup(groups, trx, group, actor.roles);
          params.group = { uuid: group.uuid, id: group.id, name: group.name };
        }
        const row = await trx
          .insertInto("bulk_actions")
          .values({
            uuid: randomUUID(),
            action: request.action,
            params: JSON.stringify(params),
            actor_id: actor.id,
            actor_name: actor.name,
            actor_roles: JSON.stringify(actor.roles),
            actor_session_id: startedWith.sessionId,
            actor_api_key_id: startedWith.apiKeyId,
            source_ip: actor.sourceIp,
            status: "running",
            total: params.ids ? params.ids.length : null,
            owner,
            heartbeat_at: now,
            created_at: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await recordAudit(trx, actor, {
          action: "users.bulk-action.start",
          target: { type: "bulk-action", id: row.uuid, name: row.action },
          details: { action: row.action, ...(params.filter ? { filter: params.filterInput ?? {} } : { ids: params.ids!.length }), ...(params.group ? { groupId: params.group.uuid, group: params.group.name } : {}) },
        });
        return row;
      });
      launch(job);
      return job;
    },

    /**
     * Stops a running run: the batch on its way when the cancel commits is rolled back, the batches
     * before it stay done. Audited; the run's finish event follows from the process running it.
     */
    async cancel(actor: Actor, uuid: string): Promise<BulkActionRow> {
      const run = await runOf(uuid);
      return db.transaction().execute(async (trx) => {
        const row = await trx.updateTable("bulk_actions").set({ status: "cancelled", finished_at: isoNow() }).where("id", "=", run.id).where("status", "=", "running").returningAll().executeTakeFirst();
        if (!row) {
          const { status } = await trx.selectFrom("bulk_actions").select("status").where("id", "=", run.id).executeTakeFirstOrThrow();
          throw new DomainError("refused", `The run has ended already (${status}): there is nothing to cancel.`, { status });
        }
        await recordAudit(trx, actor, { action: "users.bulk-action.cancel", target: { type: "bulk-action", id: row.uuid, name: row.action }, details: { processed: row.processed } });
        return row;
      });
    },

    get: runOf,

    /** The latest runs, newest first. */
    recent(limit: number): Promise<BulkActionRow[]> {
      return db.selectFrom("bulk_actions").selectAll().orderBy("id", "desc").limit(limit).execute();
    },

    /** Takes over the runs whose process stopped (stale heartbeat) and goes on with them here. */
    async resumeStale(): Promise<number> {
      const stale = await db.selectFrom("bulk_actions").select("uuid").where("status", "=", "running").where("heartbeat_at", "<", isoAfter(-staleSeconds)).execute();
      let taken = 0;
      for (const { uuid } of stale) {
        if (stopping || running.has(uuid)) continue;
        const job = await db
          .updateTable("bulk_actions")
          .set({ owner, heartbeat_at: isoNow() })
          .where("uuid", "=", uuid)
          .where("status", "=", "running")
          .where("heartbeat_at", "<", isoAfter(-staleSeconds))
          .returningAll()
          .executeTakeFirst();
        if (job) {
          launch(job);
          taken++;
        }
      }
      return taken;
    },

    /** Waits for the runs of this process to end (they stop after their current batch). */
    async stop(): Promise<void> {
      stopping = true;
      await Promise.all(running.values());
    },

    /** Settles when the run ends in this process (tests). */
    settled(uuid: string): Promise<void> {
      return running.get(uuid) ?? Promise.resolve();
    },
  };
}

function checkedIds(ids: readonly string[]): string[] {
  if (ids.length === 0 || ids.length > BULK_IDS_MAX) throw new DomainError("invalid", `ids must name 1 to ${BULK_IDS_MAX} users.`, { field: "ids" });
  const bad = ids.find((id) => !UUID_PATTERN.test(id));
  if (bad !== undefined) throw new DomainError("invalid", "ids must be user ids (UUIDs).", { field: "ids", id: bad });
  return [...new Set(ids.map((id) => id.toLowerCase()))];
}

export type BulkActions = ReturnType<typeof createBulkActions>;
