import { sql, type Kysely } from "kysely";
import type { StoreDialect } from "./dialect/dialect.js";
import type { Database, DirectoryRow, SyncRunRow } from "./schema.js";
import { groupsGranting } from "./group-queries.js";

/**
 * The store's side of external user storage: directory rows, the per-directory sync state (lease,
 * high-water mark, reachability), sync runs, the membership graph, and the lookups a sync's batch
 * makes. Methods that change data take the `db` to write with (a transaction's, so the change
 * commits with its audit events).
 */

/** The users columns a sync compares and writes. */
export const SYNCED_USER_COLUMNS = [
  "id", "uuid", "username", "username_skeleton", "login_name", "login_key", "login_skeleton", "first_name", "last_name", "display_name", "email", "dn", "dn_key",
  "directory_key", "enabled", "change_password", "primary_group_rid",
] as const;

/**
 * What directory_sync_state.mapped_groups keeps (migration 014h): the local groups a sync of the
 * directory may have put members into, and the mappings [directory group, local group] the last
 * completed sync followed (null: not known).
 */
export interface MappingRecord {
  filled: number[];
  pairs: [number, number][] | null;
}

export interface SyncedUser {
  id: number;
  uuid: string;
  username: string;
  /** Null where a sync wrote the user before it wrote look-alike keys (the next sync that reads the entry fills it in). */
  username_skeleton: string | null;
  login_name: string;
  login_key: string;
  login_skeleton: string | null;
  first_name: string | null;
  last_name: string | null;
  display_name: string;
  email: string | null;
  dn: string | null;
  dn_key: string | null;
  directory_key: string | null;
  enabled: number;
  change_password: number;
  primary_group_rid: number | null;
}

/**
 * Why a directory's users cannot log in: it cannot be reached (no connection, TLS failed), it
 * answers only over a connection its configuration sends no passwords over (`insecure`), or it
 * refuses the service account's bind (`bind-refused`).
 */
export interface DirectoryProblem {
  reason: "unreachable" | "insecure" | "bind-refused";
  message: string;
}

/** Counts of a run, as `GET …/sync` shows them. */
export interface RunCounts {
  seen: number;
  created: number;
  updated: number;
  disabled: number;
  unchanged: number;
  failed: number;
  /** Memberships the run added, and removed (only ever ones a sync made). */
  joined: number;
  left: number;
}

/** The runs that try a mode's work: a full run reads the changes too. */
const tryingModes = (mode: "full" | "changed") => (mode === "full" ? ["full"] : ["full", "changed"]);

/** A directory's runs kept (its sync's history beyond them is the audit log). */
export const RUNS_KEPT = 100;

/** What a run whose node stopped (a crash, kill -9) says. */
export const INTERRUPTED_MESSAGE = "This sync was interrupted: the node running it stopped before it ended. What it wrote stays (its counts say what); the next sync picks up from the directory's current state.";

export function createDirectoryQueries(db: Kysely<Database>, dialect: StoreDialect) {
  // The lookups by a page of keys take the keys as one parameter where the store can (StoreDialect.inList).
  const inList = dialect.inList.bind(dialect);
  return {
    list(): Promise<DirectoryRow[]> {
      return db.selectFrom("directories").selectAll().orderBy("name").execute();
    },

    findByUuid(uuid: string, on: Kysely<Database> = db): Promise<DirectoryRow | undefined> {
      return on.selectFrom("directories").selectAll().where("uuid", "=", uuid.toLowerCase()).executeTakeFirst();
    },

    findById(id: number, on: Kysely<Database> = db): Promise<DirectoryRow | undefined> {
      return on.selectFrom("directories").selectAll().where("id", "=", id).executeTakeFirst();
    },

    /** How many users a directory has (all, or the enabled ones). */
    async userCount(directoryId: number, enabledOnly = false, on: Kysely<Database> = db): Promise<number> {
      let q = on.selectFrom("users").select((eb) => eb.fn.countAll().as("n")).where("directory_id", "=", directoryId);
      if (enabledOnly) q = q.where("enabled", "=", 1);
      return Number((await q.executeTakeFirstOrThrow()).n);
    },

    // --- lease, high-water mark, reachability -------------------------------------------------

    state(directoryId: number) {
      return db.selectFrom("directory_sync_state").selectAll().where("directory_id", "=", directoryId).executeTakeFirst();
    },

    /**
     * Takes the directory's lease for `owner` until `until`, when nobody holds it (or the holder let
     * it run out, or it is `owner`'s already). With `due` (a periodic run) only while the last run of
     * that mode that completed started before `before`, so a node that looked while another was running
     * does not run it again; and with `retryAfter`, while no run of it began since (tryingModes). One
     * conditional write: of nodes racing, exactly one gets it.
     */
    async acquireLease(directoryId: number, owner: string, now: string, until: string, due?: { mode: "full" | "changed"; before: string; retryAfter?: string }): Promise<boolean> {
      let q = db
        .updateTable("directory_sync_state")
        .set({ lease_owner: owner, lease_until: until })
        .where("directory_id", "=", directoryId)
        .where((eb) => eb.or([eb("lease_owner", "is", null), eb("lease_until", "<", now), eb("lease_owner", "=", owner)]));
      if (due) {
        const column = due.mode === "full" ? "last_full_at" : "last_changed_at";
        q = q.where((eb) => eb.or([eb(column, "is", null), eb(column, "<", due.before)]));
        const { retryAfter } = due;
        if (retryAfter !== undefined) {
          q = q.where((eb) => eb.not(eb.exists(eb.selectFrom("directory_sync_runs").select("id").where("directory_id", "=", directoryId).where("mode", "in", tryingModes(due.mode)).where("started_at", ">", retryAfter))));
        }
      }
      const result = await q.executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Runs of a mode (tryingModes) that failed or were interrupted since `since`, the start of its last run that completed (null: all). */
    async failedTries(directoryId: number, mode: "full" | "changed", since: string | null): Promise<number> {
      const row = await db
        .selectFrom("directory_sync_runs")
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .where("directory_id", "=", directoryId)
        .where("mode", "in", tryingModes(mode))
        .where("state", "in", ["failed", "interrupted"])
        .$if(since !== null, (q) => q.where("started_at", ">", since!))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** Moves the lease's end, while `owner` still holds it; false when it lost it. */
    async renewLease(directoryId: number, owner: string, until: string): Promise<boolean> {
      const result = await db.updateTable("directory_sync_state").set({ lease_until: until }).where("directory_id", "=", directoryId).where("lease_owner", "=", owner).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async releaseLease(directoryId: number, owner: string, on: Kysely<Database> = db): Promise<void> {
      await on.updateTable("directory_sync_state").set({ lease_owner: null, lease_until: null }).where("directory_id", "=", directoryId).where("lease_owner", "=", owner).execute();
    },

    /** The local groups a sync may fill and the mappings it follows (MappingRecord), noted as a run starts. */
    async recordMappings(directoryId: number, mappings: MappingRecord): Promise<void> {
      await db.updateTable("directory_sync_state").set({ mapped_groups: JSON.stringify(mappings) }).where("directory_id", "=", directoryId).execute();
    },

    /** After a run that completed: its mode's start time, when it has one the next high-water mark, and the groups and mappings it leaves. */
    async recordCompleted(on: Kysely<Database>, directoryId: number, mode: "full" | "changed", startedAt: string, highWater: string | null, mappings: MappingRecord): Promise<void> {
      await on
        .updateTable("directory_sync_state")
        .set({
          ...(mode === "full" ? { last_full_at: startedAt, last_changed_at: startedAt } : { last_changed_at: startedAt }),
          ...(highWater === null ? {} : { high_water: highWater }),
          mapped_groups: JSON.stringify(mappings),
        })
        .where("directory_id", "=", directoryId)
        .execute();
    },

    /**
     * Notes whether the directory could be used, and if not why (only writes when that changes). With no
     * problem, `over` says which noted one is over: a login through a service connection bound earlier
     * (perhaps before the service password changed) ends any but a refused service bind; a new service
     * bind ends that one only; a sync, which binds anew, any.
     */
    async setReachability(directoryId: number, problem: DirectoryProblem | null, at: string, over: "any" | "all but a refused bind" | "a refused bind" = "any"): Promise<void> {
      if (problem === null) {
        await db
          .updateTable("directory_sync_state")
          .set({ unreachable_since: null, unreachable_error: null, unreachable_reason: null })
          .where("directory_id", "=", directoryId)
          .where("unreachable_since", "is not", null)
          .$if(over === "all but a refused bind", (q) => q.where((eb) => eb.or([eb("unreachable_reason", "is", null), eb("unreachable_reason", "!=", "bind-refused")])))
          .$if(over === "a refused bind", (q) => q.where("unreachable_reason", "=", "bind-refused"))
          .execute();
      } else {
        await db
          .updateTable("directory_sync_state")
          .set({ unreachable_since: at, unreachable_error: problem.message.slice(0, 1000), unreachable_reason: problem.reason })
          .where("directory_id", "=", directoryId)
          .where((eb) => eb.or([eb("unreachable_since", "is", null), eb("unreachable_reason", "is", null), eb("unreachable_reason", "!=", problem.reason)]))
          .execute();
      }
    },

    /** The enabled directories that could not be used at the last try, and why. */
    unreachable() {
      return db
        .selectFrom("directory_sync_state as s")
        .innerJoin("directories as d", "d.id", "s.directory_id")
        .select(["d.uuid", "d.name", "s.unreachable_since", "s.unreachable_error", "s.unreachable_reason"])
        .where("s.unreachable_since", "is not", null)
        // A disabled directory lets no one in by choice, not by an outage: no login or sync would clear its problem.
        .where("d.enabled", "=", 1)
        .orderBy("d.name")
        .execute();
    },

    // --- runs ------------------------------------------------------------------------------------

    /** Records a new run, and forgets the directory's finished runs past the newest RUNS_KEPT. */
    async createRun(directoryId: number, mode: "full" | "changed", forced: boolean, startedBy: string | null, now: string): Promise<number> {
      const row = await db
        .insertInto("directory_sync_runs")
        .values({ directory_id: directoryId, mode, state: "running", forced: forced ? 1 : 0, started_at: now, heartbeat_at: now, started_by: startedBy })
        .returning("id")
        .executeTakeFirstOrThrow();
      // Only the latest run is shown (GET …/sync), and each run's counts and message are in its audit
      // event: a changed sync every five minutes would otherwise add 100 000 rows a year that nothing reads.
      await db
        .deleteFrom("directory_sync_runs")
        .where("directory_id", "=", directoryId)
        .where("state", "<>", "running")
        .where("id", "<=", (eb) => eb.selectFrom("directory_sync_runs").select("id").where("directory_id", "=", directoryId).orderBy("id", "desc").offset(RUNS_KEPT).limit(1))
        .execute();
      return row.id;
    },

    /** The run is alive (its node renewed the lease), even in a phase that writes no progress (reading the groups, a slow page). */
    async touchRun(runId: number, now: string): Promise<void> {
      await db.updateTable("directory_sync_runs").set({ heartbeat_at: now }).where("id", "=", runId).where("state", "=", "running").execute();
    },

    async progress(runId: number, counts: RunCounts, problems: string, now: string): Promise<void> {
      // A run ended meanwhile (closed as interrupted by another node) keeps the counts its ending gave.
      await db.updateTable("directory_sync_runs").set({ ...counts, problems, heartbeat_at: now }).where("id", "=", runId).where("state", "=", "running").execute();
    },

    /** Ends a run still running; false when it was ended already (closed as interrupted by another node, its lease having run out). */
    async finishRun(on: Kysely<Database>, runId: number, state: "succeeded" | "failed", counts: RunCounts, problems: string, message: string | null, now: string): Promise<boolean> {
      const result = await on.updateTable("directory_sync_runs").set({ ...counts, problems, state, message, finished_at: now, heartbeat_at: now }).where("id", "=", runId).where("state", "=", "running").executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Directories with a run left "running" whose lease is free or ran out: the node running it stopped. */
    async directoriesWithStaleRuns(now: string): Promise<number[]> {
      const rows = await db
        .selectFrom("directory_sync_runs as r")
        .innerJoin("directory_sync_state as s", "s.directory_id", "r.directory_id")
        .select("r.directory_id")
        .distinct()
        .where("r.state", "=", "running")
        .where((eb) => eb.or([eb("s.lease_owner", "is", null), eb("s.lease_until", "<", now)]))
        .execute();
      return rows.map((r) => r.directory_id);
    },

    /** Ends the runs a node that stopped left "running" (the caller holds the directory's lease): interrupted, with a message. */
    closeInterrupted(on: Kysely<Database>, directoryId: number, now: string): Promise<SyncRunRow[]> {
      return on
        .updateTable("directory_sync_runs")
        .set({ state: "interrupted", finished_at: now, message: INTERRUPTED_MESSAGE })
        .where("directory_id", "=", directoryId)
        .where("state", "=", "running")
        .returningAll()
        .execute();
    },

    /** When each of these directories' last sync started (a directory that never synced has none). */
    async lastSyncStarts(directoryIds: readonly number[]): Promise<Map<number, string>> {
      if (directoryIds.length === 0) return new Map();
      const rows = await db.selectFrom("directory_sync_runs").select(["directory_id", (eb) => eb.fn.max("started_at").as("started_at")])
        .where("directory_id", "in", [...directoryIds]).groupBy("directory_id").execute();
      return new Map(rows.map((r) => [r.directory_id, r.started_at as string]));
    },

    latestRun(directoryId: number): Promise<SyncRunRow | undefined> {
      return db.selectFrom("directory_sync_runs").selectAll().where("directory_id", "=", directoryId).orderBy("id", "desc").limit(1).executeTakeFirst();
    },

    // --- what a batch reads ------------------------------------------------------------------------

    /** The directory's users with these keys. */
    usersByKeys(directoryId: number, keys: readonly string[]): Promise<SyncedUser[]> {
      if (keys.length === 0) return Promise.resolve([]);
      return db.selectFrom("users").select([...SYNCED_USER_COLUMNS]).where("directory_id", "=", directoryId).where(inList("directory_key", keys)).execute();
    },

    /** Users by id, whatever their source (a directory of higher priority taking them over). */
    usersByIds(ids: readonly number[]): Promise<SyncedUser[]> {
      if (ids.length === 0) return Promise.resolve([]);
      return db.selectFrom("users").select([...SYNCED_USER_COLUMNS]).where(inList("id", ids)).execute();
    },

    /** The directory's users with these normalized DNs. */
    usersByDnKeys(directoryId: number, dnKeys: readonly string[]): Promise<SyncedUser[]> {
      if (dnKeys.length === 0) return Promise.resolve([]);
      return db.selectFrom("users").select([...SYNCED_USER_COLUMNS]).where("directory_id", "=", directoryId).where(inList("dn_key", dnKeys)).execute();
    },

    /** The directory's users at these DNs (keys) or with these login names (folded, as login_key): one row each. */
    usersByDnOrLoginKeys(directoryId: number, dnKeys: readonly string[], loginKeys: readonly string[]): Promise<SyncedUser[]> {
      if (dnKeys.length + loginKeys.length === 0) return Promise.resolve([]);
      return db
        .selectFrom("users")
        .select([...SYNCED_USER_COLUMNS])
        .where("directory_id", "=", directoryId)
        .where((eb) => eb.or([...(dnKeys.length > 0 ? [inList("dn_key", dnKeys)] : []), ...(loginKeys.length > 0 ? [inList("login_key", loginKeys)] : [])]))
        .execute();
    },

    /** One keyset page of the directory's users whose primary group is `rid`, in id order (users_directory_primary_group). */
    usersWithPrimaryGroup(directoryId: number, rid: number, afterId: number, limit: number): Promise<SyncedUser[]> {
      return db.selectFrom("users").select([...SYNCED_USER_COLUMNS]).where("directory_id", "=", directoryId).where("primary_group_rid", "=", rid).where("id", ">", afterId).orderBy("id").limit(limit).execute();
    },

    /** One keyset page of the directory's users, in key order. */
    usersPage(directoryId: number, afterKey: string, limit: number): Promise<SyncedUser[]> {
      return db.selectFrom("users").select([...SYNCED_USER_COLUMNS]).where("directory_id", "=", directoryId).where("directory_key", ">", afterKey).orderBy("directory_key").limit(limit).execute();
    },

    /**
     * One keyset page of the ids of the directory's users, in key order: on SQLite the index by key
     * alone answers it (no user's row is read; a million users' rows, read in key order, cost an
     * unchanged full sync ~15 % of its time).
     */
    async userIdsPage(directoryId: number, afterKey: string, limit: number): Promise<{ id: number; directory_key: string }[]> {
      const rows = await db.selectFrom("users").select(["id", "directory_key"]).where("directory_id", "=", directoryId).where("directory_key", ">", afterKey).orderBy("directory_key").limit(limit).execute();
      return rows as { id: number; directory_key: string }[];
    },

    /** Those of these users who are the directory's and enabled. */
    async enabledAmong(directoryId: number, ids: readonly number[]): Promise<number[]> {
      if (ids.length === 0) return [];
      return (await db.selectFrom("users").select("id").where(inList("id", ids)).where("directory_id", "=", directoryId).where("enabled", "=", 1).execute()).map((r) => r.id);
    },

    /**
     * Users (of any source) holding one of these usernames, login keys, emails or look-alike keys: the
     * clashes of new or renamed users. `kept`: a user its removed directory left (its DN and entry key
     * kept, no directory, no password of its own since), which a directory that brings that same entry
     * again takes over.
     */
    holders(names: { usernames: readonly string[]; loginKeys: readonly string[]; emails: readonly string[]; usernameSkeletons: readonly string[]; loginSkeletons: readonly string[] }) {
      return db
        .selectFrom("users as u")
        .leftJoin("directories as d", "d.id", "u.directory_id")
        .select(["u.id", "u.username", "u.username_skeleton", "u.login_key", "u.login_skeleton", "u.email", "u.profile_id", "u.directory_id", "u.directory_key", "d.name as directory_name"])
        .select((eb) =>
          eb.and([eb("u.directory_id", "is", null), eb("u.dn", "is not", null), eb("u.password_hash", "is", null), eb("u.service_account", "=", 0), eb("u.builtin", "=", 0)]).as("kept"),
        )
        .where((eb) =>
          eb.or([
            // An empty list is false (the dialect's inList).
            inList("u.username", names.usernames),
            inList("u.login_key", names.loginKeys),
            inList("u.email_key", names.emails),
            inList("u.username_skeleton", names.usernameSkeletons),
            inList("u.login_skeleton", names.loginSkeletons),
          ]),
        )
        .execute();
    },

    /** The DNs of these groups. */
    groupDns(groupIds: readonly number[]) {
      if (groupIds.length === 0) return Promise.resolve([]);
      return db.selectFrom("groups").select(["id", "dn"]).where(inList("id", groupIds)).execute();
    },

    groups(directoryId: number, on: Kysely<Database> = db) {
      return on.selectFrom("groups").select(["id", "uuid", "name", "name_key", "name_skeleton", "description", "dn", "dn_key", "directory_key", "member_hash"]).where("directory_id", "=", directoryId).execute();
    },

    /**
     * A group a removed directory left (its users kept: it keeps its entry's key, but no directory and no
     * DN key), which a directory that brings that same entry takes back; the oldest where there are several.
     * Never one granting `exceptGranting` (the sync: the system-administrator role).
     */
    keptGroup(directoryKey: string, exceptGranting: string) {
      return db
        .selectFrom("groups")
        .select(["id", "uuid", "name", "name_key", "name_skeleton", "description", "dn", "dn_key", "directory_key", "member_hash"])
        .where("directory_id", "is", null)
        .where("directory_key", "=", directoryKey)
        .where("id", "not in", groupsGranting(db, exceptGranting))
        .orderBy("id")
        .limit(1)
        .executeTakeFirst();
    },

    /** Groups holding one of these names (by folded or look-alike key), with the directory holding each (null: local). */
    groupNameHolders(names: readonly { name_key: string; name_skeleton: string }[]) {
      if (names.length === 0) return Promise.resolve([]);
      return db
        .selectFrom("groups")
        .select(["id", "name", "name_key", "name_skeleton", "directory_id", "directory_key"])
        .where((eb) => eb.or([eb("name_key", "in", names.map((n) => n.name_key)), eb("name_skeleton", "in", names.map((n) => n.name_skeleton))]))
        .execute();
    },

    /**
     * Members renamed or moved (their DN key `from` is now `to`), in the groups' kept member lists (those of
     * `groupIds` only, where given): where a group lists both, the old one goes.
     */
    async renameMemberKeys(directoryId: number, renames: readonly { from: string; to: string; groupIds?: readonly number[] }[]): Promise<void> {
      // In two steps, through keys no DN has (a DN starts with an attribute's name): members that swap or
      // chain their DNs within the batch (X→Y, Y→Z) each land where they belong.
      const aside = (key: string) => `\u0001${key}`;
      const members = () => db.updateTable("directory_members").where("directory_id", "=", directoryId);
      for (const { from, to, groupIds } of renames) {
        const renamed = members().set({ member_key: aside(to) }).where("member_key", "=", from);
        await (groupIds === undefined ? renamed : renamed.where("group_id", "in", [...groupIds])).execute();
      }
      // These member lists no longer hold what the directory listed: the next sync reads them again and
      // keeps what it lists then.
      await db
        .updateTable("groups")
        .set({ member_hash: null })
        .where("id", "in", (eb) => eb.selectFrom("directory_members").select("group_id").where("directory_id", "=", directoryId).where("member_key", "in", renames.map((r) => aside(r.to))))
        .execute();
      for (const { to } of renames) {
        await db
          .deleteFrom("directory_members")
          .where("directory_id", "=", directoryId)
          .where("member_key", "=", to)
          .where("group_id", "in", (eb) => eb.selectFrom("directory_members as m").select("m.group_id").where("m.directory_id", "=", directoryId).where("m.member_key", "=", aside(to)))
          .execute();
        await members().set({ member_key: to }).where("member_key", "=", aside(to)).execute();
      }
    },

    /** Which of these groups have members kept. */
    async groupsWithMembers(groupIds: readonly number[]): Promise<number[]> {
      if (groupIds.length === 0) return [];
      return (await db.selectFrom("directory_members").select("group_id").distinct().where(inList("group_id", groupIds)).execute()).map((r) => r.group_id);
    },

    /** Which of these member DNs each of the directory's groups lists: (group, member key) pairs. */
    membersByKeys(directoryId: number, memberKeys: readonly string[]) {
      if (memberKeys.length === 0) return Promise.resolve([]);
      return db.selectFrom("directory_members").select(["group_id", "member_key"]).where("directory_id", "=", directoryId).where(inList("member_key", memberKeys)).execute();
    },

    /** The member keys of some groups, a keyset page at a time. */
    memberKeysPage(groupIds: readonly number[], after: string, limit: number) {
      if (groupIds.length === 0) return Promise.resolve([]);
      return db.selectFrom("directory_members").select("member_key").distinct().where(inList("group_id", groupIds)).where("member_key", ">", after).orderBy("member_key").limit(limit).execute();
    },

    /**
     * The edges between the directory's groups: a group (`parent`) listing another (by its DN key) as a
     * member. Looked up by the groups' keys, not joined: SQLite read all the members for the join
     * (130 ms warm, 800 ms cold at a million people; this, 10 ms).
     */
    groupEdges(directoryId: number) {
      return db
        .selectFrom("directory_members")
        .select(["group_id as parent", "member_key"])
        .where("directory_id", "=", directoryId)
        .where("member_key", "in", (eb) => eb.selectFrom("groups").select("dn_key").where("directory_id", "=", directoryId).where("dn_key", "is not", null))
        .execute();
    },

    /** The directory's users (ids after `afterId`, in order) with a membership its sync made in `groupId` (read by the group's key). */
    usersSyncedInto(directoryId: number, groupId: number, afterId: number, limit: number): Promise<SyncedUser[]> {
      return db
        .selectFrom("group_members")
        .innerJoin("users", "users.id", "group_members.user_id")
        .select(SYNCED_USER_COLUMNS.map((c) => `users.${c}` as const))
        .where("group_members.group_id", "=", groupId)
        .where("group_members.synced_by", "=", directoryId)
        .where("group_members.user_id", ">", afterId)
        .where("users.directory_id", "=", directoryId)
        .orderBy("group_members.user_id")
        .limit(limit)
        .execute();
    },

    /**
     * The memberships of these users in these groups, with the directory whose sync made each (null:
     * by hand). Read by user alone (a user is in a few groups): with both lists in the condition the
     * planners probe every (user, group) pair, or walk the groups' whole member lists, a cost that
     * grows with the directory.
     */
    async memberships(userIds: readonly number[], groupIds: readonly number[]) {
      if (userIds.length === 0 || groupIds.length === 0) return [];
      const wanted = new Set(groupIds);
      const rows = await db.selectFrom("group_members").select(["group_id", "user_id", "synced_by"]).where(inList("user_id", userIds)).execute();
      return rows.filter((r) => wanted.has(r.group_id));
    },
  };
}

export type DirectoryQueries = ReturnType<typeof createDirectoryQueries>;
