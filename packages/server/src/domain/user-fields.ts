/** Rules for the fields of a user that hold whatever store or API is used. */
import { createHash } from "node:crypto";

/** Separator of the fields in `search_text`: no query can contain it, so no match spans two fields. */
export const FIELD_SEPARATOR = "\u001f";

/**
 * Letters and digits of any script plus `. _ - @`, 1 to 64 characters (the ECM's username rules). A
 * letter's marks come with it (the vowel signs of Indic scripts, an accent typed as its own code
 * point, as NFD does): up to three after a letter, none after anything else.
 */
export const USERNAME_PATTERN = "^(?=.{1,64}$)[\\p{L}\\p{N}._@-](?:[\\p{L}\\p{N}._@-]|(?<=\\p{L}\\p{M}{0,2})\\p{M})*$";
/** What USERNAME_PATTERN allows, in words: the refusal of a username that breaks it. */
export const USERNAME_RULE = "may hold only letters of any script (with their accents and signs), digits and . _ - @";
export const USERNAME_MAX = 64;
export const LOGIN_NAME_MAX = 256;
export const NAME_MAX = 255;
export const EMAIL_MAX = 254;
/** An e-mail address as the API takes one: text@text.text without white space or a second @ (the user API also takes "" to clear it). */
export const EMAIL_PATTERN = "[^\\s@]+@[^\\s@]+\\.[^\\s@]+";
const EMAIL = new RegExp(`^${EMAIL_PATTERN}$`, "u");

/** The user API's e-mail check, for addresses that come another way (an identity provider's claim). */
export function isEmail(text: string): boolean {
  return text.length <= EMAIL_MAX && EMAIL.test(text);
}
export const DESCRIPTION_MAX = 1024;
export const PASSWORD_MAX = 256;

/**
 * The folding of every key a name or search is compared by: compatibility forms to plain ones (NFKC,
 * as names are stored: ｓｙｓａｄｍｉｎ is sysadmin), then case (Unicode-aware); no diacritics stripped.
 */
export function fold(text: string): string {
  return text.normalize("NFKC").toLowerCase();
}

/**
 * What emails are compared by (a provider's verified email, a directory's email clashes), stored as
 * `users.email_key`: the address in its canonical form (NFC, as RFC 6532 has mail systems compare it),
 * then case. Not NFKC as names: `ｓｅｃａｄｍ@…` is another mailbox than `secadm@…`, and a provider that
 * verified the one must not be given the account of the other.
 */
export const emailKeyOf = (email: string | null): string | null => (email === null ? null : email.normalize("NFC").toLowerCase());

/**
 * What the users search compares by (the stored `search_text` and the needle): `fold`, then case folded
 * as Unicode folds it where lower case alone does not — ß and ẞ are ss (WEISSMÜLLER finds Weißmüller),
 * the iota subscripts' letters are theirs — every sigma is σ (lower case writes ς at a word's end, so
 * "ΣΊΣ" was "σίς", which Σίσυφος does not hold), and an i is an i with or without its dot (İ is "i̇" in
 * lower case: İZMİR found no İzmir). Not the names' key: "maß" and "mass" stay two logins.
 */
export function searchFold(text: string): string {
  return fold(text).toUpperCase().toLowerCase().replaceAll("ς", "σ").replace(/(\p{Soft_Dotted})\u0307/gu, "$1");
}

export function searchTextFor(user: {
  username: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
}): string {
  return [user.username, user.first_name, user.last_name, user.email].map((f) => searchFold(f ?? "")).join(FIELD_SEPARATOR);
}

/** "first last", else whichever is set, else the username. */
export function defaultDisplayName(firstName: string | null, lastName: string | null, username: string): string {
  const full = [firstName, lastName].filter((p) => p && p.trim()).join(" ");
  return full || username;
}

/** What a user keeps of the `passwordHash` an import set (users.password_imported_digest): enough to know it again, not the hash. */
export function importedDigest(passwordHash: string): string {
  return createHash("sha256").update(passwordHash).digest("base64url");
}
