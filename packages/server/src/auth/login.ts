import { sql, type Kysely } from "kysely";
import type { LockoutPolicy } from "../config.js";
import { recordAudit } from "../domain/audit.js";
import { fold } from "../domain/user-fields.js";
import { ApiError } from "../http/errors.js";
import type { Database, UserRow } from "../storage/schema.js";
import { isoAfter, isoNow } from "../storage/time.js";
import type { PasswordHasher } from "./passwords.js";
import type { Sessions, TokenResponse } from "./sessions.js";

/** The one answer to every refused login: no hint whether the account exists or why it was refused. */
export const invalidCredentials = () => new ApiError("invalidCredentials", "The username or password is incorrect.");

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

export class LoginService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly hasher: PasswordHasher,
    private readonly sessions: Sessions,
    private readonly lockout: LockoutPolicy,
  ) {}

  async login(loginName: string, password: string, sourceIp: string | null): Promise<TokenResponse> {
    const user = await this.db.selectFrom("users").selectAll().where("login_key", "=", fold(loginName)).executeTakeFirst();
    // Always verify, even for an unknown user, so the answer takes the same time either way.
    const passwordMatches = await this.hasher.verify(user?.password_hash ?? null, password);
    const actor = { id: user?.id ?? null, name: user?.username ?? loginName.slice(0, 256), sourceIp };
    const target = user ? { type: "user", id: user.uuid, name: user.username } : undefined;
    if (!user) {
      await recordAudit(this.db, actor, { action: "auth.login", outcome: "failure", details: { reason: "unknown-user" } });
      throw invalidCredentials();
    }
    const refusal = loginRefusal(user);
    if (!passwordMatches) {
      const lockedOut = refusal === "locked-out" ? false : await this.countFailure(user);
      await recordAudit(this.db, actor, { action: "auth.login", target, outcome: "failure", details: { reason: refusal ?? "wrong-password" } });
      if (lockedOut) await recordAudit(this.db, actor, { action: "user.locked-out", target, details: { until: lockedOut } });
      throw invalidCredentials();
    }
    if (refusal) {
      await recordAudit(this.db, actor, { action: "auth.login", target, outcome: "failure", details: { reason: refusal } });
      throw invalidCredentials();
    }
    if (user.failed_logins > 0 || user.lockout_count > 0) {
      await this.db.updateTable("users").set({ failed_logins: 0, lockout_count: 0, locked_out_until: null }).where("id", "=", user.id).execute();
    }
    const token = await this.sessions.issue(user, sourceIp);
    await recordAudit(this.db, actor, { action: "auth.login", target });
    return token;
  }

  /** Counts a wrong password; returns the lockout end when this failure locked the account out. */
  private async countFailure(user: UserRow): Promise<string | false> {
    const row = await this.db
      .updateTable("users")
      .set({ failed_logins: sql`failed_logins + 1` })
      .where("id", "=", user.id)
      .returning(["failed_logins", "lockout_count"])
      .executeTakeFirstOrThrow();
    if (this.lockout.maxFailures === 0 || row.failed_logins < this.lockout.maxFailures) return false;
    const count = row.lockout_count + 1;
    const until = isoAfter(lockoutSeconds(this.lockout, count));
    await this.db.updateTable("users").set({ failed_logins: 0, lockout_count: count, locked_out_until: until, updated_at: isoNow() }).where("id", "=", user.id).execute();
    return until;
  }
}
