import { sql, type ExpressionBuilder, type Kysely } from "kysely";
import type { LockoutPolicy } from "../config.js";
import { recordAudit, type Actor, type AuditEntry } from "../domain/audit.js";
import { fold } from "../domain/user-fields.js";
import { DomainError } from "../domain/errors.js";
import type { Database, UserRow } from "../storage/schema.js";
import { isoAfter, isoNow } from "../storage/time.js";
import type { UserQueries } from "../storage/user-queries.js";
import type { CredentialCheck } from "./credentials.js";
import type { Sessions, TokenResponse } from "./sessions.js";

/** The one answer to every refused login: no hint whether the account exists or why it was refused. */
export const invalidCredentials = () => new DomainError("credentials-refused", "The username or password is incorrect.");

/** Why an existing account may not log in right now, or null when it may. */
export function loginRefusal(user: UserRow, now = new Date()): string | null {
  const nowIso = now.toISOString();
  if (!user.enabled) return "disabled";
  if (user.locked_out_until && user.locked_out_until > nowIso) return "locked-out";
  if (user.valid_from && user.valid_from > nowIso) return "not-yet-valid";
  if (user.valid_to && user.valid_to < nowIso) return "expired";
  return null;
}

/** Lockout length after the n-th lockout in a row: doubles each time, capped. */
export function lockoutSeconds(policy: LockoutPolicy, lockoutCount: number): number {
  return Math.min(policy.baseSeconds * 2 ** Math.max(0, lockoutCount - 1), policy.maxSeconds);
}

/** The account is not locked out right now (the condition every failure-count write checks). */
const notLockedOut = () => (eb: ExpressionBuilder<Database, "users">) =>
  eb.or([eb("locked_out_until", "is", null), eb("locked_out_until", "<=", isoNow())]);

export class LoginService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly users: UserQueries,
    private readonly credentials: CredentialCheck,
    private readonly sessions: Sessions,
    private readonly lockout: LockoutPolicy,
    private readonly passwordMaxAgeDays: number,
  ) {}

  async login(loginName: string, password: string, sourceIp: string | null): Promise<TokenResponse> {
    const user = await this.users.findByLoginKey(fold(loginName));
    // Always verify, even for an unknown user, so the answer takes the same time either way.
    const passwordMatches = await this.credentials.verify(user, password);
    const actor = { id: user?.id ?? null, name: user?.username ?? loginName.slice(0, 256), sourceIp };
    const target = user ? { type: "user", id: user.uuid, name: user.username } : undefined;
    if (!user) {
      await recordAudit(this.db, actor, { action: "auth.login", outcome: "failure", details: { reason: "unknown-user" } });
      throw invalidCredentials();
    }
    const refusal = loginRefusal(user);
    if (!passwordMatches) {
      await this.wrongPassword(user, actor, target, "auth.login", refusal ?? "wrong-password");
      throw invalidCredentials();
    }
    // The row was read before the slow verify: concurrent wrong guesses may have locked the account out
    // since, so the reset of the failure count succeeds only while it is still not locked out.
    if (refusal || !(await this.resetFailures(user))) {
      await recordAudit(this.db, actor, { action: "auth.login", target, outcome: "failure", details: { reason: refusal ?? "locked-out" } });
      throw invalidCredentials();
    }
    if (this.passwordExpired(user)) {
      // Like a temporary password: the token opens only the own account until the password is changed.
      await this.db.updateTable("users").set({ change_password: 1, version: sql<number>`version + 1`, updated_at: isoNow() }).where("id", "=", user.id).execute();
      await recordAudit(this.db, actor, { action: "user.password-expired", target, details: { passwordChangedAt: user.password_changed_at } });
    }
    const token = await this.sessions.issue(user, sourceIp);
    await recordAudit(this.db, actor, { action: "auth.login", target });
    return token;
  }

  /**
   * Re-authentication of a logged-in user (changing the own password): a wrong password counts toward
   * the lockout like a failed login, so a stolen token cannot be used to guess the password, and a
   * locked-out account is refused whatever it sends.
   */
  async confirmPassword(user: UserRow, password: string, actor: Actor): Promise<boolean> {
    const target = { type: "user", id: user.uuid, name: user.username };
    const matches = await this.credentials.verify(user, password);
    if (matches && (await this.resetFailures(user))) return true;
    if (matches) await recordAudit(this.db, actor, { action: "auth.reauthenticate", target, outcome: "failure", details: { reason: "locked-out" } });
    else await this.wrongPassword(user, actor, target, "auth.reauthenticate", "wrong-password");
    return false;
  }

  /** A wrong password: counts toward the lockout, and records the failure and the lockout it caused. */
  private async wrongPassword(user: UserRow, actor: Actor, target: AuditEntry["target"], action: string, reason: string): Promise<void> {
    const lockedOut = await this.countFailure(user);
    await recordAudit(this.db, actor, { action, target, outcome: "failure", details: { reason } });
    if (lockedOut) await recordAudit(this.db, actor, { action: "user.locked-out", target, details: { until: lockedOut } });
  }

  /** The password is older than the maximum age, the account's password may expire, and no change is pending yet. */
  private passwordExpired(user: UserRow): boolean {
    if (this.passwordMaxAgeDays === 0 || user.password_never_expires === 1 || user.change_password === 1 || user.password_changed_at === null) return false;
    return user.password_changed_at < isoAfter(-this.passwordMaxAgeDays * 86_400);
  }

  /** Clears the failure count after a right password; false when the account is locked out (a write that checks it, so no racing lockout is missed). */
  private async resetFailures(user: UserRow): Promise<boolean> {
    const row = await this.db
      .updateTable("users")
      .set({ failed_logins: 0, lockout_count: 0, locked_out_until: null })
      .where("id", "=", user.id)
      .where(notLockedOut())
      .returning("id")
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Counts a wrong password, unless the account is locked out already; returns the lockout end when this failure locked it out. */
  private async countFailure(user: UserRow): Promise<string | false> {
    const row = await this.db
      .updateTable("users")
      .set({ failed_logins: sql`failed_logins + 1` })
      .where("id", "=", user.id)
      .where(notLockedOut())
      .returning(["failed_logins", "lockout_count"])
      .executeTakeFirst();
    if (!row || this.lockout.maxFailures === 0 || row.failed_logins < this.lockout.maxFailures) return false;
    const count = row.lockout_count + 1;
    const until = isoAfter(lockoutSeconds(this.lockout, count));
    await this.db.updateTable("users").set({ failed_logins: 0, lockout_count: count, locked_out_until: until, updated_at: isoNow() }).where("id", "=", user.id).execute();
    return until;
  }
}
