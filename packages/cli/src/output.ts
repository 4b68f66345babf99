import { csvLine } from "./csv.js";

export type OutputFormat = "table" | "json" | "csv" | "ndjson";
export const OUTPUT_FORMATS: OutputFormat[] = ["table", "json", "csv", "ndjson"];

export interface Writer {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Streams: wait for "drain" when write() returned false. */
  once?(event: "drain", listener: () => void): unknown;
}

export type Row = Record<string, unknown>;

/** Whether the format's cells hold text (table, CSV): a command writes there in words what JSON and NDJSON keep as the API's structure. */
export const textCells = (format: OutputFormat): boolean => format === "table" || format === "csv";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** A list holding objects: its items are numbered (`0.name=value`), as its objects' fields would otherwise run into each other. */
const holdsObjects = (v: unknown): v is unknown[] => Array.isArray(v) && v.some(isObject);

/**
 * The items a cell lists: a list's, or an object's fields as `name=value` (a nested object's as
 * `name.sub=value`), a list of objects' fields numbered by item (`0.name=value;0.sub=value;1.name=…`,
 * nested too: `after.groupMappings.0.groupDn=…`); undefined for a single value.
 */
function cellItems(v: unknown, listSep: string): string[] | undefined {
  if (Array.isArray(v) && !holdsObjects(v)) return v.map((x) => cellText(x, listSep));
  if (!isObject(v) && !Array.isArray(v)) return undefined;
  const fields = (o: Record<string, unknown> | unknown[], prefix: string): string[] =>
    Object.entries(o).flatMap(([k, x]) => (isObject(x) || holdsObjects(x) ? fields(x, `${prefix}${k}.`) : [`${prefix}${k}=${cellText(x, listSep)}`]));
  return fields(v, "");
}

function cellText(v: unknown, listSep: string): string {
  if (v === null || v === undefined) return "";
  if (v instanceof Date) return v.toISOString();
  return cellItems(v, listSep)?.join(listSep) ?? String(v);
}

/**
 * A CSV cell: a list's items, or an object's fields, joined with `;`. A cell a spreadsheet would run as
 * a formula (text starting with = + - @, a tab or a CR) gets a leading ' so it stays text (OWASP's
 * advice), as does text of `'`s before one of those: `ecm import` takes one `'` away again. Numbers are
 * left alone: -1 is a number, not a formula.
 */
function csvCell(v: unknown): string {
  // Items as the import splits them (the server's http/users-csv.ts listCell): a `;` or `\` in one escaped,
  // so that a group named `x;administrators` comes back as that group, not as `x` and `administrators`.
  const items = cellItems(v, ";");
  const text = items ? items.map((x) => x.replace(/[\\;]/g, "\\$&")).join(";") : cellText(v, ";");
  return typeof v !== "number" && /^'*[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

const ESCAPED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
const escaped = (c: string) => {
  const code = c.codePointAt(0)!;
  return ESCAPED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`);
};
/**
 * Bidi controls reorder what follows them (U+202E turns the rest of a row around), invisible spaces
 * hide in a name (`sys\u{200b}admin`), line and paragraph separators break a line. Zero-width
 * joiners and non-joiners stay: Persian and Indic names, and emoji sequences, are written with them.
 */
const HIDDEN = "\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff";
const NOT_PRINTABLE = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f${HIDDEN}]`, "gu");
const NOT_TERMINAL_SAFE = new RegExp(`[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f${HIDDEN}]`, "gu");

/** Control characters (newlines, ESC …) would break a line or drive the terminal, and the HIDDEN ones reorder or hide: shown escaped. */
export function printable(text: string): string {
  return text.replace(NOT_PRINTABLE, escaped);
}

/** As printable, keeping line breaks and tabs: text for the terminal made of the server's words (names, messages). */
export function terminalSafe(text: string): string {
  return text.replace(NOT_TERMINAL_SAFE, escaped);
}

function tableText(v: unknown, listSep: string): string {
  return printable(cellText(v, listSep));
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
/** East Asian wide and fullwidth ranges (Hangul Jamo, CJK, Hangul, fullwidth forms, CJK extensions). */
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]|\p{Emoji_Presentation}|\p{Extended_Pictographic}\ufe0f/u;
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]+$/u;

/**
 * Letters and signs each one column and one grapheme, with nothing that joins them to their neighbour:
 * ASCII, Latin-1 and Latin Extended (not the soft hyphen, which is invisible), Greek, Cyrillic (not its
 * combining marks). Most names are these; splitting them into graphemes cost a table of 300 000 users
 * about 20 s.
 */
const ONE_COLUMN_EACH = /^[\x20-\x7e\u00a0-\u00ac\u00ae-\u02ff\u0370-\u0377\u037a-\u037f\u0384-\u038a\u038c\u038e-\u03a1\u03a3-\u0482\u048a-\u04ff]*$/;

/** Terminal columns a string takes: wide characters count 2, combining marks 0. */
export function displayWidth(s: string): number {
  if (ONE_COLUMN_EACH.test(s)) return s.length;
  let w = 0;
  for (const { segment } of graphemes.segment(s)) w += ZERO_WIDTH.test(segment) ? 0 : WIDE.test(segment) ? 2 : 1;
  return w;
}

function padCells(s: string, width: number): string {
  return s + " ".repeat(Math.max(0, width - displayWidth(s)));
}

function jsonValue(v: unknown): unknown {
  return v instanceof Date ? v.toISOString() : v;
}

function pick(row: Row, columns: string[]): Row {
  const out: Row = {};
  for (const c of columns) out[c] = jsonValue(row[c]);
  return out;
}

/** Rows buffered to size the table's columns; later rows stream out with those widths. */
const TABLE_SAMPLE = 1000;

/** Output is written in pieces of about this many characters: a write per row would cost more than the row. */
const WRITE_SIZE = 65_536;

/**
 * Prints a list of rows as they come. For `table`, the first rows are buffered to size the columns,
 * so even a listing of a million users streams in constant memory.
 */
export class ListPrinter {
  #rows: Row[] = [];
  #count = 0;
  #widths: number[] | undefined;
  #pending = "";
  /** The output took the last piece but is full (write() returned false) until this settles. */
  #draining: Promise<void> | undefined;
  constructor(
    readonly out: Writer,
    readonly format: OutputFormat,
    readonly columns: string[],
  ) {}

  /** The document's head, written with its first row or its end: a list that fails before either leaves stdout empty, not a header or a `[` alone. */
  #begin(): void {
    if (this.format === "csv") this.#write(csvLine(this.columns));
    if (this.format === "json") this.#write("[");
  }

  #write(text: string): void {
    this.#pending += text;
    if (this.#pending.length >= WRITE_SIZE) this.#send();
  }

  /**
   * Writes what is pending (end() does; a caller stopped by an error shows what came before it). A
   * table still sizing its columns is sized by the rows so far: a caller flushes to show what came
   * (an import's results, a batch at a time), not to wait for the sample to fill.
   */
  flush(): void {
    if (this.format === "table" && !this.#widths && this.#rows.length > 0) this.#flushTable();
    this.#send();
  }

  #send(): void {
    if (this.#pending !== "" && this.out.write(this.#pending) === false && this.out.once && !this.#draining) {
      // Listened for at once: a flush from a timer may find the output full long before anyone awaits drained().
      this.#draining = new Promise<void>((resolve) => this.out.once!("drain", resolve)).then(() => {
        this.#draining = undefined;
      });
    }
    this.#pending = "";
  }

  /**
   * Resolves when the output has room again (at once when it has): a caller that waits for it between
   * batches reads no faster than its reader, so a slow pipe costs no memory.
   */
  async drained(): Promise<void> {
    await this.#draining;
  }

  add(row: Row): void {
    const n = this.#count++;
    if (n === 0) this.#begin();
    switch (this.format) {
      case "table":
        if (this.#widths) this.#write(this.#line(this.#cells(row)));
        else {
          this.#rows.push(row);
          if (this.#rows.length >= TABLE_SAMPLE) this.#flushTable();
        }
        break;
      case "csv":
        this.#write(csvLine(this.columns.map((c) => csvCell(row[c]))));
        break;
      case "ndjson":
        this.#write(JSON.stringify(pick(row, this.columns)) + "\n");
        break;
      case "json":
        this.#write((n === 0 ? "\n  " : ",\n  ") + JSON.stringify(pick(row, this.columns)));
        break;
    }
  }

  #cells(row: Row): string[] {
    return this.columns.map((c) => tableText(row[c], ","));
  }

  #line(vals: string[]): string {
    const widths = this.#widths!;
    return (
      vals
        .map((v, i) => (i === vals.length - 1 ? v : padCells(v, widths[i]!)))
        .join("  ")
        .trimEnd() + "\n"
    );
  }

  #flushTable(): void {
    const cells = this.#rows.map((r) => this.#cells(r));
    this.#widths = this.columns.map((c, i) => Math.max(c.length, ...cells.map((r) => displayWidth(r[i]!))));
    this.#write(this.#line(this.columns.map((c) => c.toUpperCase())));
    for (const r of cells) this.#write(this.#line(r));
    this.#rows = [];
  }

  end(): void {
    if (this.#count === 0) this.#begin();
    if (this.format === "json") this.#write(this.#count === 0 ? "]\n" : "\n]\n");
    if (this.format === "table" && !this.#widths) this.#flushTable();
    this.flush();
  }
}

export function printList(out: Writer, format: OutputFormat, columns: string[], rows: Iterable<Row>): void {
  const p = new ListPrinter(out, format, columns);
  for (const r of rows) p.add(r);
  p.end();
}

/** Prints one object: `key  value` lines for table, else like a one-row list (json: an object). */
export function printObject(out: Writer, format: OutputFormat, columns: string[], row: Row): void {
  switch (format) {
    case "table": {
      const w = Math.max(...columns.map((c) => c.length));
      for (const c of columns) {
        const v = row[c];
        // A list whose items hold the separator themselves (a sync's problems: a DN and a sentence each) would
        // read as other items: one a line, under each other.
        const text = Array.isArray(v) && v.some((x) => cellText(x, ", ").includes(", ")) ? v.map((x) => tableText(x, ", ")).join(`\n${" ".repeat(w + 3)}`) : tableText(v, ", ");
        out.write(`${(c + ":").padEnd(w + 1)}  ${text}`.trimEnd() + "\n");
      }
      break;
    }
    case "json":
      out.write(JSON.stringify(pick(row, columns), null, 2) + "\n");
      break;
    case "ndjson":
      out.write(JSON.stringify(pick(row, columns)) + "\n");
      break;
    case "csv":
      out.write(csvLine(columns));
      out.write(csvLine(columns.map((c) => csvCell(row[c]))));
      break;
  }
}

/** A one-line progress bar on a terminal (rewritten in place), plain lines otherwise. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export class Progress {
  #last = 0;
  /** A bar is on the terminal's last line (to be cleared before the summary). */
  #drawn = false;
  constructor(
    readonly err: Writer,
    readonly label: string,
    readonly total: number,
    /** How the counts are shown (bytes, for one). */
    readonly show: (n: number) => string = String,
    /** Where the command's data goes while the bar would be shown: on the terminal too, no bar (the data would run into it). */
    readonly data?: Writer,
  ) {}

  update(done: number, note = ""): void {
    if (this.err.isTTY && this.data?.isTTY !== true) {
      this.#drawn = true;
      const now = Date.now();
      if (done < this.total && now - this.#last < 50) return;
      this.#last = now;
      const width = 30;
      if (this.total <= 0) {
        // Unknown total: a counter instead of a bar.
        this.err.write(`\r${this.label} ${this.show(done)} ${note}`.padEnd(80).slice(0, 100));
        return;
      }
      const frac = Math.min(1, done / this.total);
      const filled = Math.round(frac * width);
      this.err.write(
        `\r${this.label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${this.show(done)}/${this.show(this.total)} ${note}`.padEnd(80).slice(0, 100),
      );
    }
  }

  /** A plain line (non-TTY) describing one step. */
  line(text: string): void {
    if (!this.err.isTTY) this.err.write(text + "\n");
  }

  done(summary: string): void {
    if (this.#drawn) this.err.write(`\r${" ".repeat(100)}\r`);
    this.err.write(terminalSafe(summary) + "\n");
  }
}
