import { StringDecoder } from "node:string_decoder";
import { UUID_PATTERN } from "../domain/lookups.js";
import type { ImportRef } from "../domain/user-import.js";
import { listCellNames } from "./users-csv.js";
import { bounded } from "./validation.js";
import { ApiError } from "./errors.js";

/**
 * The rows of a bulk import as they arrive, from NDJSON (one JSON object a line) or CSV (RFC 4180,
 * a header row naming the fields): never more than one row in memory beyond the stream's own chunk.
 */

/**
 * A row: its first line in the input, and its fields, or why it has none (`field`: the column at fault,
 * as the file names it). `ref`: which user an export's row was (its `id`/`guid` or `numericId` cell).
 * `named`: of a CSV whose header names fields otherwise (`remark`, `first_name`), field → the header,
 * so that what is said of a field says it as the file does; one map for all the file's rows.
 */
export type InputRecord =
  | { line: number; fields: Record<string, unknown>; ref?: ImportRef; named?: ReadonlyMap<string, string> }
  | { line: number; problem: string; username?: string; field?: string };

/** Longest row taken: a longer one is answered as a failed row and skipped. */
export const MAX_ROW_CHARS = 65_536;

/** What the decoder puts where bytes are not of the body's encoding: such a row is refused, not stored with it. */
const NOT_DECODED = "\ufffd";

/** Why a row with bytes its encoding does not have is refused. */
function notDecodedProblem(encoding: string, what = "row"): string {
  return encoding === "utf-8"
    ? `The ${what} has bytes that are not UTF-8: send the file as UTF-8, or name its charset (windows-1252 for a CSV saved by Excel on Windows) in the Content-Type, ecm import --charset or the SDK's charset option.`
    : `The ${what} has bytes that are not ${encoding}, the charset the request declares.`;
}

/**
 * The body's text in `encoding` (a WHATWG name: `http/charset.ts` importEncoding) — in UTF-8 when it
 * starts with UTF-8's byte order mark, whatever was declared, as the Encoding Standard decodes (a file
 * saved as "CSV UTF-8" sent with the charset of an older one).
 */
async function* text(stream: AsyncIterable<Buffer | string>, encoding: string): AsyncGenerator<string> {
  let decoder: { write(bytes: Buffer): string; end(): string } | undefined;
  let first = true;
  for await (const chunk of stream) {
    // UTF-8 by Node's own decoder, the faster one; another encoding by the Encoding Standard's.
    decoder ??= encoding === "utf-8" || startsWithUtf8Bom(chunk) ? new StringDecoder("utf8") : streamingDecoder(encoding);
    let piece = typeof chunk === "string" ? chunk : decoder.write(chunk);
    if (first && piece.length > 0) {
      if (piece.charCodeAt(0) === 0xfeff) piece = piece.slice(1); // a BOM
      first = false;
    }
    if (piece) yield piece;
  }
  const rest = decoder?.end();
  if (rest) yield rest;
}

const startsWithUtf8Bom = (chunk: Buffer | string) => typeof chunk !== "string" && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf;

function streamingDecoder(encoding: string): { write(bytes: Buffer): string; end(): string } {
  const decoder = new TextDecoder(encoding);
  return { write: (bytes) => decoder.decode(bytes, { stream: true }), end: () => decoder.decode() };
}

/** NDJSON: every non-blank line a JSON object. */
export async function* ndjsonRecords(stream: AsyncIterable<Buffer | string>, encoding = "utf-8"): AsyncGenerator<InputRecord> {
  let line = 0;
  let pending = "";
  let overlong = false;
  const record = (raw: string): InputRecord | undefined => {
    line++;
    if (overlong) return { line, problem: `The row is longer than ${MAX_ROW_CHARS} characters.` };
    if (raw.trim() === "") return undefined;
    if (raw.includes(NOT_DECODED)) return { line, problem: notDecodedProblem(encoding) };
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      // JSON.parse's message quotes the row (a password in it, too): only where it failed is said.
      const at = /position (\d+)/.exec((error as Error).message)?.[1];
      return { line, problem: at === undefined ? "The row is not JSON." : `The row is not JSON (at character ${Number(at) + 1}).` };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) return { line, problem: "The row must be a JSON object." };
    return jsonRecord(line, value as Record<string, unknown>);
  };
  for await (const piece of text(stream, encoding)) {
    let start = 0;
    for (let nl = piece.indexOf("\n"); nl !== -1; nl = piece.indexOf("\n", start)) {
      const r = record(overlong ? "" : pending + piece.slice(start, nl));
      pending = "";
      overlong = false;
      if (r) yield r;
      start = nl + 1;
    }
    if (!overlong) pending += piece.slice(start);
    if (pending.length > MAX_ROW_CHARS) {
      overlong = true;
      pending = "";
    }
  }
  const last = record(overlong ? "" : pending);
  if (last) yield last;
}

/** The SDK's names (seed 000) where they differ from the REST ones; `locked` is the inverse of `enabled`. */
const SDK_NAMES: Record<string, string> = { remark: "description", locked: "enabled", changePwd: "changePassword", neverExpire: "passwordNeverExpires" };

/**
 * What the users exports hold that no import sets (the API's list and CSV, `ecm users list` in every
 * format): read past, so that an export comes back as it went out.
 */
// `profile`: the profile's name `ecm users list -o csv` shows beside profileId; alone, it would be
// taken for a way to set the profile and silently do nothing (profileAlone).
const EXPORT_ONLY = ["id", "numericId", "guid", "builtin", "dn", "expired", "lockedOut", "lockedOutUntil", "federatedIdentities", "source", "profile"];

/**
 * The user an export's id names, given `ref`, what the row's earlier ids named: the API names a user by
 * `id` (its UUID) and `numericId`, the SDK and `ecm users list` by `guid` and `id` (the number); the UUID wins.
 */
function exportRef(field: string, value: unknown, ref: ImportRef | undefined): ImportRef | undefined {
  const text = typeof value === "string" ? value.trim() : typeof value === "number" ? String(value) : "";
  if (["id", "guid"].includes(field) && UUID_PATTERN.test(text)) return { uuid: text.toLowerCase() };
  if (["id", "numericId"].includes(field) && /^\d{1,15}$/.test(text)) return ref ?? { numericId: Number(text) };
  return ref;
}

/** Why a `profile` without `profileId` beside it is refused. */
const profileAlone = "profile is read only beside profileId, as `ecm users list -o csv` writes them: a user's profile is set by its number, profileId.";

/**
 * A JSON row as import fields: an export's fields read past (its ids say whose row it is), the SDK's
 * names taken as the REST ones (what is said of them later says the REST name: rows may differ).
 */
function jsonRecord(line: number, value: Record<string, unknown>): InputRecord {
  const names = Object.keys(value);
  if (!names.some((name) => EXPORT_ONLY.includes(name) || Object.hasOwn(SDK_NAMES, name))) return { line, fields: value };
  let ref: ImportRef | undefined;
  // Entries, made into an object at the end: a "__proto__" row field stays a field (and an unknown one).
  const entries: [string, unknown][] = [];
  for (const name of names) {
    const v = value[name];
    if (name === "profile" && !names.includes("profileId")) return { line, username: typeof value.username === "string" ? value.username : undefined, problem: `The row's ${profileAlone}`, field: name };
    if (EXPORT_ONLY.includes(name)) {
      ref = exportRef(name, v, ref);
      continue;
    }
    const field = Object.hasOwn(SDK_NAMES, name) ? SDK_NAMES[name]! : undefined;
    if (field === undefined) {
      entries.push([name, v]);
      continue;
    }
    const username = typeof value.username === "string" ? value.username : undefined;
    if (Object.hasOwn(value, field)) return { line, username, problem: `The row gives ${field} twice (${field}, ${name}).`, field: name };
    if (name === "locked" && typeof v !== "boolean") return { line, username, problem: "locked must be true or false.", field: name };
    entries.push([field, name === "locked" ? !v : v]);
  }
  return { line, fields: Object.fromEntries(entries), ...(ref ? { ref } : {}) };
}

/** A CSV column: the import field it gives, and how its cells become values. */
interface CsvColumn {
  header: string;
  field: string;
  kind: "text" | "boolean" | "inverted" | "integer" | "list" | "read-only";
}

/** CSV header names (case, `_`, `-` and spaces ignored) → import fields: the REST names, and the SDK's (seed 000) where they differ. */
const CSV_HEADERS: [string, Omit<CsvColumn, "header">][] = [
  ...["username", "loginName", "firstName", "lastName", "displayName", "email", "description", "validFrom", "validTo", "password", "passwordHash"].map((f) => [f, { field: f, kind: "text" as const }] as [string, Omit<CsvColumn, "header">]),
  ...["enabled", "changePassword", "passwordNeverExpires", "serviceAccount"].map((f) => [f, { field: f, kind: "boolean" as const }] as [string, Omit<CsvColumn, "header">]),
  ["profileId", { field: "profileId", kind: "integer" }],
  ["groups", { field: "groups", kind: "list" }],
  ["remark", { field: SDK_NAMES.remark!, kind: "text" }],
  ["locked", { field: SDK_NAMES.locked!, kind: "inverted" }],
  ["changePwd", { field: SDK_NAMES.changePwd!, kind: "boolean" }],
  ["neverExpire", { field: SDK_NAMES.neverExpire!, kind: "boolean" }],
  ...EXPORT_ONLY.map((f) => [f, { field: f, kind: "read-only" as const }] as [string, Omit<CsvColumn, "header">]),
];
const CSV_COLUMNS: Record<string, Omit<CsvColumn, "header">> = Object.fromEntries(CSV_HEADERS.map(([name, column]) => [name.toLowerCase(), column]));

/** A header naming columns the import does not know, in words: the known ones, and the separator when the header looks cut by another. */
function unknownColumns(cells: string[], unknown: string[]): ApiError {
  // A users list saved as JSON (`ecm users list -o json`), or NDJSON sent as CSV: its pieces are no columns.
  if (/^\s*[[{]/.test(cells[0]!)) return new ApiError("invalidRequest", "The body is JSON, not CSV: send it as application/x-ndjson, one JSON object a line.");
  const separator = cells.length === 1 ? [";", "\t", "|"].find((s) => cells[0]!.includes(s)) : undefined;
  const hint = separator ? ` Columns are separated by commas, not ${separator === "\t" ? "tabs" : `"${separator}"`}, unless a first line ${separator === "\t" ? '"sep=" and a tab' : `"sep=${separator}"`} names the separator.` : "";
  // The file's text, repeated: a few names, each bounded and quoted (control characters escaped).
  const named = unknown.slice(0, 10).map(bounded);
  const more = unknown.length > named.length ? ` and ${unknown.length - named.length} more` : "";
  return new ApiError("invalidRequest", `Unknown CSV column${unknown.length > 1 ? "s" : ""}: ${named.map((n) => JSON.stringify(n)).join(", ")}${more}; known: ${CSV_HEADERS.filter(([, c]) => c.kind !== "read-only").map(([name]) => name).join(", ")}.${hint}`, { columns: named });
}
/**
 * A cell as it was before an export guarded it against spreadsheet formulas (http/users-csv.ts
 * `csvCell`, the CLI's): one leading `'` less before `=`, `+`, `-`, `@`, a tab or a CR.
 */
function unguarded(cell: string): string {
  return /^'+[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

const BOOLEANS: Record<string, boolean> = { true: true, yes: true, "1": true, false: false, no: false, "0": false };

/** The column of a CSV header cell, or undefined. */
function csvColumn(header: string): CsvColumn | undefined {
  const column = CSV_COLUMNS[header.trim().toLowerCase().replace(/[_\s-]/g, "")];
  return column && { header: header.trim(), ...column };
}

/** A CSV row's cells as import fields (empty cells are left out), or what is wrong with a cell. */
function csvFields(columns: CsvColumn[], cells: string[]): { fields: Record<string, unknown>; ref?: ImportRef } | { problem: string; field: string } {
  const fields: Record<string, unknown> = {};
  let ref: ImportRef | undefined;
  for (const [i, column] of columns.entries()) {
    const cell = cells[i] ?? "";
    if (cell === "") continue;
    if (column.kind === "read-only") {
      ref = exportRef(column.field, cell, ref);
      continue;
    }
    if (column.kind === "boolean" || column.kind === "inverted") {
      const value = BOOLEANS[cell.trim().toLowerCase()];
      if (value === undefined) return { problem: `${column.header}: ${JSON.stringify(cell)} is not a boolean (true/false, yes/no, 1/0).`, field: column.header };
      fields[column.field] = column.kind === "inverted" ? !value : value;
    } else if (column.kind === "integer") {
      if (!/^\s*-?\d{1,15}\s*$/.test(cell)) return { problem: `${column.header}: ${JSON.stringify(cell)} is not an integer.`, field: column.header };
      fields[column.field] = Number(cell);
    } else if (column.kind === "list") fields[column.field] = listCellNames(unguarded(cell));
    // A password (or its hash) is never exported: taken as typed, a leading ' included.
    else fields[column.field] = column.field === "password" || column.field === "passwordHash" ? cell : unguarded(cell);
  }
  return ref ? { fields, ref } : { fields };
}

/** An argon2 hash's commas (`m=…,t=…,p=…`) split a cell written unquoted, as a script's echo writes it: said, with the way to write it. */
const UNQUOTED_ARGON2 = " An argon2 hash holds commas (m=…,t=…,p=…): put its cell in double quotes.";
const unquotedArgon2 = (cells: string[]) => cells.some((cell) => /^\$argon2(?:id|i|d)?\$(?:v=\d+\$)?m=\d+$/.test(cell));

/**
 * CSV rows after the header row. An unknown, missing or doubled column is the request's fault, not a
 * row's: it is thrown (as a 400) when the header is read, before any row.
 */
export async function* csvRecords(stream: AsyncIterable<Buffer | string>, encoding = "utf-8"): AsyncGenerator<InputRecord> {
  let columns: CsvColumn[] | undefined;
  let named: ReadonlyMap<string, string> | undefined;
  let usernameAt = 0;
  for await (const { line, cells, overlong } of csvRows(text(stream, encoding))) {
    if (!columns) {
      if (overlong) throw new ApiError("invalidRequest", `The CSV header is longer than ${MAX_ROW_CHARS} characters.`, { line });
      if (cells.some((cell) => cell.includes(NOT_DECODED))) throw new ApiError("invalidRequest", notDecodedProblem(encoding, "CSV header"), { line });
      const unknown = cells.filter((h) => csvColumn(h) === undefined);
      if (unknown.length > 0) throw unknownColumns(cells, unknown);
      columns = cells.map((h) => csvColumn(h)!);
      const profile = columns.find((c) => c.field === "profile");
      if (profile && !columns.some((c) => c.field === "profileId")) throw new ApiError("invalidRequest", `The CSV header's ${profileAlone}`, { field: profile.header });
      const twice = columns.find((c, i) => c.kind !== "read-only" && columns!.findIndex((d) => d.field === c.field) !== i);
      if (twice) throw new ApiError("invalidRequest", `The CSV header gives ${twice.field} twice (${columns.filter((c) => c.field === twice.field).map((c) => c.header).join(", ")}).`, { field: twice.field });
      usernameAt = columns.findIndex((c) => c.field === "username");
      if (usernameAt === -1) throw new ApiError("invalidRequest", "The CSV header has no username column.", { field: "username" });
      const renamed = columns.filter((c) => c.kind !== "read-only" && c.header !== c.field);
      named = renamed.length > 0 ? new Map(renamed.map((c) => [c.field, c.header])) : undefined;
      continue;
    }
    const username = cells[usernameAt];
    if (overlong) yield { line, username, problem: `The row is longer than ${MAX_ROW_CHARS} characters.` };
    else if (cells.some((cell) => cell.includes(NOT_DECODED))) yield { line, username: undefined, problem: notDecodedProblem(encoding) };
    else if (cells.length !== columns.length) yield { line, username, problem: `The row has ${cells.length} fields; the header has ${columns.length}.${unquotedArgon2(cells) ? UNQUOTED_ARGON2 : ""}` };
    else {
      const row = csvFields(columns, cells);
      yield "problem" in row ? { line, username, ...row } : { line, fields: row.fields, ...(row.ref ? { ref: row.ref } : {}), ...(named ? { named } : {}) };
    }
  }
}

/** Excel's first line naming the file's separator (`sep=;`, where a comma is the decimal mark), read as a record cut at commas. */
const SEPARATOR_LINE = /^sep=([^"\r\n])$/;

/**
 * RFC 4180 records (quotes, doubled quotes, CRLF, line breaks inside quotes), separated by commas or
 * by what a first line `sep=X` names (that line is no record); blank lines, and rows of empty cells
 * (a spreadsheet's rows once formatted), skipped. Every character of a record counts toward
 * MAX_ROW_CHARS, separators and quotes too: past it nothing more of the record is kept (a row of
 * nothing but commas was an array without end).
 */
async function* csvRows(pieces: AsyncIterable<string>): AsyncGenerator<{ line: number; cells: string[]; overlong: boolean }> {
  let separator = ",";
  let cells: string[] = [];
  let field = "";
  let fieldStart = true;
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let start = 1;
  let size = 0;
  let previous = "";
  /** The record just ended, or undefined when it is none: the separator line, a blank row. */
  const record = () => {
    if (size <= MAX_ROW_CHARS) cells.push(field);
    const named = start === 1 ? SEPARATOR_LINE.exec(cells.join(","))?.[1] : undefined;
    if (named !== undefined) separator = named;
    else if (size > MAX_ROW_CHARS || cells.some((cell) => cell.trim() !== "")) return { line: start, cells, overlong: size > MAX_ROW_CHARS };
    return undefined;
  };
  for await (const piece of pieces) {
    for (let i = 0; i < piece.length; i++) {
      const c = piece[i]!;
      if (!quoted && (c === "\n" || c === "\r")) {
        afterQuote = false;
        if (c === "\n" && previous === "\r") {
          previous = c;
          continue;
        }
        const ended = record();
        if (ended) yield ended;
        cells = [];
        field = "";
        fieldStart = true;
        size = 0;
        start = ++line;
        previous = c;
        continue;
      }
      const keep = size++ < MAX_ROW_CHARS;
      if (quoted) {
        if (c === '"') {
          quoted = false;
          afterQuote = true;
        } else {
          if (c === "\n") line++;
          if (keep) field += c;
        }
      } else if (c === '"') {
        // A quote right after a closing quote is an escaped quote; at a field's start it opens one.
        if (afterQuote && keep) field += '"';
        if (afterQuote || fieldStart) quoted = true;
        else if (keep) field += c;
        afterQuote = false;
        fieldStart = false;
      } else if (c === separator) {
        if (keep) cells.push(field);
        field = "";
        fieldStart = true;
        afterQuote = false;
      } else {
        afterQuote = false;
        fieldStart = false;
        if (keep) field += c;
      }
      previous = c;
    }
  }
  if (quoted) throw new ApiError("invalidRequest", `The CSV has an unterminated quoted field from line ${start}.`, { line: start });
  const last = field !== "" || cells.length > 0 ? record() : undefined;
  if (last) yield last;
}
