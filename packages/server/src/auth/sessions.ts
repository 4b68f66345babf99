import { randomBytes } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import type { ExpressionBuilder, Insertable, Kysely, SelectQueryBuilder } from "kysely";
import type { Database, UserRow } from "../storage/schema.js";
import { TOKEN_ALGORITHMS, type SigningKeys } from "./signing-keys.js";
import { isoAfter, isoNow } from "../storage/time.js";
import { valuesAs } from "../storage/values-as.js";

const ISSUER = "ecm-security";

export interface TokenResponse {
  access_token: string;
  expires_in: number;
  token_type: "bearer";
}

/** The provider session a session is opened from: the provider, its subject, and its `sid` when it sent one. */
export interface SessionOrigin {
  providerId: number;
  subject: string;
  sid: string | null;
}

/**
 * The user is local, or its directory is enabled: a directory an administrator disabled lets its users
 * in by no way — no login (directory/bind.ts), nor a session or API key they opened before.
 */
export const directoryLetsIn = (eb: ExpressionBuilder<Database, "users">) =>
  eb.or([eb("users.directory_id", "is", null), eb("users.directory_id", "in", eb.selectFrom("directories").select("directories.id").where("directories.enabled", "=", 1))]);

/** A session's row, as `issue` writes it. */
export type SessionRow = Insertable<Database["sessions"]>;

/**
 * How `issue` writes a session: with more writes in its transaction (`alongside`), or by one statement
 * that reads the rows it needs (`onlyWhile`); not both. `inOne`, tried before `alongside`, writes the
 * session and what `alongside` would in one statement of its own (PostgreSQL's login success): when it
 * wrote nothing, the transaction runs.
 */
type IssueOptions = { origin?: SessionOrigin; bySystemAdministrator: boolean } & (
  | { alongside?: (trx: Kysely<Database>) => Promise<unknown>; inOne?: never; onlyWhile?: never }
  | { alongside: (trx: Kysely<Database>) => Promise<unknown>; inOne: (session: SessionRow) => Promise<boolean>; onlyWhile?: never }
  | { onlyWhile: SelectQueryBuilder<Database, any, object>; alongside?: never; inOne?: never }
);

/** `issue` wrote no session: the rows its `onlyWhile` names were not there (changed since they were read). */
export class SessionNotOpened extends Error {}

/** The user behind a valid token. */
export interface Principal {
  sessionId: string;
  user: UserRow;
  /** Opened by a way in that a system administrator made (domain/role-rules.ts madeBySystemAdministrator). */
  bySystemAdministrator: boolean;
}

/**
 * Access tokens are JWTs signed with the store's asymmetric keys (auth/signing-keys.ts), naming a session row. The row is what makes them revocable on every
 * node at once and what gives them a sliding lifetime: each use moves `expires_at` forward.
 */
export class Sessions {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly keys: SigningKeys,
    /** A token's idle lifetime: each use restarts it. */
    readonly ttlSeconds: number,
    private readonly maxSeconds: number,
    /** The time in milliseconds; tests pass a clock they move, so lifetimes pass without waiting. */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A new session of `user` and its token; `alongside` writes more about it in the same transaction.
   * `onlyWhile`: rows (locked by the query, if it must hold them) without which no session is written,
   * read by the insert itself — one statement, no transaction; SessionNotOpened when there are none.
   * A session opened through an identity provider names the provider session (`origin`), which
   * back-channel logout ends.
   */
  async issue(
    user: Pick<UserRow, "id" | "uuid">,
    sourceIp: string | null,
    { alongside, inOne, onlyWhile, origin, bySystemAdministrator }: IssueOptions,
  ): Promise<TokenResponse> {
    const id = randomBytes(18).toString("base64url");
    const now = this.now();
    const { kid, alg, key } = await this.keys.current();
    const token = await new SignJWT({ sid: id })
      .setProtectedHeader({ alg, kid, typ: "JWT" })
      .setIssuer(ISSUER)
      .setSubject(user.uuid)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(now / 1000) + this.maxSeconds)
      .sign(key);
    // The token names a row not written yet: it is no use before the insert below.
    const row: SessionRow = { id, user_id: user.id, created_at: new Date(now).toISOString(), expires_at: isoAfter(this.ttlSeconds, now), revoked_at: null, source_ip: sourceIp, provider_id: origin?.providerId ?? null, provider_subject: origin?.subject ?? null, provider_sid: origin?.sid ?? null, by_system_administrator: bySystemAdministrator ? 1 : 0 };
    const insert = (on: Kysely<Database>) => on.insertInto("sessions").values(row).execute();
    const answer: TokenResponse = { access_token: token, expires_in: this.ttlSeconds, token_type: "bearer" };
    if (onlyWhile) {
      const columns = Object.keys(row) as (keyof typeof row)[];
      const written = await this.db
        .insertInto("sessions")
        .columns(columns)
        .expression(onlyWhile.clearSelect().select((eb) => valuesAs(eb, row)).limit(1))
        .executeTakeFirst();
      if (Number(written.numInsertedOrUpdatedRows) !== 1) throw new SessionNotOpened();
    } else if (inOne && (await inOne(row))) {
      return answer;
    } else if (alongside) {
      await this.db.transaction().execute(async (trx) => {
        // First what may refuse the session (the account changed since it was read: no row for it to name).
        await alongside(trx);
        await insert(trx);
      });
    } else {
      await insert(this.db);
    }
    return answer;
  }

  /** The principal of a token, or null when it is malformed, forged, expired, revoked, or its user is disabled, outside its validity window or of a disabled directory. */
  async authenticate(token: string): Promise<Principal | null> {
    const now = this.now();
    let sid: unknown;
    try {
      ({ payload: { sid } } = await jwtVerify(token, this.keys.verificationKey, { issuer: ISSUER, algorithms: [...TOKEN_ALGORITHMS], currentDate: new Date(now) }));
    } catch (error) {
      if (error instanceof joseErrors.JOSEError || error instanceof TypeError) return null;
      throw error;
    }
    if (typeof sid !== "string") return null;
    return this.principalOf(sid, now);
  }

  /**
   * The principal of a session by its id (a download link made by it), or null when it is revoked,
   * expired, or its user may not log in now — as for its token, which the id alone never stands in for
   * anywhere else.
   */
  async principalOf(sid: string, now = this.now()): Promise<Principal | null> {
    const nowIso = new Date(now).toISOString();
    const row = await this.db
      .selectFrom("sessions")
      .innerJoin("users", "users.id", "sessions.user_id")
      .selectAll("users")
      .select(["sessions.expires_at as session_expires_at", "sessions.created_at as session_created_at", "sessions.by_system_administrator as session_by_system_administrator"])
      .where("sessions.id", "=", sid)
      .where("sessions.revoked_at", "is", null)
      .where("sessions.expires_at", ">", nowIso)
      .where("users.enabled", "=", 1)
      .where(directoryLetsIn)
      // The validity window holds at every use of a token, not only at login.
      .where((eb) => eb.and([eb.or([eb("users.valid_from", "is", null), eb("users.valid_from", "<=", nowIso)]), eb.or([eb("users.valid_to", "is", null), eb("users.valid_to", ">=", nowIso)])]))
      .executeTakeFirst();
    if (!row) return null;
    const { session_expires_at, session_created_at, session_by_system_administrator, ...user } = row;
    await this.slide(this.db, sid, session_expires_at, session_created_at, now);
    return { sessionId: sid, user, bySystemAdministrator: session_by_system_administrator === 1 };
  }

  /** Moves the end of the session forward; skipped while it is fresh, so most requests write nothing. */
  private async slide(on: Kysely<Database>, sid: string, expiresAt: string, createdAt: string, now: number): Promise<void> {
    const remaining = Date.parse(expiresAt) - now;
    const slack = Math.min(5000, this.ttlSeconds * 250);
    if (remaining > this.ttlSeconds * 1000 - slack) return;
    const hardEnd = Date.parse(createdAt) + this.maxSeconds * 1000;
    const next = new Date(Math.min(now + this.ttlSeconds * 1000, hardEnd)).toISOString();
    await on.updateTable("sessions").set({ expires_at: next }).where("id", "=", sid).where("revoked_at", "is", null).execute();
  }

  /**
   * For work a session started that goes on without its requests (a bulk action's batches, read in
   * `on`): false once the session was ended or expired; otherwise the work is a use of it and slides it.
   */
  async keepOpen(on: Kysely<Database>, sid: string): Promise<boolean> {
    const now = this.now();
    const row = await on.selectFrom("sessions").select(["expires_at", "created_at"]).where("id", "=", sid).where("revoked_at", "is", null).where("expires_at", ">", new Date(now).toISOString()).executeTakeFirst();
    if (row) await this.slide(on, sid, row.expires_at, row.created_at, now);
    return row !== undefined;
  }

  /** Ends a session; `alongside` writes more about it (the logout's audit event) in the same transaction. */
  async revoke(sessionId: string, alongside?: (trx: Kysely<Database>) => Promise<unknown>): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable("sessions").set({ revoked_at: isoNow() }).where("id", "=", sessionId).where("revoked_at", "is", null).execute();
      await alongside?.(trx);
    });
  }

  /** Ends every session of a user, or of several (disable, delete, password reset), except `keep` if given. Pass the transaction's db. */
  static async revokeAllOf(db: Kysely<Database>, userIds: number | readonly number[], keep?: string): Promise<void> {
    const ids = typeof userIds === "number" ? [userIds] : [...userIds];
    let q = db.updateTable("sessions").set({ revoked_at: isoNow() }).where("user_id", "in", ids).where("revoked_at", "is", null);
    if (keep !== undefined) q = q.where("id", "!=", keep);
    await q.execute();
  }

  /** Removes sessions that can no longer be used. */
  async purgeExpired(): Promise<void> {
    await this.db.deleteFrom("sessions").where("expires_at", "<", isoAfter(-this.ttlSeconds, this.now())).execute();
  }
}
