import { randomInt } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { sql, type Kysely, type OnConflictBuilder } from "kysely";
import type { LockoutPolicy } from "../config.js";
import { auditRow, perMinute, recordAudit, recordAuditMany, type Actor, type AuditAction, type AuditEntry, type AuditTally, userTarget } from "../domain/audit.js";
import { fold } from "../domain/user-fields.js";
import { DomainError } from "../domain/errors.js";
import { NOT_MADE_BY_SYSTEM_ADMINISTRATOR } from "../domain/role-rules.js";
import { SYSTEM_ADMINISTRATOR } from "../domain/roles.js";
import { namesToKey } from "../storage/audit-names.js";
import type { DirectoryProblem } from "../storage/directory-queries.js";
import type { Database, UserRow } from "../storage/schema.js";
import { isoAfter, isoNow } from "../storage/time.js";
import { valuesAs } from "../storage/values-as.js";
import type { UserQueries } from "../storage/user-queries.js";
import { addressKey } from "./client-address.js";
import type { CredentialCheck, DirectorySeen } from "./credentials.js";
import { KeyedQueue } from "./keyed-queue.js";
import type { SessionRow, Sessions, TokenResponse } from "./sessions.js";

/** The one answer to every refused login: no hint whether the account exists or why it was refused. */
export const invalidCredentials = () => new DomainError("credentials-refused", "The username or password is incorrect.");

/**
 * Why an existing account may not log in right now, or null when it may. `login`: a login (with a
 * password, or through a provider), which the account-wide lockout stops, except at an address familiar
 * to the account (see LoginService); null for an API key, which no lockout stops: anyone can cause one
 * by guessing the password, and a key is no password.
 */
export function loginRefusal(user: UserRow, now = new Date(), login: { familiar: boolean } | null = null): string | null {
  const nowIso = now.toISOString();
  if (!user.enabled) return "disabled";
  if (login !== null && !login.familiar && user.locked_out_until && user.locked_out_until > nowIso) return "locked-out";
  if (user.valid_from && user.valid_from > nowIso) return "not-yet-valid";
  if (user.valid_to && user.valid_to < nowIso) return "expired";
  return null;
}

/** Lockout length after the n-th lockout in a row: doubles each time, capped. */
export function lockoutSeconds(policy: LockoutPolicy, lockoutCount: number): number {
  return Math.min(policy.baseSeconds * 2 ** Math.max(0, lockoutCount - 1), policy.maxSeconds);
}

/** A login's read of its account (none: an unknown name). */
interface Account {
  user: UserRow | undefined;
  standing: Standing;
  /** The account's directory as the same statement read it (an imported account's). */
  directory?: DirectorySeen;
}

/** Where a login comes from, as the account knows it. */
interface Standing {
  /** The client's address as limits count it (client-address.ts): an IPv6 address by its /64. */
  source: string;
  /** The account logged in from this address recently: the account-wide lockout does not stop it. */
  familiar: boolean;
  /** This address is locked out of the account. */
  lockedOut: boolean;
}

/** The row's lockout (if any) is over: the condition every failure-count write checks. */
const notLockedOut = (table: "users" | "login_sources") => {
  const until = sql.ref(`${table}.locked_out_until`);
  return sql<boolean>`(${until} is null or ${until} <= ${isoNow()})`;
};

/** A local password was checked as it was last set (a directory's is the directory's): a success holds only while it still is. */
const checkedPasswordChangedAt = (user: UserRow) => (user.directory_id === null ? user.password_changed_at : undefined);

/** The account's failure counts as read are clear: a success writes none of them. */
const nothingToClear = (user: UserRow) => user.failed_logins === 0 && user.lockout_count === 0 && user.locked_out_until === null;

/** A right password from an address that has a row: its failures forgotten and the address familiar, unless it is locked out. */
const sourceSucceeded = (oc: OnConflictBuilder<Database, "login_sources">, now: string) =>
  oc.columns(["user_id", "source"]).doUpdateSet({ failed_logins: 0, lockout_count: 0, locked_out_until: null, last_success_at: now, updated_at: now }).where(notLockedOut("login_sources"));

/**
 * An administrator's clear: lifts every address's lockout of these accounts and forgets their
 * failures (the account-wide columns are the caller's); familiar addresses stay familiar. Answers the
 * accounts it changed something of.
 */
export async function clearAddressLockouts(db: Kysely<Database>, userIds: readonly number[]): Promise<Set<number>> {
  if (userIds.length === 0) return new Set();
  const forgotten = await db.deleteFrom("login_sources").where("user_id", "in", userIds).where("last_success_at", "is", null).returning("user_id").execute();
  const cleared = await db
    .updateTable("login_sources")
    .set({ failed_logins: 0, lockout_count: 0, locked_out_until: null, updated_at: isoNow() })
    .where("user_id", "in", userIds)
    .where((eb) => eb.or([eb("locked_out_until", "is not", null), eb("failed_logins", ">", 0), eb("lockout_count", ">", 0)]))
    .returning("user_id")
    .execute();
  return new Set([...forgotten, ...cleared].map((r) => r.user_id));
}

/** An address's standing with an account, as an administrator reads it. */
export interface AddressLockout {
  address: string;
  failedLogins: number;
  /** Set while this address is locked out of the account. */
  lockedOutUntil: string | null;
  /** When the account last logged in from it (within the familiar days, the account-wide lockout does not stop it). */
  lastLoginAt: string | null;
}

/** The addresses that are locked out of an account or have failed logins in a row: at most `limit`, the latest first. */
export async function addressLockouts(db: Kysely<Database>, userId: number, limit = 100): Promise<AddressLockout[]> {
  return (await addressLockoutsOf(db, [userId], limit)).get(userId) ?? [];
}

/** addressLockouts of each of several accounts (those with none are not in the map). */
export async function addressLockoutsOf(db: Kysely<Database>, userIds: readonly number[], limit = 100): Promise<Map<number, AddressLockout[]>> {
  const now = isoNow();
  // At most `limit` an account read from the store: a spray from many addresses leaves a row each.
  const rows = await db
    .selectFrom((eb) =>
      eb
        .selectFrom("login_sources")
        .select(["user_id", "source", "failed_logins", "locked_out_until", "last_success_at", "updated_at"])
        .select(sql<number>`row_number() over (partition by user_id order by updated_at desc)`.as("nth"))
        .where("user_id", "in", userIds.length > 0 ? userIds : [-1])
        .where((eb) => eb.or([eb("locked_out_until", ">", now), eb("failed_logins", ">", 0)]))
        .as("s"),
    )
    .selectAll()
    .where("nth", "<=", limit)
    .orderBy("user_id")
    .orderBy("updated_at", "desc")
    .execute();
  const of = new Map<number, AddressLockout[]>();
  for (const r of rows) {
    let list = of.get(r.user_id);
    if (!list) of.set(r.user_id, (list = []));
    list.push({ address: r.source, failedLogins: r.failed_logins, lockedOutUntil: r.locked_out_until !== null && r.locked_out_until > now ? r.locked_out_until : null, lastLoginAt: r.last_success_at });
  }
  return of;
}

/** The one audit actor of a login attempt: nobody is logged in yet, whatever name was typed. */
const anonymous = (sourceIp: string): Actor => ({ id: null, name: null, sourceIp });

/** Which attempt limit refused an attempt (http/rate-limit.ts): the client address's, or the account's. */
export type AttemptLimit = "address" | "account";

/**
 * Password logins and re-authentication, with a lockout that protects the owner ("smart lockout"):
 *
 * - Per account and client address: `maxFailures` wrong passwords in a row from one address lock
 *   that address out of the account, for a time that doubles with each lockout in a row.
 * - Per account: wrong passwords from addresses that are not familiar to the account count together;
 *   `accountMaxFailures` of them lock the account out for every unfamiliar address (this is the
 *   REST `lockedOutUntil`). An address is familiar while the account logged in from it within
 *   `familiarDays`: the owner there is stopped only by that address's own lockout.
 *
 * So a guesser at one address is stopped after `maxFailures` without touching the owner elsewhere,
 * and guessing from many addresses together is bounded by the account-wide limit. Both live in the
 * store, so every process and node counts together.
 */
export class LoginService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly users: UserQueries,
    private readonly credentials: CredentialCheck,
    private readonly sessions: Sessions,
    private readonly lockout: LockoutPolicy,
    private readonly passwordMaxAgeDays: number,
    /** Keyed hash of an unknown login name, for the audit log: attempts on one name correlate, the name itself (maybe a password typed in the wrong field) is not kept. */
    private readonly tagLoginName: (folded: string) => string,
    /** Where the refusals anyone can cause without end are counted (attempt limits', unknown names): written a second later, not a request at a time, and capped overall (domain/audit.ts AuditTally). */
    private readonly limitedTally: AuditTally,
    /** The store runs data-modifying CTEs (PostgreSQL): a login's success is then one statement (succeededInOne). */
    private readonly successInOneStatement = false,
  ) {}

  /**
   * Logins of one name from one address run one at a time in this process: each reads the failure
   * counts the one before wrote, so guesses sent at once get no more tries than the lockout allows
   * (they would all have read the counts before any was written). Other processes and nodes count in
   * the same rows, so such a burst gets at most one more try per process. Past MAX_WAITING_PER_NAME
   * waiting, more are refused at once (429): the queue is bounded, as the one in front of argon2 is.
   */
  private readonly oneAtATime = new KeyedQueue(MAX_WAITING_PER_NAME, MAX_WAIT_BEHIND_MS);
  /**
   * Logins of one name from addresses not familiar to it run one at a time in this process too: their
   * wrong passwords count together toward the account's lockout, so guesses sent at once from many
   * addresses get no more tries than it allows (one more per other process). Unknown names queue
   * alike (all their addresses are unfamiliar): a refusal of this queue tells no name from another.
   */
  private readonly unfamiliarOneAtATime = new KeyedQueue(MAX_WAITING_PER_NAME, MAX_WAIT_BEHIND_MS);

  async login(loginName: string, password: string, sourceIp: string): Promise<TokenResponse> {
    // Keyed as the lockout counts addresses: one client's connections (another port, another address of its /64) queue together.
    return this.queued(this.oneAtATime, `${fold(loginName)}\u0000${addressKey(sourceIp)}`, sourceIp, () => this.loginNow(loginName, password, sourceIp));
  }

  /** `work` in its turn on `queue`, or a 429 when too many wait there already. */
  private queued<T>(queue: KeyedQueue, key: string, sourceIp: string, work: () => Promise<T>): Promise<T> {
    const attempt = queue.run(key, work);
    if (attempt) return attempt;
    // Audited as the attempt limits' refusals are: counted a minute at a time, no password looked at.
    const actor = anonymous(sourceIp);
    this.limitedTally.add(actor, failure(actor, "auth.login", undefined, "rate-limited", { limit: "concurrent" }));
    throw new DomainError("too-many-attempts", "Too many logins of this name at once; try again in a moment.", { retryAfterSeconds: 1 });
  }

  /**
   * How long the latest refused logins of existing accounts that checked a password hash of the current
   * cost took. A refusal that checked none — a directory's user, its directory down or its bind refused,
   * which never pays argon2 — or another system's hash brought by an import (a cheap PBKDF2, say), is
   * held as long as one of them picked at random, so that the time of a refusal does not tell such an
   * account from one that checked a hash (their moving average, as before, sits above most of a skewed
   * spread). A dearer imported hash takes longer; it is replaced at its owner's next login.
   */
  private hashedRefusals = new RefusalTimes();
  /**
   * How long those refusals took after their hash was checked (counting the failure, writing it). An
   * unknown name checks a dummy hash of the same cost and then writes nothing: it waits one of these
   * instead, so that its time is spread as theirs (held to a whole refusal's time, it took the longer
   * of its own and that one's: above theirs, most of all on a busy machine).
   */
  private afterHashRefusals = new RefusalTimes();

  private async loginNow(loginName: string, password: string, sourceIp: string): Promise<TokenResponse> {
    // `started` is when the login's own work began: a wait in a queue for its turn is no part of a refusal's time.
    const checked: Checked = { hash: true, started: performance.now() };
    try {
      return await this.attemptLogin(loginName, password, sourceIp, checked);
    } catch (error) {
      if (error instanceof DomainError && error.kind === "credentials-refused") {
        const now = performance.now();
        const ms = now - checked.started;
        if (checked.hash) {
          this.hashedRefusals.record(ms);
          if (checked.hashedAt !== undefined) this.afterHashRefusals.record(now - checked.hashedAt);
        } else if (checked.dummyHashed && this.afterHashRefusals.size > 0) await sleep(Math.min(this.afterHashRefusals.pick(), MAX_REFUSAL_HOLD_MS));
        // None seen yet in this process (just started): one hash checked now takes as long, and is the first measure.
        else if (this.hashedRefusals.size === 0) {
          const hashing = performance.now();
          // A busy hasher refuses it: the refusal stands, unheld.
          await this.credentials.verify(undefined, password, { familiar: false }).catch(() => undefined);
          this.hashedRefusals.record(performance.now() - hashing);
        } else {
          const hold = Math.min(this.hashedRefusals.pick(), MAX_REFUSAL_HOLD_MS);
          if (ms < hold) await sleep(hold - ms);
        }
      }
      throw error;
    }
  }

  /** A login; `checked.hash` is false once it is known that its refusal is not an existing account's that checked a password hash of the current cost (a directory's user, an imported hash, an unknown name). */
  private async attemptLogin(loginName: string, password: string, sourceIp: string, checked: Checked): Promise<TokenResponse> {
    const name = fold(loginName);
    const finishedBefore = this.unfamiliarOneAtATime.finishedCount(name);
    const read = await this.account(loginName, sourceIp);
    if (read.standing.familiar || this.lockout.accountMaxFailures === 0) return this.checkLogin(read, loginName, password, sourceIp, checked);
    return this.queued(this.unfamiliarOneAtATime, name, sourceIp, async () => {
      checked.started = performance.now();
      // Read again in its turn when a login of this name finished here since the first read began: the
      // counts it wrote. (None finished: the first read saw what this process wrote — one statement less.)
      const current = this.unfamiliarOneAtATime.finishedCount(name) === finishedBefore ? read : await this.account(loginName, sourceIp);
      return this.checkLogin(current, loginName, password, sourceIp, checked);
    });
  }

  private async checkLogin({ user, standing, directory }: Account, loginName: string, password: string, sourceIp: string, checked: Checked): Promise<TokenResponse> {
    // An unknown name's refusal writes nothing at once (its tally does), so it is held as long as an account's (below).
    checked.hash = user !== undefined && user.directory_id === null;
    const actor = anonymous(sourceIp);
    const refusal = user === undefined ? null : standing.lockedOut ? "locked-out" : loginRefusal(user, new Date(), standing);
    // A directory's user refused here anyway (its address locked out, out of validity …) is not bound as:
    // a guess stopped here would still count at the directory, whose own lockout then locks the account
    // out of every system it serves. (Held as long as a checked hash all the same: checked.hash is false.)
    if (user?.directory_id != null && refusal !== null) {
      await this.recordFailure(actor, "auth.login", userTarget(user), refusal);
      throw invalidCredentials();
    }
    // Always verify, even for an unknown user, so the answer takes the same time either way.
    let passwordMatches: boolean;
    let bySystemAdministrator: boolean;
    let sourceRefusal: string | undefined;
    let sourceChangePassword: boolean | undefined;
    try {
      let atCurrentCost: boolean | undefined;
      ({ matches: passwordMatches, bySystemAdministrator, refusal: sourceRefusal, atCurrentCost, changePassword: sourceChangePassword } = await this.credentials.verify(user, password, { familiar: standing.familiar }, directory));
      if (atCurrentCost === false) checked.hash = false;
      if (!user) checked.dummyHashed = true;
      else if (checked.hash) checked.hashedAt = performance.now();
    } catch (error) {
      // A directory that cannot be reached, whose configuration refuses the only connection it
      // answers on (insecure), or that refuses the service account's bind: the same refusal, no wrong
      // password counted. (A local account's "unavailable" is the argon2 queue refusing more work:
      // the 503 it is, unaudited.)
      if (user?.directory_id == null || !(error instanceof DomainError) || error.kind !== "unavailable") throw error;
      await this.recordFailure(actor, "auth.login", userTarget(user), DIRECTORY_REFUSALS[error.details.reason as DirectoryProblem["reason"]] ?? "directory-unavailable");
      throw invalidCredentials();
    }
    if (!user) {
      // A new name is a new row: many addresses trying ever new names are held to the tally's rows a minute.
      this.limitedTally.add(actor, failure(actor, "auth.login", this.unknownName(loginName), "unknown-user"));
      throw invalidCredentials();
    }
    const target = userTarget(user);
    if (!passwordMatches) {
      // The directory refused before any password was tried: said, and not counted as a guess.
      if (sourceRefusal !== undefined) await this.recordFailure(actor, "auth.login", target, refusal ?? sourceRefusal);
      else await this.wrongPassword(user, standing, actor, "auth.login", refusal ?? "wrong-password");
      throw invalidCredentials();
    }
    // A password or directory that a system administrator did not set up does not open an account that holds the role (role-rules.ts).
    const refused = refusal ?? (!bySystemAdministrator && (await this.users.roleNames(user)).includes(SYSTEM_ADMINISTRATOR) ? NOT_MADE_BY_SYSTEM_ADMINISTRATOR : null);
    if (refused) {
      await this.recordFailure(actor, "auth.login", target, refused);
      throw invalidCredentials();
    }
    const self = { id: user.id, name: user.username, sourceIp };
    // The session, the cleared failure counts and the audit event in one transaction: one commit per
    // login, and no session of a login that then turns out locked out.
    try {
      // Nothing but the success to write (no password change to note, no failures to clear): one statement where the store can.
      const successOnly = this.successInOneStatement && (sourceChangePassword === undefined || sourceChangePassword === (user.change_password === 1)) && !this.passwordExpired(user);
      return await this.sessions.issue(user, sourceIp, {
        bySystemAdministrator,
        ...(successOnly && { inOne: (session: SessionRow) => this.succeededInOne(user, standing, self, session) }),
        alongside: async (trx) => {
          // The rows were read before the slow verify: concurrent wrong guesses may have locked the address
          // or the account out since, or an administrator reset its password, disabled or deleted it.
          const outcome = await this.succeeded(user, standing, trx);
          if (outcome !== "ok") throw new RefusedMeanwhile(outcome);
          // A directory's word on a password change, as its entry says now: changed there since the last
          // sync, the account acts again; one due there is done there before it does (auth-guard.ts).
          if (sourceChangePassword !== undefined && sourceChangePassword !== (user.change_password === 1)) {
            await trx.updateTable("users").set({ change_password: sourceChangePassword ? 1 : 0, version: sql<number>`version + 1`, updated_at: isoNow() }).where("id", "=", user.id).execute();
            await recordAudit(trx, self, { action: "user.update", target, details: { before: { changePassword: !sourceChangePassword }, after: { changePassword: sourceChangePassword } } });
          }
          if (this.passwordExpired(user)) {
            // Like a temporary password: the token opens only the own account until the password is changed.
            await trx.updateTable("users").set({ change_password: 1, version: sql<number>`version + 1`, updated_at: isoNow() }).where("id", "=", user.id).execute();
            await recordAudit(trx, self, { action: "user.password-expired", target, details: { passwordChangedAt: user.password_changed_at } });
          }
          await recordAudit(trx, self, { action: "auth.login", target });
        },
      });
    } catch (error) {
      if (!(error instanceof RefusedMeanwhile)) throw error;
      await this.recordFailure(actor, "auth.login", target, error.reason);
      throw invalidCredentials();
    }
  }

  /**
   * Re-authentication of a logged-in user (changing the own password): a wrong password counts toward
   * the lockout like a failed login, so a stolen token cannot be used to guess the password, and a
   * locked-out address or account is refused whatever it sends.
   */
  async confirmPassword(user: UserRow, password: string, actor: Actor): Promise<boolean> {
    const standing = await this.standing(user, actor.sourceIp ?? "");
    const { matches } = await this.credentials.verify(user, password, { familiar: standing.familiar });
    const refused = standing.lockedOut || loginRefusal(user, new Date(), standing) === "locked-out";
    const outcome = matches && !refused ? await this.succeeded(user, standing) : "locked-out";
    if (outcome === "ok") return true;
    if (matches) await this.recordFailure(actor, "auth.reauthenticate", userTarget(user), outcome);
    else await this.wrongPassword(user, standing, actor, "auth.reauthenticate", "wrong-password");
    return false;
  }

  /**
   * A login an attempt limit refused before any password was looked at, audited like the other
   * refused logins: anonymous, the address, one event a minute whose count grows. Refused by the
   * address's limit it names no target, so an attacker trying ever new names adds one row a minute per
   * address; refused by the account's, the account is the target (only accounts that had that many
   * failed attempts, each recorded already, get such rows).
   */
  async loginLimited(loginName: string, sourceIp: string, limit: AttemptLimit): Promise<void> {
    const user = limit === "account" ? await this.users.findByLoginName(loginName) : undefined;
    const target = limit === "address" ? undefined : user ? userTarget(user) : this.unknownName(loginName);
    const actor = anonymous(sourceIp);
    this.limitedTally.add(actor, failure(actor, "auth.login", target, "rate-limited", { limit }));
  }

  /** A change of the own password an attempt limit refused: audited as the failed re-authentications are. */
  reauthenticationLimited(user: UserRow, actor: Actor, limit: AttemptLimit): void {
    this.limitedTally.add(actor, failure(actor, "auth.reauthenticate", userTarget(user), "rate-limited", { limit }));
  }

  /** The account with this login name logged in from `sourceIp`'s network recently (false for an unknown name). */
  async isFamiliar(loginName: string, sourceIp: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("login_sources")
      .innerJoin("users", "users.id", "login_sources.user_id")
      .select("login_sources.user_id")
      .where("users.login_key", "=", fold(loginName))
      .where("login_sources.source", "=", addressKey(sourceIp))
      .where("login_sources.last_success_at", ">", this.familiarSince())
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Forgets the addresses an account has not seen within `familiarDays` and that are not locked out (housekeeping). */
  async forgetStaleSources(): Promise<void> {
    await this.db
      .deleteFrom("login_sources")
      .where("updated_at", "<", this.familiarSince())
      .where((eb) => eb.or([eb("last_success_at", "is", null), eb("last_success_at", "<", this.familiarSince())]))
      .where(notLockedOut("login_sources"))
      .execute();
  }

  /** Logins since this time make an address familiar. */
  private familiarSince(): string {
    return isoAfter(-this.lockout.familiarDays * 86_400);
  }

  /**
   * The account of a login name, what it knows of this address, and its directory's version, in one
   * statement: a login's round trips to the store are much of its cost.
   */
  private async account(loginName: string, sourceIp: string): Promise<Account> {
    const source = addressKey(sourceIp);
    const row = await this.db
      .selectFrom("users")
      .leftJoin("login_sources", (join) => join.onRef("login_sources.user_id", "=", "users.id").on("login_sources.source", "=", source))
      .leftJoin("directories", "directories.id", "users.directory_id")
      .selectAll("users")
      .select(["login_sources.locked_out_until as source_locked_out_until", "login_sources.last_success_at as source_last_success_at"])
      .select(["directories.version as directory_version", "directories.enabled as directory_enabled"])
      .where("users.login_key", "=", fold(loginName))
      .executeTakeFirst();
    if (!row) return { user: undefined, standing: this.standingOf(source, undefined) };
    const { source_locked_out_until, source_last_success_at, directory_version, directory_enabled, ...user } = row;
    const directory = directory_version === null || directory_enabled === null ? undefined : { version: directory_version, enabled: directory_enabled === 1 };
    return { user, standing: this.standingOf(source, { locked_out_until: source_locked_out_until, last_success_at: source_last_success_at }), directory };
  }

  /** What the account knows of this address (nothing, for an unknown account). */
  private async standing(user: UserRow, sourceIp: string): Promise<Standing> {
    const source = addressKey(sourceIp);
    return this.standingOf(source, await this.db.selectFrom("login_sources").select(["locked_out_until", "last_success_at"]).where("user_id", "=", user.id).where("source", "=", source).executeTakeFirst());
  }

  private standingOf(source: string, row: { locked_out_until: string | null; last_success_at: string | null } | undefined): Standing {
    return {
      source,
      familiar: !!row?.last_success_at && row.last_success_at > this.familiarSince(),
      lockedOut: !!row?.locked_out_until && row.locked_out_until > isoNow(),
    };
  }

  /**
   * A right password: clears the failure counts and makes the address familiar. `locked-out` when the
   * address is locked out, or the account is and the address is not familiar (writes that check it,
   * so no racing lockout is missed); `changed-during-login` when the account is no longer as the login
   * checked it (UserQueries.lockForLogin: its password reset, disabled, deleted).
   */
  private async succeeded(user: UserRow, standing: Standing, on: Kysely<Database> = this.db): Promise<"ok" | "locked-out" | "changed-during-login"> {
    const now = isoNow();
    const sourceValues = { user_id: user.id, source: standing.source, last_success_at: now, updated_at: now };
    // Most logins have no failures to clear (as read, and still when locked) and an address not locked
    // out: the account's row locked and the address's row written in one statement, a round trip less.
    // Anything else (nothing written then) goes the long way below, which tells which.
    if (nothingToClear(user)) {
      const opened = await this.openedSource(on, user, standing, now).executeTakeFirst();
      if (opened) return "ok";
    }
    // The long way: the counts read under the lock. None to clear: the row is then read, not written (a
    // write of the row rewrites an entry in each of its indexes, most of a login's work in the store at a million users).
    const counts = await this.users.lockForLogin(on, user.id, checkedPasswordChangedAt(user));
    if (!counts) return "changed-during-login";
    const clean = counts.failed_logins === 0 && counts.lockout_count === 0 && counts.locked_out_until === null;
    const accountOpen = clean || (await on
      .updateTable("users")
      .set({ failed_logins: 0, lockout_count: 0, locked_out_until: null })
      .where("id", "=", user.id)
      .where(notLockedOut("users"))
      .returning("id")
      .executeTakeFirst()) !== undefined;
    if (!accountOpen && !standing.familiar) return "locked-out";
    const sourceOpen = await on.insertInto("login_sources").values(sourceValues).onConflict((oc) => sourceSucceeded(oc, now)).returning("user_id").executeTakeFirst();
    return sourceOpen !== undefined ? "ok" : "locked-out";
  }

  /**
   * The account's row locked, if it still has no failures to clear and is as the login checked it, and
   * its address's success written unless the address is locked out: the user's id when written.
   */
  private openedSource(on: Kysely<Database>, user: UserRow, standing: Standing, now: string) {
    return on
      .insertInto("login_sources")
      .columns(["user_id", "source", "last_success_at", "updated_at"])
      .expression(
        this.users
          .loginRow(on, user.id, checkedPasswordChangedAt(user))
          .where("failed_logins", "=", 0)
          .where("lockout_count", "=", 0)
          .where("locked_out_until", "is", null)
          .select((eb) => [eb.ref("id").as("user_id"), eb.val(standing.source).as("source"), eb.val(now).as("last_success_at"), eb.val(now).as("updated_at")]),
      )
      .onConflict((oc) => sourceSucceeded(oc, now))
      .returning("user_id");
  }

  /**
   * A login's whole success in one statement of data-modifying CTEs, no transaction around it: the
   * account locked and its address's success (openedSource), then the audit event and the session,
   * each written only if the address's success was: one round trip to the store where `begin`, the
   * three writes and `commit` took five (a directory-bind login: 6 statements → 2). False when nothing was
   * written (failures to clear, a lockout, the account changed, a name whose audit key is written
   * after its event): `succeeded` in the transaction then does it, or tells which.
   */
  private async succeededInOne(user: UserRow, standing: Standing, self: Actor, session: SessionRow): Promise<boolean> {
    if (!nothingToClear(user)) return false;
    const now = isoNow();
    const event = auditRow(self, { action: "auth.login", target: userTarget(user) }, now);
    if (namesToKey([event]) !== undefined) return false;
    const written = await this.db
      .with("opened", () => this.openedSource(this.db, user, standing, now))
      .with("event", (db) => db.insertInto("audit_events").columns(Object.keys(event) as (keyof typeof event)[]).expression(db.selectFrom("opened").select((eb) => valuesAs(eb, event))).returning("id"))
      .insertInto("sessions")
      .columns(Object.keys(session) as (keyof SessionRow)[])
      .expression((db) => db.selectFrom("opened").select((eb) => valuesAs(eb, session)))
      .returning("id")
      .executeTakeFirst();
    return written !== undefined;
  }

  /**
   * A wrong password: counts toward the lockouts, and records the failure and any lockout it caused, in
   * one transaction (a lockout is never left without its event, nor a count without its lockout).
   */
  private async wrongPassword(user: UserRow, standing: Standing, actor: Actor, action: AuditAction, reason: string): Promise<void> {
    const target = userTarget(user);
    // An account without a password (a service account, a provider's user) has nothing to guess: counting
    // would only let anyone lock it out, and a lockout is shown to its administrators as if it were under attack.
    if (user.password_hash === null && user.directory_id === null) return this.recordFailure(actor, action, target, reason);
    await this.db.transaction().execute(async (trx) => {
      // The user's row first, as a successful login locks it before its address's row: in the other order
      // a right and a wrong password from one address on two processes deadlocked on PostgreSQL.
      await this.users.lockRow(trx, user.id);
      const addressLockout = await this.countSourceFailure(trx, user, standing.source);
      // An address already locked out adds nothing: its guesses cannot succeed anyway.
      const accountLockout = addressLockout === undefined || standing.familiar ? false : await this.countAccountFailure(trx, user);
      const events: AuditEntry[] = [failure(actor, action, target, reason)];
      if (addressLockout) events.push({ action: "user.locked-out", target, details: { scope: "address", until: addressLockout } });
      if (accountLockout) events.push({ action: "user.locked-out", target, details: { scope: "account", until: accountLockout } });
      await recordAuditMany(trx, actor, events);
    });
  }

  /** A refused attempt, in the audit log at once (see `failure`). */
  private async recordFailure(actor: Actor, action: AuditAction, target: AuditEntry["target"], reason: string): Promise<void> {
    await recordAudit(this.db, actor, failure(actor, action, target, reason));
  }

  /** The audit target of an unknown login name: a keyed hash, never the name (it may be a password typed in the wrong field). */
  private unknownName(loginName: string): NonNullable<AuditEntry["target"]> {
    return { type: "login-name", id: this.nameKey(loginName) };
  }

  /** What the store keeps of a login name it counts attempts on: the same keyed hash, never the name typed. */
  nameKey(loginName: string): string {
    return this.tagLoginName(fold(loginName));
  }

  /** The password is older than the maximum age, the account's password may expire, and no change is pending yet. */
  private passwordExpired(user: UserRow): boolean {
    if (this.passwordMaxAgeDays === 0 || user.password_never_expires === 1 || user.change_password === 1 || user.password_changed_at === null) return false;
    return user.password_changed_at < isoAfter(-this.passwordMaxAgeDays * 86_400);
  }

  /**
   * Counts a wrong password from an address, unless it is locked out already (undefined then);
   * returns the lockout end when this failure locked the address out, else false.
   */
  private async countSourceFailure(db: Kysely<Database>, user: UserRow, source: string): Promise<string | false | undefined> {
    const now = isoNow();
    const row = await db
      .insertInto("login_sources")
      .values({ user_id: user.id, source, failed_logins: 1, updated_at: now })
      .onConflict((oc) =>
        oc
          .columns(["user_id", "source"])
          .doUpdateSet({ failed_logins: sql<number>`login_sources.failed_logins + 1`, updated_at: now })
          .where(notLockedOut("login_sources")),
      )
      .returning(["failed_logins", "lockout_count"])
      .executeTakeFirst();
    if (!row) return undefined;
    if (this.lockout.maxFailures === 0 || row.failed_logins < this.lockout.maxFailures) return false;
    const count = row.lockout_count + 1;
    const until = isoAfter(lockoutSeconds(this.lockout, count));
    await db.updateTable("login_sources").set({ failed_logins: 0, lockout_count: count, locked_out_until: until, updated_at: now }).where("user_id", "=", user.id).where("source", "=", source).execute();
    return until;
  }

  /** Counts a wrong password from an unfamiliar address on the account, unless it is locked out already; returns the lockout end when this failure locked it out. */
  private async countAccountFailure(db: Kysely<Database>, user: UserRow): Promise<string | false> {
    const row = await db
      .updateTable("users")
      .set({ failed_logins: sql`failed_logins + 1` })
      .where("id", "=", user.id)
      .where(notLockedOut("users"))
      .returning(["failed_logins", "lockout_count"])
      .executeTakeFirst();
    if (!row || this.lockout.accountMaxFailures === 0 || row.failed_logins < this.lockout.accountMaxFailures) return false;
    const count = row.lockout_count + 1;
    const until = isoAfter(lockoutSeconds(this.lockout, count));
    await db.updateTable("users").set({ failed_logins: 0, lockout_count: count, locked_out_until: until, updated_at: isoNow() }).where("id", "=", user.id).execute();
    return until;
  }
}

/** What a login tells the hold of its refusal: whether it checked a hash of the current cost (its own, or an unknown name's dummy), when its own work began, and when its hash was checked. */
interface Checked {
  hash: boolean;
  started: number;
  /** An existing account's hash of the current cost. */
  hashedAt?: number;
  /** An unknown name's dummy hash was checked (its refusal then waits what existing accounts' took after theirs). */
  dummyHashed?: boolean;
}

/** The times of the latest refusals that checked a password hash (LoginService.hashedRefusals). */
export class RefusalTimes {
  readonly #times: number[] = [];
  #oldest = 0;

  constructor(readonly capacity = 64) {}

  get size(): number {
    return this.#times.length;
  }

  record(ms: number): void {
    if (this.#times.length < this.capacity) this.#times.push(ms);
    else {
      this.#times[this.#oldest] = ms;
      this.#oldest = (this.#oldest + 1) % this.capacity;
    }
  }

  /** One of them, picked at random (0: none yet). */
  pick(): number {
    return this.#times.length === 0 ? 0 : this.#times[randomInt(this.#times.length)]!;
  }
}

/** The longest a refusal that checked no hash is held to look like one that did (a slow moment's is no reason to hold more). */
const MAX_REFUSAL_HOLD_MS = 1000;

/** Logins of one name from one address that may wait behind the one running (LoginService.login). */
const MAX_WAITING_PER_NAME = 8;
/** How long such a login waits for the one before it at most (a login takes well under a second). */
const MAX_WAIT_BEHIND_MS = 10_000;

/** The reason audited for a login its directory could not check, by the directory's problem (directory/bind.ts). */
const DIRECTORY_REFUSALS: Record<DirectoryProblem["reason"], string> = {
  unreachable: "directory-unavailable",
  insecure: "directory-insecure",
  "bind-refused": "directory-bind-refused",
};

/** The account was locked out, or changed, between the login's first read and its session: the reason audited. */
class RefusedMeanwhile extends Error {
  constructor(readonly reason: string) {
    super(`login refused: ${reason}`);
  }
}


/**
 * The audit event of a refused attempt: one per address, target, reason (and limit) and minute whose
 * count grows, so an attack adds rows by the minute, not by the request.
 */
function failure(actor: Actor, action: AuditAction, target: AuditEntry["target"], reason: string, more: { limit?: AttemptLimit | "concurrent" } = {}): AuditEntry & { aggregateKey: string } {
  return perMinute(actor, { action, target, outcome: "failure", details: { reason, ...more } });
}
