import type { UserRow } from "../storage/schema.js";
import type { PasswordHasher } from "./passwords.js";

/**
 * Where an account's password is checked: the store's hash for local accounts; other sources (a
 * directory's bind) plug in here, so the login path around it (lockout, limits, audit, sessions) is
 * the same for every account.
 */
export interface CredentialCheck {
  /** True when `password` is the account's. Without an account it still does a check's work, so both answers take the same time. */
  verify(user: UserRow | undefined, password: string): Promise<boolean>;
}

/** Passwords kept in the store as argon2id hashes. */
export function localCredentials(hasher: PasswordHasher): CredentialCheck {
  return { verify: (user, password) => hasher.verify(user?.password_hash ?? null, password) };
}
