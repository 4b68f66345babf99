import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { SecretBox } from "../auth/secret-box.js";
import { Sessions } from "../auth/sessions.js";
import { recordAudit, recordAuditMany, type Actor, userTarget } from "../domain/audit.js";
import { DomainError, notFound, staleVersion } from "../domain/errors.js";
import { namersAmong, type GroupNamer, type GroupReferences } from "../domain/groups.js";
import { UUID_PATTERN } from "../domain/lookups.js";
import { assertSystemAdministratorRemains } from "../domain/last-admin.js";
import { assertGroupName } from "../domain/names.js";
import { assertMayConfigureLoginSource, hasSystemAdministratorMember, madeBySystemAdministrator } from "../domain/role-rules.js";
import { SYSTEM_ADMINISTRATOR } from "../domain/roles.js";
import type { AdminActor } from "../domain/users.js";
import { checkPrecondition, type Precondition } from "../domain/versioned.js";
import { isUniqueViolation } from "../storage/constraints.js";
import { createDirectoryQueries, INTERRUPTED_MESSAGE, type RunCounts } from "../storage/directory-queries.js";
import type { Database, SyncRunRow } from "../storage/schema.js";
import type { Store } from "../storage/store.js";
import { isoAfter, isoNow } from "../storage/time.js";
import { auditedSettings, mergeDirectory, toDirectory, toRowValues, type Directory, type DirectoryInput } from "./config.js";
import { binaryAttributes, EntryValues, mapUser, userAttributes, type EntryProblem, type MappedUser } from "./entries.js";
import { DirectoryConnection, DirectoryError, type DirectoryStep } from "./ldap.js";
import { directoryCredentials } from "./bind.js";
import { DirectorySync, PROBLEMS_MAX } from "./sync.js";

/**
 * External user storage as the API sees it: configurations (validated, the bind password sealed,
 * every change audited), connection tests, syncs started by hand or by the clock, their progress.
 *
 * One node at a time syncs a directory: it holds the directory's lease in the store
 * (`directory_sync_state`), renews it while it runs and gives it back at the end. A node that stops
 * (even `kill -9`) lets it run out; a node starting up, the scheduler's next look, or the next run,
 * whichever comes first, takes the lease and closes that run as interrupted, with its audit event.
 * Every node reads the progress from the store. Every node looks for due periodic syncs; the lease, taken
 * only while the sync is still due, lets exactly one of them run it.
 */

export interface DirectoryTiming {
  /** Seconds a node holds a directory's lease without renewing it. */
  leaseSeconds: number;
  /** Seconds between a node's looks for due periodic syncs (0: never). */
  schedulerSeconds: number;
}

export type SyncMode = "full" | "changed";

/** `GET …/sync`: the current or last run. */
export interface SyncRunView extends RunCounts {
  id: number;
  state: "running" | "succeeded" | "failed" | "interrupted";
  mode: SyncMode;
  forced: boolean;
  startedBy: string | null;
  startedAt: string;
  finishedAt: string | null;
  usersPerSecond: number;
  problems: EntryProblem[];
  message: string | null;
}

export interface TestStep {
  step: DirectoryStep;
  ok: boolean;
  message: string;
}

/** What a connection test found, in words. */
export interface TestResult {
  ok: boolean;
  message: string;
  server: string | null;
  steps: TestStep[];
  /** Users the filter finds (counted up to TEST_COUNT_MAX). */
  usersFound: number | null;
  usersFoundCapped: boolean;
  /** Three users as they would be imported. */
  sample: (Omit<MappedUser, "dnKey" | "key" | "primaryGroup"> & { uniqueId: string })[];
}

/** A connection test counts this many users at most (a million would take a while). */
const TEST_COUNT_MAX = 100_000;

const directoryTarget = (d: Pick<Directory, "uuid" | "name">) => ({ type: "directory", id: d.uuid, name: d.name });

function toRunView(run: SyncRunRow, leaseSeconds: number, now = Date.now()): SyncRunView {
  // A run whose node stopped renewing it is over, whether or not another node has noticed yet.
  const stale = run.state === "running" && Date.parse(run.heartbeat_at) < now - leaseSeconds * 1000;
  const end = run.finished_at ? Date.parse(run.finished_at) : stale ? Date.parse(run.heartbeat_at) : now;
  const seconds = Math.max(0.001, (end - Date.parse(run.started_at)) / 1000);
  return {
    id: run.id,
    state: (stale ? "interrupted" : run.state) as SyncRunView["state"],
    mode: run.mode as SyncMode,
    forced: run.forced === 1,
    startedBy: run.started_by,
    startedAt: run.started_at,
    finishedAt: run.finished_at,
    seen: run.seen,
    created: run.created,
    updated: run.updated,
    disabled: run.disabled,
    unchanged: run.unchanged,
    failed: run.failed,
    joined: run.joined,
    left: run.left,
    usersPerSecond: Math.round(run.seen / seconds),
    problems: JSON.parse(run.problems) as EntryProblem[],
    message: run.message ?? (stale ? INTERRUPTED_MESSAGE : null),
  };
}

const LEASE_LOST = "another node took over this directory's sync (the lease ran out)";
const DISABLED_MEANWHILE = "the directory was disabled while it ran";

/** The local groups a directory's settings fill. */
const groupsNamed = (d: Pick<Directory, "groupMappings">) => d.groupMappings.map((m) => m.localGroupId);

/** The directories whose groupMappings name these groups, as a refusal to delete them names them. */
export async function directoriesNamingGroups(on: Kysely<Database>, groupUuids: readonly string[]): Promise<GroupNamer[]> {
  // A few rows of settings: read whole, the ids are inside their JSON.
  const directories = (await on.selectFrom("directories").selectAll().execute()).map(toDirectory);
  return namersAmong(directories, groupUuids, groupsNamed, (d) => ({ by: `directory "${d.name}" (groupMappings)`, directoryId: d.id }));
}

export function createDirectoryService(store: Store, secrets: SecretBox, timing: DirectoryTiming, namedBy: GroupReferences, log: (error: unknown, message: string) => void, now?: () => number) {
  const { db } = store;
  const queries = createDirectoryQueries(db, store.dialect);
  /** Logins by directory bind, with the connections they keep. */
  const credentials = directoryCredentials(queries, secrets, now);
  /** This process's name in the leases. */
  const owner = randomUUID();
  /** Its name while it closes another node's interrupted runs. */
  const sweeper = randomUUID();
  /** Syncs running here, by directory id. */
  const running = new Map<number, { promise: Promise<void>; controller: AbortController }>();
  let timer: NodeJS.Timeout | undefined;
  /** The look for interrupted runs made at start. */
  let startup: Promise<void> | undefined;
  let stopping = false;

  async function load(uuid: string, on: Kysely<Database> = db): Promise<Directory> {
    const row = UUID_PATTERN.test(uuid) ? await queries.findByUuid(uuid, on) : undefined;
    if (!row) throw notFound("directory", uuid);
    return toDirectory(row);
  }

  /** Local groups a change names in groupMappings must exist and be local (those it names already are not asked about again). */
  async function checkGroups(on: Kysely<Database>, d: Pick<Directory, "groupMappings">, current?: Pick<Directory, "groupMappings">): Promise<void> {
    const known = new Set(current ? groupsNamed(current) : []);
    const ids = [...new Set(groupsNamed(d))].filter((id) => !known.has(id));
    if (ids.length === 0) return;
    // Locked until the change commits: a delete of one waits for it, and then sees it named (domain/groups.ts remove).
    const found = new Set((await store.dialect.lockedAgainstDelete(on.selectFrom("groups").select("uuid").where("uuid", "in", ids).where("directory_id", "is", null)).execute()).map((g) => g.uuid));
    const missing = ids.find((id) => !found.has(id));
    if (missing) throw new DomainError("invalid", "A localGroupId of groupMappings is not a local group.", { field: "groupMappings", groupId: missing });
  }

  /**
   * A new name, or a name changed, is one as a group's is (it names imported groups whose names are taken),
   * told apart from the others without regard to case. One saved before these rules stops no other change.
   */
  async function checkName(on: Kysely<Database>, name: string, current?: Directory): Promise<void> {
    if (name === current?.name) return;
    assertGroupName("name", name);
    const alike = await on.selectFrom("directories").select("name").where(sql<string>`lower(name)`, "=", name.toLowerCase()).$if(current !== undefined, (q) => q.where("id", "!=", current!.id)).executeTakeFirst();
    if (alike) throw new DomainError("name-taken", `A directory with this name already exists: ${alike.name} (names are told apart without regard to case).`, { field: "name", existing: alike.name });
  }

  const openPassword = (d: Pick<Directory, "sealedBindPassword">) => (d.sealedBindPassword === null ? null : secrets.open(d.sealedBindPassword));

  /** A sync in the background; the lease is held already. */
  function launch(d: Directory, runId: number, mode: SyncMode, force: boolean, startedBy: Actor): void {
    const controller = new AbortController();
    // Between batches the run's progress, just written, carries its heartbeat (`progressWritten`).
    const renew = async (progressWritten = false) => {
      if (!(await queries.renewLease(d.id, owner, isoAfter(timing.leaseSeconds)))) throw new Error(LEASE_LOST);
      // Other nodes judge the run by its heartbeat: without this, a run still reading its groups past the lease would look interrupted.
      if (!progressWritten) await queries.touchRun(runId, isoNow());
      await stillEnabled(db);
    };
    // A disabled (or deleted) directory syncs nothing, on any node: a run under way stops at its next batch,
    // asked in that batch's transaction (so a disable committed before it begins writes nothing), and
    // between batches, where the groups pass or a slow page would otherwise go on.
    const stillEnabled = async (on: Kysely<Database>) => {
      const row = await on.selectFrom("directories").select("enabled").where("id", "=", d.id).executeTakeFirst();
      if (row?.enabled !== 1) throw new Error(DISABLED_MEANWHILE);
    };
    // Also between batches that take long (a slow search page). A renewal that fails (the lease taken
    // over, the store still busy) stops the run, which says why.
    const keepAlive = setInterval(() => void renew().catch((error) => controller.abort(error)), (timing.leaseSeconds * 1000) / 3);
    keepAlive.unref();
    // The lease goes back in the transaction that ends the run; what this process holds of the run,
    // once it has committed (the store may turn it away: then below).
    let ended = false;
    const ending = (trx: Kysely<Database>) => queries.releaseLease(d.id, owner, trx);
    const onEnded = () => {
      clearInterval(keepAlive);
      running.delete(d.id);
      ended = true;
    };
    // In each batch's transaction: a node paused past its lease (another took over) writes nothing when it wakes.
    // PostgreSQL locks the row, so that a takeover waits for a batch begun in time instead of writing beside it.
    const leaseHeld = async (trx: Kysely<Database>) => {
      const held = await store.dialect.lockedForUpdate(trx.selectFrom("directory_sync_state").select("directory_id").where("directory_id", "=", d.id).where("lease_owner", "=", owner).where("lease_until", ">", isoNow())).executeTakeFirst();
      if (!held) throw new Error(LEASE_LOST);
      await stillEnabled(trx);
    };
    const sync = new DirectorySync({ store, queries, directory: d, bindPassword: openPassword(d), runId, mode, force, startedBy, heartbeat: () => renew(true), leaseHeld, ending, ended: onEnded, signal: controller.signal });
    const promise = sync
      .run()
      .then(() => undefined, (error) => log(error, "directory sync failed"))
      .finally(async () => {
        clearInterval(keepAlive);
        if (ended) return;
        // A run that could not write its end: the lease runs out by itself if this fails too.
        await queries.releaseLease(d.id, owner).catch((error) => log(error, "releasing a directory lease failed"));
        running.delete(d.id);
      });
    running.set(d.id, { promise, controller });
  }

  /**
   * Closes the runs a node that stopped left running (the caller holds the directory's lease): each
   * interrupted, with its message, and audited as the run's end — who started it, its counts.
   */
  async function closeInterrupted(trx: Kysely<Database>, directoryId: number, now: string): Promise<void> {
    const runs = await queries.closeInterrupted(trx, directoryId, now);
    if (runs.length === 0) return;
    const d = await queries.findById(directoryId, trx);
    if (!d) return;
    for (const run of runs) {
      const { seen, created, updated, disabled, unchanged, failed, joined, left } = run;
      await recordAudit(trx, { id: null, name: run.started_by, sourceIp: null }, {
        action: "directory.sync",
        target: directoryTarget(d),
        outcome: "failure",
        details: { runId: run.id, mode: run.mode, forced: run.forced === 1, seen, created, updated, disabled, unchanged, failed, joined, left, interrupted: true, message: INTERRUPTED_MESSAGE },
      });
    }
  }

  /**
   * Closes the runs of nodes that stopped, wherever their lease ran out: a node that starts, and the
   * scheduler's every look. The lease is taken for it under a name of its own, so that neither another
   * node nor a sync started here meanwhile sees the directory free.
   */
  async function closeStaleRuns(): Promise<void> {
    for (const directoryId of await queries.directoriesWithStaleRuns(isoNow())) {
      if (running.has(directoryId) || stopping) continue;
      const now = isoNow();
      if (!(await queries.acquireLease(directoryId, sweeper, now, isoAfter(timing.leaseSeconds)))) continue;
      try {
        await db.transaction().execute(async (trx) => {
          await closeInterrupted(trx, directoryId, now);
          await queries.releaseLease(directoryId, sweeper, trx);
        });
      } catch (error) {
        // One directory's failure (a busy store) keeps neither the others' runs open nor the due syncs from starting.
        await queries.releaseLease(directoryId, sweeper).catch(() => {});
        log(error, "closing an interrupted directory sync failed");
      }
    }
  }

  /** Takes the lease (a periodic run: only while due), closes runs of a node that stopped as interrupted, records the new run and starts it. */
  async function begin(d: Directory, mode: SyncMode, force: boolean, startedBy: Actor, due?: { mode: SyncMode; before: string; retryAfter?: string }): Promise<number | null> {
    if (running.has(d.id) || stopping) return null;
    const now = isoNow();
    if (!(await queries.acquireLease(d.id, owner, now, isoAfter(timing.leaseSeconds), due))) return null;
    let runId: number;
    try {
      await db.transaction().execute((trx) => closeInterrupted(trx, d.id, now));
      runId = await queries.createRun(d.id, mode, force, startedBy.name, now);
    } catch (error) {
      // Not started: the lease is not held until it runs out.
      await queries.releaseLease(d.id, owner).catch(() => {});
      throw error;
    }
    launch(d, runId, mode, force, startedBy);
    return runId;
  }

  /** Closes the runs of nodes that stopped, then looks for due periodic syncs, lowest priority number first; runs at most one at a time on this node. */
  async function runDueSyncs(): Promise<void> {
    await closeStaleRuns();
    if (running.size > 0 || stopping) return;
    const directories = (await queries.list()).map(toDirectory).filter((d) => d.enabled).sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
    for (const d of directories) {
      if (d.syncPeriodSeconds.full === 0 && d.syncPeriodSeconds.changed === 0) continue;
      const state = await queries.state(d.id);
      for (const mode of ["full", "changed"] as const) {
        const period = d.syncPeriodSeconds[mode];
        const completed = (mode === "full" ? state?.last_full_at : state?.last_changed_at) ?? null;
        const before = isoAfter(-period);
        if (period === 0 || (completed !== null && completed >= before)) continue;
        // Runs that failed since the last that completed (the directory down, a node stopped midway): the next
        // try waits the scheduler's interval, doubled with each such run, up to the period — not a failed run
        // and its audit event at every look while the directory stays down, nor a day's wait after a moment's outage.
        const failures = await queries.failedTries(d.id, mode, completed);
        const retryAfter = failures === 0 ? undefined : isoAfter(-Math.min(period, timing.schedulerSeconds * 2 ** Math.min(failures - 1, 30)));
        const started = await begin(d, mode, false, { id: null, name: "scheduler", sourceIp: null }, { mode, before, retryAfter });
        if (started !== null) return;
      }
    }
  }

  /**
   * Refuses when a provider's or another directory's settings name one of `imported`, the groups this
   * directory imported (read, or deleted in the transaction `on`): removed, they would name a group that is gone.
   */
  async function assertGroupsUnnamed(on: Kysely<Database>, d: Directory, imported: readonly { uuid: string; name: string }[]): Promise<void> {
    if (imported.length === 0) return;
    const namers = (await namedBy(on, imported.map((g) => g.uuid))).filter((n) => n.directoryId !== d.id);
    if (namers.length === 0) return;
    const name = imported.find((g) => g.uuid === namers[0]!.group)!.name;
    const by = namers.filter((n) => n.group === namers[0]!.group).map((n) => n.by);
    throw new DomainError("refused", `The directory's group "${name}" is named by ${by.join(" and ")}: take it out there first, or remove the directory with users=disable (its groups stay).`, { group: name, namedBy: by });
  }

  /** Removes a directory whose lease the caller holds (`renew` keeps it, false once lost): its users in batches, then its groups and itself. */
  async function removeHolding(actor: AdminActor, d: Directory, users: "disable" | "delete", renew: () => Promise<boolean>): Promise<void> {
    // Asked before the first batch (the users go in batches, and the last system administrator may be one
    // of them or in one of its groups), with the directory disabled in the same transaction: a check made
    // meanwhile by another change no longer counts its users either.
    await db.transaction().execute(async (trx) => {
      await trx.updateTable("directories").set({ enabled: 0 }).where("id", "=", d.id).execute();
      await assertSystemAdministratorRemains(trx, { directoryId: d.id, itsGroups: users === "delete" });
    });
    const target = directoryTarget(d);
    let count = 0;
    // In batches: a directory may have a million users.
    for (;;) {
      if (!(await renew())) throw new DomainError("refused", "The removal took longer than the directory's lease and was stopped: remove it again to finish.", { directory: d.name });
      const batch = await db.selectFrom("users").select(["id", "uuid", "username"]).where("directory_id", "=", d.id).limit(d.pageSize).execute();
      if (batch.length === 0) break;
      const ids = batch.map((u) => u.id);
      await db.transaction().execute((trx) =>
        store.dialect.batchUserWrites(trx, async () => {
          await Sessions.revokeAllOf(trx, ids);
          // Nothing the directory vouched for outlives it: its users' API keys go, and so do the
          // memberships its sync made (left, they would be by hand: kept for good, with their roles,
          // even by a directory that takes the users over later).
          await trx.deleteFrom("api_keys").where("user_id", "in", ids).execute();
          const left = users === "delete" ? [] : await trx.deleteFrom("group_members").where("user_id", "in", ids).where("synced_by", "=", d.id).returning("group_id").execute();
          // Only those still the directory's are written and audited: a removal sent twice at once does each user once.
          const done =
            users === "delete"
              ? await trx.deleteFrom("users").where("id", "in", ids).where("directory_id", "=", d.id).returning(["id", "uuid", "username"]).execute()
              : await trx
                  .updateTable("users")
                  .set((eb) => ({ enabled: 0, directory_id: null, dn_key: null, version: eb("version", "+", 1), updated_at: isoNow() }))
                  .where("id", "in", ids)
                  .where("directory_id", "=", d.id)
                  .returning(["id", "uuid", "username"])
                  .execute();
          const action = users === "delete" ? "user.delete" : "user.disable";
          const reason = users === "delete" ? `directory ${d.name} removed` : `directory ${d.name} removed: kept until a directory brings the same entry again and takes it over`;
          await recordAuditMany(trx, actor, done.map((u) => ({ action, target: userTarget(u), details: { reason } })));
          return { result: undefined, documents: users === "delete" ? [] : ids, search: [], groups: [...new Set(left.map((r) => r.group_id))] };
        }),
      );
      count += batch.length;
    }
    await db.transaction().execute(async (trx) => {
      if (users === "delete") {
        // Asked again after the delete: a change naming one of them since the first check either waited for
        // the delete (and finds the group gone) or is seen now (PostgreSQL), and the removal's last step is refused.
        await assertGroupsUnnamed(trx, d, await trx.deleteFrom("groups").where("directory_id", "=", d.id).returning(["uuid", "name"]).execute());
      } else {
        // Kept with their entry's key, as its users are: a directory that brings the same entry takes the group back.
        await trx.updateTable("groups").set({ directory_id: null, dn_key: null, member_hash: null, external: 0 }).where("directory_id", "=", d.id).execute();
      }
      // Removed meanwhile by another request: that one says so, this one finds nothing.
      if (Number((await trx.deleteFrom("directories").where("id", "=", d.id).executeTakeFirst()).numDeletedRows) === 0) throw notFound("directory", d.uuid);
      await recordAudit(trx, actor, { action: "directory.delete", target, details: { before: auditedSettings(d), users, usersAffected: count } });
    });
  }

  return {
    load,
    queries,
    credentials,

    list: async () => (await queries.list()).map(toDirectory),

    async create(actor: AdminActor, input: DirectoryInput): Promise<Directory> {
      const next = mergeDirectory(undefined, input, (p) => secrets.seal(p));
      const now = isoNow();
      try {
        return await db.transaction().execute(async (trx) => {
          await checkName(trx, next.name);
          await checkGroups(trx, next);
          await assertMayConfigureLoginSource(trx, actor.roles, null, groupsNamed(next), "add this directory");
          const row = await trx.insertInto("directories").values({ uuid: randomUUID(), ...toRowValues(next), created_at: now, updated_at: now, by_system_administrator: madeBySystemAdministrator(actor.roles) }).returningAll().executeTakeFirstOrThrow();
          await trx.insertInto("directory_sync_state").values({ directory_id: row.id }).execute();
          const created = toDirectory(row);
          await recordAudit(trx, actor, { action: "directory.create", target: directoryTarget(created), details: { after: auditedSettings(next) } });
          return created;
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new DomainError("name-taken", "A directory with this name already exists.", { field: "name" });
        throw error;
      }
    },

    /** Partial update. The key of users (attributeMapping.uniqueId) cannot change once the directory has users. */
    async update(actor: AdminActor, uuid: string, input: DirectoryInput, precondition: Precondition): Promise<Directory> {
      const current = await load(uuid);
      checkPrecondition(current, precondition);
      const next = mergeDirectory(current, input, (p) => secrets.seal(p));
      if (next.attributeMapping.uniqueId !== current.attributeMapping.uniqueId && (await queries.userCount(current.id)) > 0) {
        const kept = current.attributeMapping.uniqueId;
        // A vendor change brings its default key along: said, with how to change the vendor alone.
        const byVendor = input.attributeMapping?.uniqueId === undefined ? `vendor ${next.vendor} keys users by ${next.attributeMapping.uniqueId} by default, but ` : "";
        throw new DomainError("refused", `${byVendor}attributeMapping.uniqueId (${kept}) keys the users imported already: it cannot change while the directory has users.${byVendor && ` To change the vendor, send "attributeMapping": {"uniqueId": "${kept}"} with it.`}`, { field: "attributeMapping.uniqueId" });
      }
      try {
        return await db.transaction().execute(async (trx) => {
          await checkName(trx, next.name, current);
          await checkGroups(trx, next, current);
          await assertMayConfigureLoginSource(trx, actor.roles, { directoryId: current.id }, [...groupsNamed(current), ...groupsNamed(next)], "change this directory");
          const row = await trx
            .updateTable("directories")
            // Whoever saves it last made it (role-rules.ts madeBySystemAdministrator).
            .set({ ...toRowValues(next), version: sql<number>`version + 1`, updated_at: isoNow(), by_system_administrator: madeBySystemAdministrator(actor.roles) })
            .where("id", "=", current.id)
            .where("version", "=", current.version)
            .returningAll()
            .executeTakeFirst();
          if (!row) throw staleVersion((await load(uuid, trx)).version);
          // Its users bind to it: disabled, it may take the last system administrator's way in.
          if (current.enabled && !next.enabled) await assertSystemAdministratorRemains(trx);
          const before = auditedSettings(current);
          const after = auditedSettings(next);
          const changed = Object.keys(after).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
          await recordAudit(trx, actor, {
            action: "directory.update",
            target: directoryTarget(current),
            details: {
              before: Object.fromEntries(changed.map((k) => [k, before[k]])),
              after: Object.fromEntries(changed.map((k) => [k, after[k]])),
              ...(current.sealedBindPassword !== next.sealedBindPassword ? { bindPasswordChanged: true } : {}),
            },
          });
          return toDirectory(row);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new DomainError("name-taken", "A directory with this name already exists.", { field: "name" });
        throw error;
      }
    },

    /**
     * Removes a directory. Its users are disabled and kept as local users without a password
     * (`disable`), or deleted (`delete`); either way their sessions and API keys end, and the
     * memberships its sync made go. Its groups stay as local groups, or go with the users. A
     * kept user keeps its DN and its entry's key: a directory that brings that same entry again (this
     * one added anew) takes it over, as a directory of a lower priority number does (directory/sync.ts) — until
     * an administrator gives it a password of its own, which makes it an ordinary local user. A kept group
     * keeps its entry's key too, and is taken back alike.
     */
    async remove(actor: AdminActor, uuid: string, users: "disable" | "delete", precondition: Precondition): Promise<void> {
      const d = await load(uuid);
      checkPrecondition(d, precondition);
      await assertMayConfigureLoginSource(db, actor.roles, { directoryId: d.id }, groupsNamed(d), "remove this directory");
      // Its groups go with its users: one a system administrator was put into by hand is theirs (assertMayChangeGroupOfAdministrators).
      if (users === "delete" && !actor.roles.includes(SYSTEM_ADMINISTRATOR) && (await hasSystemAdministratorMember(db, { directoryId: d.id }))) {
        throw new DomainError("not-permitted", "Only a system administrator may remove this directory with its groups: a system administrator is a member of one of them. Removed with users=disable, its groups stay.", { requiredRoles: [SYSTEM_ADMINISTRATOR] });
      }
      // Its groups go with its users: one that other settings name would leave them naming a group that is gone.
      if (users === "delete") await assertGroupsUnnamed(db, d, await db.selectFrom("groups").select(["uuid", "name"]).where("directory_id", "=", d.id).execute());
      // The removal holds the directory's lease, as a sync does: no sync (a scheduled one, another node's) starts meanwhile.
      const owner = `removal-${randomUUID()}`;
      const leaseUntil = () => isoAfter(timing.leaseSeconds);
      if (running.has(d.id) || !(await queries.acquireLease(d.id, owner, isoNow(), leaseUntil()))) {
        throw new DomainError("refused", "A sync or a removal of this directory is running: wait for it to end.", { directory: d.name });
      }
      try {
        await removeHolding(actor, d, users, () => queries.renewLease(d.id, owner, leaseUntil()));
      } catch (error) {
        await queries.releaseLease(d.id, owner).catch(() => {});
        throw error;
      }
    },

    /**
     * Tries a configuration (saved, or sent unsaved with its password): connects, binds, reads the
     * base, counts the users the filter finds and maps three of them. Says what happened in words.
     */
    async test(d: Directory, password: string | null): Promise<TestResult> {
      const steps: TestStep[] = [];
      const result: TestResult = { ok: false, message: "", server: null, steps, usersFound: null, usersFoundCapped: false, sample: [] };
      let connection: DirectoryConnection | undefined;
      /** Each URL that failed is a step of its own, so that one tried before the one that answered shows too. */
      const tried = new Set<DirectoryError>();
      try {
        connection = await DirectoryConnection.open(d, (failure) => {
          tried.add(failure);
          steps.push({ step: failure.step, ok: false, message: failure.message });
        });
        result.server = connection.url.href;
        steps.push({ step: "connect", ok: true, message: `Connected to ${connection.url.host} (${connection.url.protocol === "ldaps:" ? "LDAPS" : connection.secure ? "StartTLS" : "not encrypted"}).` });
        await connection.bindService(password);
        steps.push({ step: "bind", ok: true, message: d.bindDn === null ? "Reading anonymously (no bindDn)." : `Bound as ${d.bindDn}.` });
        if (!(await connection.read(d.baseDn, ["1.1"]))) throw new DirectoryError("base", `The base DN ${d.baseDn} does not exist in the directory.`);
        steps.push({ step: "base", ok: true, message: `The base DN ${d.baseDn} exists.` });
        let found = 0;
        // Entries a sync would refuse as they are (no uniqueId, a username not valid here, …): counted, the first named.
        let unusable = 0;
        let firstProblem = "";
        search: for await (const page of connection.search(d.userSearchBase ?? d.baseDn, d.userFilter, userAttributes(d), binaryAttributes(d))) {
          for (const entry of page) {
            const m = mapUser(new EntryValues(entry), d);
            if (!("user" in m)) {
              if (unusable++ === 0) firstProblem = `${entry.dn}: ${m.problem}`;
            } else if (result.sample.length < 3) {
              const { key, dnKey: _, primaryGroup: __, ...user } = m.user;
              result.sample.push({ ...user, uniqueId: key });
            }
            if (++found >= TEST_COUNT_MAX) {
              result.usersFoundCapped = true;
              break search;
            }
          }
        }
        result.usersFound = found;
        steps.push({ step: "search", ok: true, message: `The user filter finds ${result.usersFoundCapped ? "at least " : ""}${found} ${found === 1 ? "user" : "users"}.` });
        result.ok = true;
        const imported = found - unusable;
        result.message = `The directory answers: ${imported}${result.usersFoundCapped ? "+" : ""} ${imported === 1 && !result.usersFoundCapped ? "user" : "users"} would be imported.`;
        if (unusable > 0) result.message += ` ${unusable} ${unusable === 1 ? "entry" : "entries"} found would not be, as ${unusable === 1 ? "it is" : "they are"}; the first: ${firstProblem}`;
        // The directory answered, so the test passes; but nobody found is most often a typo in the filter or the base.
        if (found === 0) result.message += ` The user filter finds no entry under ${d.userSearchBase ?? d.baseDn}: check userFilter and userSearchBase.`;
        // Names and emails are not looked up here (a million of them): a sync reports those it finds taken.
        if (imported > 0) {
          result.message += `${/[.!?]$/.test(result.message) ? "" : "."} Names are not checked against existing accounts here: an entry whose username, login name or email (or one that looks like it) another account holds is left out by the sync, unless this directory outranks that account's directory; the sync's report lists them (the first ${PROBLEMS_MAX}).`;
        }
      } catch (error) {
        const failure = error instanceof DirectoryError ? error : new DirectoryError("search", (error as Error)?.message ?? String(error));
        if (!tried.has(failure)) steps.push({ step: failure.step, ok: false, message: failure.message });
        result.message = failure.message;
      } finally {
        await connection?.close();
      }
      return result;
    },

    /** Starts a sync in the background (refused while one runs); returns its run id. */
    async startSync(actor: AdminActor, uuid: string, mode: SyncMode, force: boolean): Promise<number> {
      // Forced, a `changed` sync would disable nobody more, yet be audited as forced (and refused a security administrator below).
      if (force && mode !== "full") throw new DomainError("invalid", "force applies to a full sync: a `changed` sync disables nobody.", { field: "force" });
      const d = await load(uuid);
      if (!d.enabled) throw new DomainError("refused", "The directory is disabled: enable it to sync.", { directory: d.name });
      // Forced, a sync may disable any share of its users: on a directory that system administrators log in through, as much as changing it.
      if (force) await assertMayConfigureLoginSource(db, actor.roles, { directoryId: d.id }, groupsNamed(d), "force a sync of this directory past its limit on disabled users");
      const runId = await begin(d, mode, force, actor);
      if (runId === null) {
        const run = await queries.latestRun(d.id);
        throw new DomainError("refused", "A sync of this directory is running already.", { runId: run?.id ?? null });
      }
      await recordAudit(db, actor, { action: "directory.sync-start", target: directoryTarget(d), details: { runId, mode, force } });
      return runId;
    },

    /** When each directory's last sync started (absent: it never synced), for its view. */
    lastSyncStarts: (ds: readonly Directory[]) => queries.lastSyncStarts(ds.map((d) => d.id)),

    async lastRun(uuid: string): Promise<SyncRunView> {
      const d = await load(uuid);
      const run = await queries.latestRun(d.id);
      if (!run) throw new DomainError("not-found", "No sync of this directory has run yet.", { id: uuid });
      return toRunView(run, timing.leaseSeconds);
    },

    /** What the clock does every schedulerSeconds (tests call it): starts a due periodic sync, if this node wins its lease. */
    runDueSyncs,

    /** Waits for the syncs running on this node (tests, shutdown). */
    async idle(): Promise<void> {
      await Promise.all([...running.values()].map((r) => r.promise));
    },

    start(): void {
      // A run this or another node left when it stopped (kill -9, a crash) is closed as soon as its lease has run out.
      startup = closeStaleRuns().catch((error) => log(error, "closing interrupted directory syncs failed"));
      if (timing.schedulerSeconds === 0) return;
      timer = setInterval(() => void runDueSyncs().catch((error) => log(error, "looking for due directory syncs failed")), timing.schedulerSeconds * 1000);
      timer.unref();
    },

    /** Stops looking for due syncs and stops the running ones (they end as failed; nobody is disabled). */
    async stop(): Promise<void> {
      stopping = true;
      clearInterval(timer);
      await startup;
      for (const r of running.values()) r.controller.abort(new Error("the server is stopping"));
      await this.idle();
      await credentials.close();
    },
  };
}

export type DirectoryService = ReturnType<typeof createDirectoryService>;
