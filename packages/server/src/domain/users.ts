import { sql, type Kysely } from "kysely";
import { addressLockouts, clearAddressLockouts, type AddressLockout, type LoginService } from "../auth/login.js";
import type { PasswordHasher } from "../auth/passwords.js";
import { Sessions } from "../auth/sessions.js";
import { DomainError, ownPasswordRefused, staleVersion } from "./errors.js";
import { requireUser } from "./lookups.js";
import { isUniqueViolation } from "../storage/constraints.js";
import type { GroupQueries } from "../storage/group-queries.js";
import type { Database, NewUserRow, UserRow, UserUpdate } from "../storage/schema.js";
import type { Store } from "../storage/store.js";
import { orderedUuid } from "../storage/ordered-uuid.js";
import { isoNow } from "../storage/time.js";
import { createUserQueries, type UserQueries } from "../storage/user-queries.js";
import { recordAudit, type Actor, userTarget } from "./audit.js";
import { ADMINISTRATOR_ACCESS_COLUMNS, assertSystemAdministratorRemains } from "./last-admin.js";
import type { PasswordOwner, PasswordPolicy } from "./password-policy.js";
import { madeBySystemAdministrator } from "./role-rules.js";
import { SYSTEM_ADMINISTRATOR, USERS_GROUP } from "./roles.js";
import { assertStoredLength, assertVisibleName, loginNameColumns, normalizeName, userNameColumns } from "./names.js";
import { defaultDisplayName, emailKeyOf, LOGIN_NAME_MAX, searchTextFor, USERNAME_PATTERN, USERNAME_RULE } from "./user-fields.js";
import { holdVersion, readForChange, type Precondition } from "./versioned.js";

/** The writable fields of a user, by their REST names; absent fields are left as they are. */
export interface UserChanges {
  /** null: back to the username. */
  loginName?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  /** null: back to the default ("first last", else the username), which then follows the names. */
  displayName?: string | null;
  email?: string | null;
  description?: string | null;
  enabled?: boolean;
  profileId?: number;
  validFrom?: string | null;
  validTo?: string | null;
  changePassword?: boolean;
  passwordNeverExpires?: boolean;
}

export interface NewUser extends UserChanges {
  username: string;
  /** Initial password; without one the account cannot log in until a password is set. */
  password?: string;
  /** A service account: no password ever, it authenticates with API keys only. Set at creation. */
  serviceAccount?: boolean;
}

/** A service account has no password to set or change. */
function assertHasPassword(user: Pick<UserRow, "service_account" | "username">): void {
  if (user.service_account === 1) throw new DomainError("refused", "A service account has no password: it authenticates with API keys.", { username: user.username });
}

/** The administrator doing the change, with the roles that decide what they may touch. */
export interface AdminActor extends Actor {
  roles: readonly string[];
}

/** Column and audit value of each writable field. */
const FIELDS = {
  loginName: { column: "login_name", read: (u: UserRow) => u.login_name },
  firstName: { column: "first_name", read: (u: UserRow) => u.first_name },
  lastName: { column: "last_name", read: (u: UserRow) => u.last_name },
  displayName: { column: "display_name", read: (u: UserRow) => u.display_name },
  email: { column: "email", read: (u: UserRow) => u.email },
  description: { column: "description", read: (u: UserRow) => u.description },
  enabled: { column: "enabled", read: (u: UserRow) => u.enabled === 1 },
  profileId: { column: "profile_id", read: (u: UserRow) => u.profile_id },
  validFrom: { column: "valid_from", read: (u: UserRow) => u.valid_from },
  validTo: { column: "valid_to", read: (u: UserRow) => u.valid_to },
  changePassword: { column: "change_password", read: (u: UserRow) => u.change_password === 1 },
  passwordNeverExpires: { column: "password_never_expires", read: (u: UserRow) => u.password_never_expires === 1 },
} as const satisfies Record<keyof UserChanges, { column: keyof UserRow; read: (u: UserRow) => unknown }>;

type FieldName = keyof typeof FIELDS;
const FIELD_NAMES = Object.keys(FIELDS) as FieldName[];

/** "" clears an optional text field. */
const blankToNull = (value: string | null | undefined) => (value === undefined ? undefined : value === "" ? null : value);

/** ISO 8601 (a date alone means its midnight UTC) → the stored UTC form; anything else is a 400. */
export function normalizeTime(value: string | null | undefined, field: string): string | null | undefined {
  if (value === undefined || value === null) return value;
  const parsed = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  // Years 0000–9999 in UTC only: past them toISOString writes "+010000-…", which the answers' date-time
  // format refuses (a 500 after the write) and the stores compare as text before every other time.
  const iso = Number.isNaN(parsed.getTime()) ? "" : parsed.toISOString();
  if (!/^\d{4}-/.test(iso) || !isCalendarDate(value.slice(0, 10))) throw new DomainError("invalid", `${field} is not a valid ISO 8601 time between the years 0000 and 9999 (UTC).`, { field });
  return iso;
}

/** `YYYY-MM-DD` names a real day (Date rolls 2030-02-30 over to March 2 instead of refusing it). */
function isCalendarDate(day: string): boolean {
  const midnight = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(midnight.getTime()) && midnight.toISOString().slice(0, 10) === day;
}

/**
 * "May administer this user": only a system administrator may change a system administrator, or a
 * profile one is assigned to (its groups are theirs). Every change that acts on a user checks it
 * (http/administer-user.test.ts walks every such route); bulk actions and imports apply it to each user
 * of a batch (domain/bulk-actions.ts, domain/user-import.ts).
 */
export async function assertMayAdminister(q: Pick<UserQueries, "holdingRole" | "profilesOfHolders">, actor: Pick<AdminActor, "roles">, subject: Pick<UserRow, "id" | "profile_id">, what: string): Promise<void> {
  await assertMayActOnHolder(q, actor, subject, what);
  if (!actor.roles.includes(SYSTEM_ADMINISTRATOR) && (await q.profilesOfHolders(SYSTEM_ADMINISTRATOR, [subject])).size > 0) throw administratorsProfile();
}

/** Only a system administrator acts on a holder of system-administrator (its own groups or its profile's), or hands out such a profile. */
async function assertMayActOnHolder(q: Pick<UserQueries, "holdingRole">, actor: Pick<AdminActor, "roles">, subject: Pick<UserRow, "id" | "profile_id">, what: string): Promise<void> {
  if (actor.roles.includes(SYSTEM_ADMINISTRATOR)) return;
  if ((await q.holdingRole(SYSTEM_ADMINISTRATOR, [subject])).size > 0) {
    throw new DomainError("not-permitted", `Only a system administrator may ${what}.`, { requiredRoles: [SYSTEM_ADMINISTRATOR] });
  }
}

/**
 * What a clear of a user's lockout lifts, for its audit event (often an address's lockout alone): each
 * field only when it changes.
 */
export function lockoutCleared(row: Pick<UserRow, "locked_out_until" | "failed_logins">, addresses: readonly AddressLockout[]): { before: Record<string, unknown>; after: Record<string, unknown> } {
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  if (row.locked_out_until !== null && row.locked_out_until > isoNow()) [before.lockedOutUntil, after.lockedOutUntil] = [row.locked_out_until, null];
  if (row.failed_logins > 0) [before.failedLogins, after.failedLogins] = [row.failed_logins, 0];
  if (addresses.length > 0) [before.addresses, after.addresses] = [addresses.map(({ address, lockedOutUntil, failedLogins }) => ({ address, lockedOutUntil, failedLogins })), []];
  return { before, after };
}

/** The refusal for a profile a system administrator is assigned to. */
export const administratorsProfile = () =>
  new DomainError("not-permitted", "Only a system administrator may change this profile: a system administrator is assigned to it and takes over its groups.", { requiredRoles: [SYSTEM_ADMINISTRATOR] });

function assertWindow(validFrom: string | null, validTo: string | null): void {
  if (validFrom && validTo && validFrom > validTo) {
    throw new DomainError("invalid", "validFrom must not be later than validTo.", { field: "validFrom" });
  }
}

const USERNAME = new RegExp(USERNAME_PATTERN, "u");

const serviceAccountPasswordChange = () =>
  new DomainError("invalid", "A service account has no password to change: changePassword must be false.", { field: "changePassword" });

/** A required password change a user of identity providers only cannot make: it would hold the account at its password page for good. */
export const providerOnlyPasswordChange = () =>
  new DomainError("invalid", "This user logs in through identity providers only and has no password here to change: changePassword must be false.", { field: "changePassword" });

/**
 * The row of a new user: defaults filled in, times normalized, the validity window checked (names and
 * profile are checked by the caller). `setBy`: the roles of whoever chose the password.
 */
export function newUserRow(input: NewUser, passwordHash: string | null, now: string, setBy: readonly string[] = []): NewUserRow & { login_name: string; profile_id: number } {
  const firstName = blankToNull(input.firstName) ?? null;
  const lastName = blankToNull(input.lastName) ?? null;
  const email = blankToNull(input.email) ?? null;
  assertVisibleName("username", input.username);
  if (typeof input.loginName === "string") assertVisibleName("loginName", input.loginName);
  const names = userNameColumns(input.username, input.loginName ?? undefined);
  const { username } = names;
  if (!USERNAME.test(username)) {
    throw new DomainError("invalid", `username is "${username}" in its normal form (NFKC), which is not a username here: it ${USERNAME_RULE}, at most 64 characters.`, { field: "username" });
  }
  assertStoredLength("loginName", names.login_name, LOGIN_NAME_MAX);
  const validFrom = normalizeTime(input.validFrom, "validFrom") ?? null;
  const validTo = normalizeTime(input.validTo, "validTo") ?? null;
  assertWindow(validFrom, validTo);
  if (input.serviceAccount && passwordHash !== null) throw new DomainError("invalid", "A service account has no password: leave it out, and give it API keys.", { field: "password" });
  if (input.serviceAccount && input.changePassword) throw serviceAccountPasswordChange();
  return {
    uuid: orderedUuid(),
    ...names,
    first_name: firstName,
    last_name: lastName,
    display_name: input.displayName ?? defaultDisplayName(firstName, lastName, username),
    email,
    description: blankToNull(input.description) ?? null,
    enabled: input.enabled === false ? 0 : 1,
    profile_id: input.profileId ?? -1,
    valid_from: validFrom,
    valid_to: validTo,
    change_password: input.changePassword ? 1 : 0,
    password_never_expires: input.passwordNeverExpires ? 1 : 0,
    service_account: input.serviceAccount ? 1 : 0,
    password_hash: passwordHash,
    password_by_system_administrator: passwordHash === null ? 1 : madeBySystemAdministrator(setBy),
    password_changed_at: passwordHash ? now : null,
    created_at: now,
    updated_at: now,
    email_key: emailKeyOf(email),
    search_text: searchTextFor({ username, first_name: firstName, last_name: lastName, email }),
  };
}

/** Fields of an imported user that its directory decides (a sync writes them); the others stay local. */
const DIRECTORY_FIELDS = ["loginName", "firstName", "lastName", "displayName", "email", "enabled", "changePassword"] as const satisfies readonly (keyof UserChanges)[];

/**
 * What a partial update of `row` changes: the columns to write (none when nothing changes), the
 * audit's before and after, and the resulting values. Checks the validity window and that a
 * built-in user stays enabled; names, profile and permissions are checked by the caller.
 */
export function planUpdate(row: UserRow, input: UserChanges): { next: Required<UserChanges> & { loginName: string; displayName: string }; changes: UserUpdate; before: Record<string, unknown>; after: Record<string, unknown> } {
  // Only a login name that is sent: one stored before the rule keeps working until it is changed.
  if (typeof input.loginName === "string" && input.loginName !== row.login_name) assertVisibleName("loginName", input.loginName);
  const next = { ...Object.fromEntries(FIELD_NAMES.map((f) => [f, FIELDS[f].read(row)])), ...definedOnly(input) } as Required<UserChanges> & { loginName: string; displayName: string };
  next.loginName = normalizeName(next.loginName ?? row.username);
  if (typeof input.loginName === "string" && input.loginName !== row.login_name) assertStoredLength("loginName", next.loginName, LOGIN_NAME_MAX);
  next.firstName = blankToNull(next.firstName) ?? null;
  next.lastName = blankToNull(next.lastName) ?? null;
  next.email = blankToNull(next.email) ?? null;
  next.description = blankToNull(next.description) ?? null;
  next.validFrom = normalizeTime(next.validFrom, "validFrom") ?? null;
  next.validTo = normalizeTime(next.validTo, "validTo") ?? null;
  // A display name that was the default follows the names; one set by hand stays until null asks for the default again.
  if (input.displayName === null || (input.displayName === undefined && row.display_name === defaultDisplayName(row.first_name, row.last_name, row.username))) {
    next.displayName = defaultDisplayName(next.firstName, next.lastName, row.username);
  }
  assertWindow(next.validFrom, next.validTo);
  if (row.builtin === 1 && !next.enabled) throw new DomainError("refused", "A built-in user cannot be disabled.", { username: row.username });

  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  const changes: UserUpdate = {};
  for (const f of FIELD_NAMES) {
    const old = FIELDS[f].read(row);
    if (next[f] === old) continue;
    before[f] = old;
    after[f] = next[f];
    (changes as Record<string, unknown>)[FIELDS[f].column] = typeof next[f] === "boolean" ? (next[f] ? 1 : 0) : next[f];
  }
  // Keys stop working while a password change is due, and a service account has no password to change.
  if (row.service_account === 1 && after.changePassword === true) throw serviceAccountPasswordChange();
  // Named as sent: a display name that follows the names changes with them, but was not asked for.
  const fromDirectory = row.directory_id === null ? [] : DIRECTORY_FIELDS.filter((f) => f in after && input[f] !== undefined);
  if (fromDirectory.length > 0) {
    throw new DomainError("refused", `The directory decides ${fromDirectory.join(", ")} of this user: change ${fromDirectory.length === 1 ? "it" : "them"} there.`, { fields: fromDirectory, username: row.username });
  }
  if (changes.login_name !== undefined) Object.assign(changes, loginNameColumns(next.loginName));
  if (changes.email !== undefined) changes.email_key = emailKeyOf(changes.email);
  if (Object.keys(changes).length > 0) changes.search_text = searchTextFor({ username: row.username, first_name: next.firstName, last_name: next.lastName, email: next.email });
  return { next, changes, before, after };
}

/** A login name another user holds (told apart without regard to case). */
export function loginNameTaken(): DomainError {
  return new DomainError("name-taken", "A user with this login name already exists.", { field: "loginName" });
}

/** A new user's username, its login name too, that another user logs in with. */
export function usernameTakenAsLogin(holder: string): DomainError {
  return new DomainError("name-taken", `The username is taken: the user "${holder}" logs in with this name (login names are told apart without regard to case).`, { field: "username", existing: holder });
}

/** A username or login name that looks like that of another user (domain/names.ts): refused, naming that user. */
export function looksLike(field: "username" | "loginName", name: string, existing: string): DomainError {
  return new DomainError("name-taken", `The ${field === "username" ? "username" : "login name"} "${name}" looks like that of the existing user "${existing}".`, { field, existing });
}

/** Values of the fields an audit event shows, for a freshly created user. */
function auditedFields(u: UserRow): Record<string, unknown> {
  return Object.fromEntries([["username", u.username], ...FIELD_NAMES.map((f) => [f, FIELDS[f].read(u)])]);
}

/**
 * The rules of creating and changing accounts: names, defaults, validity, profiles, concurrency and
 * who may touch whom. Every change is one transaction with its audit event.
 */
export function createUserAdmin(store: Store, groups: GroupQueries, hasher: PasswordHasher, login: LoginService, policy: PasswordPolicy) {
  const { db } = store;

  /** Runs `work` in a transaction; unique-index violations (a racing writer took the name) become 409. */
  async function transaction<T>(work: (trx: Kysely<Database>, q: UserQueries) => Promise<T>): Promise<T> {
    try {
      return await db.transaction().execute((trx) => work(trx, createUserQueries({ ...store, db: trx })));
    } catch (error) {
      if (isUniqueViolation(error)) throw new DomainError("name-taken", "A user with this username or login name already exists.");
      throw error;
    }
  }

  /** `loginNameGiven`: false when the login name is the username's (none was sent): a clash is then the username's. */
  async function assertNamesFree(q: UserQueries, username: string | undefined, loginName: string, self?: number, loginNameGiven = true): Promise<void> {
    if (username !== undefined && (await q.findByUsername(username))) {
      throw new DomainError("name-taken", "A user with this username already exists.", { field: "username" });
    }
    const holder = await q.findByLoginName(loginName);
    if (holder && holder.id !== self) {
      throw loginNameGiven ? loginNameTaken() : usernameTakenAsLogin(holder.username);
    }
    // A name that only looks like another (ｓｙｓａｄｍｉｎ, Cyrillic ѕуѕаdmin) is refused too, naming the one it looks like.
    for (const [field, column, name] of [["username", "username_skeleton", username], ["loginName", "login_skeleton", loginName]] as const) {
      const lookalike = name === undefined ? undefined : await q.findLookalike(column, name);
      // A login name not sent is the username's: its look-alike is the username's too.
      if (lookalike && lookalike.id !== self) throw looksLike(loginNameGiven ? field : "username", name!, lookalike.username);
    }
  }

  /**
   * Checks a chosen profile (-1 and 0 need nothing): it must be a profile, which the write checks and
   * locks (the row lock on PostgreSQL), so a concurrent delete or un-profiling of it either waits for
   * this or makes this fail; and the actor must be allowed to hand out its roles.
   */
  async function claimProfile(trx: Kysely<Database>, q: UserQueries, actor: AdminActor, profileId: number, self?: number): Promise<void> {
    if (profileId <= 0) return;
    const row = profileId === self ? undefined
      : await trx.updateTable("users").set({ profile_id: 0 }).where("id", "=", profileId).where("profile_id", "=", 0).returning("id").executeTakeFirst();
    if (!row) throw new DomainError("invalid", "profileId must be -1, 0 or the numericId of a user that is a profile.", { field: "profileId" });
    await assertMayActOnHolder(q, actor, { id: profileId, profile_id: 0 }, "assign a profile holding the system administrator role");
  }

  /** Refuses when users are still assigned to the profile (call after writing the profile row, see claimProfile). */
  async function assertProfileUnused(trx: Kysely<Database>, profile: UserRow, what: string): Promise<void> {
    const user = await trx.selectFrom("users").select("username").where("profile_id", "=", profile.id).limit(1).executeTakeFirst();
    if (user) throw new DomainError("refused", `The profile ${profile.username} is still in use; ${what} is refused.`, { assignedUser: user.username });
  }

  /** One atomic write: the row changes only if it still has the version read; 0 rows means a racing writer won. */
  async function writeVersion(trx: Kysely<Database>, row: UserRow, changes: UserUpdate): Promise<UserRow | undefined> {
    return trx
      .updateTable("users")
      .set({ ...changes, version: sql<number>`version + 1`, updated_at: isoNow() })
      .where("id", "=", row.id)
      .where("version", "=", row.version)
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * Runs a change of one user in a transaction that reads the row itself (see readForChange); a
   * change that answers undefined lost the race of an `If-Match` write.
   */
  async function changeUser<T>(uuid: string, precondition: Precondition, change: (trx: Kysely<Database>, q: UserQueries, row: UserRow) => Promise<T | undefined>): Promise<T> {
    return transaction(async (trx, q) => {
      const row = await readForChange(trx, "users", uuid, precondition, () => requireUser(q, uuid));
      const result = await change(trx, q, row);
      if (result === undefined) throw staleVersion((await requireUser(q, uuid)).version);
      return result;
    });
  }

  return {
    async create(actor: AdminActor, input: NewUser): Promise<UserRow> {
      if (input.password !== undefined) policy.check(input.password, { ...input, loginName: input.loginName ?? input.username }, "password");
      const passwordHash = input.password === undefined ? null : await hasher.hash(input.password);
      const row = newUserRow(input, passwordHash, isoNow(), actor.roles);
      return transaction(async (trx, q) => {
        await assertNamesFree(q, row.username, row.login_name, undefined, input.loginName !== undefined && input.loginName !== null);
        await claimProfile(trx, q, actor, row.profile_id!);
        const user = await q.insert(row);
        const usersGroup = await groups.findByName(USERS_GROUP, trx);
        if (usersGroup) await groups.addMember(trx, usersGroup.id, user.id);
        await recordAudit(trx, actor, { action: "user.create", target: userTarget(user), details: { after: { ...auditedFields(user), passwordSet: passwordHash !== null } } });
        return user;
      });
    },

    /** Partial update: fields left out keep their value; the username never changes. */
    async update(actor: AdminActor, uuid: string, input: UserChanges, precondition: Precondition): Promise<UserRow> {
      return changeUser(uuid, precondition, async (trx, q, row) => {
        await assertMayAdminister(q, actor, row, "change a system administrator");
        const { next, changes, before, after } = planUpdate(row, input);
        if (Object.keys(changes).length === 0) return row;
        if (changes.change_password === 1 && (await isProviderOnly(trx, row))) throw providerOnlyPasswordChange();
        if (changes.login_name !== undefined) await assertNamesFree(q, undefined, next.loginName, row.id);
        if ("profileId" in after) await claimProfile(trx, q, actor, next.profileId, row.id);

        const updated = await writeVersion(trx, row, changes);
        if (!updated) return undefined;
        if ("profileId" in after && row.profile_id === 0) await assertProfileUnused(trx, row, "changing its profileId");
        if (row.enabled === 1 && !next.enabled) await Sessions.revokeAllOf(trx, row.id);
        if (ADMINISTRATOR_ACCESS_COLUMNS.some((c) => c in changes)) await assertSystemAdministratorRemains(trx);
        await recordAudit(trx, actor, { action: "user.update", target: userTarget(row), details: { before, after } });
        return updated;
      });
    },

    /** Deletes a user; built-in users and profiles still in use are refused. */
    async remove(actor: AdminActor, uuid: string, precondition: Precondition): Promise<void> {
      await changeUser(uuid, precondition, async (trx, q, row) => {
        if (row.builtin === 1) throw new DomainError("refused", "A built-in user cannot be deleted.", { username: row.username });
        await assertMayAdminister(q, actor, row, "delete a system administrator");
        const deleted = await trx.deleteFrom("users").where("id", "=", row.id).where("version", "=", row.version).returning("id").executeTakeFirst();
        if (!deleted) return undefined;
        if (row.profile_id === 0) await assertProfileUnused(trx, row, "deleting it");
        await assertSystemAdministratorRemains(trx);
        // Sessions and memberships go with the row (foreign keys cascade), so its tokens die at once.
        await recordAudit(trx, actor, { action: "user.delete", target: userTarget(row), details: { before: auditedFields(row) } });
        return true;
      });
    },

    /** Sets a new password chosen by an administrator and ends every session of the user. */
    async resetPassword(actor: AdminActor, uuid: string, password: string, temporary: boolean | undefined, precondition: Precondition): Promise<void> {
      // Who may reset whose password is decided before the policy looks at the password: a caller
      // without the right learns nothing of it. The write checks again on the row it locks.
      const mayReset = async (q: UserQueries, row: UserRow) => {
        if (row.id === actor.id) throw ownPasswordRefused(row.username);
        await assertMayAdminister(q, actor, row, "reset the password of a system administrator");
      };
      const queries = createUserQueries(store);
      const subject = await requireUser(queries, uuid);
      await mayReset(queries, subject);
      policy.check(password, ownerOf(subject), "value");
      const passwordHash = await hasher.hash(password);
      await changeUser(uuid, precondition, async (trx, q, row) => {
        await mayReset(q, row);
        if (row.directory_id !== null) throw new DomainError("refused", "The password of a directory user is managed by its directory.", { username: row.username });
        assertHasPassword(row);
        if (await isProviderOnly(trx, row)) throw new DomainError("refused", "This user logs in through identity providers only and has no local password.", { username: row.username });
        const changes: UserUpdate = { password_hash: passwordHash, password_by_system_administrator: madeBySystemAdministrator(actor.roles), password_changed_at: isoNow() };
        if (temporary !== undefined) changes.change_password = temporary ? 1 : 0;
        if (!(await writeVersion(trx, row, changes))) return undefined;
        await Sessions.revokeAllOf(trx, row.id);
        await recordAudit(trx, actor, { action: "user.password-reset", target: userTarget(row), details: temporary === undefined ? {} : { changePassword: temporary } });
        return true;
      });
    },

    /**
     * Why the account's logins may be refused after failed ones: the account-wide lockout (every
     * unfamiliar address) and each address locked out of it, or on its way there.
     */
    async lockout(uuid: string): Promise<{ lockedOutUntil: string | null; failedLogins: number; addresses: AddressLockout[] }> {
      const row = await requireUser(createUserQueries(store), uuid);
      const lockedOutUntil = row.locked_out_until !== null && row.locked_out_until > isoNow() ? row.locked_out_until : null;
      return { lockedOutUntil, failedLogins: row.failed_logins, addresses: await addressLockouts(db, row.id) };
    },

    /** Lifts the account's lockout and every address's lockout of it (and forgets the failures that led to them; familiar addresses stay familiar). */
    async clearLockout(actor: AdminActor, uuid: string, precondition: Precondition): Promise<void> {
      await transaction(async (trx, q) => {
        await holdVersion(trx, "users", uuid, precondition);
        const row = await requireUser(q, uuid);
        await assertMayAdminister(q, actor, row, "clear the lockout of a system administrator");
        const details = lockoutCleared(row, await addressLockouts(trx, row.id));
        await trx.updateTable("users").set({ failed_logins: 0, lockout_count: 0, locked_out_until: null }).where("id", "=", row.id).execute();
        await clearAddressLockouts(trx, [row.id]);
        await recordAudit(trx, actor, { action: "user.lockout-cleared", target: userTarget(row), details });
      });
    },

    /** The logged-in user changes their own password; their other sessions end, this one stays. */
    async changeOwnPassword(actor: Actor, self: UserRow, sessionId: string | null, currentPassword: string, newPassword: string): Promise<void> {
      assertHasPassword(self);
      if (self.directory_id !== null) throw new DomainError("refused", "The password of a directory user is managed by its directory.");
      if (await isProviderOnly(db, self)) throw new DomainError("refused", "This user logs in through identity providers only and has no local password.");
      // A wrong current password counts toward the lockout: a stolen token must not allow guessing.
      if (!(await login.confirmPassword(self, currentPassword, actor))) {
        throw new DomainError("invalid", "The current password is incorrect.", { field: "currentPassword" });
      }
      if (newPassword === currentPassword) throw new DomainError("invalid", "The new password must differ from the current one.", { field: "newPassword" });
      policy.check(newPassword, ownerOf(self), "newPassword");
      const passwordHash = await hasher.hash(newPassword);
      await transaction(async (trx, q) => {
        // As the check found it: a reset, a disable or this session's end committed while the new
        // password was hashed wins, or the owner's change would undo an administrator's reset.
        const unchanged = await q.lockForLogin(trx, self.id, self.password_changed_at);
        const live = sessionId === null || (await trx.selectFrom("sessions").select("id").where("id", "=", sessionId).where("revoked_at", "is", null).executeTakeFirst());
        if (!unchanged || !live) throw new DomainError("refused", "The password was changed, or this session ended, while this change was made: log in again.");
        await trx
          .updateTable("users")
          // As trusted as the password it replaces: knowing that one is all the proof of being the owner
          // there is, and whoever set it (role-rules.ts madeBySystemAdministrator) may be the one changing it.
          .set({ password_hash: passwordHash, password_by_system_administrator: self.password_by_system_administrator, password_changed_at: isoNow(), change_password: 0, version: sql<number>`version + 1`, updated_at: isoNow() })
          .where("id", "=", self.id)
          .execute();
        await Sessions.revokeAllOf(trx, self.id, sessionId ?? undefined);
        await recordAudit(trx, actor, { action: "user.password-change", target: userTarget(self) });
      });
    },
  };
}

/** The names a user's password is checked against. */
function ownerOf(u: UserRow): PasswordOwner {
  return { username: u.username, loginName: u.login_name, firstName: u.first_name, lastName: u.last_name, email: u.email };
}

/** The user has no way in but identity providers: no password, no directory, at least one link. */
export async function isProviderOnly(db: Kysely<Database>, user: Pick<UserRow, "id" | "password_hash" | "directory_id">): Promise<boolean> {
  if (user.password_hash !== null || user.directory_id !== null) return false;
  return (await db.selectFrom("federated_identities").select("user_id").where("user_id", "=", user.id).executeTakeFirst()) !== undefined;
}

/** The fields of a partial change that are set. */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type UserAdmin = ReturnType<typeof createUserAdmin>;
