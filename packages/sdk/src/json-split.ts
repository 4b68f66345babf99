/**
 * Incremental JSON over a byte stream: a JSON array (the users list), or an object whose members are
 * arrays or single values (the export document), is cut into its elements as the bytes arrive, and
 * each chunk's complete elements are parsed with one JSON.parse. No string ever holds more than what
 * one chunk completes, so no size of answer meets a string or heap limit.
 *
 * The scanner keeps its place across chunks (nesting depth, inside a string, after a backslash) and
 * stops only at structure near the top; the inside of each element (strings above all) is skipped
 * with indexOf. Cuts fall on ASCII bytes, so every piece is whole UTF-8.
 *
 * Elements that are objects (or arrays, when the splitter is told so) are cut faster: the last `},{`
 * (`],[`) of a chunk is taken for the end of an element and the text before it parsed as it is,
 * without scanning it. A parse that succeeds proves
 * the guess (a cut inside a string or a nested value leaves the text unbalanced); one that fails
 * leaves the chunk to the scanner. Only the bytes after the cut are scanned, to keep the place.
 */

import { ECMError } from "./errors.js";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** What one push completed: elements of the root array (`key` null) or of an array member, or one member's value. */
export interface JsonBatch {
  key: string | null;
  values: unknown[];
  /** True for the elements of an array; false for a member whose value is not an array (one value). */
  elements: boolean;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** An answer that is not the JSON the call expects: a proxy's page, a baseUrl off by a path, a server of another version. */
export function malformed(what: string, cause?: unknown): ECMError {
  return new ECMError(`the server's answer is not the JSON expected: ${what}`, { cause });
}

/** What is wrong with the JSON a splitter reads: a server's answer (malformed), or a file the caller gave. */
export type Broken = (what: string, cause?: unknown) => Error;

// Node's Buffer decodes UTF-8 about twice as fast as TextDecoder, and its utf8Slice a third faster than
// its toString("utf8"), which checks its arguments first; other runtimes (ecm-sdk/browser) use TextDecoder.
const nodeUtf8Slice = (globalThis as { Buffer?: { prototype: { utf8Slice?: (this: Uint8Array, start: number, end: number) => string } } }).Buffer?.prototype.utf8Slice;
const decoder = new TextDecoder();
function utf8(bytes: Uint8Array): string {
  return nodeUtf8Slice ? nodeUtf8Slice.call(bytes, 0, bytes.length) : decoder.decode(bytes);
}

const OPEN = new Uint8Array([OPEN_BRACKET]);
const CLOSE = new Uint8Array([CLOSE_BRACKET]);

/** The index of the `,` of the last `},{` (`open` `{`) or `],[` (`open` `[`) in `b`, or -1. */
function lastElementSeparator(b: Uint8Array, open: number): number {
  const close = open === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
  for (let i = b.lastIndexOf(open); i >= 2; i = b.lastIndexOf(open, i - 1)) {
    if (b[i - 1] === COMMA && b[i - 2] === close) return i - 1;
  }
  return -1;
}

function parse(text: string, broken: Broken): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw broken((err as Error).message, err);
  }
}

/**
 * Bytes parsed at a time, at most: V8 keeps a string above ~128 KiB apart (large-object space), and
 * parses and collects such text at about half the speed (measured: 1 MiB pieces, as ECMSync's worker
 * hands them over, cost 2× 64 KiB ones).
 */
const PIECE = 1 << 16;

type Mode = "start" | "key" | "value" | "elements" | "after-value" | "end";

export class JsonSplitter {
  // Scanner: containers open, and whether the scan stands inside a string / right after a backslash in one.
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** Structure at up to this depth is looked at (1: the root's children; 2: also the elements of its arrays). */
  #watch = 2;

  #mode: Mode = "start";
  #key: string | null = null;
  /** Depth of the array whose elements are being cut. */
  #arrayDepth = 0;
  /** Bytes of the piece being read that earlier chunks held (views, not copies). */
  #parts: Uint8Array[] = [];

  /** What opens the elements the fast cut looks for. */
  readonly #open: number;

  /**
   * `root`: what the whole answer is — an array, or an object of arrays and single values; `elements`:
   * what its arrays mostly hold (any JSON is read; this only says which cut to try first).
   */
  constructor(
    readonly root: "array" | "object",
    elements: "objects" | "arrays" = "objects",
    readonly broken: Broken = malformed,
  ) {
    this.#open = elements === "objects" ? OPEN_BRACE : OPEN_BRACKET;
  }

  /** Feeds the next bytes; returns what they completed. */
  push(chunk: Uint8Array): JsonBatch[] {
    if (chunk.length <= PIECE) return this.#push(chunk, []);
    const out: JsonBatch[] = [];
    for (let i = 0; i < chunk.length; i += PIECE) this.#push(chunk.subarray(i, i + PIECE), out);
    return out;
  }

  #push(chunk: Uint8Array, out: JsonBatch[]): JsonBatch[] {
    let from = 0; // where the piece being read starts in this chunk (0 when it began in an earlier one)
    let cut = -1; // last separator between elements of the array being read, in this chunk
    const fast = this.#mode === "elements" ? this.#cutElements(chunk, out) : -1;
    if (fast >= 0) from = fast + 1;
    for (let i = this.#next(chunk, from); i < chunk.length; i = this.#next(chunk, i + 1)) {
      const c = chunk[i]!;
      const depth = this.#depth; // after c
      switch (this.#mode) {
        case "start":
          if (c === OPEN_BRACKET && depth === 1 && this.root === "array") {
            this.#mode = "elements";
            this.#arrayDepth = 1;
            this.#watch = 1;
          } else if (c === OPEN_BRACE && depth === 1 && this.root === "object") this.#mode = "key";
          else throw this.broken(`not a JSON ${this.root}`);
          from = i + 1;
          break;
        case "key":
          if (c === COLON && depth === 1) {
            const key = parse(this.#text(chunk, from, i), this.broken);
            if (typeof key !== "string") throw this.broken("a member name that is not a string");
            this.#key = key;
            this.#mode = "value";
            from = i + 1;
          } else if (c === CLOSE_BRACE && depth === 0) {
            if (this.#text(chunk, from, i).trim() !== "") throw this.broken("a member without a value");
            this.#mode = "end";
            from = i + 1;
          }
          break;
        case "value":
          if (c === OPEN_BRACKET && depth === 2 && this.#text(chunk, from, i, false).trim() === "") {
            this.#parts = [];
            this.#mode = "elements";
            this.#arrayDepth = 2;
            from = i + 1;
          } else if ((c === COMMA && depth === 1) || (c === CLOSE_BRACE && depth === 0)) {
            out.push({ key: this.#key, values: [parse(this.#text(chunk, from, i), this.broken)], elements: false });
            this.#mode = c === COMMA ? "key" : "end";
            from = i + 1;
          }
          break;
        case "elements":
          if (c === COMMA && depth === this.#arrayDepth) cut = i;
          else if (c === CLOSE_BRACKET && depth === this.#arrayDepth - 1) {
            // Always a batch, empty or not: the export's empty lists are lists too.
            out.push({ key: this.#key, values: parse(this.#text(chunk, from, i, true, true), this.broken) as unknown[], elements: true });
            this.#mode = depth === 0 ? "end" : "after-value";
            from = i + 1;
            cut = -1;
          }
          break;
        case "after-value":
          if (c === COMMA && depth === 1) this.#mode = "key";
          else if (c === CLOSE_BRACE && depth === 0) this.#mode = "end";
          else throw this.broken(`unexpected "${String.fromCharCode(c)}" after an array`);
          from = i + 1;
          break;
        case "end":
          throw this.broken("more after its end");
      }
    }
    // Everything before the last separator is whole elements: parse them together.
    if (this.#mode === "elements" && cut >= from) {
      out.push({ key: this.#key, values: parse(this.#text(chunk, from, cut, true, true), this.broken) as unknown[], elements: true });
      from = cut + 1;
    }
    if (this.#mode === "end") {
      for (let i = from; i < chunk.length; i++) if (!isSpace(chunk[i]!)) throw this.broken("more after its end");
    } else if (from < chunk.length) this.#parts.push(from === 0 ? chunk : chunk.subarray(from));
    return out;
  }

  /**
   * The fast cut (see the top): parses the elements before the chunk's last `},{` (`],[`) in one batch
   * and answers the index of its `,`, the scan's place set to just after it; -1 (nothing changed) when
   * the chunk has no such separator or the text before it is not whole elements.
   */
  #cutElements(chunk: Uint8Array, out: JsonBatch[]): number {
    const cut = lastElementSeparator(chunk, this.#open);
    if (cut < 0) return -1;
    let values: unknown[];
    try {
      values = JSON.parse(this.#text(chunk, 0, cut, false, true)) as unknown[];
    } catch {
      return -1;
    }
    this.#parts = [];
    this.#depth = this.#arrayDepth;
    this.#inString = false;
    this.#escaped = false;
    out.push({ key: this.#key, values, elements: true });
    return cut;
  }

  /** The answer ended: throws unless the document was complete. */
  end(): void {
    if (this.#mode !== "end") throw this.broken("it ends before it is complete");
  }

  /**
   * The piece from earlier chunks plus chunk[from, to), as text; `consume` forgets the earlier parts;
   * `array`: in brackets, made one text with them (JSON.parse of a text joined to them would copy it again).
   */
  #text(chunk: Uint8Array, from: number, to: number, consume = true, array = false): string {
    const parts = this.#parts;
    if (consume) this.#parts = [];
    if (parts.length === 0 && !array) return utf8(chunk.subarray(from, to));
    // Whole bytes first: a character may be split between parts.
    const pieces = array ? [OPEN, ...parts, chunk.subarray(from, to), CLOSE] : [...parts, chunk.subarray(from, to)];
    let length = 0;
    for (const p of pieces) length += p.length;
    if (this.#scratch.length < length) this.#scratch = new Uint8Array(Math.max(length, 2 * this.#scratch.length));
    const bytes = this.#scratch;
    let at = 0;
    for (const p of pieces) {
      bytes.set(p, at);
      at += p.length;
    }
    return utf8(bytes.subarray(0, length));
  }

  /** Where #text joins bytes (the text is a copy of them: one buffer serves every call), made at its first. */
  #scratch = new Uint8Array(0);

  /**
   * The index of the next byte of structure at a watched depth (`{ } [ ]` entering or leaving one, `,`
   * and `:` in one), with the depth after it in #depth; `chunk.length` when the chunk has none left.
   */
  #next(b: Uint8Array, i: number): number {
    const n = b.length;
    while (i < n) {
      if (this.#inString) {
        if (this.#escaped) {
          this.#escaped = false;
          i++;
          continue;
        }
        const q = b.indexOf(QUOTE, i);
        const end = q < 0 ? n : q;
        // Backslashes right before the quote (or the chunk's end): an odd run escapes what follows.
        let k = end;
        while (k > i && b[k - 1] === BACKSLASH) k--;
        const odd = (end - k) % 2 === 1;
        if (q < 0) {
          this.#escaped = odd;
          return n;
        }
        if (!odd) this.#inString = false;
        i = q + 1;
        continue;
      }
      const c = b[i]!;
      if (c === QUOTE) this.#inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (++this.#depth <= this.#watch + 1) return i;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (--this.#depth < 0) throw this.broken(`unbalanced "${String.fromCharCode(c)}"`);
        if (this.#depth <= this.#watch) return i;
      } else if ((c === COMMA || c === COLON) && this.#depth <= this.#watch) return i;
      i++;
    }
    return n;
  }
}
