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
  return fold(skeleton(fold(normalizeName(name))));
}
