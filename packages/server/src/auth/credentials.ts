import type { Kysely } from "kysely";
import { recordAudit, userTarget } from "../domain/audit.js";
import type { Database, UserRow } from "../storage/schema.js";
import type { HashPriority, PasswordHasher } from "./passwords.js";

/**
 * Where an account's password is checked: the store's hash for local accounts; other sources (a
 * directory's bind) plug in here, so the login path around it (lockout, limits, audit, sessions) is
 * the same for every account.
 */
export interface CredentialCheck {
  /** Whether `password` is the account's. Without an account it still does a check's work, so both answers take the same time. */
  verify(user: UserRow | undefined, password: string, priority?: HashPriority, directory?: DirectorySeen): Promise<Verdict>;
}

/**
 * An imported account's directory as the login read it with the account: its configuration's version
 * and whether it is enabled. A check holding that version's configuration uses it without reading it again.
 */
export interface DirectorySeen {
  readonly version: number;
  readonly enabled: boolean;
}

export interface Verdict {
  readonly matches: boolean;
  /**
   * A system administrator made this way in (role-rules.ts madeBySystemAdministrator): set the
   * password (or its owner changed it from one that was), or saved the directory configuration the
   * check used, read with it, so that one saved between the check and this answer cannot be mixed in.
   */
  readonly bySystemAdministrator: boolean;
  /**
   * Why no password was checked, where the source refused before (a disabled directory, an entry
   * disabled or gone there): the audit log's reason. Such a refusal counts toward no lockout, as no
   * password was tried; the caller gets the one answer of every refused login.
   */
  readonly refusal?: string;
  /**
   * False when the hash checked was not one of the current argon2 cost (another system's, imported;
   * an older cost): its time is not that of the other refused logins, so such a refusal is held as
   * long as they take, and does not count toward that measure (auth/login.ts).
   */
  readonly atCurrentCost?: boolean;
  /**
   * Whether the source wants the password changed before the account acts (a directory's entry, read
   * at this login): the account follows it now, not only at the directory's next sync.
   */
  readonly changePassword?: boolean;
}

export const REFUSED: Verdict = Object.freeze({ matches: false, bySystemAdministrator: false });

/**
 * Passwords kept in the store as argon2id hashes, or as another system's hash brought by an import
 * (auth/imported-hashes.ts): after a right password such a hash, or one of an older argon2 cost, is
 * replaced by `rehash` with one of the current cost.
 */
export function localCredentials(hasher: PasswordHasher, rehash: (user: UserRow, oldHash: string, newHash: string) => Promise<void>): CredentialCheck {
  return {
    async verify(user, password, priority) {
      const stored = user?.password_hash ?? null;
      const matches = await hasher.verify(stored, password, priority);
      if (matches && stored !== null && hasher.needsRehash(stored)) await rehash(user!, stored, await hasher.hash(password));
      return { matches, bySystemAdministrator: user?.password_by_system_administrator === 1, atCurrentCost: stored === null || !hasher.needsRehash(stored) };
    },
  };
}

/** Stores a replacement hash of the same password, unless the password changed meanwhile; audited (the scheme replaced, never a hash). */
export function storeRehash(db: Kysely<Database>) {
  return async (user: UserRow, oldHash: string, newHash: string): Promise<void> => {
    await db.transaction().execute(async (trx) => {
      const changed = await trx.updateTable("users").set({ password_hash: newHash }).where("id", "=", user.id).where("password_hash", "=", oldHash).executeTakeFirst();
      if (changed.numUpdatedRows === 0n) return;
      await recordAudit(trx, { id: user.id, name: user.username, sourceIp: null }, {
        action: "user.password-rehashed",
        target: userTarget(user),
        details: { replacedScheme: oldHash.split("$")[1] },
      });
    });
  };
}
