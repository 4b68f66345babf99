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
/**
 * Bytes searched at a time, about: a string above ~128 KiB lives apart in V8 (large-object space) and
 * costs several times as much to make (SQLite's batches are ~0.5 MB).
 */
const WINDOW = 1 << 16;
const DOCUMENT_START_BYTES = Buffer.from(DOCUMENT_START);
const COMMA_BYTES = Buffer.from(",");
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
/** The length of `"id":`, the first key, which has no comma before it. */
const FIRST_KEY_LENGTH = DOCUMENT_START.length - 2;

/**
 * How each user is written: an object of the chosen fields, or (for a client that knows the view) an
 * array of their values in the view's order, without the names — 40 % fewer bytes of the SDK's
 * fields to send, decode and parse, and an array is cheaper to parse than an object.
 */
export type UserShape = "objects" | "arrays";

/** The chosen fields of each document of a view (all of them: the view itself). */
export class DocumentFields {
  /** Indexes (in the view's order) of the keys to find in each document, ascending; the last field's always. */
  readonly #find: number[];
  /**
   * Byte ranges to copy, as [index of the key that starts one, index of the key that ends it (or the
   * view's length: the closing brace)]: runs of neighbouring fields for objects, one field each for arrays.
   */
  readonly #runs: [number, number][] = [];
  readonly #arrays: boolean;
  readonly #keys: string[];
  readonly #count: number;
  /** Where each key was found in the document being cut. */
  readonly #keyAt: Int32Array;

  constructor(fields: readonly UserField[], extended: boolean, shape: UserShape = "objects") {
    const view = extended ? ALL_FIELDS : PLAIN_FIELDS;
    this.#arrays = shape === "arrays";
    this.#count = view.length;
    this.#keys = view.map((k) => `,"${k}":`);
    this.#keyAt = new Int32Array(view.length + 1);
    for (let i = 0; i < view.length; i++) {
      if (!fields.includes(view[i]!)) continue;
      const last = this.#runs[this.#runs.length - 1];
      if (last && last[1] === i && !this.#arrays) last[1] = i + 1;
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
   * Finds the keys of the document that starts at `from` (#keyAt): answers where its closing brace
   * is, or -1 when `text` holds only the start of it.
   */
  #locate(text: string, from: number): number {
    const keyAt = this.#keyAt;
    keyAt[0] = from + 1; // `"id":` right after the brace
    let pos = from;
    for (const i of this.#find) {
      pos = text.indexOf(this.#keys[i]!, pos);
      if (pos < 0) return -1;
      keyAt[i] = pos++;
    }
    const end = text.indexOf("}", pos);
    keyAt[this.#count] = end;
    return end;
  }

  /**
   * Where a run starts in the located document: after its key's comma (the first key has none), or for
   * arrays after the key itself. It ends before the next key's comma.
   */
  #runStart(r: number): number {
    const start = this.#runs[r]![0];
    if (this.#arrays) return this.#keyAt[start]! + (start === 0 ? FIRST_KEY_LENGTH : this.#keys[start]!.length);
    return start === 0 ? this.#keyAt[0]! : this.#keyAt[start]! + 1;
  }

  #runEnd(r: number): number {
    return this.#keyAt[this.#runs[r]![1]]!;
  }

  /** The chosen fields of the located document in `text`, after `out`. */
  #cutText(text: string, out: string): string {
    out += this.#arrays ? "[" : "{";
    for (let r = 0; r < this.#runs.length; r++) {
      if (r > 0) out += ",";
      // Slices and their joins are views on `text` until the answer is written: no copy per run.
      out += text.slice(this.#runStart(r), this.#runEnd(r));
    }
    return out + (this.#arrays ? "]" : "}");
  }

  /** Copies the chosen fields of the located document within `bytes`, to `at` (never past where they are read); answers where they end. */
  #cutBytes(bytes: Buffer, at: number): number {
    bytes[at++] = this.#arrays ? OPEN_BRACKET : OPEN_BRACE;
    for (let r = 0; r < this.#runs.length; r++) {
      if (r > 0) bytes[at++] = COMMA;
      const start = this.#runStart(r);
      const end = this.#runEnd(r);
      // A short value is copied byte by byte: copyWithin's call costs more than the copy (arrays copy each value apart).
      if (end - start > 32) bytes.copyWithin(at, start, end);
      else for (let i = start; i < end; i++) bytes[at + i - start] = bytes[i]!;
      at += end - start;
    }
    bytes[at++] = this.#arrays ? CLOSE_BRACKET : CLOSE_BRACE;
    return at;
  }

  /**
   * Cuts the whole documents in `text`, each after a comma but the first when `first`: as text, or,
   * with `bytes` (what `text` is the Latin-1 reading of), in place at the start of `bytes`. Answers
   * the text cut, or how many bytes; and where the rest begins.
   */
  #cutPiece(text: string, first: boolean, bytes?: Buffer): { cut: string; length: number; rest: number; lead: boolean } {
    let out = "";
    let at = 0;
    let from = 0;
    let lead = false;
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
      const end = this.#locate(text, from);
      if (end < 0) break;
      const separator = !(first && at === 0 && out === "");
      if (bytes) {
        // Written before the document where there is room (the comma it follows is in the piece); else the caller sends it.
        if (separator && at < from) bytes[at++] = COMMA;
        else if (separator) lead = true;
        at = this.#cutBytes(bytes, at);
      } else out = this.#cutText(text, separator ? out + "," : out);
      from = end + (text.charCodeAt(end + 1) === COMMA ? 2 : 1);
    }
    return { cut: out, length: at, rest: from, lead };
  }

  /** The chosen fields of comma-joined whole documents (a page of the list). */
  ofDocuments(json: string): string {
    const { cut, rest } = this.#cutPiece(json, true);
    if (rest < json.length) throw new Error("a user document is not complete");
    return cut;
  }

  /**
   * A JSON body (documents joined by commas, in pieces that end anywhere) with the chosen fields of
   * each document. Pieces of text are cut as they are. Pieces of bytes are searched as Latin-1 text —
   * one character a byte, so a piece may end inside a UTF-8 sequence, whose bytes never look like
   * the ASCII searched for — and cut in place, moving the chosen bytes to the piece's start: the body
   * hands over buffers it does not read again (making the cut a string and then bytes again cost
   * the server as much as the search).
   */
  async *ofBody(body: JsonBody): AsyncGenerator<string | Buffer> {
    let held: string | Buffer = ""; // the start of a document not complete yet
    let first = true;
    for await (const piece of windows(body)) {
      if (held.length > 0 && typeof piece !== typeof held) throw new Error("a JSON body changed from text to bytes inside a document");
      if (typeof piece === "string") {
        const text: string = (held as string) + piece;
        const { cut, rest } = this.#cutPiece(text, first);
        held = text.slice(rest);
        if (cut.length > 0) {
          first = false;
          yield cut;
        }
      } else {
        // A document begun in the piece before is read on with a comma ahead of it: room for the one it follows.
        const bytes: Buffer = held.length > 0 ? Buffer.concat(first ? [held as Buffer, piece] : [COMMA_BYTES, held as Buffer, piece]) : piece;
        const { length, rest, lead } = this.#cutPiece(bytes.toString("latin1"), first, bytes);
        // What is held lies past what was written: the cut never writes past what it read.
        held = rest < bytes.length ? bytes.subarray(rest) : "";
        if (lead) yield ",";
        if (length > 0) {
          first = false;
          yield bytes.subarray(0, length);
        }
      }
    }
    if (held.length > 0) throw new Error("a user document is not complete");
  }
}

/** The body's pieces, byte pieces longer than two WINDOWs cut into about WINDOW each, at the comma before a document. */
async function* windows(body: JsonBody): AsyncGenerator<string | Buffer> {
  for await (const piece of body) {
    if (typeof piece === "string" || piece.length <= 2 * WINDOW) {
      yield piece;
      continue;
    }
    let from = 0;
    while (from < piece.length) {
      // Cut at the comma before a document: the window after it has room for that comma in place.
      const next = from + 2 * WINDOW >= piece.length ? -1 : piece.indexOf(DOCUMENT_START_BYTES, from + WINDOW);
      const to = next < 0 ? piece.length : next - 1;
      yield piece.subarray(from, to);
      from = to;
    }
  }
}
