import { createHash, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { Sessions } from "../auth/sessions.js";
import { recordAudit, recordAuditRows, type Actor, type AuditEntry, userTarget, groupTarget } from "../domain/audit.js";
import { DomainError } from "../domain/errors.js";
import { assertSystemAdministratorRemains } from "../domain/last-admin.js";
import { GROUP_NAME_RULE, groupNameColumns, isGroupName, userNameColumns } from "../domain/names.js";
import { SYSTEM_ADMINISTRATOR, USERS_GROUP } from "../domain/roles.js";
import { emailKeyOf, NAME_MAX, searchFold, searchTextFor } from "../domain/user-fields.js";
import { isUniqueViolation } from "../storage/constraints.js";
import type { DirectoryQueries, MappingRecord, RunCounts, SyncedUser } from "../storage/directory-queries.js";
import { orderedUuid } from "../storage/ordered-uuid.js";
import { createUserQueries } from "../storage/user-queries.js";
import type { Database } from "../storage/schema.js";
import type { Store } from "../storage/store.js";
import { isoNow } from "../storage/time.js";
import { serverOf, toDirectory, type Directory } from "./config.js";
import { dnKey } from "./dn.js";
import { binaryAttributes, changeAttribute, EntryValues, groupAttributes, groupBinaryAttributes, isPrimaryMemberKey, LOGIN_MEMBER_ATTRIBUTE, loginKeyOfMember, loginMemberKey, mapGroup, mapUser, MEMBER_ATTRIBUTES, primaryGroupRid, primaryMemberKey, ridOfPrimaryMember, userAttributes, type EntryProblem, type MappedGroup, type MappedUser } from "./entries.js";
import type { Entry } from "ldapts";
import { escapeFilterValue } from "./filters.js";
import { DirectoryConnection, DirectoryError, problemOf, ServiceBindRefused } from "./ldap.js";

/**
 * One sync of a directory into the store. In order:
 *
 * 1. **Groups** (the imported ones and the groups nested in them, read by DN; a `changed` sync reads
 *    those changed since the mark): each becomes or updates a local group (external, keyed by its
 *    uniqueId), and its member DNs are kept as the directory's membership graph
 *    (`directory_members`), rewritten only when the list changed (an order-independent hash).
 * 2. **Users** (a paged search; `changed`: those changed since the mark), a page per batch: mapped,
 *    compared with the store by uniqueId, new ones checked for clashes, and written — users,
 *    memberships (the nested groups resolved through the graph, cycles included; on Active Directory
 *    the primary group too, by the primaryGroupID read with the user), the mapped local
 *    groups, audit events — in one transaction whose documents and search entries are brought up
 *    to date once (StoreDialect.batchUserWrites). A crash loses at most the batch in flight, never
 *    part of a user.
 * 3. **Gone users** (a full sync that read every page): the directory's users it did not see are
 *    disabled — never deleted — unless the directory answered no users, or they are more than the
 *    configured share and the run was not forced.
 *
 * Memory holds one page, the group graph and a bit per user id seen, however big the directory.
 */

function mappingRecordOf(text: string | null): MappingRecord {
  if (text === null) return { filled: [], pairs: null };
  const record = JSON.parse(text) as Partial<MappingRecord>;
  return { filled: record.filled ?? [], pairs: record.pairs ?? null };
}

/** A batch would leave no account that can act as system administrator; `users`: those it disabled or took out of groups. */
class LastAdministrators extends Error {
  constructor(readonly users: number[]) {
    super("the last system administrator");
  }
}

/**
 * A `changed` sync's mark: the attribute it filters on, the value, (USNs are per domain controller) the
 * server, and the settings the run read with (readSettingsOf; absent from marks written before them).
 */
interface HighWater {
  attribute: string;
  value: string;
  server: string;
  reads?: ReadSettings;
}

/**
 * The settings that say which entries a sync reads and what it takes from them. Entries that did not
 * change since the mark are not read by a `changed` sync: after a change of these, it reads them all.
 */
type ReadSettings = Pick<Directory, "attributeMapping" | "userFilter" | "userSearchBase" | "groupFilter">;

function readSettingsOf(d: Directory): ReadSettings {
  return { attributeMapping: d.attributeMapping, userFilter: d.userFilter, userSearchBase: d.userSearchBase ?? d.baseDn, groupFilter: d.groupFilter };
}

/** The read settings that differ from those a mark was read with (all of them when it does not say). */
function changedReadSettings(mark: HighWater, d: Directory): (keyof ReadSettings)[] {
  const now = readSettingsOf(d);
  const keys = Object.keys(now) as (keyof ReadSettings)[];
  return keys.filter((k) => mark.reads === undefined || JSON.stringify(mark.reads[k]) !== JSON.stringify(now[k]));
}

/**
 * Whether a mark came from the server that answered: the domain controller by its name where it says
 * it (`dsServiceName`), else by the URL's host and port (marks written before `serverOf` hold the host as it was spelled).
 */
function sameServer(mark: HighWater, named: string | null, url: URL): boolean {
  if (named !== null) return mark.server.toLowerCase() === named.toLowerCase();
  try {
    return serverOf(new URL(`${url.protocol}//${mark.server}`)) === serverOf(url);
  } catch {
    return false;
  }
}

/** How far back a `modifyTimestamp` mark reaches before the run's start: clocks of this server and the directory may differ this much. */
const CLOCK_SKEW_SECONDS = 120;
/** How many problems a run keeps (the `failed` count holds them all). */
export const PROBLEMS_MAX = 100;
/** Past this many users touched by changed groups, a `changed` sync checks the memberships of all the directory's users. */
const AFFECTED_MAX = 50_000;
/** Rows per multi-row insert of member keys. */
const EDGE_BATCH = 1000;
/** Groups' member rows gathered for one transaction (a group with more is written in several). */
const EDGES_PER_TRANSACTION = 5 * EDGE_BATCH;
/** User ids per read when looking for the users a full sync did not see. */
const ID_PAGE = 10_000;

export interface SyncOptions {
  store: Store;
  queries: DirectoryQueries;
  directory: Directory;
  /** The bind password in clear (opened from its seal by the caller). */
  bindPassword: string | null;
  runId: number;
  mode: "full" | "changed";
  /** Disable gone users even past the safety share, and all of them when the directory answers none. */
  force: boolean;
  /** Who started it (the run's audit event); per-user events name the directory. */
  startedBy: Actor;
  /** Called after each batch, once its progress (with the run's heartbeat) is written: renews the lease, throws when it is lost. */
  heartbeat: () => Promise<void>;
  /** Called first in each transaction that writes users or groups: throws when this node no longer holds the lease. */
  leaseHeld: (trx: Kysely<Database>) => Promise<void>;
  /** Called in the transaction that ends the run (gives the lease back): whoever sees the run ended can start the next. */
  ending: (trx: Kysely<Database>) => Promise<void>;
  /** Called once that transaction has committed. */
  ended: () => void;
  signal: AbortSignal;
}

export interface SyncOutcome {
  state: "succeeded" | "failed";
  counts: RunCounts;
  problems: EntryProblem[];
  message: string | null;
}

/** A set of user ids as bits: a million users cost 125 kB. */
class IdSet {
  private bits = new Uint8Array(1 << 16);
  size = 0;
  add(id: number): void {
    while (id >> 3 >= this.bits.length) {
      const grown = new Uint8Array(this.bits.length * 2);
      grown.set(this.bits);
      this.bits = grown;
    }
    if (!this.has(id)) this.size++;
    this.bits[id >> 3]! |= 1 << (id & 7);
  }
  has(id: number): boolean {
    return id >> 3 < this.bits.length && (this.bits[id >> 3]! & (1 << (id & 7))) !== 0;
  }
}

/**
 * An order-independent hash of a member list: one hash of the sorted keys, and their number. (A
 * hash a member, summed, cost a sync more than reading the members: a million hash objects. Hashes
 * stored in that older form differ from these: each group's members are written once more.)
 */
function memberHash(keys: readonly string[]): string {
  const hash = createHash("sha256");
  for (const k of [...keys].sort()) hash.update(`${k.length}:`).update(k);
  return `${keys.length}:${hash.digest("hex")}`;
}

/** GeneralizedTime of an instant: `YYYYMMDDHHMMSSZ`. */
function generalizedTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, "").replace(/\.\d{3}Z$/, "Z");
}


/** The user fields a sync writes, by REST name and column, for comparing and auditing. */
const SYNCED_FIELDS = [
  ["username", "username"],
  ["loginName", "login_name"],
  ["firstName", "first_name"],
  ["lastName", "last_name"],
  ["displayName", "display_name"],
  ["email", "email"],
  ["dn", "dn"],
  ["enabled", "enabled"],
  ["changePassword", "change_password"],
] as const;

/**
 * A user's name columns (domain/names.ts): computed by userNameColumns for a new or renamed user, the
 * stored ones otherwise. A look-alike key is null only where a name stored before syncs wrote them
 * looks like another (migration 011i left it unset; withoutClashes reports it).
 */
type UserNames = { username: string; username_skeleton: string | null; login_name: string; login_key: string; login_skeleton: string | null };

/** A user as it is stored, but for its DN and whether it may log in, which follow an entry that cannot be imported as it is. */
function asStored(u: SyncedUser, dn: string, enabled: boolean): MappedUser {
  return {
    key: u.directory_key!,
    dn,
    dnKey: dnKey(dn),
    username: u.username,
    loginName: u.login_name,
    firstName: u.first_name,
    lastName: u.last_name,
    displayName: u.display_name,
    email: u.email,
    enabled,
    changePassword: u.change_password === 1,
    primaryGroup: u.primary_group_rid,
  };
}

const storedNames = (u: SyncedUser): UserNames => ({ username: u.username, username_skeleton: u.username_skeleton, login_name: u.login_name, login_key: u.login_key, login_skeleton: u.login_skeleton });

/** The name columns of a new or renamed user, or of one whose look-alike keys are missing; null when the stored ones stand (an unchanged user costs no look-alike key). */
function changedNames(m: MappedUser, u: SyncedUser | undefined): UserNames | null {
  if (u && u.username === m.username && u.login_name === m.loginName && u.username_skeleton !== null && u.login_skeleton !== null) return null;
  return userNameColumns(m.username, m.loginName);
}

/**
 * The columns a sync compares and writes (a new user's look-alike keys are added; an existing one's are
 * written apart), but for those made from them (keysOf): an unchanged user, as a rule nearly all of a
 * sync's, costs no search text.
 */
function columnsOf(u: MappedUser, n: UserNames) {
  return {
    username: n.username,
    login_name: n.login_name,
    login_key: n.login_key,
    first_name: u.firstName,
    last_name: u.lastName,
    display_name: u.displayName,
    email: u.email,
    dn: u.dn,
    dn_key: u.dnKey,
    enabled: u.enabled ? 1 : 0,
    change_password: u.changePassword ? 1 : 0,
  };
}

/** The columns made from an entry's fields, written with them: the email's key and the search text. */
function keysOf(u: MappedUser) {
  return { email_key: emailKeyOf(u.email), search_text: searchTextFor({ username: u.username, first_name: u.firstName, last_name: u.lastName, email: u.email }) };
}

/** The columns of `next` that differ from the stored user; the search text with any field it is made of, the email's key with the email. */
function changedColumns(u: SyncedUser, next: ReturnType<typeof columnsOf>): (keyof ReturnType<typeof columnsOf> | keyof ReturnType<typeof keysOf>)[] {
  const columns: (keyof ReturnType<typeof columnsOf> | keyof ReturnType<typeof keysOf>)[] = (Object.keys(next) as (keyof typeof next)[]).filter((c) => u[c] !== next[c]);
  if (u.username !== next.username || u.first_name !== next.first_name || u.last_name !== next.last_name || u.email !== next.email) columns.push("search_text");
  if (u.email !== next.email) columns.push("email_key");
  return columns;
}

export class DirectorySync {
  private readonly db: Kysely<Database>;
  private readonly counts: RunCounts = { seen: 0, created: 0, updated: 0, disabled: 0, unchanged: 0, failed: 0, joined: 0, left: 0 };
  private readonly problems: EntryProblem[] = [];
  private readonly seenUsers = new IdSet();
  /** The directory's name, as the actor of the per-user audit events. */
  private readonly actor: Actor;
  private readonly d: Directory;
  private connection?: DirectoryConnection;
  /** Groups reached from the imported ones: local id by normalized DN. */
  private groupIds = new Map<string, number>();
  /** Each directory group's ancestors (itself included): the groups a member of it is a member of. */
  private ancestors = new Map<number, number[]>();
  /** Directory group id → the local groups its members join (groupMappings). */
  private mapped = new Map<number, number[]>();
  /** Groups whose memberships this directory decides: its own and the mapped local ones (not those a mapping not found freezes). */
  private managed: number[] = [];
  /** Local groups a mapping not found freezes: the mappings found still add to them, nobody is taken out. */
  private frozen: number[] = [];
  /** The mappings [directory group, local group] of groupMappings that resolved, in order (recorded when the run completes). */
  private mappedPairs: [number, number][] = [];
  /** Local groups a sync of this directory filled that no mapping names any more: the memberships it made there go. */
  private dropped: number[] = [];
  /** The local groups a sync of this directory may have put members into, once this run completes. */
  private filledAfter: number[] = [];
  /** The managed groups' ids and names, as audit events name them. */
  private groupNames = new Map<number, { uuid: string; name: string }>();
  private usersGroupId: number | undefined;
  /** Highest change mark read (fallback mark where the directory does not say its own). */
  private maxMark: string | null = null;
  /** System administrators this run leaves enabled and in their groups, whatever their entries say: no one else could act as one. */
  private readonly keptAdministrators = new Set<number>();
  /** Continuation references the users' search met (subtrees another server holds). */
  private readonly referrals: string[] = [];
  /** A `changed` sync reading only what changed since the last mark. */
  private incremental = false;
  /** Member DNs whose memberships a `changed` sync must check again (null: all users). */
  private affected: Set<string> | null = new Set();
  /** Every directory, by id: its priority decides who keeps a name two directories have. */
  private directories = new Map<number, Directory>();
  /** Member lists of groups waiting to be written together (writePendingMembers), by group id, and the rows they count for. */
  private readonly pendingMembers = new Map<number, { keys: string[]; hash: string | null; rows: number }>();
  private pendingRows = 0;
  /** Users of lower-priority directories this batch takes over (same username or login name), by id: their directory until now (null: kept from a removed one). */
  private takenOver = new Map<number, number | null>();

  constructor(private readonly o: SyncOptions) {
    this.db = o.store.db;
    this.d = o.directory;
    this.actor = { id: null, name: `directory:${o.directory.name}`.slice(0, 256), sourceIp: null };
  }

  async run(): Promise<SyncOutcome> {
    const startedAt = Date.now();
    const { queries, directory: d } = this.o;
    try {
      const connection = await DirectoryConnection.open(d);
      this.connection = connection;
      await connection.bindService(this.o.bindPassword);
      // Reached; its users' logins still fail where no password may cross this connection (an anonymous sync sends none).
      const refusal = connection.passwordRefusal();
      await queries.setReachability(d.id, refusal && problemOf(refusal), isoNow());
      const previous = await this.highWater();
      const { mark: startMark, server } = await this.startMark(connection, startedAt);
      // A mark from another domain controller (USNs are per server), none yet, or one read with other settings: read everything, disable nobody.
      const otherServer = previous !== null && previous.attribute === "uSNChanged" && !sameServer(previous, server, connection.url);
      const otherSettings = previous === null ? [] : changedReadSettings(previous, d);
      const incremental = this.o.mode === "changed" && previous !== null && !otherServer && otherSettings.length === 0;
      this.incremental = incremental;
      await this.syncGroups(incremental ? previous : null);
      await this.loadGraph();
      await this.dropUnmapped();
      const userFilter = incremental ? `(&${d.userFilter}(${previous.attribute}>=${escapeFilterValue(previous.value)}))` : d.userFilter;
      for await (const page of connection.search(d.userSearchBase ?? d.baseDn, userFilter, userAttributes(d), binaryAttributes(d), this.referrals)) {
        await this.syncUsers(page);
        await this.step();
      }
      if (incremental) await this.recheckAffected();
      let message: string | null = null;
      if (this.o.mode === "changed" && !incremental) {
        if (previous === null) message = "No earlier sync left a mark: every user was read (removals are found by full syncs).";
        else if (otherServer) message = `${server ?? connection.url.host} answered, not the server the last mark came from (marks are per server): every user was read.`;
        else if (previous.reads === undefined) message = "The last mark does not say which settings it was read with: every user was read (removals are found by full syncs).";
        else message = `How users are read changed since the last sync (${otherSettings.join(", ")}): every user was read (removals are found by full syncs).`;
      }
      if (this.o.mode === "full") message = await this.disableGone();
      await this.o.store.dialect.settleBulkWrites(this.db);
      const mark = startMark ?? this.maxMark ?? previous?.value ?? null;
      const highWater = mark === null ? null : JSON.stringify({ attribute: changeAttribute(d), value: mark, server: server ?? serverOf(connection.url), reads: readSettingsOf(d) } satisfies HighWater);
      await this.finish("succeeded", message, async (trx) => queries.recordCompleted(trx, d.id, this.o.mode, new Date(startedAt).toISOString(), highWater, { filled: this.filledAfter, pairs: this.mappedPairs }));
      return { state: "succeeded", counts: this.counts, problems: this.problems, message };
    } catch (error) {
      const message = error instanceof DirectoryError ? error.message : `The sync stopped: ${(error as Error)?.message ?? String(error)}`;
      // What keeps the directory's users from logging in too (health shows it): not a search or base it refused.
      const directoryProblem = error instanceof ServiceBindRefused || (error instanceof DirectoryError && (error.step === "connect" || error.step === "tls" || error.step === "insecure"));
      if (directoryProblem) await queries.setReachability(d.id, problemOf(error), isoNow()).catch(() => {});
      // The batches written before the failure left their search entries pending: merged now, not by the next single write.
      if (this.counts.created + this.counts.updated > 0) await this.o.store.dialect.settleBulkWrites(this.db);
      // The directory's or the store's own words seldom end in a full stop.
      const n = this.counts.disabled;
      const disabled = n === 0 ? "Nobody was disabled." : `${n === 1 ? "1 user was" : `${n} users were`} disabled before it stopped.`;
      await this.finish("failed", `${/[.!?]$/.test(message) ? message : `${message}.`} ${disabled}`, async () => {}).catch(() => {});
      return { state: "failed", counts: this.counts, problems: this.problems, message };
    } finally {
      await this.connection?.close();
    }
  }

  private problem(dn: string, message: string, failed = true): void {
    if (failed) this.counts.failed++;
    if (this.problems.length < PROBLEMS_MAX) this.problems.push({ dn, message });
  }

  /** Between batches: progress for every node to show, the lease renewed, a stop honoured. */
  private async step(): Promise<void> {
    if (this.o.signal.aborted) throw this.o.signal.reason;
    await this.o.queries.progress(this.o.runId, this.counts, JSON.stringify(this.problems), isoNow());
    await this.o.heartbeat();
  }

  private async finish(state: "succeeded" | "failed", message: string | null, more: (trx: Kysely<Database>) => Promise<void>): Promise<void> {
    const { queries, directory: d, startedBy } = this.o;
    const overtaken = new Error("closed as interrupted by another node");
    await this.db.transaction().execute(async (trx) => {
      await more(trx);
      await this.o.ending(trx);
      // Closed as interrupted meanwhile (this node's lease ran out and another noticed; that closing was
      // audited): nothing of this ending is kept, the mark and mappings of a run that may follow it included.
      if (!(await queries.finishRun(trx, this.o.runId, state, this.counts, JSON.stringify(this.problems), message, isoNow()))) throw overtaken;
      await recordAudit(trx, startedBy, {
        action: "directory.sync",
        target: { type: "directory", id: d.uuid, name: d.name },
        outcome: state === "succeeded" ? "success" : "failure",
        details: { runId: this.o.runId, mode: this.o.mode, forced: this.o.force, ...this.counts, ...(message ? { message } : {}) },
      });
    }).catch((error: unknown) => {
      if (error !== overtaken) throw error;
    });
    this.o.ended();
  }

  private async highWater(): Promise<HighWater | null> {
    const state = await this.o.queries.state(this.d.id);
    const mark = state?.high_water ? (JSON.parse(state.high_water) as HighWater) : null;
    return mark && mark.attribute === changeAttribute(this.d) ? mark : null;
  }

  /**
   * The mark the next `changed` sync reads from, taken before anything is read so that no change
   * made during the run is missed: Active Directory's highestCommittedUSN (+1), or this run's start
   * less the clock skew allowed for `modifyTimestamp`. Null where neither exists (a directory with
   * uSNChanged but no highestCommittedUSN): then the highest value read is used.
   */
  private async startMark(connection: DirectoryConnection, startedAt: number): Promise<{ mark: string | null; server: string | null }> {
    if (changeAttribute(this.d) === "modifyTimestamp") return { mark: generalizedTime(startedAt - CLOCK_SKEW_SECONDS * 1000), server: null };
    // The domain controller's own name (its NTDS Settings object): one address (a domain name, a load
    // balancer) may reach a different controller each time, whose USNs are its own.
    const root = await connection.read("", ["highestCommittedUSN", "dsServiceName"]);
    const values = root ? new EntryValues(root) : null;
    const usn = values?.text("highestCommittedUSN") ?? null;
    return { mark: usn !== null && /^\d+$/.test(usn) ? String(BigInt(usn) + 1n) : null, server: values?.text("dsServiceName") ?? null };
  }

  /** Notes the highest change mark of an entry (numbers compare as numbers, times as text). */
  private noteMark(values: EntryValues): void {
    const value = values.text(changeAttribute(this.d));
    if (value === null) return;
    const numeric = /^\d+$/.test(value);
    if (this.maxMark === null || (numeric ? BigInt(value) > BigInt(this.maxMark) : value > this.maxMark)) this.maxMark = value;
  }

  // --- groups ------------------------------------------------------------------------------------

  /**
   * Reads the imported groups and the groups nested in them (breadth first, each once: cycles end),
   * and keeps each as a local group with its member DNs. A full sync starts from the configured
   * groups and forgets the members of groups it no longer reaches; a `changed` one starts from the
   * groups changed since the mark.
   */
  private async syncGroups(since: HighWater | null): Promise<void> {
    const connection = this.connection!;
    const d = this.d;
    const allGroups = new Set<string>();
    for await (const page of connection.search(d.baseDn, d.groupFilter, ["1.1"])) for (const e of page) allGroups.add(dnKey(e.dn));
    const stored = await this.o.queries.groups(d.id);
    const roots = [...d.groupEntryDnList, ...d.groupMappings.map((m) => m.groupDn)];
    let queue: string[];
    if (since === null) {
      queue = roots;
    } else {
      const storedKeys = new Set(stored.map((g) => g.dn_key));
      const known = new Set([...storedKeys, ...roots.map(dnKey)]);
      // Groups configured since the last sync (groupEntryDnList, groupMappings) are read whether or not they changed,
      // and so is a large group whose member list a run left half-written (no hash, yet members: keepMembers).
      queue = roots.filter((dn) => !storedKeys.has(dnKey(dn)));
      const unhashed = stored.filter((g) => g.member_hash === null && g.dn !== null && g.dn_key !== null);
      if (unhashed.length > 0) {
        const partial = new Set(await this.o.queries.groupsWithMembers(unhashed.map((g) => g.id)));
        for (const g of unhashed) if (partial.has(g.id)) queue.push(g.dn!);
      }
      for await (const page of connection.search(d.baseDn, `(&${d.groupFilter}(${since.attribute}>=${escapeFilterValue(since.value)}))`, ["1.1"])) {
        for (const e of page) if (known.has(dnKey(e.dn))) queue.push(e.dn);
      }
    }
    const visited = new Set<string>();
    /** Groups found and kept (a group that no longer exists is visited, not reached). */
    const reached = new Set<number>();
    while (queue.length > 0) {
      const dn = queue.shift()!;
      const key = dnKey(dn);
      if (visited.has(key)) continue;
      visited.add(key);
      // Read as a group: a person's DN in groupEntryDnList is no group to import.
      const entry = await connection.read(dn, [...groupAttributes(d), ...MEMBER_ATTRIBUTES], groupBinaryAttributes(d), d.groupFilter);
      if (!entry) {
        if (!(await connection.read(dn, ["1.1"]))) {
          this.problem(dn, "The group does not exist in the directory.", false);
          continue;
        }
        // A group imported before groupFilter was narrowed keeps what it has (its members are not taken away) until the filter or the list is mended.
        const kept = stored.find((g) => g.dn_key === key);
        if (kept) {
          reached.add(kept.id);
          queue.push(...(await this.nestedIn(kept.id, stored, allGroups)));
        }
        this.problem(dn, `The entry is no group here: it does not match groupFilter${kept ? "; the group imported from it is left as it is" : ""}.`, false);
        continue;
      }
      const values = new EntryValues(entry);
      this.noteMark(values);
      const mapped = mapGroup(values, d);
      let group: { id: number; member_hash: string | null } | null;
      if ("problem" in mapped) {
        const kept = stored.find((g) => (mapped.rest ? g.directory_key === mapped.rest.key : g.dn_key === key));
        if (!kept || !mapped.rest) {
          // Without its key it cannot be told from another: what was imported keeps what it has (its members are not taken away).
          if (kept) {
            reached.add(kept.id);
            queue.push(...(await this.nestedIn(kept.id, stored, allGroups)));
          }
          this.problem(dn, `${mapped.problem}${kept ? " The group imported from it is left as it is." : ""}`, false);
          continue;
        }
        // Imported before its name broke a rule (renamed since, or the rule made since): the same group by its key, as a
        // user whose entry clashes — it keeps its name and follows the entry in the rest, its DN that nesting and mappings name.
        this.problem(dn, `${mapped.problem} The group imported from it keeps its name "${kept.name}"; its DN, description and members follow the entry.`, false);
        group = await this.keepGroup({ ...mapped.rest, name: kept.name }, stored);
      } else group = await this.keepGroup(mapped.group, stored);
      if (!group) continue;
      reached.add(group.id);
      const members = new Set<string>();
      for await (const chunk of connection.members(values)) {
        // A posixGroup names its members by login name: they are found by theirs (writeBatch), and are no groups to read.
        if (chunk.attribute === LOGIN_MEMBER_ATTRIBUTE) {
          for (const name of chunk.values) members.add(loginMemberKey(name));
          continue;
        }
        for (const member of chunk.values) {
          const memberKey = dnKey(member);
          members.add(memberKey);
          if (allGroups.has(memberKey) && !visited.has(memberKey)) queue.push(member);
        }
      }
      // Its primary members are in no member attribute (Active Directory): the users whose primaryGroupID,
      // read with them, is its RID hold this key too (writeBatch), as a change of it reaches a `changed` sync.
      const rid = primaryGroupRid(values, d);
      if (rid !== null) members.add(primaryMemberKey(rid));
      await this.keepMembers(group, [...members]);
    }
    if (since === null) {
      // Groups no longer reached keep their local group but lose their members (the users pass removes the
      // memberships), and their DN until they are reached again: a mapping from one is not resolved, so its
      // local group is left as it is (loadGraph), in the `changed` syncs after this one too.
      for (const g of stored) {
        if (reached.has(g.id) || (g.member_hash === null && g.dn_key === null)) continue;
        // Whatever its hash (a list an interrupted run left half-written has none).
        await this.db.transaction().execute(async (trx) => {
          await this.o.leaseHeld(trx);
          await trx.deleteFrom("directory_members").where("group_id", "=", g.id).execute();
          await trx.updateTable("groups").set({ member_hash: null, dn_key: null }).where("id", "=", g.id).execute();
        });
      }
    }
    await this.writePendingMembers();
  }

  /**
   * The DNs of the groups a group left as it is lists as members (as last read): read as if reached
   * through it, so that they too keep what they have, and its members through them stay in it.
   */
  private async nestedIn(groupId: number, stored: { dn: string | null; dn_key: string | null }[], allGroups: Set<string>): Promise<string[]> {
    const dns = new Map(stored.flatMap((g) => (g.dn === null || g.dn_key === null ? [] : [[g.dn_key, g.dn] as [string, string]])));
    const nested: string[] = [];
    for (let after = ""; ; ) {
      const page = await this.o.queries.memberKeysPage([groupId], after, 5000);
      for (const { member_key } of page) {
        const dn = dns.get(member_key) ?? (allGroups.has(member_key) ? member_key : undefined);
        if (dn !== undefined) nested.push(dn);
      }
      if (page.length < 5000) return nested;
      after = page[page.length - 1]!.member_key;
    }
  }

  /**
   * Other directories rewrite a renamed member's DN in no group but through an overlay (OpenLDAP's refint),
   * which leaves the group's modifyTimestamp as it was: the groups listing an old DN are read again, and the
   * member is renamed in those that list its new DN now; the others still list the old one, as a full sync reads.
   */
  private async rewrittenRenames(renames: { from: string; to: string }[]): Promise<{ from: string; to: string; groupIds: number[] }[]> {
    const listing = await this.o.queries.membersByKeys(this.d.id, renames.map((r) => r.from));
    if (listing.length === 0) return [];
    const listed = new Map<number, Set<string>>();
    for (const { id: groupId, dn } of await this.o.queries.groupDns([...new Set(listing.map((l) => l.group_id))])) {
      const keys = new Set<string>();
      const entry = dn == null ? null : await this.connection!.read(dn, MEMBER_ATTRIBUTES);
      if (entry) for await (const chunk of this.connection!.members(new EntryValues(entry))) if (chunk.attribute !== LOGIN_MEMBER_ATTRIBUTE) for (const v of chunk.values) keys.add(dnKey(v));
      listed.set(groupId, keys);
    }
    return renames
      .map((r) => ({ ...r, groupIds: listing.filter((l) => l.member_key === r.from && listed.get(l.group_id)?.has(r.to) === true).map((l) => l.group_id) }))
      .filter((r) => r.groupIds.length > 0);
  }

  /**
   * Inside a batch's transaction, after its writes: when `losing` (users it disabled or took out of groups)
   * leave no account that can act as system administrator, a LastAdministrators that names them rolls it back.
   */
  private async assertAdministratorRemains(trx: Kysely<Database>, losing: number[]): Promise<void> {
    if (losing.length === 0) return;
    try {
      await assertSystemAdministratorRemains(trx);
    } catch (error) {
      if (error instanceof DomainError) throw new LastAdministrators([...new Set(losing)]);
      throw error;
    }
  }

  /** The system administrators among `users` are kept as they are from now on in this run, each a problem of its entry. */
  private async keepAdministrators(users: number[], entries: { id: number | undefined; dn: string }[]): Promise<void> {
    const rows = await this.db.selectFrom("users").select(["id", "profile_id"]).where("id", "in", users).execute();
    const holders = await createUserQueries({ ...this.o.store, db: this.db }).holdingRole(SYSTEM_ADMINISTRATOR, rows);
    if (holders.size === 0) throw new Error("a batch would leave no account able to act as system administrator, through none of its own users");
    for (const id of holders) {
      this.keptAdministrators.add(id);
      const dn = entries.find((e) => e.id === id)?.dn ?? (await this.db.selectFrom("users").select("dn").where("id", "=", id).executeTakeFirst())?.dn ?? `user #${id}`;
      this.problem(dn, "The entry would disable this user or take it out of its groups, and then no account could act as system administrator: it is kept as it is until another can.");
    }
  }

  /** Creates or updates the local group of a directory group; null when its name is taken by, or looks like, another group's (a problem). */
  private async keepGroup(g: MappedGroup, stored: Awaited<ReturnType<DirectoryQueries["groups"]>>): Promise<{ id: number; member_hash: string | null } | null> {
    const d = this.d;
    const own = stored.find((s) => s.directory_key === g.key);
    // A group a removed directory left, of this same entry: taken back, as its kept users are (takeOver) —
    // but never one granting the system-administrator role, since this directory may be a security
    // administrator's, who may not feed such a group (groupMappings to it are refused them).
    const left = own ? undefined : await this.o.queries.keptGroup(g.key, SYSTEM_ADMINISTRATOR);
    const current = own ?? left;
    const plain = groupNameColumns(g.name);
    // A name held by another group: "<name> (<directory>)" — two directories that both have
    // "Domain Users" can both be imported and mapped; the name is a problem only when that is taken too.
    const qualified = groupNameColumns(`${g.name} (${d.name})`.slice(0, NAME_MAX).trimEnd());
    const kept = current && { name: current.name, name_key: current.name_key, name_skeleton: current.name_skeleton, search_key: searchFold(current.name) };
    // Its name as it is, with its look-alike key: nothing to look up (one without looks like another group's: checked, and reported, each time).
    // The qualified name is looked up each time the group is read: once no group holds the plain one, the group takes it back.
    const qualifiedKept = kept !== undefined && kept.name_skeleton !== null && kept.name === qualified.name;
    let names = kept && kept.name_skeleton !== null && kept.name === plain.name ? kept : plain;
    if (names !== kept) {
      const holders = (await this.o.queries.groupNameHolders([plain, qualified])).filter((h) => h.id !== current?.id);
      // The same name (ignoring case) first: that one the qualified name gets around; one that only looks like it, not.
      const holderOf = (n: typeof plain) => holders.find((h) => h.name_key === n.name_key) ?? holders.find((h) => h.name_skeleton === n.name_skeleton);
      const whose = (h: (typeof holders)[number]) => (h.directory_id === null ? "a local group" : h.directory_id === d.id ? "another group of this directory" : "a group of another directory");
      const holder = holderOf(plain);
      const next = holder?.name_key === plain.name_key ? holderOf(qualified) : undefined;
      let problem: string | null = null;
      if (!holder) names = plain;
      else if (qualifiedKept) names = kept;
      else if (holder.name_key !== plain.name_key) problem = `The group name "${g.name}" looks like that of ${whose(holder)}, "${holder.name}".`;
      // A directory named before the group-name rules, or a name cut short after a space, makes one the group API would refuse.
      else if (!isGroupName(qualified.name)) problem = `The group name "${g.name}" is taken by ${whose(holder)}, and "${qualified.name}" is not valid here: a group's name ${GROUP_NAME_RULE}, nor hold an invisible character.`;
      else if (!next) names = qualified;
      else if (next.name_key === qualified.name_key) problem = `The group name "${g.name}" is taken by ${whose(holder)}, and "${qualified.name}" too.`;
      else problem = `The group name "${g.name}" is taken by ${whose(holder)}, and "${qualified.name}" looks like that of ${whose(next)}, "${next.name}".`;
      if (problem !== null) {
        this.problem(g.dn, problem, false);
        if (!kept) return null;
        names = kept;
      }
    }
    const now = isoNow();
    const next = { name: names.name, name_key: names.name_key, name_skeleton: names.name_skeleton, search_key: names.search_key, description: g.description, dn: g.dn, dn_key: g.dnKey };
    if (!current) {
      const row = await this.db.transaction().execute(async (trx) => {
        await this.o.leaseHeld(trx);
        const created = await trx
          .insertInto("groups")
          .values({ ...next, uuid: randomUUID(), directory_id: d.id, directory_key: g.key, external: 1, created_at: now, updated_at: now })
          .returning(["id", "uuid", "name", "member_hash"])
          .executeTakeFirstOrThrow();
        await recordAudit(trx, this.actor, { action: "group.create", target: groupTarget(created), details: { after: { name: next.name, description: g.description, dn: g.dn }, directory: d.name } });
        return created;
      });
      // The one object the run keeps of it: reached again (another spelling of its DN), its members are known.
      const kept = { ...row, ...next, directory_key: g.key };
      stored.push(kept);
      return kept;
    }
    const before = { name: current.name, description: current.description, dn: current.dn, ...(left ? { directory: null } : {}) };
    const after = { name: next.name, description: next.description, dn: next.dn, ...(left ? { directory: d.name } : {}) };
    if (JSON.stringify(before) !== JSON.stringify(after) || current.dn_key !== next.dn_key) {
      const back = left ? { directory_id: d.id, external: 1 } : {};
      const taken = await this.db.transaction().execute(async (trx) => {
        await this.o.leaseHeld(trx);
        const update = trx.updateTable("groups").set((eb) => ({ ...next, ...back, version: eb("version", "+", 1), updated_at: now })).where("id", "=", current.id);
        // Taken back only while no other directory (another configuration of the same one) has taken it meanwhile.
        if (!left) await update.execute();
        else if (Number((await update.where("directory_id", "is", null).executeTakeFirst()).numUpdatedRows) === 0) return false;
        await recordAudit(trx, this.actor, { action: "group.update", target: groupTarget(current), details: { before, after, directory: d.name } });
        return true;
      });
      if (!taken) {
        this.problem(g.dn, `The group "${current.name}" a removed directory left was taken back meanwhile by another directory.`, false);
        return null;
      }
      Object.assign(current, next);
      if (left) stored.push(left);
    } else if (current.name_skeleton !== next.name_skeleton) {
      // Only its look-alike key, free now: nothing the group shows changes.
      await this.db.updateTable("groups").set({ name_skeleton: next.name_skeleton }).where("id", "=", current.id).execute();
      current.name_skeleton = next.name_skeleton;
    }
    return current;
  }

  /**
   * Keeps a group's member DNs when they changed: those of a group of ordinary size wait to be written
   * with other groups' (writePendingMembers); a bigger group's are rewritten in short transactions,
   * the hash last, so that a crash midway rewrites them next time.
   */
  private async keepMembers(group: { id: number; member_hash: string | null }, keys: string[]): Promise<void> {
    const hash = keys.length === 0 ? null : memberHash(keys);
    if (hash === group.member_hash) return;
    if (this.o.mode === "changed" && this.affected !== null) {
      // Its primary members stay so whatever else changed in the list: not every user is checked again for that.
      const primary = keys.find(isPrimaryMemberKey);
      const kept = primary !== undefined && (await this.o.queries.membersByKeys(this.d.id, [primary])).some((r) => r.group_id === group.id) ? primary : undefined;
      await this.noteMembersAffected([group.id], kept);
      for (const k of keys) if (k !== kept) this.noteAffected(k);
    }
    group.member_hash = hash;
    // A group waiting already (reached again) is written once, with its latest members.
    this.pendingRows -= this.pendingMembers.get(group.id)?.rows ?? 0;
    this.pendingMembers.delete(group.id);
    if (keys.length <= EDGES_PER_TRANSACTION) {
      // A group left without members counts as a row: its id is a parameter of the delete.
      const rows = Math.max(1, keys.length);
      this.pendingMembers.set(group.id, { keys, hash, rows });
      this.pendingRows += rows;
      if (this.pendingRows >= EDGES_PER_TRANSACTION) await this.writePendingMembers();
      return;
    }
    const setHash = (on: Kysely<Database>, value: string | null) => on.updateTable("groups").set({ member_hash: value }).where("id", "=", group.id).execute();
    await this.db.transaction().execute(async (trx) => {
      await this.o.leaseHeld(trx);
      await setHash(trx, null);
      await trx.deleteFrom("directory_members").where("group_id", "=", group.id).execute();
    });
    for (let i = 0; i < keys.length; i += EDGE_BATCH) {
      await this.db.insertInto("directory_members").values(keys.slice(i, i + EDGE_BATCH).map((k) => ({ directory_id: this.d.id, group_id: group.id, member_key: k }))).execute();
    }
    await this.db.transaction().execute(async (trx) => {
      await this.o.leaseHeld(trx);
      await setHash(trx, hash);
    });
  }

  /**
   * The member lists of groups of ordinary size waiting, written in one transaction with their hashes
   * (a first sync writes thousands of groups: a commit each wrote the same pages of the members'
   * indexes again and again). In group id order, the order other writers lock groups in.
   */
  private async writePendingMembers(): Promise<void> {
    const pending = [...this.pendingMembers].sort(([a], [b]) => a - b);
    this.pendingMembers.clear();
    this.pendingRows = 0;
    if (pending.length === 0) return;
    const { dialect } = this.o.store;
    const rows = pending.flatMap(([groupId, p]) => p.keys.map((k) => ({ directory_id: this.d.id, group_id: groupId, member_key: k })));
    await this.db.transaction().execute(async (trx) => {
      await this.o.leaseHeld(trx);
      await trx.deleteFrom("directory_members").where("group_id", "in", dialect.jsonList(pending.map(([groupId]) => groupId))).execute();
      for (let i = 0; i < rows.length; i += EDGE_BATCH) await trx.insertInto("directory_members").values(rows.slice(i, i + EDGE_BATCH)).execute();
      await dialect.updateJson(trx, "groups", ["member_hash"], pending.map(([groupId, p]) => ({ id: groupId, member_hash: p.hash })));
    });
  }

  /** The member keys the store holds for these groups, noted as affected (a page at a time), but `except`. */
  private async noteMembersAffected(groupIds: number[], except?: string): Promise<void> {
    for (let after = ""; this.affected !== null; ) {
      const page = await this.o.queries.memberKeysPage(groupIds, after, 5000);
      for (const r of page) if (r.member_key !== except) this.noteAffected(r.member_key);
      if (page.length < 5000) return;
      after = page[page.length - 1]!.member_key;
    }
  }

  private noteAffected(memberKey: string): void {
    if (this.affected === null) return;
    this.affected.add(memberKey);
    if (this.affected.size > AFFECTED_MAX) this.affected = null;
  }

  /** The graph of the directory's groups, each group's ancestors, and the local groups they map to. */
  private async loadGraph(): Promise<void> {
    const d = this.d;
    const [groups, edges] = await Promise.all([this.o.queries.groups(d.id), this.o.queries.groupEdges(d.id)]);
    this.groupIds = new Map(groups.flatMap((g) => (g.dn_key === null ? [] : [[g.dn_key, g.id] as [string, number]])));
    const parents = new Map<number, number[]>();
    for (const e of edges) {
      const child = this.groupIds.get(e.member_key);
      if (child !== undefined) parents.set(child, [...(parents.get(child) ?? []), e.parent]);
    }
    this.ancestors = new Map();
    for (const g of groups) {
      const seen = new Set([g.id]);
      const stack = [g.id];
      while (stack.length > 0) for (const p of parents.get(stack.pop()!) ?? []) if (!seen.has(p)) (seen.add(p), stack.push(p));
      this.ancestors.set(g.id, [...seen]);
    }
    const wanted = d.groupMappings.map((m) => m.localGroupId);
    const locals = wanted.length === 0 ? [] : await this.db.selectFrom("groups").select(["id", "uuid", "name"]).where("uuid", "in", wanted).where("directory_id", "is", null).execute();
    const localIds = new Map(locals.map((g) => [g.uuid, g.id]));
    this.mapped = new Map();
    /** Local groups of mappings whose directory group was not found. */
    const unresolved = new Set<number>();
    for (const m of d.groupMappings) {
      const source = this.groupIds.get(dnKey(m.groupDn));
      const target = localIds.get(m.localGroupId);
      if (target === undefined) this.problem(m.groupDn, `The local group ${m.localGroupId} of groupMappings does not exist.`, false);
      else if (source === undefined) {
        this.problem(m.groupDn, "A group of groupMappings was not found in the directory, or not imported (a problem of its own says why): nobody joins or leaves the local group it fills until it is imported or the mapping removed.", false);
        unresolved.add(target);
      } else this.mapped.set(source, [...(this.mapped.get(source) ?? []), target]);
    }
    this.mappedPairs = [...this.mapped].flatMap(([source, targets]) => targets.map((t): [number, number] => [source, t])).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const filling = new Set(this.mappedPairs.map(([, t]) => t));
    // A mapping whose directory group was not found (a mistyped DN, a group gone or not answered) freezes
    // its local group: nobody is taken out of it until the group is found again or the mapping removed.
    this.managed = [...new Set([...groups.map((g) => g.id), ...[...filling].filter((t) => !unresolved.has(t))])];
    this.frozen = [...filling].filter((t) => unresolved.has(t));
    const record = mappingRecordOf((await this.o.queries.state(d.id))?.mapped_groups ?? null);
    this.dropped = record.filled.filter((t) => !filling.has(t) && !unresolved.has(t));
    // Noted before this run puts anyone into a group: a run that fails midway leaves them to the next.
    const filled = [...new Set([...record.filled, ...filling])].sort((a, b) => a - b);
    if (filled.length !== record.filled.length) await this.o.queries.recordMappings(d.id, { filled, pairs: record.pairs });
    this.filledAfter = filled.filter((t) => !this.dropped.includes(t));
    if (this.o.mode === "changed") await this.noteRemapped(record.pairs);
    this.groupNames = new Map([...groups, ...locals].map((g) => [g.id, { uuid: g.uuid, name: g.name }]));
    this.usersGroupId = (await this.db.selectFrom("groups").select("id").where("name_key", "=", USERS_GROUP).where("builtin", "=", 1).executeTakeFirst())?.id;
    this.directories = new Map((await this.o.queries.list()).map((row) => [row.id, toDirectory(row)]));
  }

  /** Ids and names of groups, as audit events name them: the managed ones known, others (another directory's, left in a takeover) read. */
  private async groupNamesOf(trx: Kysely<Database>, ids: number[]): Promise<(id: number) => { groupId: string; group: string }> {
    const unknown = [...new Set(ids.filter((id) => !this.groupNames.has(id)))];
    const read = new Map((unknown.length === 0 ? [] : await trx.selectFrom("groups").select(["id", "uuid", "name"]).where("id", "in", unknown).execute()).map((g) => [g.id, g]));
    return (id) => {
      const g = this.groupNames.get(id) ?? read.get(id);
      return { groupId: g?.uuid ?? "", group: g?.name ?? `#${id}` };
    };
  }

  /** The groups whose member a user is, by its DN: its directory groups' ancestors and their mapped local groups. */
  private desiredGroups(direct: readonly number[]): Set<number> {
    const result = new Set<number>();
    for (const g of direct) {
      for (const a of this.ancestors.get(g) ?? [g]) {
        result.add(a);
        for (const local of this.mapped.get(a) ?? []) result.add(local);
      }
    }
    return result;
  }

  // --- users -------------------------------------------------------------------------------------

  /** One page of user entries: compared, checked, written in one transaction. */
  private async syncUsers(entries: Entry[]): Promise<void> {
    const d = this.d;
    const mapped: MappedUser[] = [];
    const usernames = new Set<string>();
    const uniqueIds = new Set<string>();
    /** Keys of every entry read: their users are still in the directory, whatever else is wrong with them. */
    const keys: string[] = [];
    /** Entries that cannot be imported as they are, but whose user may exist: it still follows them in whether it may log in. */
    const refused: { dn: string; key: string; problem: string; enabled: boolean }[] = [];
    /** Entries without their key (unreadable to the bind account, say): not gone, so their users at those DNs are not taken for gone. */
    const keyless: { dn: string; problem: string; enabled: boolean }[] = [];
    for (const entry of entries) {
      this.counts.seen++;
      const values = new EntryValues(entry);
      this.noteMark(values);
      const m = mapUser(values, d);
      if (m.key !== null) keys.push(m.key);
      if ("problem" in m) {
        if (m.key === null) keyless.push({ dn: entry.dn, problem: m.problem, enabled: m.enabled });
        else refused.push({ dn: entry.dn, key: m.key, problem: m.problem, enabled: m.enabled });
        continue;
      }
      if (m.warning) this.problem(entry.dn, m.warning, false);
      if (usernames.has(m.user.username)) {
        this.problem(entry.dn, `Another entry of this page has the username "${m.user.username}".`);
        continue;
      }
      if (uniqueIds.has(m.user.key)) {
        this.problem(entry.dn, `Another entry of this page has the same ${d.attributeMapping.uniqueId}.`);
        continue;
      }
      usernames.add(m.user.username);
      uniqueIds.add(m.user.key);
      mapped.push(m.user);
    }
    const existing = new Map((await this.o.queries.usersByKeys(d.id, keys)).map((u) => [u.directory_key!, u]));
    for (const u of existing.values()) this.seenUsers.add(u.id);
    if (keyless.length > 0) {
      const atDn = new Map((await this.o.queries.usersByDnKeys(d.id, keyless.map((k) => dnKey(k.dn)))).map((u) => [u.dn_key, u]));
      for (const k of keyless) {
        const u = atDn.get(dnKey(k.dn));
        // An entry of this page with the user's key is the user (moved); this one is someone else's.
        if (!u || existing.has(u.directory_key!)) {
          this.problem(k.dn, k.problem);
          continue;
        }
        this.seenUsers.add(u.id);
        // A disable in the directory is followed (left as it was, the user would keep its sessions and keys);
        // an enable is not: without its key the entry may be another person's at the user's old DN.
        this.problem(k.dn, `${k.problem} The user "${u.username}" at this DN is not taken for gone: it keeps what it had, and is disabled when the entry is, but is enabled again only by the entry with its ${d.attributeMapping.uniqueId}.`, false);
        existing.set(u.directory_key!, u);
        uniqueIds.add(u.directory_key!);
        mapped.push(asStored(u, k.dn, k.enabled && u.enabled === 1));
      }
    }
    for (const r of refused) {
      const u = existing.get(r.key);
      if (!u || uniqueIds.has(r.key)) {
        this.problem(r.dn, r.problem);
        continue;
      }
      // Left as it was, it would keep its sessions and keys after a disable in the directory.
      this.problem(r.dn, `${r.problem} The user "${u.username}" keeps what it had; only its DN and whether it is enabled follow the entry.`, false);
      uniqueIds.add(r.key);
      mapped.push(asStored(u, r.dn, r.enabled));
    }
    const { accepted, names } = await this.withoutClashes(mapped, existing);
    await this.writeBatch(accepted, existing, names, true);
  }

  /**
   * The entries whose username, login name and email clash with no other account (each clash a
   * problem), and the name columns each writes. A name that only looks like another account's
   * (Cyrillic ѕуѕаdmin beside sysadmin: the same look-alike key, domain/names.ts) clashes too.
   */
  private async withoutClashes(mapped: MappedUser[], existing: Map<string, SyncedUser>): Promise<{ accepted: MappedUser[]; names: Map<string, UserNames> }> {
    this.takenOver = new Map();
    const names = new Map<string, UserNames>();
    const checked = mapped.filter((m) => {
      const u = existing.get(m.key);
      const changed = changedNames(m, u);
      names.set(m.key, changed ?? storedNames(u!));
      return changed !== null || (u!.email !== m.email && emailKeyOf(u!.email) !== emailKeyOf(m.email));
    });
    if (checked.length === 0) return { accepted: mapped, names };
    const namesChecked = checked.map((m) => names.get(m.key)!);
    const holders = await this.o.queries.holders({
      usernames: namesChecked.map((n) => n.username),
      loginKeys: namesChecked.map((n) => n.login_key),
      emails: checked.flatMap((m) => (m.email ? [emailKeyOf(m.email)!] : [])),
      usernameSkeletons: namesChecked.flatMap((n) => n.username_skeleton ?? []),
      loginSkeletons: namesChecked.flatMap((n) => n.login_skeleton ?? []),
    });
    const refused = new Set<string>();
    /** Users imported before whose entry now clashes: synced with the names and email they hold. */
    const stored = new Set<string>();
    const takeovers = new Map<string, (typeof holders)[number]>();
    const taken = new Set<number>();
    type Holder = Pick<(typeof holders)[number], "username" | "username_skeleton" | "login_skeleton" | "directory_id" | "directory_name">;
    /** The look-alike keys of the entries accepted so far (`u`/`l` + key): two entries of a page must not look alike either. */
    const claimed = new Map<string, Holder>();
    const claim = (h: Holder) => {
      if (h.username_skeleton !== null) claimed.set(`u${h.username_skeleton}`, h);
      if (h.login_skeleton !== null) claimed.set(`l${h.login_skeleton}`, h);
    };
    const same = (a: string | null, b: string | null) => a !== null && a === b;
    for (const m of checked) {
      const u = existing.get(m.key);
      const self = u?.id;
      const n = names.get(m.key)!;
      const whose = (h: Holder) => (h.directory_id === null ? "a local user" : h.directory_id === this.d.id ? "another user of this directory" : `a user of the directory "${h.directory_name}"`);
      const holdsName = (h: (typeof holders)[number]) => h.username === n.username || h.login_key === n.login_key;
      let byName = holders.find((h) => h.id !== self && holdsName(h));
      if (byName && self === undefined && this.outranks(byName, m.key) && !taken.has(byName.id)) {
        takeovers.set(m.key, byName);
        taken.add(byName.id);
      }
      const taker = takeovers.get(m.key)?.id ?? self;
      // The username and the login name may be two accounts': the one taken over, and another.
      byName = holders.find((h) => h.id !== taker && holdsName(h));
      // An email may repeat within a directory; so it may where this one outranks the holder's directory.
      const byEmail = m.email
        ? holders.find((h) => h.id !== taker && h.directory_id !== this.d.id && !(h.directory_id !== null && this.outranks(h, m.key)) && emailKeyOf(h.email) === emailKeyOf(m.email))
        : undefined;
      const alike: Holder | undefined =
        holders.find((h) => h.id !== taker && (same(h.username_skeleton, n.username_skeleton) || same(h.login_skeleton, n.login_skeleton))) ?? claimed.get(`u${n.username_skeleton}`) ?? claimed.get(`l${n.login_skeleton}`);
      const alikeName = alike && (same(alike.username_skeleton, n.username_skeleton) ? `username "${n.username}"` : `login name "${n.login_name}"`);
      // Another entry of this directory (another uniqueId: one deleted and created again, say) is not taken over: a new holder of the name would get the former one's groups, keys and history.
      const notTheSame =
        !u && byName?.directory_id === this.d.id
          ? `, whose entry has another ${this.d.attributeMapping.uniqueId} (an entry deleted and created again has a new one): it is not taken over, so that the new entry gets none of its groups, keys or history. If that user's entry is gone, delete the user once a full sync has disabled it as gone, and the next full sync imports this entry; if both entries exist, rename one of them in the directory`
          : "";
      const clash = byName
        ? `The username or login name "${byName.username === n.username ? n.username : n.login_name}" is taken by ${whose(byName)}${notTheSame}.`
        : byEmail
          ? `The email ${m.email} is taken by ${whose(byEmail)}.`
          : alike && !(u && u.username === n.username && u.login_name === n.login_name)
            ? `The ${alikeName} looks like that of ${whose(alike)}, "${alike.username}".`
            : null;
      if (clash !== null && u) {
        // A user imported before keeps the names and email it holds; the rest of the entry, a disable among them, is synced.
        this.problem(m.dn, `${clash} The user "${u.username}" keeps its username, login name and email; the entry's other changes are synced.`, false);
        names.set(m.key, storedNames(u));
        claim({ ...storedNames(u), directory_id: this.d.id, directory_name: this.d.name });
        stored.add(m.key);
        continue;
      }
      if (clash !== null) this.problem(m.dn, clash);
      else if (alike && u) {
        // Its names unchanged, stored before syncs wrote look-alike keys (011i left the clashing one unset): still synced, so that a disable in the directory reaches it.
        this.problem(m.dn, `The ${alikeName} looks like that of ${whose(alike)}, "${alike.username}" (both were stored before look-alikes were checked): rename one of them.`, false);
        const kept = { ...n, username_skeleton: same(alike.username_skeleton, n.username_skeleton) ? u.username_skeleton : n.username_skeleton, login_skeleton: same(alike.login_skeleton, n.login_skeleton) ? u.login_skeleton : n.login_skeleton };
        names.set(m.key, kept);
        claim({ ...kept, directory_id: this.d.id, directory_name: this.d.name });
        continue;
      } else {
        claim({ username: n.username, username_skeleton: n.username_skeleton, login_skeleton: n.login_skeleton, directory_id: this.d.id, directory_name: this.d.name });
        continue;
      }
      refused.add(m.key);
      if (takeovers.has(m.key)) taken.delete(takeovers.get(m.key)!.id);
      takeovers.delete(m.key);
    }
    for (const key of await this.takeOver(takeovers, existing)) {
      const m = checked.find((c) => c.key === key)!;
      const holder = takeovers.get(key)!;
      const of = holder.directory_id === null ? "kept from a removed directory" : `of the directory "${holder.directory_name}"`;
      this.problem(m.dn, `The username or login name "${holder.username}" is held by a system administrator ${of}: this directory does not take it over.`);
      refused.add(key);
    }
    const accepted = mapped.filter((m) => !refused.has(m.key)).map((m) => (stored.has(m.key) ? { ...m, username: existing.get(m.key)!.username, loginName: existing.get(m.key)!.login_name, email: existing.get(m.key)!.email } : m));
    return { accepted, names };
  }

  /**
   * True when a user holding a name this directory brings (as the entry `key`) belongs to a directory of
   * lower priority (a higher number), or was kept from a removed directory as that same entry: its
   * uniqueId, not its name, says it is the same person — another directory's "alice" is a clash.
   */
  private outranks(holder: { directory_id: number | null; directory_key: string | null; kept: unknown }, key: string): boolean {
    if (holder.directory_id === null) return Boolean(holder.kept) && holder.directory_key === key;
    if (holder.directory_id === this.d.id) return false;
    return (this.directories.get(holder.directory_id)?.priority ?? Number.POSITIVE_INFINITY) > this.d.priority;
  }

  /**
   * `priority` decides between directories: an entry whose username or login name a user of a
   * lower-priority directory holds takes that user over — the same account (id, groups, history),
   * from now on this directory's, updated from the entry like any of its users. So does an entry
   * that a user kept from a removed directory was (the same uniqueId: the directory added again).
   * Never a user holding the system-administrator role: the directory
   * that takes it over may be a security administrator's.
   */
  private async takeOver(takeovers: Map<string, { id: number; profile_id: number; directory_id: number | null }>, existing: Map<string, SyncedUser>): Promise<string[]> {
    if (takeovers.size === 0) return [];
    const admins = await createUserQueries(this.o.store).holdingRole(SYSTEM_ADMINISTRATOR, [...takeovers.values()]);
    const rows = new Map((await this.o.queries.usersByIds([...takeovers.values()].map((h) => h.id))).map((u) => [u.id, u]));
    const blocked: string[] = [];
    for (const [key, holder] of takeovers) {
      const user = rows.get(holder.id);
      if (!user || admins.has(holder.id)) {
        blocked.push(key);
        continue;
      }
      existing.set(key, user);
      // This directory's user from now on: seen by this run (a full sync disables the unseen).
      this.seenUsers.add(holder.id);
      this.takenOver.set(holder.id, holder.directory_id);
    }
    return blocked;
  }

  /**
   * Writes a batch: new users, changed fields, memberships brought to what the graph says, audit
   * events, all in one transaction, each kind of write one statement for the batch (rows as one
   * JSON parameter: binding a parameter per value cost more than the store's own work); then marks
   * the batch's users seen. A batch with nothing to write opens no transaction. A racing writer that
   * takes a name meanwhile (unique index) fails the batch once; it is checked and written again.
   */
  private async writeBatch(batch: MappedUser[], existing: Map<string, SyncedUser>, names: Map<string, UserNames>, read: boolean, retry = true): Promise<void> {
    const d = this.d;
    const { dialect } = this.o.store;
    // Active Directory shows a renamed or moved member under its new DN in groups that did not change
    // (their uSNChanged stays): a `changed` sync, which reads only the changed groups, renames it in the others.
    if (this.incremental) {
      const renames = batch.flatMap((m) => {
        const from = existing.get(m.key)?.dn_key;
        return from != null && from !== m.dnKey ? [{ from, to: m.dnKey }] : [];
      });
      const followed = renames.length === 0 || d.vendor === "ACTIVE_DIRECTORY" ? renames : await this.rewrittenRenames(renames);
      if (followed.length > 0) await this.o.queries.renameMemberKeys(d.id, followed);
    }
    // A user is a member by its DN, by its login name where a posixGroup names it (memberUid), or by its primary group (Active Directory).
    const memberKeys = new Map(batch.map((m) => [m, [m.dnKey, loginMemberKey(m.loginName), ...(m.primaryGroup === null ? [] : [primaryMemberKey(m.primaryGroup)])]]));
    const byKey = new Map<string, number[]>();
    for (const r of await this.o.queries.membersByKeys(d.id, [...new Set([...memberKeys.values()].flat())])) byKey.set(r.member_key, [...(byKey.get(r.member_key) ?? []), r.group_id]);
    const direct = (m: MappedUser) => memberKeys.get(m)!.flatMap((k) => byKey.get(k) ?? []);
    const existingIds = batch.flatMap((m) => existing.get(m.key)?.id ?? []);
    /** Each user's memberships in the groups this directory decides: group → the directory whose sync made it (null: by hand). */
    const current = new Map<number, Map<number, number | null>>();
    // The groups dropped from the mappings too: what the sync made there is had, and not wanted. The
    // frozen ones: a member there already does not join again.
    for (const r of await this.o.queries.memberships(existingIds, [...this.managed, ...this.dropped, ...this.frozen])) current.set(r.user_id, (current.get(r.user_id) ?? new Map()).set(r.group_id, r.synced_by));
    const now = isoNow();

    // What changes for the users there are: fields, and memberships in the groups this directory decides.
    const fresh = batch.filter((m) => !existing.has(m.key));
    const updates: { key: string; m: MappedUser; u: SyncedUser; next: ReturnType<typeof columnsOf>; before: Record<string, unknown>; after: Record<string, unknown> }[] = [];
    const adds: { group_id: number; user_id: number; synced_by: number | null }[] = [];
    const removes: { group_id: number; user_id: number }[] = [];
    /**
     * Users whose look-alike keys change: renamed, or without them (migration 011i) and free now. Written
     * apart, so that the other updates leave those unique indexes alone; a user whose keys alone change
     * is unchanged (no version, document or audit event: what it is and shows is the same).
     */
    const newKeys: { id: number; username_skeleton: string | null; login_skeleton: string | null }[] = [];
    /** Users whose primaryGroupID changed: written apart too, as it shows only in their groups. */
    const newPrimary: { id: number; primary_group_rid: number | null }[] = [];
    let unchanged = 0;
    let regrouped = 0;
    for (const m of batch) {
      const u = existing.get(m.key);
      if (!u) continue;
      const n = names.get(m.key)!;
      const next = columnsOf(m, n);
      const keptAdministrator = this.keptAdministrators.has(u.id);
      if (keptAdministrator) {
        next.enabled = u.enabled;
        next.change_password = u.change_password;
      }
      const before: Record<string, unknown> = {};
      const after: Record<string, unknown> = {};
      for (const [field, column] of SYNCED_FIELDS) {
        if (u[column] === next[column]) continue;
        before[field] = column === "enabled" || column === "change_password" ? u[column] === 1 : u[column];
        after[field] = column === "enabled" || column === "change_password" ? next[column] === 1 : next[column];
      }
      const from = this.takenOver.get(u.id);
      if (from !== undefined) {
        before.directory = from === null ? null : (this.directories.get(from)?.name ?? `#${from}`);
        after.directory = d.name;
      }
      const fieldsSame = Object.keys(after).length === 0 && u.dn_key === next.dn_key;
      if (!fieldsSame) updates.push({ key: m.key, m, u, next, before, after });
      if (u.username_skeleton !== n.username_skeleton || u.login_skeleton !== n.login_skeleton) newKeys.push({ id: u.id, username_skeleton: n.username_skeleton, login_skeleton: n.login_skeleton });
      if (u.primary_group_rid !== m.primaryGroup) newPrimary.push({ id: u.id, primary_group_rid: m.primaryGroup });
      const want = this.desiredGroups(direct(m));
      const have = current.get(u.id) ?? new Map<number, number | null>();
      // A sync removes only the memberships a sync made (this directory's, or the one it takes the user over from): one added by hand stays.
      const mine = (by: number | null) => by !== null && (by === d.id || by === from);
      const changes = adds.length + removes.length;
      for (const g of want) if (!have.has(g)) adds.push({ group_id: g, user_id: u.id, synced_by: d.id });
      for (const [g, by] of have) if (!want.has(g) && mine(by) && !keptAdministrator && !this.frozen.includes(g)) removes.push({ group_id: g, user_id: u.id });
      // A user whose groups alone changed is updated too (its joins and leaves are counted and audited apart).
      if (fieldsSame && adds.length + removes.length === changes) unchanged++;
      else if (fieldsSame) regrouped++;
    }
    if (read) this.counts.unchanged += unchanged;
    if (fresh.length === 0 && updates.length === 0 && newKeys.length === 0 && newPrimary.length === 0 && adds.length === 0 && removes.length === 0) return;

    try {
      // The transaction may run again (storage/busy.ts): what it counts and joins is its own.
      const { created, counts } = await this.db.transaction().execute((trx) =>
        dialect.batchUserWrites(trx, async () => {
          await this.o.leaseHeld(trx);
          const tally = { created: 0, updated: 0, disabled: 0, joined: 0, left: 0 };
          const joins = [...adds];
          const audits: AuditEntry[] = [];
          const documents: number[] = [];
          /**
           * Updated users whose document changes only in its own fields (names, email, DN, enabled …: a
           * `changed` sync's as a rule): rewritten in place without reading their groups, unless a rename, a
           * takeover (their source) or a membership change of this batch needs the whole document.
           */
          const own: number[] = [];
          const search: number[] = [];
          const disabledIds: number[] = [];
          // The spread last: `{ ...object, more }` costs V8 several µs a user.
          const rows = fresh.map((m) => {
            const n = names.get(m.key)!;
            return { uuid: orderedUuid(), directory_id: d.id, directory_key: m.key, created_at: now, updated_at: now, username_skeleton: n.username_skeleton, login_skeleton: n.login_skeleton, primary_group_rid: m.primaryGroup, ...columnsOf(m, n), ...keysOf(m) };
          });
          const inserted = rows.length === 0 ? [] : await dialect.insertJson<{ id: number; uuid: string; username: string; directory_key: string }>(trx, "users", Object.keys(rows[0]!), rows, { returning: ["id", "uuid", "username", "directory_key"] });
          const ids = new Map(inserted.map((u) => [u.directory_key, u.id]));
          const freshByKey = new Map(fresh.map((m) => [m.key, m]));
          /** The batch's users by id, and the audit events of the new ones (which name the groups they joined). */
          const users = new Map<number, { uuid: string; username: string }>([...existing.values(), ...inserted].map((u) => [u.id, u]));
          const createEvents = new Map<number, AuditEntry>();
          for (const u of inserted) {
            const m = freshByKey.get(u.directory_key)!;
            documents.push(u.id);
            search.push(u.id);
            tally.created++;
            // Every new user joins users, as a local one does: not the sync's to take back.
            if (this.usersGroupId !== undefined) joins.push({ group_id: this.usersGroupId, user_id: u.id, synced_by: null });
            for (const g of this.desiredGroups(direct(m))) joins.push({ group_id: g, user_id: u.id, synced_by: d.id });
            const event: AuditEntry = { action: "user.create", target: userTarget(u), details: { after: Object.fromEntries(SYNCED_FIELDS.map(([f]) => [f, m[f]])), directory: d.name } };
            createEvents.set(u.id, event);
            audits.push(event);
          }
          // Each user's changed columns only, one statement for the users that changed the same ones (as a
          // rule all of a batch: a `changed` sync after one attribute was edited): a column written
          // unchanged is an index entry rewritten (SQLite: username, login key, enabled …, each user).
          // Each statement's users in id order: their rows are read, and on PostgreSQL most likely
          // locked, in that order (a deadlock between two statements is a busy transaction, run again).
          const byColumns = new Map<string, { columns: string[]; rows: { id: number }[] }>();
          const searchChanged = new Set<number>();
          for (const { m, u, next } of [...updates].sort((a, b) => a.u.id - b.u.id)) {
            const columns = changedColumns(u, next);
            if (columns.includes("search_text")) searchChanged.add(u.id);
            const row: Record<string, unknown> & { id: number } = { id: u.id, updated_at: now };
            const values = columns.includes("search_text") || columns.includes("email_key") ? { ...next, ...keysOf(m) } : next;
            for (const c of columns) row[c] = values[c as keyof typeof values];
            const key = columns.join(",");
            const same = byColumns.get(key);
            if (same) same.rows.push(row);
            else byColumns.set(key, { columns: [...columns, "updated_at"], rows: [row] });
          }
          for (const { columns, rows: changed } of byColumns.values()) await dialect.updateJson(trx, "users", columns, changed, { increment: ["version"] });
          if (newKeys.length > 0) await dialect.updateJson(trx, "users", ["username_skeleton", "login_skeleton"], newKeys.sort((a, b) => a.id - b.id));
          if (newPrimary.length > 0) await dialect.updateJson(trx, "users", ["primary_group_rid"], newPrimary.sort((a, b) => a.id - b.id));
          const moved = updates.filter(({ u }) => this.takenOver.has(u.id));
          const left: { group_id: number; user_id: number }[] = [];
          if (moved.length > 0) {
            // Keyed by this directory from now on. The memberships the other directory's sync made are
            // this one's where it decides the group too (it counted them as had: kept, or removed below
            // when not wanted) and are dropped elsewhere; those added by hand stay.
            const keyed = moved.map(({ key, u }) => ({ id: u.id, directory_id: d.id, directory_key: key })).sort((a, b) => a.id - b.id);
            await dialect.updateJson(trx, "users", ["directory_id", "directory_key"], keyed, {});
            for (const from of new Set(moved.map(({ u }) => this.takenOver.get(u.id)))) {
              // A user kept from a removed directory has no memberships a sync made any more.
              if (from == null) continue;
              const ids = moved.filter(({ u }) => this.takenOver.get(u.id) === from).map(({ u }) => u.id);
              if (this.managed.length > 0) await trx.updateTable("group_members").set({ synced_by: d.id }).where("user_id", "in", ids).where("synced_by", "=", from).where("group_id", "in", this.managed).execute();
              left.push(...(await trx.deleteFrom("group_members").where("user_id", "in", ids).where("synced_by", "=", from).returning(["group_id", "user_id"]).execute()));
            }
          }
          for (const { u, next, before, after } of updates) {
            (u.username === next.username && !this.takenOver.has(u.id) ? own : documents).push(u.id);
            if (searchChanged.has(u.id)) search.push(u.id);
            if (u.enabled === 1 && next.enabled === 0) {
              disabledIds.push(u.id);
              tally.disabled++;
              if (Object.keys(after).length === 1) {
                audits.push({ action: "user.disable", target: userTarget(u), details: { reason: "disabled in the directory", directory: d.name } });
                continue;
              }
            }
            tally.updated++;
            if (Object.keys(after).length > 0) audits.push({ action: "user.update", target: userTarget(u), details: { before, after, directory: d.name } });
          }
          const joined = joins.length === 0 ? [] : await dialect.insertJson<{ group_id: number; user_id: number; synced_by: number | null }>(trx, "group_members", ["group_id", "user_id", "synced_by"], joins, { skipConflicts: true, returning: ["group_id", "user_id", "synced_by"] });
          if (removes.length > 0) {
            // Still a sync's when it is deleted: one an administrator made their own since it was read stays.
            left.push(...(await trx.deleteFrom("group_members").where((eb) => eb(eb.refTuple("group_id", "user_id"), "in", removes.map((r) => eb.tuple(r.group_id, r.user_id)))).where("synced_by", "is not", null).returning(["group_id", "user_id"]).execute()));
          }
          const groups = new Set<number>();
          for (const r of [...joined, ...left]) {
            groups.add(r.group_id);
            documents.push(r.user_id);
          }
          // The sync's memberships, counted and audited a user at a time (not one event a membership): a
          // new user's in its creation's event (by name: a first sync creates a million), an existing
          // one's in one event for what it joined and one for what it left. (The users group every new
          // user joins is part of its creation, as for a local user.)
          const synced = joined.filter((r) => r.synced_by === d.id);
          tally.joined = synced.length;
          tally.left = left.length;
          const named = await this.groupNamesOf(trx, [...synced, ...left].map((r) => r.group_id));
          const byUser = (rows: { group_id: number; user_id: number }[]) => {
            const map = new Map<number, { groupId: string; group: string }[]>();
            for (const r of rows) map.set(r.user_id, [...(map.get(r.user_id) ?? []), named(r.group_id)]);
            return map;
          };
          for (const [userId, list] of byUser(synced)) {
            const created = createEvents.get(userId);
            if (created) created.details!.groups = list.map((g) => g.group);
            else audits.push({ action: "group.member.add", target: userTarget(users.get(userId)!), details: { groups: list, directory: d.name } });
          }
          for (const [userId, list] of byUser(left)) audits.push({ action: "group.member.remove", target: userTarget(users.get(userId)!), details: { groups: list, directory: d.name } });
          if (disabledIds.length > 0) await Sessions.revokeAllOf(trx, disabledIds);
          // Those it disabled, took out of groups, or told to change a password first (which stops every way in but a password).
          const mustChange = updates.filter(({ u, next }) => u.change_password === 0 && next.change_password === 1).map(({ u }) => u.id);
          await this.assertAdministratorRemains(trx, [...disabledIds, ...left.map((r) => r.user_id), ...mustChange]);
          await recordAuditRows(trx, dialect, this.actor, audits);
          const whole = new Set(documents);
          return { result: { created: [...ids.values()], counts: tally }, documents: [...whole], ownFields: own.filter((id) => !whole.has(id)), search, groups: [...groups] };
        }),
      );
      for (const id of created) this.seenUsers.add(id);
      this.counts.created += counts.created;
      this.counts.updated += counts.updated + (read ? regrouped : 0);
      this.counts.disabled += counts.disabled;
      this.counts.joined += counts.joined;
      this.counts.left += counts.left;
    } catch (error) {
      if (error instanceof LastAdministrators && !error.users.every((id) => this.keptAdministrators.has(id))) {
        // Written again with the system administrators among them as they are (enabled, in their groups), each a problem.
        if (read) this.counts.unchanged -= unchanged;
        await this.keepAdministrators(error.users, batch.map((m) => ({ id: existing.get(m.key)?.id, dn: m.dn })));
        return this.writeBatch(batch, existing, names, read, retry);
      }
      if (!retry || !isUniqueViolation(error)) throw error;
      if (read) this.counts.unchanged -= unchanged;
      const again = new Map((await this.o.queries.usersByKeys(d.id, batch.map((m) => m.key))).map((u) => [u.directory_key!, u]));
      const checked = await this.withoutClashes(batch, again);
      await this.writeBatch(checked.accepted, again, checked.names, read, false);
    }
  }

  /**
   * A `changed` sync whose groups changed: the users whose groups may differ now — members of a
   * changed group before or after, or every user of the directory past AFFECTED_MAX — get their
   * memberships checked (their other fields are as the last sync left them).
   */
  private async recheckAffected(): Promise<void> {
    if (this.affected !== null && this.affected.size === 0) return;
    // A group that joined or left another changed the groups of everyone in it and in the groups nested in it.
    const nested = this.affected === null ? [] : [...this.affected].flatMap((k) => this.groupIds.get(k) ?? []);
    if (nested.length > 0) {
      const moved = new Set(nested);
      await this.noteMembersAffected([...this.ancestors].filter(([, ancestors]) => ancestors.some((a) => moved.has(a))).map(([g]) => g));
    }
    this.takenOver = new Map();
    const batches = this.affected === null ? this.allUsers() : this.usersByMemberKeys([...this.affected]);
    for await (const users of batches) await this.recheckMemberships(users);
  }

  /**
   * A local group no mapping names any more (its mappings removed): the memberships a sync of this
   * directory made in it are removed from every user of the directory (a full sync would reach only
   * those it reads, a `changed` one only those that changed).
   */
  private async dropUnmapped(): Promise<void> {
    if (this.dropped.length === 0) return;
    this.takenOver = new Map();
    for (const group of this.dropped) {
      for (let after = 0; ; ) {
        const users = await this.o.queries.usersSyncedInto(this.d.id, group, after, this.d.pageSize);
        if (users.length === 0) break;
        await this.recheckMemberships(users);
        after = users[users.length - 1]!.id;
      }
    }
  }

  /**
   * A `changed` sync after groupMappings changed (a mapping added, removed or pointed elsewhere): the
   * members of each directory group whose local groups differ, its nested groups' too, get their
   * memberships checked, as those of a group whose members changed are.
   */
  private async noteRemapped(before: [number, number][] | null): Promise<void> {
    if (before === null) return;
    const key = ([source, target]: [number, number]) => `${source} ${target}`;
    const now = new Set(this.mappedPairs.map(key));
    const was = new Set(before.map(key));
    const sources = new Set([...this.mappedPairs.filter((p) => !was.has(key(p))), ...before.filter((p) => !now.has(key(p)))].map(([source]) => source));
    if (sources.size === 0) return;
    // A directory group gone since: whom it held is not known any more, so every user is checked.
    if ([...sources].some((source) => !this.ancestors.has(source))) {
      this.affected = null;
      return;
    }
    await this.noteMembersAffected([...this.ancestors].filter(([, ancestors]) => ancestors.some((a) => sources.has(a))).map(([g]) => g));
  }

  /** Stored users' memberships brought to what the graph says (their other fields are as the last sync left them). */
  private async recheckMemberships(users: SyncedUser[]): Promise<void> {
    const batch: MappedUser[] = users.map((u) => ({
      key: u.directory_key!, dn: u.dn ?? "", dnKey: u.dn_key ?? "", username: u.username, loginName: u.login_name, firstName: u.first_name, lastName: u.last_name,
      displayName: u.display_name, email: u.email, enabled: u.enabled === 1, changePassword: u.change_password === 1, primaryGroup: u.primary_group_rid,
    }));
    // Only memberships change here: the names stay as stored.
    await this.writeBatch(batch, new Map(users.map((u) => [u.directory_key!, u])), new Map(users.map((u) => [u.directory_key!, storedNames(u)])), false);
    await this.step();
  }

  /** The users member keys name: by DN, by login name (loginMemberKey), or by primary group (primaryMemberKey: a page at a time, Domain Users' are most users). */
  private async *usersByMemberKeys(keys: string[]): AsyncGenerator<SyncedUser[]> {
    const named = keys.filter((key) => !isPrimaryMemberKey(key));
    for (let i = 0; i < named.length; i += this.d.pageSize) {
      const dnKeys: string[] = [];
      const loginKeys: string[] = [];
      for (const key of named.slice(i, i + this.d.pageSize)) {
        const login = loginKeyOfMember(key);
        if (login === null) dnKeys.push(key);
        else loginKeys.push(login);
      }
      yield this.o.queries.usersByDnOrLoginKeys(this.d.id, dnKeys, loginKeys);
    }
    for (const rid of keys.flatMap((key) => ridOfPrimaryMember(key) ?? [])) {
      for (let after = 0; ; ) {
        const page = await this.o.queries.usersWithPrimaryGroup(this.d.id, rid, after, this.d.pageSize);
        if (page.length > 0) yield page;
        if (page.length < this.d.pageSize) break;
        after = page[page.length - 1]!.id;
      }
    }
  }

  private async *allUsers(): AsyncGenerator<SyncedUser[]> {
    for (let after = ""; ; ) {
      const page = await this.o.queries.usersPage(this.d.id, after, this.d.pageSize);
      if (page.length > 0) yield page;
      if (page.length < this.d.pageSize) return;
      after = page[page.length - 1]!.directory_key!;
    }
  }

  /**
   * After a full sync that read every page: disables (never deletes) the directory's users it did not
   * see, unless — and the run is not forced — the directory answered no users or they are more than the
   * safety share. Returns what the run says about it (null when there is nothing to say).
   */
  private async disableGone(): Promise<string | null> {
    const d = this.d;
    // An empty answer is more often a wrong base or filter than a directory emptied: the administrator says which.
    if (this.counts.seen === 0 && !this.o.force) return "The directory answered no users: nobody was disabled as gone. Check the search base and filter; if the directory has no users now, a full sync with force disables them.";
    // A subtree of the users' another server holds was not read: its users would look gone.
    if (this.referrals.length > 0) return `The directory referred part of the search to other servers (${this.referrals.slice(0, 3).join(", ")}), whose users were not read: nobody was disabled as gone. Set userSearchBase to a subtree this server holds.`;
    // The ids of the directory's users first, then the rows of those not seen (the few, as a rule): whether each is still enabled.
    const unseen: number[] = [];
    for (let after = ""; ; ) {
      const page = await this.o.queries.userIdsPage(d.id, after, ID_PAGE);
      for (const u of page) if (!this.seenUsers.has(u.id)) unseen.push(u.id);
      if (page.length < ID_PAGE) break;
      after = page[page.length - 1]!.directory_key;
    }
    const gone: number[] = [];
    for (let i = 0; i < unseen.length; i += d.pageSize) gone.push(...(await this.o.queries.enabledAmong(d.id, unseen.slice(i, i + d.pageSize))));
    if (gone.length === 0) return null;
    // The share of those who may still log in: users disabled long ago would make a large loss look small.
    const total = await this.o.queries.userCount(d.id, true);
    if (!this.o.force && gone.length > (total * d.disableLimitPercent) / 100) {
      return `${gone.length} of the directory's ${total} enabled ${total === 1 ? "user" : "users"} ${gone.length === 1 ? "is" : "are"} gone from it, more than the ${d.disableLimitPercent} % a full sync may disable unless forced: nobody was disabled as gone. Check the directory; a full sync with force disables them.`;
    }
    for (let i = 0; i < gone.length; i += d.pageSize) {
      const ids = gone.slice(i, i + d.pageSize).filter((id) => !this.keptAdministrators.has(id));
      const now = isoNow();
      let disabledCount: number;
      try {
        disabledCount = await this.db.transaction().execute((trx) =>
          this.o.store.dialect.batchUserWrites(trx, async () => {
            await this.o.leaseHeld(trx);
            const disabled = await trx
              .updateTable("users")
              .set((eb) => ({ enabled: 0, version: eb("version", "+", 1), updated_at: now }))
              .where("id", "in", ids)
              .where("enabled", "=", 1)
              .returning(["id", "uuid", "username", "dn"])
              .execute();
            await Sessions.revokeAllOf(trx, ids);
            await this.assertAdministratorRemains(trx, disabled.map((u) => u.id));
            await recordAuditRows(trx, this.o.store.dialect, this.actor, disabled.map((u) => ({ action: "user.disable", target: userTarget(u), details: { reason: "gone from the directory", dn: u.dn, directory: d.name } })));
            return { result: disabled.length, documents: ids, search: [], groups: [] };
          }),
        );
      } catch (error) {
        if (!(error instanceof LastAdministrators) || error.users.every((id) => this.keptAdministrators.has(id))) throw error;
        // The same users again, but for the system administrators among them.
        await this.keepAdministrators(error.users, []);
        i -= d.pageSize;
        continue;
      }
      this.counts.disabled += disabledCount;
      await this.step();
    }
    const done = gone.filter((id) => !this.keptAdministrators.has(id)).length;
    return done === 1 ? "1 user gone from the directory was disabled." : `${done} users gone from the directory were disabled.`;
  }
}
