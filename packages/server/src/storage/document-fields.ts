import type { JsonBody } from "./json-body.js";

/**
 * Some of a user's fields, cut out of the kept documents (storage/user-documents.ts) as they stream:
 * a client that maps 8 of the 14 fields is sent, decodes and parses a third fewer bytes. Cut out of
 * the text, not parsed and written again: the documents' fields always come in one order (PLAIN_FIELDS, then
 * EXTENDED_FIELDS), so each field runs from its key to the next one's. Rendering the chosen fields
 * in SQL instead cost the store 2–3 times the whole document's price (measured at 200 000 users).
 *
 * A key is found by its bytes `,"name":`, which occur nowhere else: inside a JSON string a `"` is
 * escaped, so `,"` there is always structure, and an array's strings are never followed by `:`. The
 * nested objects (federatedIdentities' links, source) hold keys of their own; a search never crosses
 * one in looking for a later key of the same name (see #anchors). A document starts with `{"id":"`,
 * which no nested object does.
 */

/** The fields of the plain view, in the documents' order (http/user-view.ts). */
export const PLAIN_FIELDS = [
  "id", "username", "firstName", "lastName", "email", "dn", "description", "enabled", "builtin", "federatedIdentities",
  "numericId", "loginName", "displayName", "profileId",
] as const;
/** What `extendedInfo` adds, in the documents' order after PLAIN_FIELDS. */
export const EXTENDED_FIELDS = [
  "groups", "validFrom", "validTo", "source", "expired", "lockedOutUntil", "changePassword", "passwordNeverExpires", "serviceAccount",
] as const;
export type UserField = (typeof PLAIN_FIELDS)[number] | (typeof EXTENDED_FIELDS)[number];

const ALL_FIELDS: readonly UserField[] = [...PLAIN_FIELDS, ...EXTENDED_FIELDS];
/** Fields whose value is or holds objects, and the keys those objects have. */
const NESTED_KEYS: Partial<Record<UserField, readonly string[]>> = { federatedIdentities: ["alias", "displayName"], source: ["type", "id", "name"] };

const DOCUMENT_START = '{"id":"';
const COMMA = 0x2c;

/** The chosen fields of each document of a view (all of them: the view itself). */
export class DocumentFields {
  /** Indexes (in the view's order) of the keys to find in each document, ascending; the last field's always. */
  readonly #find: number[];
  /** Byte ranges to copy, as [index of the key that starts one, index of the key that ends it (or the view's length: the closing brace)]. */
  readonly #runs: [number, number][] = [];
  readonly #keys: string[];
  readonly #count: number;
  /** Where each key was found in the document being cut. */
  readonly #keyAt: Int32Array;

  constructor(fields: readonly UserField[], extended: boolean) {
    const view = extended ? ALL_FIELDS : PLAIN_FIELDS;
    this.#count = view.length;
    this.#keys = view.map((k) => `,"${k}":`);
    this.#keyAt = new Int32Array(view.length + 1);
    for (let i = 0; i < view.length; i++) {
      if (!fields.includes(view[i]!)) continue;
      const last = this.#runs[this.#runs.length - 1];
      if (last && last[1] === i) last[1] = i + 1;
      else this.#runs.push([i, i + 1]);
    }
    // The last field (a number or a boolean in both views) is found to find the document's closing brace.
    const find = new Set<number>([view.length - 1]);
    for (const [from, to] of this.#runs) {
      if (from > 0) find.add(from);
      if (to < view.length) find.add(to);
    }
    // A key also found inside an earlier nested object: find the key after that object first.
    for (let i = 0; i < view.length; i++) {
      const nested = NESTED_KEYS[view[i]!];
      if (nested && [...find].some((j) => j > i + 1 && nested.includes(view[j]!))) find.add(i + 1);
    }
    this.#find = [...find].sort((a, b) => a - b);
  }

  /**
   * The chosen fields of the document that starts at `from`, after `out`: the text and where the
   * document's closing brace is; null when `text` holds only the start of it.
   */
  #cut(text: string, from: number, out: string): { out: string; end: number } | null {
    const keyAt = this.#keyAt;
    keyAt[0] = from + 1; // `"id":` right after the brace
    let pos = from;
    for (const i of this.#find) {
      pos = text.indexOf(this.#keys[i]!, pos);
      if (pos < 0) return null;
      keyAt[i] = pos++;
    }
    const end = text.indexOf("}", pos);
    if (end < 0) return null;
    keyAt[this.#count] = end;
    out += "{";
    for (let r = 0; r < this.#runs.length; r++) {
      const [start, stop] = this.#runs[r]!;
      if (r > 0) out += ",";
      // A run starts after its key's comma (the first key has none) and ends before the next key's.
      // Slices and their joins are views on `text` until the answer is written: no copy per run.
      out += text.slice(start === 0 ? keyAt[0]! : keyAt[start]! + 1, keyAt[stop]!);
    }
    return { out: out + "}", end };
  }

  /** The chosen fields of the whole documents in `text`, each after a comma but the first when `first`; and where the rest begins. */
  #cutPiece(text: string, first: boolean): { cut: string; rest: number } {
    let out = "";
    let from = 0;
    while (from < text.length) {
      if (text.charCodeAt(from) === COMMA) {
        from++; // between two documents that the previous piece ended between
        continue;
      }
      if (!text.startsWith(DOCUMENT_START, from)) {
        // A document starts right after the previous one's comma, or is not complete yet.
        if (DOCUMENT_START.startsWith(text.slice(from))) break;
        throw new Error(`not a user document at "${text.slice(from, from + 20)}"`);
      }
      const done = this.#cut(text, from, first && out === "" ? out : out + ",");
      if (done === null) break;
      out = done.out;
      from = done.end + (text.charCodeAt(done.end + 1) === COMMA ? 2 : 1);
    }
    return { cut: out, rest: from };
  }

  /** The chosen fields of comma-joined whole documents (a page of the list). */
  ofDocuments(json: string): string {
    const { cut, rest } = this.#cutPiece(json, true);
    if (rest < json.length) throw new Error("a user document is not complete");
    return cut;
  }

  /**
   * A JSON body (documents joined by commas, in pieces that end anywhere) with the chosen fields of
   * each document. Pieces of bytes are cut as Latin-1 text — one character a byte, so a piece may end
   * inside a UTF-8 sequence, whose bytes never look like the ASCII searched for — and given back as
   * those bytes; pieces of text are cut as they are.
   */
  async *ofBody(body: JsonBody): AsyncGenerator<string | Buffer> {
    let held = ""; // the start of a document not complete yet
    let heldBytes = false;
    let first = true;
    for await (const piece of body) {
      const bytes = typeof piece !== "string";
      if (held !== "" && bytes !== heldBytes) throw new Error("a JSON body changed from text to bytes inside a document");
      const text = held + (bytes ? piece.toString("latin1") : piece);
      const { cut, rest } = this.#cutPiece(text, first);
      held = text.slice(rest);
      heldBytes = bytes;
      if (cut.length > 0) {
        first = false;
        yield bytes ? Buffer.from(cut, "latin1") : cut;
      }
    }
    if (held.length > 0) throw new Error("a user document is not complete");
  }
}
