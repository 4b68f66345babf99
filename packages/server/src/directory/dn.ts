/**
 * Distinguished names as lookup keys. A group's `member` values and the entries' own DNs name the
 * same entry in different spellings (case, spaces after commas, `\,` or `\2C`): the key is the DN
 * with each attribute type and value folded to lower case, the spaces around separators dropped and
 * escapes written one way, so both spellings give one key. (Only DN attribute types matched without
 * regard to case — cn, ou, dc, uid … — are in practice part of user and group DNs.)
 */

/** Characters written escaped in a key (RFC 4514 2.4), besides a leading space or # and a trailing space. */
const SPECIAL = new Set([",", "+", '"', "\\", "<", ">", ";", "="]);

/** Something to unescape, split or trim: the DNs that need the walk below. */
const NOT_PLAIN = /[\\;+]|\s[,=]|[,=]\s|^\s|\s$/;

export function dnKey(dn: string): string {
  // Most DNs have nothing to unescape, no multi-valued RDN and no space beside a separator: their key
  // is their lower case (a sync folds every user's DN and every group member's, a million and more).
  return NOT_PLAIN.test(dn) ? walkedKey(dn) : dn.toLowerCase();
}

/** The key of any DN, character by character (exported for the test that holds dnKey's shortcut to it). */
export function walkedKey(dn: string): string {
  const rdns: string[][] = [[]];
  let ava = "";
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === "\\" && i + 1 < dn.length) {
      // A run of \XX escapes is one UTF-8 sequence; \c stands for c.
      const bytes: number[] = [];
      let j = i;
      while (/^\\[0-9a-fA-F]{2}/.test(dn.slice(j, j + 3))) {
        bytes.push(parseInt(dn.slice(j + 1, j + 3), 16));
        j += 3;
      }
      if (bytes.length > 0) {
        ava += escapeValue(Buffer.from(bytes).toString("utf8"));
        i = j - 1;
      } else {
        ava += escapeValue(dn[i + 1]!);
        i++;
      }
    } else if (c === "," || c === ";" || c === "+") {
      rdns.at(-1)!.push(normalizeAva(ava));
      if (c !== "+") rdns.push([]);
      ava = "";
    } else {
      ava += c;
    }
  }
  rdns.at(-1)!.push(normalizeAva(ava));
  return rdns.map((rdn) => rdn.sort().join("+")).join(",").toLowerCase();
}

/** `type = value` → `type=value` (spaces around `=` dropped; the value's escapes already uniform). */
function normalizeAva(ava: string): string {
  const eq = ava.indexOf("=");
  if (eq < 0) return ava.trim();
  return `${ava.slice(0, eq).trim()}=${ava.slice(eq + 1).trim()}`;
}

function escapeValue(text: string): string {
  return [...text].map((c) => (SPECIAL.has(c) ? `\\${c}` : c)).join("");
}

/** The RDNs of a key, in order: its unescaped commas split them (in a key, a backslash escapes the one character after it). */
const rdnsOf = (key: string) => key.match(/(?:[^,\\]|\\.)+/g) ?? [];

/** Whether `dn` is `base` or an entry under it, whichever way either is spelled. */
export function isWithin(dn: string, base: string): boolean {
  const inner = rdnsOf(dnKey(dn));
  const outer = rdnsOf(dnKey(base));
  return inner.length >= outer.length && outer.every((rdn, i) => inner[inner.length - outer.length + i] === rdn);
}

/** A backslash escapes a special character or stands before two hex digits (RFC 4514 2.4): any other is a broken DN. */
const WHOLE_ESCAPES = /^(?:[^\\]|\\(?:[0-9a-fA-F]{2}|[ "#+,;<=>\\]))*$/;

/** Whether `dn` has the shape of a distinguished name: one or more `type=value`, types by name or OID, its escapes whole. */
export function isDn(dn: string): boolean {
  if (!dn.trim() || !WHOLE_ESCAPES.test(dn)) return false;
  // In the key, separators and `=` inside values are escaped: each part between unescaped , and + is one type=value.
  return dnKey(dn)
    .split(/(?<!\\)[,+]/)
    .every((ava) => /^(?:[a-z][a-z0-9-]*|\d+(?:\.\d+)*)=/.test(ava));
}
