import assert from "node:assert/strict";
import { it } from "node:test";
import { confusableKey } from "./names.js";
import { emailKeyOf, fold, importedDigest, searchFold, searchTextFor } from "./user-fields.js";

/*
 * The keys the store keeps are these functions' output, written by every writer and by the migrations
 * that keyed the rows stored before (010b, 010d, 014m, 014o, 014v, 014w, 014z, 015c call them, live):
 * a lookup, a filter or a search computes the key of what it is given and compares it with the stored
 * one, so stored keys must equal what the live functions say. A copy frozen in each migration would not
 * keep them so; a change of these functions must come with a migration that keys the stored rows again
 * (as 010d and 014v did), and this test says when one is needed. It fails too when Node's Unicode data
 * (normalize, toLowerCase) or the confusables table (unhomoglyph) change under the code.
 */

/** [input, fold, searchFold, confusableKey] */
const PINNED: [string, string, string, string][] = [
  ["SysAdmin", "sysadmin", "sysadmin", "sysadrnin"],
  ["ｓｙｓａｄｍｉｎ", "sysadmin", "sysadmin", "sysadrnin"],
  ["Weißmüller", "weißmüller", "weissmüller", "weißrnu\u0308ller"],
  ["WEISSMÜLLER", "weissmüller", "weissmüller", "weissrnu\u0308ller"],
  ["\u1e9e", "ß", "ss", "ß"],
  ["ΣΊΣΥΦΟΣ", "σίσυφος", "σίσυφοσ", "oi\u0301ou\u0278oς"],
  ["İZMİR", "i\u0307zmi\u0307r", "izmir", "izrnir"],
  ["ǅemal", "džemal", "džemal", "dz\u0306ernal"],
  ["ﬁle", "file", "file", "file"],
  ["Ⅻ", "xii", "xii", "xii"],
  ["\u212a", "k", "k", "k"],
  ["\u212b", "å", "å", "a\u030a"],
  ["e\u0301", "é", "é", "e\u0301"],
  ["\u0455\u0443\u0455\u0430dmin", "\u0455\u0443\u0455\u0430dmin", "\u0455\u0443\u0455\u0430dmin", "sysadrnin"],
  ["sysadm\u0131\u0307n", "sysadm\u0131\u0307n", "sysadmin", "sysadrnin"],
  ["Ærø", "ærø", "ærø", "aero\u0338"],
  ["ᾳ", "ᾳ", "αι", "a\u0328"],
  ["ⓐ", "a", "a", "a"],
  ["①", "1", "1", "l"],
  ["㎏", "kg", "kg", "kg"],
]

it("the stored keys' functions say what the keys in the store were written with (a change needs a migration that keys the rows again)", () => {
  for (const [input, folded, searched, confusable] of PINNED) {
    assert.deepEqual([fold(input), searchFold(input), confusableKey(input)], [folded, searched, confusable], input);
  }
  assert.equal(searchTextFor({ username: "weiß", first_name: "ΣΊΣ", last_name: null, email: "A@B.C" }), "weiss\u001fσίσ\u001f\u001fa@b.c");
  // NFC, not NFKC: a fullwidth address is another mailbox.
  assert.deepEqual([emailKeyOf("Élodie@Example.COM"), emailKeyOf("E\u0301lodie@x.org"), emailKeyOf("ｓｅｃａｄｍ@Example.org")], ["élodie@example.com", "élodie@x.org", "ｓｅｃａｄｍ@example.org"]);
  assert.equal(importedDigest("$2b$10$abcdefghijklmnopqrstuuv"), "LodcPbg0xnZW4YACmmNg7IQ3Xp7JarOyIOlG8GurMlk");
});
