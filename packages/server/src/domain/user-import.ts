import { sql, type Kysely } from "kysely";
import type { PasswordHasher } from "../auth/passwords.js";
import { Sessions } from "../auth/sessions.js";
import { StoreBusy } from "../storage/busy.js";
import { isForeignKeyViolation, isUniqueViolation } from "../storage/constraints.js";
import type { Database, NewUserRow, UserRow, UserUpdate } from "../storage/schema.js";
import type { StoreDialect } from "../storage/dialect/dialect.js";
import type { Store } from "../storage/store.js";
import { isoNow } from "../storage/time.js";
import { savepoint } from "../storage/savepoint.js";
import { createUserQueries, type UserQueries } from "../storage/user-queries.js";
import type { DryRunCarry } from "./import-dry-run.js";
import { recordAuditRows, type AuditEntry, userTarget } from "./audit.js";
import { DomainError, ownPasswordRefused } from "./errors.js";
import { ADMINISTRATOR_ACCESS_COLUMNS, assertSystemAdministratorRemains } from "./last-admin.js";
import type { PasswordOwner, PasswordPolicy } from "./password-policy.js";
import { grantingGroups } from "./role-rules.js";
import { SYSTEM_ADMINISTRATOR, USERS_GROUP } from "./roles.js";
import { syncedMembership } from "./groups.js";
import { fold, importedDigest } from "./user-fields.js";
import { confusableKey, normalizeName, notAGroupName } from "./names.js";
import { administratorsProfile, loginNameTaken, looksLike, newUserRow, planUpdate, providerOnlyPasswordChange, usernameTakenAsLogin, type AdminActor, type UserChanges } from "./users.js";

/** One user of an import, as its row gave it (the shape is checked by the caller). */
export interface ImportUser extends UserChanges {
  loginName?: string;
  displayName?: string;
  serviceAccount?: boolean;
  username: string;
  /** Plain password: hashed with the configured argon2id. */
  password?: string;
  /** Another system's hash in PHC format (auth/imported-hashes.ts). */
  passwordHash?: string;
  /** The user's own groups by name, all of them (`users` is always kept). Left out: created users join `users` only, updated users keep theirs. */
  groups?: string[];
}

/** A row of the input: its line and the user it gives, or why it gives none. */
export type ImportItem = { line: number; user: ImportUser; ref?: ImportRef } | { line: number; username?: string; error: DomainError };

/** The user a row was exported from (an export's id column): the row is that user's, or it fails. */
export type ImportRef = { uuid: string } | { numericId: number };

export type ImportStatus = "created" | "updated" | "unchanged" | "failed";

export interface ImportResult {
  line: number;
  username?: string;
  status: ImportStatus;
  /** The user's id (created, updated, unchanged; with dryRun, created users have none). */
  id?: string;
  error?: DomainError;
}

export interface ImportOptions {
  /** Check and write everything, then roll it back. */
  dryRun: boolean;
  /** Update users that exist; false: such a row fails (the name is taken). */
  update: boolean;
  /** A dry run's record of its earlier batches (one for the whole file): without it, each batch is judged against the store alone. */
  carry?: DryRunCarry;
}

/** Thrown to end a dry run's transaction: everything was checked and written, and is rolled back. */
class DryRun extends Error {
  constructor(readonly results: ImportResult[]) {
    super("dry run");
  }
}

/** How many passwords a dry run left unhashed: each stands for another hash, as a real import's salted ones differ. */
let unhashed = 0;

/** What a row does, once its checks passed. */
type Plan =
  | { kind: "create"; item: ImportItemOk; row: NewUserRow & { login_name: string }; groupIds: number[]; hash: string | null }
  | { kind: "update"; item: ImportItemOk; current: UserRow; changes: UserUpdate; audit: Record<string, unknown>; add: number[]; remove: number[]; endSessions: boolean }
  | { kind: "unchanged"; item: ImportItemOk; current: UserRow; importedDigest?: string };

type ImportItemOk = { line: number; user: ImportUser; ref?: ImportRef };

/**
 * Bulk import of users: upsert by username, groups set by name. A batch is one transaction whose
 * every row obeys the rules of creating and changing one user through the API (domain/users.ts):
 * field rules, names, the validity window, built-in users, who may change whom and which groups,
 * the last system administrator. A row that breaks one fails alone; a batch whose write fails as a
 * whole (a racing writer took a name, a group was deleted, the last administrator would go) is
 * done again row by row, so each row gets its own answer. A dry run does all of it and rolls back.
 */
export function createUserImporter(store: Store, hasher: PasswordHasher, policy: PasswordPolicy) {
  const { db, dialect } = store;

  async function importBatch(actor: AdminActor, items: readonly ImportItem[], options: ImportOptions): Promise<ImportResult[]> {
    const { dryRun } = options;
    const results: ImportResult[] = items.map((item) =>
      "error" in item ? { line: item.line, username: item.username, status: "failed", error: item.error } : { line: item.line, username: item.user.username, status: "failed" },
    );
    const valid: { index: number; item: ImportItemOk; hash: string | null }[] = [];
    // Hashing is slow and needs no store: done before the transaction (a dry run skips the work, not
    // the checks), as many at once as the hasher runs. All of a batch at once overflowed the queue
    // that refuses login floods: rows past its length failed as "busy".
    const pending = items.map((item, index) => ({ item, index }));
    const owners = await storedOwners(items, options.carry);
    await Promise.all(
      Array.from({ length: hasher.parallelism }, async () => {
        for (let next = pending.shift(); next; next = pending.shift()) {
          const { item, index } = next;
          if ("error" in item) continue;
          try {
            valid.push({ index, item, hash: await passwordHashOf(item.user, owners.get(normalizeName(item.user.username)), dryRun) });
          } catch (error) {
            results[index]!.error = asDomainError(error);
          }
        }
      }),
    );
    valid.sort((a, b) => a.index - b.index);
    if (valid.length === 0) return results;
    const { carry } = options;
    try {
      const written = await db.transaction().execute(async (trx) => {
        const madeHere = await carry?.restore(trx, valid.map((v) => v.item.user));
        const outcome = await writeBatch(trx, actor, valid.map((v) => ({ item: v.item, hash: v.hash })), options.update, carry);
        if (dryRun) {
          await carry?.keep(trx, outcome);
          // A user this batch created, updated by a later row of it, is no more kept than the one created.
          const made = new Set([...(madeHere ?? []), ...outcome.flatMap((r) => (r.status === "created" ? [normalizeName(r.username!)] : []))]);
          throw new DryRun(outcome.map((r) => dryRunResult(r, made)));
        }
        return outcome;
      });
      valid.forEach((v, k) => (results[v.index] = written[k]!));
    } catch (error) {
      if (error instanceof DryRun) {
        valid.forEach((v, k) => (results[v.index] = error.results[k]!));
      } else if (valid.length > 1 && isBatchConflict(error) && dryRun) {
        await dryRunRowByRow(actor, valid, results, options.update, carry);
      } else if (valid.length > 1 && isBatchConflict(error)) {
        for (const v of valid) results[v.index] = (await importBatch(actor, [v.item], options))[0]!;
      } else {
        const reason = asDomainError(error);
        for (const v of valid) results[v.index]!.error = reason;
      }
    }
    return results;
  }

  /**
   * A dry run's batch done row by row, as the real import does it after a conflict, but in one
   * transaction rolled back at the end (a savepoint per row): each row sees what the rows before it
   * would have done — one row giving away the last administrator's access refuses the next.
   */
  async function dryRunRowByRow(actor: AdminActor, valid: { index: number; item: ImportItemOk; hash: string | null }[], results: ImportResult[], update: boolean, carry: DryRunCarry | undefined): Promise<void> {
    await db
      .transaction()
      .execute(async (trx) => {
        const made = new Set(await carry?.restore(trx, valid.map((v) => v.item.user)));
        for (const v of valid) {
          try {
            const [result] = await savepoint(trx, () => writeBatch(trx, actor, [{ item: v.item, hash: v.hash }], update, carry));
            if (result!.status === "created") made.add(normalizeName(result!.username!));
            results[v.index] = dryRunResult(result!, made);
          } catch (error) {
            results[v.index] = { line: v.item.line, username: v.item.user.username, status: "failed", error: asDomainError(error) };
          }
        }
        await carry?.keep(trx, valid.map((v) => results[v.index]!));
        throw new DryRun([]);
      })
      .catch((error) => {
        if (!(error instanceof DryRun)) throw error;
      });
  }

  /**
   * The names the store holds of the users whose rows set a clear password: a new password is checked
   * against the account's names as the single-user API checks it, the row's own where it gives them.
   */
  async function storedOwners(items: readonly ImportItem[], carry: DryRunCarry | undefined): Promise<Map<string, PasswordOwner>> {
    const usernames = items.flatMap((item) => ("error" in item || item.user.password === undefined ? [] : [normalizeName(item.user.username)]));
    if (usernames.length === 0) return new Map();
    const rows = await db.selectFrom("users").select(["username", "login_name", "first_name", "last_name", "email"]).where("username", "in", usernames).execute();
    // A dry run's earlier batches may have created or renamed them.
    const left = carry?.rows(usernames) ?? new Map();
    return new Map([...rows, ...left.values()].map((r) => [r.username, ownerOfRow(r)]));
  }

  async function passwordHashOf(user: ImportUser, stored: PasswordOwner | undefined, dryRun: boolean): Promise<string | null> {
    if (user.password !== undefined && user.passwordHash !== undefined) throw new DomainError("invalid", "Give password or passwordHash, not both.", { field: "passwordHash" });
    if (user.passwordHash !== undefined) {
      const problem = hasher.hashProblem(user.passwordHash);
      if (problem) throw new DomainError("invalid", `${problem}.`, { field: "passwordHash" });
      return user.passwordHash;
    }
    if (user.password === undefined) return null;
    policy.check(user.password, ownerOf(user, stored), "password");
    return dryRun ? `(not hashed in a dry run: ${++unhashed})` : hasher.hash(user.password);
  }

  /**
   * Checks every row against the store as it is inside `trx`, then writes the batch; the results in
   * input order. The batch's rows are written set-wise, so a row that depends on an earlier row of the
   * batch (the same username again, a name an earlier row's user gave up) starts a second part,
   * written after the first in the same transaction: each row is judged with every earlier row done.
   */
  async function writeBatch(trx: Kysely<Database>, actor: AdminActor, rows: { item: ImportItemOk; hash: string | null }[], update: boolean, carry: DryRunCarry | undefined, part = 1): Promise<ImportResult[]> {
    if (part > MAX_PARTS) throw new EntangledBatch();
    const context = await readContext(trx, createUserQueries({ ...store, db: trx }), dialect.jsonList, actor, rows.map((r) => r.item.user), rows.flatMap((r) => (r.item.ref ? [r.item.ref] : [])));
    const plans: (Plan | DomainError)[] = [];
    const seenUsernames = new Set<string>();
    const names: BatchNames = { taken: new Map(context.nameHolders), renamed: new Set() };
    const now = isoNow();
    let later: typeof rows = [];
    for (const [k, { item, hash }] of rows.entries()) {
      try {
        const username = normalizeName(item.user.username);
        if (seenUsernames.has(username)) throw new AfterEarlierRows();
        seenUsernames.add(username);
        // Checked before the batch against the names the store had then: an earlier part may have changed them.
        const stored = context.existing.get(username);
        if (part > 1 && item.user.password !== undefined && stored) policy.check(item.user.password, ownerOf(item.user, ownerOfRow(stored)), "password");
        plans.push(planRow(context, names, actor, item, hash, now, update));
      } catch (error) {
        if (error instanceof AfterEarlierRows) {
          later = rows.slice(k);
          rows = rows.slice(0, k);
          break;
        }
        plans.push(asDomainError(error));
      }
    }

    const created = new Map<Plan, UserRow>();
    let adminMayBeGone = false;
    await dialect.batchUserWrites(trx, async () => {
      // Rows are written in a fixed order (new users by username, existing ones by id, memberships by
      // user and group), so two imports that touch the same users wait for each other instead of deadlocking.
      const creates = plans.filter((p): p is Extract<Plan, { kind: "create" }> => !(p instanceof DomainError) && p.kind === "create");
      creates.sort((a, b) => (a.row.username < b.row.username ? -1 : 1));
      if (creates.length > 0) {
        const inserted = await dialect.insertJson<{ id: number; username: string }>(trx, "users", Object.keys(creates[0]!.row), creates.map((p) => p.row), { returning: ["id", "username"] });
        const ids = new Map(inserted.map((r) => [r.username, r.id]));
        // The id first: `{ ...row, id }` costs V8 several µs a user.
        for (const p of creates) created.set(p, { id: ids.get(p.row.username)!, ...p.row } as UserRow);
      }
      const members: { group_id: number; user_id: number }[] = [];
      const audits: AuditEntry[] = [];
      // The users a batch creates are one event (their fields are the rows'): an event per user cost
      // as much as the user's own row with its indexes. Changes of existing users keep one each.
      const createdUsers: { id: string; username: string; passwordSet?: true; groups?: string[] }[] = [];
      const touched: number[] = [];
      const searched: number[] = [];
      const groupsChanged = new Set<number>();
      const ordered = plans.filter((p): p is Exclude<Plan, DomainError> => !(p instanceof DomainError) && (p.kind !== "unchanged" || p.importedDigest !== undefined));
      ordered.sort((a, b) => (a.kind === "create" ? 0 : a.current.id) - (b.kind === "create" ? 0 : b.current.id));
      for (const plan of ordered) {
        if (plan.kind === "unchanged") {
          // Bookkeeping, not a change of the user: no version, no event (nor in a dry run, whose answers it does not change).
          if (!carry) await trx.updateTable("users").set({ password_imported_digest: plan.importedDigest! }).where("id", "=", plan.current.id).execute();
          continue;
        }
        if (plan.kind === "create") {
          const user = created.get(plan)!;
          touched.push(user.id);
          searched.push(user.id);
          for (const g of plan.groupIds) members.push({ group_id: g, user_id: user.id });
          createdUsers.push({ id: user.uuid, username: user.username, ...(plan.hash !== null && { passwordSet: true }), ...(plan.item.user.groups?.length && { groups: plan.item.user.groups }) });
          continue;
        }
        const { current } = plan;
        touched.push(current.id);
        if (plan.changes.search_text !== undefined) searched.push(current.id);
        if (Object.keys(plan.changes).length > 0) {
          await trx.updateTable("users").set({ ...plan.changes, version: sql<number>`version + 1`, updated_at: now }).where("id", "=", current.id).execute();
        }
        if (plan.remove.length > 0) await trx.deleteFrom("group_members").where("user_id", "=", current.id).where("group_id", "in", plan.remove).execute();
        for (const g of plan.add) members.push({ group_id: g, user_id: current.id });
        if (plan.endSessions) await Sessions.revokeAllOf(trx, current.id);
        if (plan.remove.length > 0 || ADMINISTRATOR_ACCESS_COLUMNS.some((c) => c in plan.changes)) adminMayBeGone = true;
        audits.push({ action: "user.update", target: userTarget(current), details: { ...plan.audit, import: true } });
      }
      if (createdUsers.length > 0) audits.push({ action: "user.import", details: { createdUsers } });
      for (const m of members) groupsChanged.add(m.group_id);
      for (const plan of plans) if (!(plan instanceof DomainError) && plan.kind === "update") for (const g of plan.remove) groupsChanged.add(g);
      members.sort((a, b) => a.user_id - b.user_id || a.group_id - b.group_id);
      if (members.length > 0) await dialect.insertJson(trx, "group_members", ["group_id", "user_id"], members, { skipConflicts: true });
      await recordAuditRows(trx, dialect, actor, audits);
      return { result: undefined, documents: touched, search: searched, groups: [...groupsChanged] };
    });
    if (adminMayBeGone) {
      await carry?.restoreAdministrators(trx);
      await assertSystemAdministratorRemains(trx);
    }

    const results = plans.map((plan, k): ImportResult => {
      const { line, user } = rows[k]!.item;
      if (plan instanceof DomainError) return { line, username: user.username, status: "failed", error: plan };
      if (plan.kind === "create") return { line, username: user.username, status: "created", id: created.get(plan)!.uuid };
      return { line, username: user.username, status: plan.kind === "update" ? "updated" : "unchanged", id: plan.current.uuid };
    });
    return later.length === 0 ? results : [...results, ...(await writeBatch(trx, actor, later, update, carry, part + 1))];
  }

  return { importBatch };
}

/** What a batch's checks read from the store, in a few queries for the whole batch. */
interface BatchContext {
  existing: Map<string, UserRow>;
  /** Who holds the unique name keys the batch's rows would take. */
  nameHolders: NameHolders;
  /** The groups the rows name (by folded name) and those the existing users are in (by id). */
  groupsByName: Map<string, GroupInfo>;
  groupsById: Map<number, GroupInfo>;
  usersGroupId: number | undefined;
  /** Ids of existing users of the batch that hold system-administrator (when the actor does not). */
  systemAdministrators: Set<number>;
  /** Ids of existing profiles of the batch that a system administrator is assigned to (when the actor is none). */
  administratorsProfiles: Set<number>;
  /** Existing user id → its own group ids; also of the profiles those users have. */
  memberships: Map<number, Set<number>>;
  /** Existing user id → the group ids of memberships a directory's sync made → that directory's name. */
  synced: Map<number, Map<number, string>>;
  /** The usernames of the users the rows' export ids name (`uuid:<id>`, `id:<numericId>`). */
  refs: Map<string, string>;
  /** Ids of existing users of the batch whose only way in is an identity provider: no password may be given them. */
  providerOnly: Set<number>;
  actorIsSystemAdministrator: boolean;
}

interface GroupInfo {
  id: number;
  name: string;
  grantsSystemAdministrator: boolean;
}

const refKey = (ref: ImportRef) => ("uuid" in ref ? `uuid:${ref.uuid}` : `id:${ref.numericId}`);

async function readContext(trx: Kysely<Database>, queries: Pick<UserQueries, "holdingRole" | "profilesOfHolders">, list: StoreDialect["jsonList"], actor: AdminActor, users: ImportUser[], refs: ImportRef[]): Promise<BatchContext> {
  const existing = new Map<string, UserRow>();
  // Upsert by username as it is stored (NFKC), whatever Unicode form the row typed it in.
  const usernames = [...new Set(users.map((u) => normalizeName(u.username)))];
  for (const row of await trx.selectFrom("users").selectAll().where("username", "in", list(usernames)).execute()) existing.set(row.username, row);
  const loginNames = users.map((u) => u.loginName ?? existing.get(normalizeName(u.username))?.login_name ?? u.username);
  const loginKeys = [...new Set(loginNames.map(fold))];
  // Most rows' login name is their username: each distinct name's look-alike key is computed once.
  const skeletons = [...new Set([...new Set([...users.map((u) => u.username), ...loginNames])].map(confusableKey))];
  const nameHolders: NameHolders = new Map();
  const nameRows = await trx
    .selectFrom("users")
    .select(["id", "username", ...NAME_KEYS])
    .where((eb) => eb.or([eb("login_key", "in", list(loginKeys)), eb("username_skeleton", "in", list(skeletons)), eb("login_skeleton", "in", list(skeletons))]))
    .execute();
  for (const row of nameRows) for (const column of NAME_KEYS) if (row[column] !== null) nameHolders.set(`${column}|${row[column]}`, { id: row.id, username: row.username });
  const existingIds = [...existing.values()].map((u) => u.id);
  const profileIds = [...new Set([...existing.values()].filter((u) => u.profile_id > 0).map((u) => u.profile_id))].filter((id) => !existingIds.includes(id));
  const memberships = new Map<number, Set<number>>([...existingIds, ...profileIds].map((id) => [id, new Set()]));
  const synced = new Map<number, Map<number, string>>();
  if (existingIds.length > 0) {
    const rows = await trx
      .selectFrom("group_members as m")
      .leftJoin("directories as d", "d.id", "m.synced_by")
      .select(["m.user_id", "m.group_id", "d.name as directory"])
      .where("m.user_id", "in", list([...existingIds, ...profileIds]))
      .execute();
    for (const m of rows) {
      memberships.get(m.user_id)!.add(m.group_id);
      if (m.directory !== null) synced.set(m.user_id, (synced.get(m.user_id) ?? new Map<number, string>()).set(m.group_id, m.directory));
    }
  }
  const names = [...new Set([USERS_GROUP, ...users.flatMap((u) => u.groups ?? [])].map(fold))];
  const memberOf = [...new Set([...memberships.values()].flatMap((s) => [...s]))];
  const groupsByName = new Map<string, GroupInfo>();
  const groupsById = new Map<number, GroupInfo>();
  const readGroups = async (where: "name_key" | "id", keys: (string | number)[]) => {
    if (keys.length === 0) return;
    {
      const rows = await trx
        .selectFrom("groups")
        .select(["id", "name", "name_key"])
        .select((eb) => eb("groups.id", "in", grantingGroups(trx)).as("grants"))
        .where(where, "in", list(keys) as never)
        .execute();
      for (const g of rows) {
        const info = { id: g.id, name: g.name, grantsSystemAdministrator: Boolean(g.grants) };
        groupsByName.set(g.name_key, info);
        groupsById.set(g.id, info);
      }
    }
  };
  await readGroups("name_key", names);
  await readGroups("id", memberOf.filter((id) => !groupsById.has(id)));
  const actorIsSystemAdministrator = actor.roles.includes(SYSTEM_ADMINISTRATOR);
  // As assertMayAdminister judges one user, for the batch's existing users (when the actor may not act on them all).
  const existingRows = [...existing.values()];
  const systemAdministrators = actorIsSystemAdministrator || existingRows.length === 0 ? new Set<number>() : await queries.holdingRole(SYSTEM_ADMINISTRATOR, existingRows);
  const administratorsProfiles = actorIsSystemAdministrator || existingRows.length === 0 ? new Set<number>() : await queries.profilesOfHolders(SYSTEM_ADMINISTRATOR, existingRows);
  const providerOnly = new Set<number>();
  const withoutOwnLogin = [...existing.values()].filter((u) => u.password_hash === null && u.directory_id === null && u.service_account === 0).map((u) => u.id);
  if (withoutOwnLogin.length > 0) {
    for (const f of await trx.selectFrom("federated_identities").select("user_id").distinct().where("user_id", "in", list(withoutOwnLogin)).execute()) providerOnly.add(f.user_id);
  }
  const refHolders = new Map<string, string>();
  const uuids = refs.flatMap((r) => ("uuid" in r ? [r.uuid] : []));
  const numericIds = refs.flatMap((r) => ("numericId" in r ? [r.numericId] : []));
  if (refs.length > 0) {
    const rows = await trx
      .selectFrom("users")
      .select(["id", "uuid", "username"])
      .where((eb) => eb.or([eb("uuid", "in", list(uuids.length ? uuids : [""])), eb("id", "in", list(numericIds.length ? numericIds : [-1]))]))
      .execute();
    for (const r of rows) refHolders.set(`uuid:${r.uuid}`, r.username).set(`id:${r.id}`, r.username);
  }
  return { existing, nameHolders, groupsByName, groupsById, usersGroupId: groupsByName.get(fold(USERS_GROUP))?.id, systemAdministrators, administratorsProfiles, memberships, synced, refs: refHolders, providerOnly, actorIsSystemAdministrator };
}

/** The plan of one row, or the rule it breaks (thrown). */
function planRow(context: BatchContext, names: BatchNames, actor: AdminActor, item: ImportItemOk, hash: string | null, now: string, update: boolean): Plan {
  const { user } = item;
  const { password, passwordHash, groups: groupNames, username, ...fields } = user;
  if (fields.serviceAccount && passwordHash !== undefined) throw new DomainError("invalid", "A service account has no password: leave passwordHash out, and give it API keys.", { field: "passwordHash" });
  const groupIds = groupNames === undefined ? undefined : groupNames.map((name) => {
    const group = context.groupsByName.get(fold(name));
    if (!group) {
      // A name that looks like a group's but holds what none may hold would read as one that is there.
      const why = notAGroupName(name);
      throw new DomainError("invalid", `There is no group named ${JSON.stringify(name)}${why === null ? "" : `: ${why}`}.`, { field: "groups", group: name });
    }
    return group;
  });
  // A row of an export names the user it was: one whose username was edited would otherwise make a second user.
  const exported = item.ref && context.refs.get(refKey(item.ref));
  if (exported !== undefined && exported !== normalizeName(username)) {
    throw new DomainError("invalid", `This row's id is the user ${exported}, not ${username}: an import matches users by username, and does not rename them (rename with PUT /security/v1/users/{id}, or leave the id out).`, { field: "username" });
  }
  const current = context.existing.get(normalizeName(username));
  if (!current) {
    const row = { ...newUserRow({ username, ...fields }, hash, now, actor.roles), password_imported_digest: passwordHash === undefined ? null : importedDigest(passwordHash) };
    if (row.profile_id !== -1) throw new DomainError("invalid", "An import does not assign profiles: leave profileId out.", { field: "profileId" });
    const self = { id: undefined, username: row.username };
    checkNames(names, row, self, fields.loginName !== undefined);
    const own = (groupIds ?? []).filter((g) => g.id !== context.usersGroupId);
    assertMayChangeGroups(context, own);
    takeNames(names, row, self);
    return { kind: "create", item, row, groupIds: [...(context.usersGroupId === undefined ? [] : [context.usersGroupId]), ...own.map((g) => g.id)], hash };
  }
  if (!update) throw new DomainError("name-taken", "A user with this username already exists (the import does not update users).", { field: "username" });
  if (fields.serviceAccount !== undefined && (fields.serviceAccount ? 1 : 0) !== current.service_account) {
    throw new DomainError("invalid", "serviceAccount is set when a user is created.", { field: "serviceAccount" });
  }
  if (fields.profileId !== undefined && fields.profileId !== current.profile_id) {
    throw new DomainError("invalid", "An import does not assign profiles: leave profileId out.", { field: "profileId" });
  }
  const { changes, before, after } = planUpdate(current, fields);
  if (changes.change_password === 1 && context.providerOnly.has(current.id)) throw providerOnlyPasswordChange();
  checkNames(names, changes, current, true);
  let endSessions = changes.enabled === 0 && current.enabled === 1;
  // The hash an import set before, sent again: set already, though a login may have upgraded it or its owner changed the password since.
  const digest = passwordHash === undefined ? undefined : importedDigest(passwordHash);
  const importedBefore = digest !== undefined && current.password_imported_digest === digest;
  if (hash !== null && hash !== current.password_hash && !importedBefore) {
    if (current.directory_id !== null) throw new DomainError("refused", "The password of a directory user is managed by its directory.", { username });
    if (current.service_account === 1) throw new DomainError("refused", "A service account has no password: it authenticates with API keys.", { username });
    if (context.providerOnly.has(current.id)) throw new DomainError("refused", "This user logs in through identity providers only and has no local password.", { username });
    // A stolen token must not take its account over for good: the owner's password needs the current one.
    if (current.id === actor.id) throw ownPasswordRefused(username);
    changes.password_hash = hash;
    changes.password_by_system_administrator = context.actorIsSystemAdministrator ? 1 : 0;
    changes.password_changed_at = now;
    changes.password_imported_digest = digest ?? null;
    after.passwordSet = true;
    endSessions = true;
  }
  const has = context.memberships.get(current.id)!;
  // A group the user has through its profile is held already: named in the row (as the export lists a
  // user's groups, its profile's included), it is not made one of the user's own.
  const viaProfile = current.profile_id > 0 ? (context.memberships.get(current.profile_id) ?? new Set<number>()) : new Set<number>();
  const wanted =
    groupIds === undefined ? undefined : new Set([...groupIds.map((g) => g.id).filter((g) => has.has(g) || !viaProfile.has(g)), ...(context.usersGroupId === undefined ? [] : [context.usersGroupId])]);
  const add = wanted === undefined ? [] : [...wanted].filter((g) => !has.has(g));
  const remove = wanted === undefined ? [] : [...has].filter((g) => !wanted.has(g));
  // As one removal refuses it: the directory's next sync would add it back.
  for (const g of remove) {
    const directory = context.synced.get(current.id)?.get(g);
    if (directory !== undefined) throw syncedMembership(context.groupsById.get(g)!, directory);
  }
  const changed = [...add, ...remove].map((id) => context.groupsById.get(id)!);
  assertMayChangeGroups(context, changed);
  if (changed.length > 0) {
    before.groupsRemoved = remove.map((id) => context.groupsById.get(id)!.name);
    after.groupsAdded = add.map((id) => context.groupsById.get(id)!.name);
  }
  // The stored hash is the one sent, set by an import before its digest was kept (migration 014o): kept now, as nothing else changes.
  const noteDigest = digest !== undefined && hash === current.password_hash && !importedBefore ? digest : undefined;
  if (Object.keys(changes).length === 0 && add.length === 0 && remove.length === 0) return { kind: "unchanged", item, current, ...(noteDigest !== undefined && { importedDigest: noteDigest }) };
  if (noteDigest !== undefined) changes.password_imported_digest = noteDigest;
  if (!context.actorIsSystemAdministrator && context.systemAdministrators.has(current.id)) {
    throw new DomainError("not-permitted", "Only a system administrator may change a system administrator.", { requiredRoles: [SYSTEM_ADMINISTRATOR] });
  }
  if (context.administratorsProfiles.has(current.id)) throw administratorsProfile();
  takeNames(names, changes, current);
  return { kind: "update", item, current, changes, audit: { before, after }, add, remove, endSessions };
}

/** The names a new password is checked against: the row's where it gives them, else the account's. */
function ownerOf(user: ImportUser, stored: PasswordOwner | undefined): PasswordOwner {
  return {
    username: user.username,
    loginName: user.loginName ?? stored?.loginName ?? user.username,
    firstName: user.firstName !== undefined ? user.firstName : stored?.firstName,
    lastName: user.lastName !== undefined ? user.lastName : stored?.lastName,
    email: user.email !== undefined ? user.email : stored?.email,
  };
}

const ownerOfRow = (r: Pick<UserRow, "username" | "login_name" | "first_name" | "last_name" | "email">): PasswordOwner => ({ username: r.username, loginName: r.login_name, firstName: r.first_name, lastName: r.last_name, email: r.email });

/** The unique keys of a user's names (besides the username itself): the login name ignoring case, and the look-alike keys of both names. */
const NAME_KEYS = ["login_key", "username_skeleton", "login_skeleton"] as const;

/** `<column>|<key>` → the user holding that key (no id: a user this batch creates). */
type NameHolders = Map<string, { id: number | undefined; username: string }>;

/** The names of a batch as its rows are planned: who holds each key, and the users whose names earlier rows changed. */
interface BatchNames {
  taken: NameHolders;
  /** Existing users an earlier row of the batch gave other names: the keys the store says they hold may be free by then. */
  renamed: Set<number>;
}

/** A row that depends on what an earlier row of its batch changes: it is planned after those rows are written. */
class AfterEarlierRows extends Error {}

/**
 * Parts a batch is written in at most (each part reads the batch's context again, all in the batch's
 * transaction, holding SQLite's write lock): a batch whose rows depend on each other more often is
 * done row by row, each row its own transaction (the real import), or in savepoints (a dry run).
 */
const MAX_PARTS = 16;
class EntangledBatch extends DomainError {
  constructor() {
    super("refused", "The batch's rows depend on each other too often to be written together.");
  }
}

type NameColumns = Partial<Pick<NewUserRow, "username" | "login_name" | (typeof NAME_KEYS)[number]>>;

/**
 * The keys a row writes are free, or held by `self` (the rules and words of domain/users.ts
 * assertNamesFree; `loginNameGiven`: false when the login name is the username's). A key held by a
 * user an earlier row of the batch renamed waits for that row to be written.
 */
function checkNames(names: BatchNames, row: NameColumns, self: { id: number | undefined; username: string }, loginNameGiven: boolean): void {
  const { taken, renamed } = names;
  for (const column of NAME_KEYS) {
    const key = row[column];
    if (key === undefined || key === null) continue;
    const holder = taken.get(`${column}|${key}`);
    if (holder === undefined || (self.id !== undefined && holder.id === self.id)) continue;
    if (holder.id !== undefined && renamed.has(holder.id)) throw new AfterEarlierRows();
    if (column === "login_key") throw loginNameGiven ? loginNameTaken() : usernameTakenAsLogin(holder.username);
    throw column === "username_skeleton" || !loginNameGiven ? looksLike("username", row.username ?? row.login_name!, holder.username) : looksLike("loginName", row.login_name!, holder.username);
  }
}

/** A planned row's keys are taken for the rest of its batch (a row refused takes none). */
function takeNames(names: BatchNames, row: NameColumns, self: { id: number | undefined; username: string }): void {
  if (self.id !== undefined && NAME_KEYS.some((column) => row[column] !== undefined)) names.renamed.add(self.id);
  for (const column of NAME_KEYS) {
    const key = row[column];
    if (key !== undefined && key !== null) names.taken.set(`${column}|${key}`, self);
  }
}

/** Only a system administrator changes who is in a group that grants system-administrator (as domain/role-rules.ts says). */
function assertMayChangeGroups(context: BatchContext, groups: GroupInfo[]): void {
  if (context.actorIsSystemAdministrator) return;
  const guarded = groups.find((g) => g.grantsSystemAdministrator);
  if (guarded) throw new DomainError("not-permitted", "Only a system administrator may change a group that grants the system-administrator role.", { group: guarded.name });
}

/** A dry run's answer for a row: as the real one, without the id of a user that was not kept (one it creates, or an earlier batch of it did). */
const dryRunResult = (r: ImportResult, madeHere: Set<string> | undefined): ImportResult =>
  r.status === "created" || (r.username !== undefined && madeHere?.has(normalizeName(r.username))) ? { ...r, id: undefined } : r;

/** A failure of a whole batch that row-by-row writing answers row by row. */
function isBatchConflict(error: unknown): boolean {
  // A store still busy after its tries would be as busy for each row, and each row would hash again.
  return isUniqueViolation(error) || isForeignKeyViolation(error) || (error instanceof DomainError && !(error instanceof StoreBusy));
}

function asDomainError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  if (isUniqueViolation(error)) return new DomainError("name-taken", "A user with this username or login name already exists.");
  if (isForeignKeyViolation(error)) return new DomainError("not-found", "A group of this row was deleted meanwhile.", { field: "groups" });
  throw error;
}

export type UserImporter = ReturnType<typeof createUserImporter>;
