import { pbkdf2, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { verify as bcryptVerify } from "@node-rs/bcrypt";

/**
 * Password hashes brought along by a bulk import from another system, in PHC string format:
 * argon2id and argon2i (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), bcrypt (`$2a$`, `$2b$`, `$2y$`) and
 * PBKDF2-SHA256 and PBKDF2-SHA512 as Keycloak keeps them (`$pbkdf2-sha256$i=<hashIterations>$<salt>$<value>`,
 * base64 as Keycloak exports it; passlib's `$pbkdf2-sha512$<rounds>$…` with its `.` for `+` is read too).
 * They are checked at login like our own and replaced by a current argon2id hash then.
 */

// A salt of 8 bytes at least and a tag of 4 (11 and 6 base64 characters): argon2's own minimums, as its reference command writes them.
const ARGON2 = /^\$argon2(?:id|i)\$(?:v=(\d+)\$)?m=(\d{1,8}),t=(\d{1,4}),p=(\d{1,3})\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{6,}$/;
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const PBKDF2 = /^\$pbkdf2-(sha256|sha512)\$(?:i=)?(\d{1,8})(?:,l=\d{1,3})?\$([A-Za-z0-9+/.=_-]{4,})\$([A-Za-z0-9+/.=_-]{16,})$/;

/**
 * The most a hash may cost to check. Its cost is written in the hash, and it is checked at every login
 * attempt, for anyone who names the account, while the attempt limits count guesses, not their cost:
 * without a ceiling one imported hash makes each wrong guess take a core for seconds (PBKDF2 at
 * 1 000 000 iterations, bcrypt at cost 14) or gigabytes of memory. The ceilings are what other systems
 * use by default, each a fraction of a second of one core: argon2 up to RFC 9106's second choice
 * (64 MiB, 3 passes; its work is memory times passes), bcrypt to cost 12, PBKDF2 to OWASP's counts,
 * which Keycloak takes as its defaults (SHA-256 600 000, SHA-512 210 000; 27 500 before Keycloak 24).
 * The configured argon2 cost raises the argon2 ceiling (see PasswordHasher).
 */
export interface HashCeiling {
  argon2MemoryKiB: number;
  /** Memory in KiB times passes (`m` × `t`). */
  argon2Work: number;
  argon2Parallelism: number;
  bcryptCost: number;
  pbkdf2Iterations: Record<"sha256" | "sha512", number>;
}

const PBKDF2_MAX_KEY_BYTES = 64;

export const HASH_CEILING: HashCeiling = {
  argon2MemoryKiB: 65_536,
  argon2Work: 65_536 * 3,
  argon2Parallelism: 8,
  bcryptCost: 12,
  pbkdf2Iterations: { sha256: 600_000, sha512: 210_000 },
};

/**
 * What a login still checks, above the import ceiling: argon2 up to four times its memory and work, so
 * that hashes made at a higher cost configured earlier still log in after it was lowered; bcrypt and
 * PBKDF2 up to the ceilings imports had before (cost 14, 1 000 000 iterations), so that accounts imported
 * then still log in, their hash replaced by a current one at the first login that succeeds.
 */
export const LOGIN_CEILING: HashCeiling = {
  ...HASH_CEILING,
  argon2MemoryKiB: 4 * HASH_CEILING.argon2MemoryKiB,
  argon2Work: 4 * HASH_CEILING.argon2Work,
  bcryptCost: 14,
  pbkdf2Iterations: { sha256: 1_000_000, sha512: 1_000_000 },
};

/** Why `hash` is not a password hash an import may carry (or a login check), or null when it is one. */
export function importedHashProblem(hash: string, ceiling: HashCeiling = HASH_CEILING): string | null {
  const argon2 = ARGON2.exec(hash);
  if (argon2) {
    const [m, t, p] = argon2.slice(2).map(Number) as [number, number, number];
    if (m > ceiling.argon2MemoryKiB || m * t > ceiling.argon2Work || p > ceiling.argon2Parallelism) {
      return `argon2 cost must be at most m=${ceiling.argon2MemoryKiB}, p=${ceiling.argon2Parallelism} and m×t=${ceiling.argon2Work} (memory in KiB times passes)`;
    }
    // Below argon2's own minimums, or of a version it does not have, no password would ever match it.
    if (t < 1 || p < 1 || m < 8 * p) return "argon2 cost must be at least t=1,p=1 and m=8p (8 KiB a lane)";
    if (argon2[1] !== undefined && argon2[1] !== "16" && argon2[1] !== "19") return "argon2 version must be v=16 or v=19";
    return null;
  }
  const bcryptCost = BCRYPT.exec(hash)?.[1];
  if (bcryptCost !== undefined) return Number(bcryptCost) >= 4 && Number(bcryptCost) <= ceiling.bcryptCost ? null : `bcrypt cost must be 4 to ${ceiling.bcryptCost}`;
  const pbkdf2 = PBKDF2.exec(hash);
  if (pbkdf2) {
    const digest = pbkdf2[1] as "sha256" | "sha512";
    const iterations = Number(pbkdf2[2]);
    const most = ceiling.pbkdf2Iterations[digest];
    if (iterations < 1 || iterations > most) return `PBKDF2-${digest.toUpperCase()} iterations must be 1 to ${most}`;
    // Each block of the derived key (32 bytes with SHA-256) costs the iterations again: 64 bytes is what Keycloak writes.
    const keyBytes = decodeBase64(pbkdf2[4]!).length;
    return keyBytes >= 16 && keyBytes <= PBKDF2_MAX_KEY_BYTES ? null : `the PBKDF2 derived key must be 16 to ${PBKDF2_MAX_KEY_BYTES} bytes`;
  }
  return "passwordHash must be a PHC string: argon2id, argon2i, bcrypt ($2a$, $2b$, $2y$), pbkdf2-sha256 or pbkdf2-sha512";
}

/** True for the formats that are not argon2 (which the argon2 library checks itself). */
export function isForeignHash(hash: string): boolean {
  return hash.startsWith("$2") || hash.startsWith("$pbkdf2-");
}

const pbkdf2Async = promisify(pbkdf2);

/** base64 in its standard, URL-safe or passlib (`.` for `+`) alphabet, padded or not. */
function decodeBase64(text: string): Buffer {
  return Buffer.from(text.replace(/\./g, "+").replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

/**
 * Checks `password` against a bcrypt or PBKDF2 hash (isForeignHash). Both run on libuv's
 * threads, as argon2 does, never on the event loop: one bcrypt check at cost 12 takes a quarter of a second of CPU.
 */
export async function verifyForeignHash(hash: string, password: string): Promise<boolean> {
  if (hash.startsWith("$2")) return bcryptVerify(password, hash);
  const match = PBKDF2.exec(hash);
  if (!match) return false;
  const expected = decodeBase64(match[4]!);
  if (expected.length === 0) return false;
  const actual = await pbkdf2Async(password, decodeBase64(match[3]!), Number(match[2]), expected.length, match[1]!);
  return timingSafeEqual(actual, expected);
}
