import { statSync, type Stats } from "node:fs";
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import type { SecretKeySource } from "./auth/secret-box.js";
import { DEFAULT_BUSY_POLICY } from "./storage/busy.js";
import type { StoreLocation } from "./storage/store.js";

export interface Config {
  host: string;
  port: number;
  /** Server processes sharing the port (node:cluster); 1 runs the server in this process alone. */
  workers: number;
  /** Requests an API key may make per minute, counted on all nodes together (0: no limit). */
  apiKeyRatePerMinute: number;
  store: StoreLocation;
  /** Initial password of the built-in `sysadmin` (first start only). */
  adminPassword: string | undefined;
  /** Idle lifetime of an access token in seconds; each use moves its end forward. */
  tokenTtlSeconds: number;
  /** Absolute lifetime of a login session in seconds, however active. */
  sessionMaxSeconds: number;
  lockout: LockoutPolicy;
  /** Days a password stays valid (0: forever); the first login after that must change it, unless the account's password never expires. */
  passwordMaxAgeDays: number;
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
  /** Password checks and hashes running at once, and how many more may wait; past that they are refused at once (503). */
  hashQueue: { concurrency: number; maxWaiting: number };
  passwordPolicy: PasswordPolicySettings;
  rateLimit: RateLimitSettings;
  connections: ConnectionLimits;
  /** Days audit events are kept (0: forever); older ones are pruned in the background. */
  auditRetentionDays: number;
  /**
   * New audit rows a minute, all nodes together, for the refusals anonymous callers can cause without
   * end (0: no cap); past it, such refusals are counted in one `audit.not-recorded` event per kind a minute.
   */
  auditAnonymousEventsPerMinute: number;
  /** Identity-provider logins in progress (started, not yet back), all nodes together (0: no cap); past it a start deletes the oldest. */
  providerLoginsInProgressMax: number;
  /** Largest accepted request body in bytes. */
  bodyLimit: number;
  /** Imports (`POST /users/import`) running at once in one process (0: no cap); each holds a batch of rows read ahead and its answer's. */
  importsAtOnce: number;
  logLevel: string;
  /**
   * Which hops in front may set X-Forwarded-For (the client address of the audit log and the rate
   * limits): none (false), the proxies at these addresses or CIDR ranges, or this many hops.
   */
  trustProxy: false | string[] | number;
  /** Serve HTTPS with this certificate and key (PEM files); HSTS is sent then. */
  tls?: { certFile: string; keyFile: string };
  /** PEM private key (P-256 or Ed25519) that signs tokens instead of the keys kept in the store. */
  tokenKeyFile: string | undefined;
  /** Key that seals the secrets kept in the store (bind passwords, client secrets). */
  secretKey: SecretKeySource;
  /** The address browsers reach the service at (the identity providers' redirect URIs); unset: each request's own. */
  publicUrl: string | undefined;
  /** Seconds before an identity provider's keys are read again for a token signed with a key not seen yet. */
  oidcJwksCooldownSeconds: number;
  /**
   * How long any call to an identity provider may take (discovery, keys, token, user information): one that
   * has not answered by then is unreachable (openid-client alone would wait 30 s a call, and a login makes up to three).
   */
  oidcTimeoutSeconds: number;
  /** Directory syncs: how long a node holds a directory's lease unrenewed, how often it looks for due periodic syncs. */
  directories: { leaseSeconds: number; schedulerSeconds: number };
}

export interface LockoutPolicy {
  /** Failed logins in a row from one client address that lock that address out of the account (0: no lockout). */
  maxFailures: number;
  /** Failed logins in a row from unfamiliar addresses, all together, that lock the account out for every unfamiliar address (0: none). */
  accountMaxFailures: number;
  /** An address the account logged in from within this many days is familiar: only its own lockout applies to it. */
  familiarDays: number;
  /** First lockout in seconds; each further lockout doubles it, up to `maxSeconds`. */
  baseSeconds: number;
  maxSeconds: number;
}

export interface PasswordPolicySettings {
  /** Shortest accepted password, in characters. */
  minLength: number;
  /** Least zxcvbn score (0–4) a new password must reach; 0 turns the common-password check off. */
  minStrength: number;
}

/** Attempts per window on the login and password-change routes, counted in the store (0: no limit). */
export interface RateLimitSettings {
  windowSeconds: number;
  /** Attempts from one client address. */
  perAddress: number;
  /** Attempts on one account from addresses that are not familiar to it. */
  perAccount: number;
  /** Identity-provider logins started, and one-time codes exchanged, from one client address. */
  providerLoginsPerAddress: number;
  /** API keys that do not work, from one client address (each costs a read of the store). */
  refusedApiKeysPerAddress: number;
  /** How long a refusal (429) is held before it is answered. */
  refusalDelayMs: number;
}

export interface ConnectionLimits {
  /** Time to receive a whole request, headers and body (0: none). */
  requestTimeoutSeconds: number;
  /** Time to receive the request headers. */
  headersTimeoutSeconds: number;
  /** How long an idle keep-alive connection stays open between requests. */
  keepAliveTimeoutSeconds: number;
  /** A connection with no traffic either way for this long is closed (0: none). */
  idleTimeoutSeconds: number;
  /** Open connections of the process (0: no cap). */
  maxConnections: number;
  /** Open connections from one client address (0: no cap). */
  maxConnectionsPerAddress: number;
  /** A long upload (an import) is held to this rate instead of the request timeout (http/connections.ts `longUpload`). */
  uploadMinBytesPerSecond: number;
}

/** A whole number setting; `min` and `max` where a value outside would leave the server unusable (a token dead at birth, no password strong enough). */
function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max < Number.MAX_SAFE_INTEGER ? `an integer from ${min} to ${max}` : min === 0 ? "a non-negative integer" : `an integer of at least ${min}`;
    throw new Error(`${name} must be ${range}, got "${raw}"`);
  }
  return value;
}

/** argon2id's costs, within what the algorithm takes (RFC 9106: at least 8 KiB of memory a lane). */
function argon2From(env: NodeJS.ProcessEnv): Config["argon2"] {
  const parallelism = intFrom(env, "ECM_ARGON2_PARALLELISM", 1, { min: 1, max: 255 });
  return {
    memoryCost: intFrom(env, "ECM_ARGON2_MEMORY_KIB", 19_456, { min: 8 * parallelism }),
    timeCost: intFrom(env, "ECM_ARGON2_ITERATIONS", 2, { min: 1 }),
    parallelism,
  };
}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const port = intFrom(env, name, fallback);
  if (port > 65_535) throw new Error(`${name} must be a port number from 0 to 65535, got "${env[name]}"`);
  return port;
}

/** `ECM_TRUST_PROXY`: a hop count, or a comma-separated list of addresses, CIDR ranges or proxy-addr's names (loopback, linklocal, uniquelocal). */
function trustProxyFrom(raw: string | undefined): Config["trustProxy"] {
  if (raw === undefined || raw.trim() === "" || raw === "false") return false;
  if (/^\d+$/.test(raw.trim())) return Number(raw);
  if (raw === "true") throw new Error("ECM_TRUST_PROXY=true would let any caller forge its address with X-Forwarded-For: list the proxies' addresses or CIDR ranges, or give the number of proxy hops");
  const entries = raw.split(",").map((entry) => entry.trim());
  for (const entry of entries) {
    const [address, bits, extra] = entry.split("/");
    const version = isIP(address ?? "");
    const validBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (version === 6 ? 128 : 32));
    if (!(["loopback", "linklocal", "uniquelocal"].includes(entry) || (version !== 0 && validBits && extra === undefined))) {
      throw new Error(`ECM_TRUST_PROXY: "${entry}" is not an IP address, a CIDR range, loopback, linklocal or uniquelocal`);
    }
  }
  return entries;
}

/** `ECM_PUBLIC_URL`: the origin browsers reach the service at (redirect URIs are built on it), without `/portal`. */
function publicUrlFrom(raw: string | undefined): string | undefined {
  const text = raw?.trim() ?? "";
  if (text === "") return undefined;
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) throw new Error(`ECM_PUBLIC_URL must be an http:// or https:// address such as https://ecm.example.com, got "${raw}"`);
  if (url.username || url.password || url.search || url.hash || url.pathname !== "/") {
    throw new Error(`ECM_PUBLIC_URL is the origin browsers reach the service at, such as https://ecm.example.com: no path (/portal is added), query, fragment or credentials; got "${raw}"`);
  }
  return url.origin;
}

/** pino's levels: another name fails the logger's start, after a first start has made sysadmin, its password unshown. */
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function logLevelFrom(raw: string | undefined): string {
  const level = raw?.trim().toLowerCase() || "info";
  if (!LOG_LEVELS.includes(level)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}; got "${raw}"`);
  return level;
}

/**
 * A key file named by a setting. One that every account on the machine may read (or write) gives each
 * of them what it guards — the token key mints anyone's tokens, sysadmin's too; the secret key unseals
 * the bind passwords and client secrets the store keeps; the TLS key speaks as this service — as the
 * data directory's own files would, which are made 0600 for that: refused, as OpenSSH and PostgreSQL
 * refuse theirs. A group may read it (a group of its own, as Debian's ssl-cert). A file not there is
 * left to what reads it (or, the secret key's, makes it), as is one that is not a regular file or cannot be looked at.
 */
function closedKeyFile(setting: string, path: string): string {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch {
    // Not there, or not to be looked at (a folder on the way that may not be read): readSettingFile says which, naming the setting.
    return path;
  }
  // Not a regular file (a FIFO, /dev/zero): readSettingFile refuses it, saying what it is.
  const mode = stats.mode;
  if (stats.isFile() && (mode & 0o007) !== 0) {
    throw new Error(`${setting} (${path}) is open to every account on this machine (mode ${(mode & 0o777).toString(8).padStart(4, "0")}): chmod 600 it, or 640 for a group of its own.`);
  }
  return path;
}

function tlsFrom(env: NodeJS.ProcessEnv): Config["tls"] {
  const certFile = env.ECM_TLS_CERT_FILE || undefined;
  const keyFile = env.ECM_TLS_KEY_FILE || undefined;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new Error("ECM_TLS_CERT_FILE and ECM_TLS_KEY_FILE go together: set both to serve HTTPS, or neither");
  return { certFile: resolve(certFile), keyFile: closedKeyFile("ECM_TLS_KEY_FILE", resolve(keyFile)) };
}

/**
 * DATABASE_URL as the PostgreSQL driver takes it (postgres:// or postgresql://, socket: or a socket
 * folder's path). Another database's URL would be tried as a PostgreSQL host: said here instead,
 * naming its scheme only (the URL may hold a password).
 */
function postgresUrl(url: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (url.startsWith("/") || scheme === "postgres" || scheme === "postgresql" || scheme === "socket") return url;
  throw new Error(`DATABASE_URL must be a PostgreSQL URL, postgres://user@host:5432/database${scheme ? `, not a ${scheme}: URL` : ""} (leave it unset for the embedded SQLite store)`);
}

/** Reads the configuration from the environment (see README, "Configuration"). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = env.DATABASE_URL;
  const dataDir = resolve(env.ECM_DATA_DIR ?? "data");
  const secretKeyFile = resolve(env.ECM_SECRET_KEY_FILE ?? join(dataDir, "secret.key"));
  const busy = { timeoutMs: intFrom(env, "ECM_STORE_BUSY_TIMEOUT_MS", DEFAULT_BUSY_POLICY.timeoutMs), attempts: Math.max(1, intFrom(env, "ECM_STORE_BUSY_ATTEMPTS", DEFAULT_BUSY_POLICY.attempts)) };
  return {
    host: env.HOST ?? "127.0.0.1",
    port: portFrom(env, "PORT", 8080),
    workers: intFrom(env, "ECM_WORKERS", availableParallelism()) || 1,
    apiKeyRatePerMinute: intFrom(env, "ECM_API_KEY_RATE_PER_MINUTE", 600),
    store: databaseUrl
      ? { kind: "postgres", url: postgresUrl(databaseUrl), poolSize: intFrom(env, "ECM_DB_POOL_SIZE", 10), busy }
      : { kind: "sqlite", file: join(dataDir, "ecm-security.sqlite3"), busy },
    adminPassword: env.ECM_ADMIN_PASSWORD || undefined,
    tokenTtlSeconds: intFrom(env, "ECM_TOKEN_TTL_SECONDS", 300, { min: 1 }),
    sessionMaxSeconds: intFrom(env, "ECM_SESSION_MAX_SECONDS", 36_000, { min: 1 }),
    lockout: {
      maxFailures: intFrom(env, "ECM_LOCKOUT_MAX_FAILURES", 5),
      accountMaxFailures: intFrom(env, "ECM_LOCKOUT_ACCOUNT_MAX_FAILURES", 50),
      familiarDays: intFrom(env, "ECM_LOCKOUT_FAMILIAR_DAYS", 30),
      baseSeconds: intFrom(env, "ECM_LOCKOUT_BASE_SECONDS", 60),
      maxSeconds: intFrom(env, "ECM_LOCKOUT_MAX_SECONDS", 86_400),
    },
    passwordMaxAgeDays: intFrom(env, "ECM_PASSWORD_MAX_AGE_DAYS", 0),
    argon2: argon2From(env),
    hashQueue: {
      concurrency: intFrom(env, "ECM_ARGON2_CONCURRENCY", availableParallelism()),
      maxWaiting: intFrom(env, "ECM_ARGON2_QUEUE", 32),
    },
    passwordPolicy: {
      minLength: intFrom(env, "ECM_PASSWORD_MIN_LENGTH", 12),
      minStrength: intFrom(env, "ECM_PASSWORD_MIN_STRENGTH", 3, { max: 4 }),
    },
    rateLimit: {
      windowSeconds: intFrom(env, "ECM_RATE_LIMIT_WINDOW_SECONDS", 60),
      perAddress: intFrom(env, "ECM_RATE_LIMIT_PER_ADDRESS", 30),
      perAccount: intFrom(env, "ECM_RATE_LIMIT_PER_ACCOUNT", 10),
      providerLoginsPerAddress: intFrom(env, "ECM_RATE_LIMIT_PROVIDER_LOGINS_PER_ADDRESS", 60),
      refusedApiKeysPerAddress: intFrom(env, "ECM_RATE_LIMIT_REFUSED_API_KEYS_PER_ADDRESS", 300),
      refusalDelayMs: intFrom(env, "ECM_RATE_LIMIT_REFUSAL_DELAY_MS", 1000),
    },
    connections: {
      requestTimeoutSeconds: intFrom(env, "ECM_REQUEST_TIMEOUT_SECONDS", 30),
      headersTimeoutSeconds: intFrom(env, "ECM_HEADERS_TIMEOUT_SECONDS", 10),
      keepAliveTimeoutSeconds: intFrom(env, "ECM_KEEP_ALIVE_TIMEOUT_SECONDS", 5),
      idleTimeoutSeconds: intFrom(env, "ECM_IDLE_TIMEOUT_SECONDS", 60),
      maxConnections: intFrom(env, "ECM_MAX_CONNECTIONS", 10_000),
      maxConnectionsPerAddress: intFrom(env, "ECM_MAX_CONNECTIONS_PER_ADDRESS", 256),
      uploadMinBytesPerSecond: intFrom(env, "ECM_UPLOAD_MIN_BYTES_PER_SECOND", 10_000),
    },
    auditRetentionDays: intFrom(env, "ECM_AUDIT_RETENTION_DAYS", 365),
    auditAnonymousEventsPerMinute: intFrom(env, "ECM_AUDIT_ANONYMOUS_EVENTS_PER_MINUTE", 300),
    providerLoginsInProgressMax: intFrom(env, "ECM_PROVIDER_LOGINS_IN_PROGRESS_MAX", 10_000),
    bodyLimit: intFrom(env, "ECM_BODY_LIMIT_BYTES", 1_048_576),
    importsAtOnce: intFrom(env, "ECM_IMPORTS_AT_ONCE", 4),
    logLevel: logLevelFrom(env.LOG_LEVEL),
    trustProxy: trustProxyFrom(env.ECM_TRUST_PROXY),
    tls: tlsFrom(env),
    tokenKeyFile: env.ECM_TOKEN_KEY_FILE ? closedKeyFile("ECM_TOKEN_KEY_FILE", resolve(env.ECM_TOKEN_KEY_FILE)) : undefined,
    // The file is read only without ECM_SECRET_KEY.
    secretKey: { key: env.ECM_SECRET_KEY || undefined, file: env.ECM_SECRET_KEY ? secretKeyFile : closedKeyFile("ECM_SECRET_KEY_FILE", secretKeyFile) },
    publicUrl: publicUrlFrom(env.ECM_PUBLIC_URL),
    oidcJwksCooldownSeconds: intFrom(env, "ECM_OIDC_JWKS_COOLDOWN_SECONDS", 30),
    oidcTimeoutSeconds: intFrom(env, "ECM_OIDC_TIMEOUT_SECONDS", 10, { min: 1, max: 300 }),
    directories: {
      leaseSeconds: Math.max(1, intFrom(env, "ECM_DIRECTORY_LEASE_SECONDS", 60)),
      schedulerSeconds: intFrom(env, "ECM_DIRECTORY_SCHEDULER_SECONDS", 30),
    },
  };
}
