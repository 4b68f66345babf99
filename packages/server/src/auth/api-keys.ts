import { randomBytes, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { recordAudit, type Actor, userTarget } from "../domain/audit.js";
import { DomainError, notFound } from "../domain/errors.js";
import { holdVersion, type Precondition } from "../domain/versioned.js";
import { assertSystemAdministratorRemains } from "../domain/last-admin.js";
import { INVISIBLE, normalizeName } from "../domain/names.js";
import { madeBySystemAdministrator } from "../domain/role-rules.js";
import { isProviderOnly, type AdminActor } from "../domain/users.js";
import type { Database, UserRow } from "../storage/schema.js";
import { isUniqueViolation } from "../storage/constraints.js";
import { countHit } from "../storage/rate-counters.js";
import { isoNow } from "../storage/time.js";
import { loginRefusal } from "./login.js";
import { directoryLetsIn } from "./sessions.js";

/** Every API key starts with this, so a bearer token says which kind it is (and secret scanners find leaked ones). */
export const API_KEY_PREFIX = "ecm_";
/** Characters of a key shown in lists to tell keys apart: the prefix and 8 of the secret. */
const SHOWN_CHARS = API_KEY_PREFIX.length + 8;
/** How often a key's last use is written: a script's every call would be a write otherwise. */
const LAST_USED_PRECISION_MS = 60_000;
/** How long the keys let in lately (isRecentlyUsed) are taken as read, and how many are kept. */
const RECENT_KEYS_REREAD_MS = 5_000;
const RECENT_KEYS_MAX = 100_000;

export interface ApiKeyView {
  id: string;
  name: string;
  /** The first characters of the key, to recognize it. */
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface ApiKeyLimits {
  /** Requests a key may make per minute, on all nodes together (0: no limit). */
  perMinute: number;
}

type KeyRow = Pick<Database["api_keys"], "uuid" | "name" | "prefix" | "created_at" | "expires_at" | "last_used_at">;

const view = (row: KeyRow): ApiKeyView => ({ id: row.uuid, name: row.name, prefix: row.prefix, createdAt: row.created_at, expiresAt: row.expires_at, lastUsedAt: row.last_used_at });

/**
 * API keys: long random secrets (`ecm_` and 240 random bits) that authenticate as their account, for
 * scripts. The store keeps only a keyed hash of each (HMAC-SHA256 under a key from the server's
 * secret key: a key has too much entropy for a slow hash to add anything, and a copy of the store
 * alone does not let anyone check a guess). A key works while its account could log in — enabled,
 * within its validity, its directory (if any) enabled; a lockout stops passwords, not keys — and
 * until it expires or is revoked; deleting the account deletes its keys. Every use counts against a
 * per-key limit kept in the store.
 */
export class ApiKeys {
  /** The keys let in lately, as last read (isRecentlyUsed), and the read under way. */
  private recent: { readAt: number; hashes: Set<string> } | undefined;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly hashOf: (secret: string) => string,
    private readonly limits: ApiKeyLimits,
    /** The time in milliseconds that expiry follows (tests move it instead of waiting). */
    private readonly now: () => number = Date.now,
  ) {}

  /** A new key for `user`; the secret is returned here only. */
  async create(actor: AdminActor, user: UserRow, givenName: string, expiresAt: string | null, precondition: Precondition): Promise<{ key: ApiKeyView; secret: string }> {
    // A provider's user, or one whose only way in is its links: a key would be a way in that no provider vouches for.
    if (user.identity_provider_id !== null || (user.service_account === 0 && (await isProviderOnly(this.db, user)))) {
      throw new DomainError("refused", "A user of an identity provider cannot have API keys.", { username: user.username });
    }
    // In NFKC, as other names: a name that looks the same is the same name, so revoking by it means one key.
    const name = normalizeName(givenName.trim());
    if (name === "") throw new DomainError("invalid", "name must say what the key is for: it is blank.", { field: "name" });
    // Shown in lists, audit events and the CLI's tables: nothing there that breaks or hides a line.
    if (INVISIBLE.test(name)) throw new DomainError("invalid", "name must not hold line breaks, tabs or other invisible or formatting characters.", { field: "name" });
    if (expiresAt !== null && expiresAt <= isoNow()) throw new DomainError("invalid", "expiresAt must be in the future.", { field: "expiresAt" });
    const secret = API_KEY_PREFIX + randomBytes(30).toString("base64url");
    const row = { uuid: randomUUID(), user_id: user.id, name, prefix: secret.slice(0, SHOWN_CHARS), secret_hash: this.hashOf(secret), created_at: isoNow(), expires_at: expiresAt, last_used_at: null, by_system_administrator: madeBySystemAdministrator(actor.roles) };
    try {
      await this.db.transaction().execute(async (trx) => {
        await holdVersion(trx, "users", user.uuid, precondition);
        await trx.insertInto("api_keys").values(row).execute();
        await recordAudit(trx, actor, { action: "api-key.create", target: userTarget(user), details: { keyId: row.uuid, name, prefix: row.prefix, expiresAt } });
      });
    } catch (error) {
      // Names are unique per account (migration 013b): the name then says which key is meant.
      if (isUniqueViolation(error)) throw new DomainError("name-taken", `${user.username} already has an API key named "${name}".`, { field: "name" });
      throw error;
    }
    return { key: view(row), secret };
  }

  async list(user: UserRow): Promise<ApiKeyView[]> {
    const rows = await this.db.selectFrom("api_keys").select(["uuid", "name", "prefix", "created_at", "expires_at", "last_used_at"]).where("user_id", "=", user.id).orderBy("created_at").orderBy("id").execute();
    return rows.map(view);
  }

  async revoke(actor: Actor, user: UserRow, keyId: string, precondition: Precondition): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await holdVersion(trx, "users", user.uuid, precondition);
      const row = await trx.deleteFrom("api_keys").where("uuid", "=", keyId.toLowerCase()).where("user_id", "=", user.id).returning(["uuid", "name", "prefix"]).executeTakeFirst();
      if (!row) throw notFound("API key", keyId);
      // A service account's last key may be the last way in of a system administrator.
      await assertSystemAdministratorRemains(trx);
      await recordAudit(trx, actor, { action: "api-key.revoke", target: userTarget(user), details: { keyId: row.uuid, name: row.name, prefix: row.prefix } });
    });
  }

  /** For work a key started that goes on without its requests (a bulk action's batches, read in `on`): false once the key was revoked or expired. */
  async stillValid(on: Kysely<Database>, keyId: string): Promise<boolean> {
    const now = new Date(this.now()).toISOString();
    const row = await on.selectFrom("api_keys").select("id").where("uuid", "=", keyId).where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)])).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Whether this key was let in within the last `ms`, by any server process (last uses are kept to the
   * minute: looked back that much more). The keys let in lately are read from the store at most every
   * few seconds, one read shared by the requests that wait for it: past an address's limit of refused
   * keys, a key is let on only when it is among them, a flood of bad keys costing no read of its own.
   */
  async isRecentlyUsed(secret: string, ms: number): Promise<boolean> {
    if (this.recent === undefined || this.now() - this.recent.readAt >= RECENT_KEYS_REREAD_MS) {
      this.reading ??= this.readRecent(ms).finally(() => (this.reading = undefined));
      await this.reading;
    }
    return this.recent!.hashes.has(this.hashOf(secret));
  }

  private async readRecent(ms: number): Promise<void> {
    const now = this.now();
    const rows = await this.db
      .selectFrom("api_keys")
      .select("secret_hash")
      .where("last_used_at", ">=", new Date(now - ms - LAST_USED_PRECISION_MS).toISOString())
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", new Date(now).toISOString())]))
      .orderBy("last_used_at", "desc")
      .limit(RECENT_KEYS_MAX)
      .execute();
    this.recent = { readAt: now, hashes: new Set(rows.map((r) => r.secret_hash)) };
  }

  /**
   * The account of a key that may be used now, or null; over its rate limit, a too-many-attempts error.
   * `use: false` asks again for a request already let in (a long answer going on): not a use, so not counted.
   */
  async authenticate(secret: string, use = true): Promise<{ user: UserRow; keyId: string; bySystemAdministrator: boolean } | null> {
    const now = new Date(this.now()).toISOString();
    const hash = this.hashOf(secret);
    const row = await this.db
      .selectFrom("api_keys")
      .innerJoin("users", "users.id", "api_keys.user_id")
      .selectAll("users")
      .select(["api_keys.id as key_row", "api_keys.uuid as key_id", "api_keys.expires_at as key_expires_at", "api_keys.last_used_at as key_last_used_at", "api_keys.by_system_administrator as key_by_system_administrator"])
      .where("api_keys.secret_hash", "=", hash)
      .where(directoryLetsIn)
      .executeTakeFirst();
    if (!row) return null;
    const { key_row, key_id, key_expires_at, key_last_used_at, key_by_system_administrator, ...user } = row;
    if ((key_expires_at !== null && key_expires_at <= now) || loginRefusal(user) !== null) return null;
    if (use && this.limits.perMinute > 0) {
      const { hits, resetAt } = await countHit(this.db, `api-key|${key_id}`, 60_000);
      if (hits > this.limits.perMinute) {
        const retryAfterSeconds = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000));
        throw new DomainError("too-many-attempts", `This API key made more than ${this.limits.perMinute} requests this minute; try again in ${retryAfterSeconds} s.`, { retryAfterSeconds });
      }
    }
    // Known at once to this process as let in lately, before the next read of them.
    this.recent?.hashes.add(hash);
    if (use && (key_last_used_at === null || Date.parse(key_last_used_at) < Date.now() - LAST_USED_PRECISION_MS)) {
      await this.db.updateTable("api_keys").set({ last_used_at: now }).where("id", "=", key_row).execute();
    }
    return { user, keyId: key_id, bySystemAdministrator: key_by_system_administrator === 1 };
  }
}


