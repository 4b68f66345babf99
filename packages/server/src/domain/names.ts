import unhomoglyph from "unhomoglyph";
import { fold } from "./user-fields.js";

/** Compatibility forms (fullwidth ｓｙｓａｄｍｉｎ, ligatures, circled digits) become the plain ones before a name is stored. */
export function normalizeName(name: string): string {
  return name.normalize("NFKC");
}

/**
 * The UTS #39 skeleton: NFD, each character replaced by its prototype from Unicode's confusables.txt
 * (the `unhomoglyph` package ships that table), NFD again. Two strings that look alike share it.
 */
export function skeleton(text: string): string {
  return unhomoglyph(text.normalize("NFD")).normalize("NFD");
}

/**
 * What a username, login name or group name must not share with another: its skeleton, ignoring case
 * (these names are compared ignoring case; folding again after the skeleton joins `0` → `O` with `o`).
 * Kept in a uniquely indexed column, so the check is one index probe at any size.
 */
export function confusableKey(name: string): string {
  // Only the case of the skeleton is folded: NFKC would compose the decomposed (NFD) skeleton again.
  return skeleton(fold(name)).toLowerCase();
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
  if (login !== user.username) return { ...user, ...loginNameColumns(login) };
  return { ...user, login_name: login, login_key: fold(login), login_skeleton: user.username_skeleton };
}

export function groupNameColumns(name: string) {
  const normal = normalizeName(name);
  return { name: normal, name_key: fold(normal), name_skeleton: confusableKey(normal) };
}
