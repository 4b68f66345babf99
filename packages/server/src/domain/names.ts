import { createRequire } from "node:module";
import { DomainError } from "./errors.js";
import { fold, searchFold } from "./user-fields.js";

/**
 * Unicode's confusables.txt as the `unhomoglyph` package ships it: each source is one code point.
 * Looked up a code point at a time; the package's own replace runs one regular expression of 6 300
 * alternatives over the text, 8 µs a name — a tenth of an imported user's time.
 */
const PROTOTYPES: ReadonlyMap<string, string> = new Map(Object.entries(createRequire(import.meta.url)("unhomoglyph/data.json") as Record<string, string>));

/** Compatibility forms (fullwidth ｓｙｓａｄｍｉｎ, ligatures, circled digits) become the plain ones before a name is stored. */
export function normalizeName(name: string): string {
  return name.normalize("NFKC");
}

/**
 * The UTS #39 skeleton: NFD, each character replaced by its prototype from Unicode's confusables.txt
 * (the `unhomoglyph` package ships that table), NFD again. Two strings that look alike share it.
 */
export function skeleton(text: string): string {
  let out = "";
  for (const ch of text.normalize("NFD")) out += PROTOTYPES.get(ch) ?? ch;
  return out.normalize("NFD");
}

/**
 * Characters a name may not hold: control and format characters (zero-width spaces and joiners, the
 * soft hyphen, bidi controls such as U+202E) and the rest of Unicode's Default_Ignorable_Code_Point
 * (Hangul fillers, variation selectors). They show as nothing, or turn the text around, so
 * "administrators\u200b" would display as the built-in group. Refused rather than dropped from the
 * look-alike key: that key is stored and uniquely indexed (migration 010b), and a key computed
 * otherwise for new names would no longer meet the keys of the names stored already.
 */
export const INVISIBLE = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

/**
 * The rule of a group's name, and of a directory's (it names imported groups whose names are taken):
 * no `/` (a group's path is `/name`), no control characters, no white space at either end.
 */
export const GROUP_NAME_PATTERN = "^(?!\\s)[^/\\p{Cc}]+(?<!\\s)$";
export const GROUP_NAME_RULE = "must not hold / or control characters, nor start or end with white space";
const GROUP_NAME = new RegExp(GROUP_NAME_PATTERN, "u");

/**
 * Whether a name, as it is stored (NFKC), is one a group may have: GROUP_NAME_PATTERN, and no invisible
 * character (INVISIBLE). The API's schema checks the name as it is sent; this, what it becomes (a
 * fullwidth ／ is a / once normalized), and the names a directory brings.
 */
export function isGroupName(name: string): boolean {
  return GROUP_NAME.test(name) && !INVISIBLE.test(name);
}

/** The first invisible character (INVISIBLE) of a name, as `U+200B`; null when it has none. */
export function invisibleCharacter(name: string): string | null {
  const found = INVISIBLE.exec(name);
  return found && `U+${found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Why `name`, as sent, is no group's and never will be (no group is found by it), in words; null when it could be one. */
export function notAGroupName(name: string): string | null {
  const invisible = invisibleCharacter(name);
  if (invisible !== null) return `it holds an invisible or formatting character (${invisible}), which no group's name has`;
  if (/^\s/u.test(name)) return "it starts with white space, which no group's name does";
  if (/\s$/u.test(name)) return "it ends with white space, which no group's name does";
  return isGroupName(name.normalize("NFKC")) ? null : `a group's name ${GROUP_NAME_RULE}`;
}

/** A name holding an invisible character is a 400 naming the field and the character. */
export function assertVisibleName(field: string, name: string): void {
  const character = invisibleCharacter(name);
  if (character !== null) {
    throw new DomainError("invalid", `${field} holds an invisible or formatting character (${character}), which would let it pass for another name: remove it.`, { field, character });
  }
}

/** A group's name as sent that holds an invisible character, or breaks GROUP_NAME_RULE or the length as it would be stored (NFKC), is a 400 naming the field. */
export function assertGroupName(field: string, name: string): void {
  assertVisibleName(field, name);
  const normal = normalizeName(name);
  if (!isGroupName(normal)) throw new DomainError("invalid", `${field} ${GROUP_NAME_RULE}.`, { field });
  assertStoredLength(field, normal, GROUP_NAME_MAX);
}

/** Most characters a group's name has, as sent and as stored. */
export const GROUP_NAME_MAX = 255;

/**
 * A name within its limit as sent may be past it as stored: NFKC makes some characters many (U+FDFA is
 * 18). Refused then (400), as the API's limit says: stored, it could not be sent back as it was read,
 * nor searched for (a search is at most 256 characters).
 */
export function assertStoredLength(field: string, normal: string, max: number): void {
  const length = [...normal].length;
  if (length > max) throw new DomainError("invalid", `${field} is ${length} characters in its normal form (NFKC), more than the ${max} it may have.`, { field, maxLength: max });
}

/**
 * What a username, login name or group name must not share with another: its skeleton, ignoring case
 * (these names are compared ignoring case; folding again after the skeleton joins `0` → `O` with `o`).
 * Kept in a uniquely indexed column, so the check is one index probe at any size.
 */
export function confusableKey(name: string): string {
  // Only the case of the skeleton is folded: NFKC would compose the decomposed (NFD) skeleton again.
  // A dot above an i or j (dotted already, or dotless ı ȷ, which the skeleton makes i j) adds nothing
  // to the eye: "sysadmı̇n" is sysadmin.
  return skeleton(fold(name)).toLowerCase().replace(/(\p{Soft_Dotted})\u0307+/gu, "$1");
}

/*
 * The stored columns of a name: its NFKC form, the key it is looked up by (ignoring case) and its
 * look-alike key. Every write of a username, login name or group name spreads one of these, so no
 * path can store a name without the keys that guard it (the key needs confusables.txt, which only
 * this code has: a store trigger cannot compute it).
 */

export function usernameColumns(username: string) {
  const normal = normalizeName(username);
  return { username: normal, username_skeleton: confusableKey(normal) };
}

export function loginNameColumns(loginName: string) {
  const normal = normalizeName(loginName);
  return { login_name: normal, login_key: fold(normal), login_skeleton: confusableKey(normal) };
}

/** A new user's name columns; the login name is the username unless given (its look-alike key is then computed once: an import writes thousands a second). */
export function userNameColumns(username: string, loginName: string = username) {
  const user = usernameColumns(username);
  const login = normalizeName(loginName);
  // Written out: V8 (Node 20) builds `{ ...object, more }` some 5 µs slower than a literal, per user.
  const columns = login !== user.username ? loginNameColumns(login) : { login_name: login, login_key: fold(login), login_skeleton: user.username_skeleton };
  return { username: user.username, username_skeleton: user.username_skeleton, login_name: columns.login_name, login_key: columns.login_key, login_skeleton: columns.login_skeleton };
}

export function groupNameColumns(name: string) {
  const normal = normalizeName(name);
  return { name: normal, name_key: fold(normal), name_skeleton: confusableKey(normal), search_key: searchFold(normal) };
}
