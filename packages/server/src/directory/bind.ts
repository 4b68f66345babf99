import { AndFilter, EqualityFilter, type Filter } from "ldapts";
import { REFUSED, type CredentialCheck, type DirectorySeen, type Verdict } from "../auth/credentials.js";
import type { SecretBox } from "../auth/secret-box.js";
import { DomainError } from "../domain/errors.js";
import type { DirectoryProblem, DirectoryQueries } from "../storage/directory-queries.js";
import type { UserRow } from "../storage/schema.js";
import { isoNow } from "../storage/time.js";
import { toDirectory, type Directory } from "./config.js";
import { binaryAttributes, EntryValues, keyBytes, mapUser, userAttributes } from "./entries.js";
import { escapeFilterValue, parsedFilter } from "./filters.js";
import { DirectoryConnection, DirectoryError, problemOf } from "./ldap.js";

/**
 * Logins of imported users by directory bind: the user's entry is looked up by login name with the
 * service account (the value escaped), must still be the same entry (its uniqueId) and enabled
 * there, and the password is then checked by a bind as its DN. No argon2 on this path.
 *
 * Connections are kept per directory and reused: one bound as the service account for the
 * lookups (its requests interleave), a few for the users' binds (one login at a time each). A
 * directory that cannot be reached, or only over a connection its configuration sends no passwords
 * over, or that refuses the service account's bind, throws DomainError("unavailable") with that reason:
 * the login answers the one 401 of every refused login without counting a wrong password, and
 * /health shows the directory and the reason.
 */

/**
 * Bind connections a process keeps open per directory, at most: more logins at once wait for one.
 * Opening one per login beyond them cost a TLS handshake each, and under load those handshakes took
 * the CPU the logins needed (on PostgreSQL 336 logins/s fell to 144/s with 64 at once).
 */
const MAX_BINDS = 16;
/** A pool that found the directory reachable says so to the store at most this often (not one write per login). */
const REACHABLE_NOTE_MS = 10_000;

/** Why a login could not check a password with the directory, by DirectoryProblem. */
const UNAVAILABLE: Record<DirectoryProblem["reason"], string> = {
  unreachable: "The directory of this account cannot be reached.",
  insecure: "The directory of this account answers only over a connection its configuration sends no passwords over.",
  "bind-refused": "The directory of this account refuses the bind of the service account it is configured with.",
};

class DirectoryPool {
  private service?: Promise<DirectoryConnection>;
  private readonly idle: DirectoryConnection[] = [];
  /** Bind connections open or being opened (idle or in use). */
  private binds = 0;
  /** Logins waiting for a bind connection: handed one, or undefined to open their own. */
  private readonly waiting: ((connection: DirectoryConnection | undefined) => void)[] = [];
  /** Closed (its directory changed or the server stops): logins still binding close their connections after. */
  private closed = false;
  /** When this pool last wrote "reachable" (0: never, or it failed since). */
  reachableNotedAt = 0;

  constructor(
    readonly d: Directory,
    private readonly bindPassword: string | null,
    /** A system administrator saved this version of the configuration (role-rules.ts madeBySystemAdministrator). */
    readonly bySystemAdministrator: boolean,
    private readonly serviceBound: () => Promise<void>,
  ) {}

  /** The entries of `filter` under the user search base, through the service connection (opened again once if it was lost). */
  async lookup(filter: string | Filter) {
    for (let attempt = 0; ; attempt++) {
      // A pool closed meanwhile (its directory changed) keeps no connection: this login's is closed after it.
      const service = this.closed ? this.openService() : (this.service ??= this.openService());
      try {
        const connection = await service;
        const entries = [];
        for await (const page of connection.search(this.d.userSearchBase ?? this.d.baseDn, filter, userAttributes(this.d), binaryAttributes(this.d))) entries.push(...page);
        if (this.closed && this.service !== service) void connection.close();
        return entries;
      } catch (error) {
        if (this.service === service) this.service = undefined;
        void service.then((c) => c.close(), () => {});
        // Opened again once for a connection that was lost (a restart), not for a directory that does not answer.
        if (attempt > 0 || !(error instanceof DirectoryError) || error.step !== "connect" || error.timedOut) throw error;
      }
    }
  }

  private async openService(): Promise<DirectoryConnection> {
    const connection = await DirectoryConnection.open(this.d);
    try {
      await connection.bindService(this.bindPassword);
      // The service account's bind works now: a refused one noted (by any node) is over.
      await this.serviceBound();
      return connection;
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  /** Binds as `dn` on a bind connection (a lost one is replaced once). */
  async bind(dn: string, password: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const connection = await this.acquire();
      try {
        const ok = await connection.bind(dn, password);
        this.release(connection);
        return ok;
      } catch (error) {
        this.discard(connection);
        if (attempt > 0 || !(error instanceof DirectoryError) || error.step !== "connect" || error.timedOut) throw error;
        // The directory went away (a restart): the other idle connections are gone too, and the retry opens a new one.
        for (const stale of this.idle.splice(0)) this.discard(stale);
      }
    }
  }

  /**
   * An idle bind connection, a new one while fewer than MAX_BINDS are open, or the next one released.
   * A waiting login woken without a connection was handed the slot of one that closed, and opens its own.
   */
  private async acquire(): Promise<DirectoryConnection> {
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.binds < MAX_BINDS || this.closed) this.binds++;
    else {
      const handed = await new Promise<DirectoryConnection | undefined>((resolve) => this.waiting.push(resolve));
      if (handed) return handed;
    }
    try {
      return await DirectoryConnection.open(this.d);
    } catch (error) {
      this.freeSlot();
      throw error;
    }
  }

  private release(connection: DirectoryConnection): void {
    const next = this.waiting.shift();
    if (next) next(connection);
    else if (this.closed) this.discard(connection);
    else this.idle.push(connection);
  }

  /** Closes a connection that failed or is no longer wanted. */
  private discard(connection: DirectoryConnection): void {
    void connection.close();
    this.freeSlot();
  }

  /** A closed connection's slot goes to the next waiting login, if any, which opens a connection in it. */
  private freeSlot(): void {
    const next = this.waiting.shift();
    if (next) next(undefined);
    else this.binds--;
  }

  async close(): Promise<void> {
    this.closed = true;
    const service = this.service;
    this.service = undefined;
    const idle = this.idle.splice(0);
    this.binds -= idle.length;
    await Promise.all([service?.then((c) => c.close(), () => {}), ...idle.map((c) => c.close())]);
  }
}

/** The user filter and a key (entries.ts entryKey): objectGUID's as its bytes, which a filter string would send as UTF-8 text (ldapts). */
function keyFilter(d: Directory, key: string): Filter {
  return new AndFilter({ filters: [parsedFilter(d.userFilter), new EqualityFilter({ attribute: d.attributeMapping.uniqueId, value: keyBytes(d, key) ?? key })] });
}

/** `now`: the clock of the reachable note's interval (a test moves it instead of waiting it out). */
export function directoryCredentials(queries: DirectoryQueries, secrets: SecretBox, now: () => number = Date.now) {
  /** Pools by directory id, for the configuration version they were opened with. */
  const pools = new Map<number, DirectoryPool>();

  async function poolOf(directoryId: number): Promise<DirectoryPool | null> {
    const row = await queries.findById(directoryId);
    const current = pools.get(directoryId);
    if (!row || row.enabled !== 1) {
      await current?.close();
      pools.delete(directoryId);
      return null;
    }
    if (current && current.d.version === row.version) return current;
    await current?.close();
    const d = toDirectory(row);
    const pool = new DirectoryPool(d, d.sealedBindPassword === null ? null : secrets.open(d.sealedBindPassword), row.by_system_administrator === 1, () => queries.setReachability(d.id, null, isoNow(), "a refused bind"));
    pools.set(directoryId, pool);
    return pool;
  }

  /**
   * The check of an imported user's password, with whether a system administrator saved the
   * configuration it was checked with; throws DomainError("unavailable") when the directory cannot be reached.
   */
  async function verify(user: UserRow, password: string, seen?: DirectorySeen): Promise<Verdict> {
    // An empty password is an "unauthenticated bind" (RFC 4513), which directories accept: never a login.
    if (password === "" || user.directory_id === null || user.directory_key === null) return REFUSED;
    // The configuration the login read with the account, enabled and held already: no statement of its own.
    const held = pools.get(user.directory_id);
    const pool = seen?.enabled && held?.d.version === seen.version ? held : await poolOf(user.directory_id);
    if (!pool) return { ...REFUSED, refusal: "directory-disabled" };
    const { d } = pool;
    try {
      let entries = await pool.lookup(`(&${d.userFilter}(${d.attributeMapping.loginName}=${escapeFilterValue(user.login_name)}))`);
      // None: the login name held may be another attribute's (attributeMapping changed since the last
      // sync) or the entry renamed since. By its uniqueId, then: still the same entry, its password checked by its bind.
      if (entries.length === 0) entries = await pool.lookup(keyFilter(d, user.directory_key));
      // Exactly one entry, and still the one imported (another may have taken the login name since).
      const mapped = entries.length === 1 ? mapUser(new EntryValues(entries[0]!), d) : null;
      const found = mapped !== null && "user" in mapped && mapped.key === user.directory_key ? mapped.user : null;
      const ok = found !== null && found.enabled && (await pool.bind(found.dn, password));
      if (now() - pool.reachableNotedAt >= REACHABLE_NOTE_MS) {
        await queries.setReachability(d.id, null, isoNow(), "all but a refused bind");
        pool.reachableNotedAt = now();
      }
      const refusal = found === null ? "not-in-directory" : found.enabled ? undefined : "disabled-in-directory";
      return { matches: ok, bySystemAdministrator: pool.bySystemAdministrator, ...(refusal && { refusal }), ...(found && { changePassword: found.changePassword }) };
    } catch (error) {
      if (!(error instanceof DirectoryError)) throw error;
      pool.reachableNotedAt = 0;
      const problem = problemOf(error);
      await queries.setReachability(d.id, problem, isoNow());
      // The login's audit event says which (LoginService): a configuration that refuses the connection, or a refused service account, is no outage.
      const message = UNAVAILABLE[problem.reason];
      throw new DomainError("unavailable", message, { directory: d.name, reason: problem.reason });
    }
  }

  return {
    verify,
    async close(): Promise<void> {
      await Promise.all([...pools.values()].map((p) => p.close()));
      pools.clear();
    },
  };
}

/** Local accounts by their hash, imported ones by their directory's bind. */
export function accountCredentials(local: CredentialCheck, directory: ReturnType<typeof directoryCredentials>): CredentialCheck {
  return {
    verify: (user, password, priority, seen) => (user?.directory_id != null ? directory.verify(user, password, seen) : local.verify(user, password, priority)),
  };
}
