/**
 * Bulk import through `POST /security/v1/users/import`: the source is streamed up while the per-row
 * results stream down, each row answered as its batch commits. ECM and ECMSync share these pieces:
 * the body made from a source, and the parsing of the answer.
 */
import { STATUS_OF_CODE } from "./codes.js";
import { ECMConnectionError, ECMError, ECMValidationError, errorClassForStatus } from "./errors.js";
import type { Transport } from "./http.js";
import { FieldTypeError, rowErrorInSdkNames, toRestUserBody } from "./mapping.js";
import { keycloakRecord, keycloakUsers, opensJsonDocument } from "./keycloak.js";
import { checkOptions } from "./options.js";
import type { ECMImportResult, ECMImportSummary, ImportFormat, ImportOptions, ImportSource, ImportUserRecord } from "./types.js";

const IMPORT_PATH = "/security/v1/users/import";

const IMPORT_CONTENT_TYPES: Record<ImportFormat, string> = { csv: "text/csv", ndjson: "application/x-ndjson" };

/** Sends the import: resolves with the answer's bytes once it starts, while the source is still being sent. */
export async function startImport(http: Transport, source: ImportSource, opts: Omit<ImportOptions, "signal"> & { signal?: AbortSignal | undefined }, refused: RefusedRecords): Promise<AsyncIterable<Uint8Array>> {
  checkOptions(opts, ["format", "dryRun", "update", "charset"], ["dryRun", "update"]);
  // Else sent as the content type "undefined" (which the server refuses), or dropped for records.
  if (opts.format !== undefined && !Object.hasOwn(IMPORT_CONTENT_TYPES, opts.format)) throw new TypeError('format must be "csv" or "ndjson", or left out');
  if (opts.charset !== undefined && !isCharset(opts.charset)) throw new TypeError(`charset ${JSON.stringify(opts.charset)} names no character encoding the server reads (the Encoding Standard's names but UTF-16's: "windows-1252", "iso-8859-15", "shift_jis"…)`);
  const { body, format, charset } = await importBody(source, opts.format, opts.charset, refused);
  const res = await http.request<AsyncIterable<Uint8Array>>("POST", IMPORT_PATH, {
    query: { dryRun: opts.dryRun ? true : undefined, update: opts.update === false ? false : undefined },
    upload: { body, contentType: `${IMPORT_CONTENT_TYPES[format]}; charset=${charset}` },
    stream: true,
    signal: opts.signal,
    timeout: opts.timeout,
  });
  return res.data;
}

/**
 * Records the SDK refuses itself (a flag that is not a boolean, an unknown field, no username): each is
 * sent as a blank line, which the server skips but counts, so that its line numbers stay the records',
 * and is answered here as a failed row in its place among the server's answers.
 */
export class RefusedRecords {
  /** The body is made of records (in the SDK's names), not bytes (in the server's). */
  fromRecords = false;
  #waiting: ECMImportResult[] = [];
  #count = 0;

  add(results: readonly ECMImportResult[]): void {
    this.#waiting.push(...results);
    this.#count += results.length;
  }

  /** The refused rows before `line`, in order, taken out. */
  before(line: number): ECMImportResult[] {
    let n = 0;
    while (n < this.#waiting.length && this.#waiting[n]!.line < line) n++;
    return this.#waiting.splice(0, n);
  }

  /** How many were refused in all. */
  get count(): number {
    return this.#count;
  }

  /** Those waiting, taken out to be handed to another thread's list (ECMSync's worker to its caller). */
  handOver(): { results: ECMImportResult[]; fromRecords: boolean } {
    return { results: this.#waiting.splice(0), fromRecords: this.fromRecords };
  }
}

/** A record's REST row: the SDK's names mapped as createUser maps them; unknown names are refused the same way. */
function importRow(record: ImportUserRecord): Record<string, unknown> {
  if (!record || typeof record.username !== "string") throw new FieldTypeError("an import record needs a username", "username");
  const { username, groups, passwordHash, ...fields } = record;
  const row: Record<string, unknown> = { username, ...toRestUserBody(fields) };
  if (groups !== undefined) row.groups = groups;
  if (passwordHash !== undefined) row.passwordHash = passwordHash;
  return row;
}

/** Characters per piece of NDJSON made from records: few writes, little held. */
const PIECE_CHARS = 1 << 16;

/** The next turn of the event loop (setImmediate is Node's only). */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Records as NDJSON, in pieces of about 64 KiB, at most two pieces ahead of the reader. A source that
 * pauses (for a database, or for the import's own results) gets its rows sent as they are: whenever the
 * reader waits a turn of the event loop without a full piece, it gets what is there.
 */
async function* ndjsonOf<T>(records: AsyncIterable<T> | Iterable<T>, refused: RefusedRecords, rowOf: (record: T) => Record<string, unknown>): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  refused.fromRecords = true;
  let line = 0;
  let piece = "";
  const full: string[] = [];
  let ended = false;
  let stopped = false;
  let failure: { error: unknown } | undefined;
  let pieceReady: (() => void) | undefined;
  let roomMade: (() => void) | undefined;
  void (async () => {
    try {
      for await (const record of records) {
        if (stopped) return; // the reader is gone: leaving the loop closes the source
        line++;
        let row = "";
        try {
          row = JSON.stringify(rowOf(record));
        } catch (error) {
          const named = record as { username?: unknown } | null | undefined;
          const username = typeof named?.username === "string" ? named.username : undefined;
          refused.add([{ line, username, status: "failed", error: { code: "ECMS1001", message: (error as Error).message, ...(error instanceof FieldTypeError && { field: error.field }) } }]);
        }
        piece += `${row}\n`;
        if (piece.length < PIECE_CHARS) continue;
        full.push(piece);
        piece = "";
        pieceReady?.();
        if (full.length > 1) await new Promise<void>((resolve) => (roomMade = resolve));
      }
    } catch (error) {
      failure = { error };
    } finally {
      ended = true;
      pieceReady?.();
    }
  })();
  try {
    for (;;) {
      if (full.length === 0 && !ended) await Promise.race([new Promise<void>((resolve) => (pieceReady = resolve)), nextTurn()]);
      pieceReady = undefined;
      let next = full.shift();
      if (next === undefined && piece !== "") [next, piece] = [piece, ""];
      roomMade?.();
      roomMade = undefined;
      if (next !== undefined) yield encoder.encode(next);
      else if (ended) {
        if (failure) throw failure.error;
        return;
      }
    }
  } finally {
    // Not waited for: the source may be waiting itself (for results that will not come now).
    stopped = true;
    roomMade?.();
  }
}

/** Strings as UTF-8; byte chunks as they are. */
async function* bytesOf(chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  for await (const chunk of chunks) yield typeof chunk === "string" ? encoder.encode(chunk) : chunk;
}

function formatOfName(name: string | undefined): ImportFormat | undefined {
  const extension = /\.([a-z]+)$/i.exec(name ?? "")?.[1]?.toLowerCase();
  return extension === "csv" ? "csv" : extension === "ndjson" || extension === "jsonl" ? "ndjson" : undefined;
}

function formatOfType(type: string): ImportFormat | undefined {
  const essence = type.split(";")[0]!.trim().toLowerCase();
  return essence === "text/csv" ? "csv" : essence === "application/x-ndjson" || essence === "application/jsonl" ? "ndjson" : undefined;
}

/** How an export (exportSecuritySystem, `ecm export`) starts, as JSON or as NDJSON: with when it was made. */
const EXPORT_START = /^\uFEFF?\s*\{\s*"(?:exportedAt"|kind"\s*:\s*"exportedAt")/;

/** What the first bytes of a source are: its format, or what is read as records (a JSON array, a Keycloak realm export), or an export. */
type Sniffed = ImportFormat | "array" | "document" | "export";

/**
 * What a source is read as: an export or a Keycloak realm export by its first bytes whatever its name,
 * type or `format` says (`export.ndjson`, a realm file sent as application/x-ndjson); else as it is
 * said to be, or as the bytes look.
 */
function readAs(first: Uint8Array | string, said: ImportFormat | undefined): Sniffed {
  const sniffed = sniff(first);
  return sniffed === "export" || sniffed === "document" ? sniffed : said ?? sniffed;
}

/**
 * An export when it starts as one; a JSON document over several lines (a Keycloak realm export) when
 * `{` stands alone on the first line, else NDJSON when the first character (after a BOM and white
 * space) is `{`, a JSON array when it is `[`, else CSV.
 */
function sniff(first: Uint8Array | string): Sniffed {
  const text = typeof first === "string" ? first : new TextDecoder().decode(first.subarray(0, 64));
  if (EXPORT_START.test(text)) return "export";
  return opensJsonDocument(text) ? "document" : /^\uFEFF?\s*\{/.test(text) ? "ndjson" : /^\uFEFF?\s*\[/.test(text) ? "array" : "csv";
}

/** Chunks in `charset` as UTF-8 bytes (what a JSON document is read in). */
async function* utf8Of(chunks: AsyncIterable<Uint8Array | string>, charset: string): AsyncGenerator<Uint8Array> {
  const utf8 = /^utf-?8$/i.test(charset);
  const decoder = new TextDecoder(charset);
  const encoder = new TextEncoder();
  for await (const chunk of chunks) yield typeof chunk === "string" ? encoder.encode(chunk) : utf8 ? chunk : encoder.encode(decoder.decode(chunk, { stream: true }));
  if (!utf8) yield encoder.encode(decoder.decode());
}

/** The body a source's bytes give once sniffed: a JSON array or a Keycloak realm export as NDJSON (their records' results in their places), else the bytes. */
function sniffedBody(chunks: AsyncIterable<Uint8Array | string>, sniffed: Sniffed, charset: string | undefined, refused: RefusedRecords): ImportBody {
  // Its users alone would come back without the groups and role mappings beside them: nothing is sent.
  if (sniffed === "export") throw new ECMValidationError("importUsers: this is an export of the security system (ecm export, exportSecuritySystem), not a file of users: import reads users — records, CSV, NDJSON or a JSON array of them (ecm users list -x -o json) — or a Keycloak realm export");
  if (sniffed === "array") return { body: ndjsonOfArray(chunks, charset ?? "utf-8"), format: "ndjson", charset: "utf-8" };
  if (sniffed === "document") return { body: ndjsonOf(keycloakUsers(utf8Of(chunks, charset ?? "utf-8")), refused, (user) => importRow(keycloakRecord(user))), format: "ndjson", charset: "utf-8" };
  return { body: bytesOf(chunks), format: sniffed, charset: charset ?? "utf-8" };
}

/**
 * A JSON array of records (what `ecm users list -o json` writes) as NDJSON: each element on one line,
 * the line it starts on in the array's text (after blank lines, which the server skips but counts), so
 * that the results name the array's lines; elements that share a line (a compact array) follow on the
 * next ones. Only the array's structure is read: each element is the server's to parse, and to refuse.
 */
async function* ndjsonOfArray(chunks: AsyncIterable<Uint8Array | string>, charset: string): AsyncGenerator<Uint8Array> {
  const decoder = new TextDecoder(charset);
  const encoder = new TextEncoder();
  let line = 1;
  let sent = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let element = "";
  let startLine = 0;
  let out = "";
  const flush = () => {
    if (element.trim() === "") return;
    for (; sent < startLine - 1; sent++) out += "\n";
    // Outside strings a line break is white space; inside them JSON has none.
    out += `${element.replace(/[\r\n]/g, " ")}\n`;
    sent++;
    element = "";
  };
  /** Where the array stands: not begun, open, or closed (only white space may follow). */
  let state = "before" as "before" | "open" | "closed";
  // What is sent before a broken array is imported (each batch as it commits); the break itself is said, not skipped.
  const broken = (what: string) => new ECMValidationError(`importUsers: the JSON array ${what} (line ${line}); the rows before it were sent`);
  const read = (text: string) => {
    for (const c of text) {
      if (c === "\n") line++;
      if (state !== "open") {
        if (state === "before" && c === "[") state = "open";
        else if (!/[\s\uFEFF]/.test(c)) throw broken(state === "closed" ? "has more after its closing ]" : "does not start with [");
        continue;
      }
      let separator = false;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        if (depth === 0 && c === "}") throw broken("has a } that closes nothing");
        if (depth === 0) state = "closed";
        else depth--;
      } else separator = c === "," && depth === 0;
      if (separator || state === "closed") flush();
      else {
        if (element === "" && /\S/.test(c)) startLine = line;
        if (element !== "" || /\S/.test(c)) element += c;
        if (element.length > MAX_ELEMENT_CHARS) throw broken(`holds an element longer than ${MAX_ELEMENT_CHARS} characters (a row is at most 64 KiB)`);
      }
    }
  };
  for await (const chunk of chunks) {
    read(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
    if (out.length >= PIECE_CHARS) {
      yield encoder.encode(out);
      out = "";
    }
  }
  read(decoder.decode());
  if (state !== "closed") throw broken(inString ? "ends inside a string" : "ends before its closing ]");
  if (out !== "") yield encoder.encode(out);
}

/** The longest element of a JSON array read for an import: past the server's row limit, with room for escapes. */
const MAX_ELEMENT_CHARS = 1 << 18;

const isBytes = (value: unknown): value is Uint8Array | string => typeof value === "string" || value instanceof Uint8Array;

/** A ReadableStream's chunks (Node's web streams are async iterable, browsers' not everywhere). */
async function* chunksOf<T>(stream: ReadableStream<T>): AsyncGenerator<T> {
  const reader = stream.getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) yield r.value;
  } finally {
    reader.releaseLock();
  }
}

async function* startingWith<T>(first: T, rest: AsyncIterator<T>): AsyncGenerator<T> {
  yield first;
  for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
}

/** What fileBody needs of node:fs (looked up at run time: the browser entry imports no node: module). */
interface NodeFs {
  promises: { open(path: string): Promise<{ createReadStream(options: { highWaterMark: number }): AsyncIterable<Uint8Array> }> };
}

/** A file's bytes (Node): opened at once, so that a missing file fails here rather than in the middle of the request. */
async function fileBody(path: string): Promise<AsyncIterable<Uint8Array>> {
  const fs = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.("node:fs") as NodeFs | undefined;
  if (!fs) throw new TypeError("importUsers: a file path needs Node 20.16 or later; pass a stream of the file's bytes instead");
  // An ECMError naming the file, from ECMSync's worker too (Node's own error would lose its code there).
  const handle = await fs.promises.open(path).catch((err: unknown) => {
    throw new ECMError(`importUsers: cannot read the file ${JSON.stringify(path)} (${(err as { code?: string }).code ?? (err as Error).message})`, { cause: err });
  });
  return handle.createReadStream({ highWaterMark: 1 << 16 });
}

/**
 * Whether the server reads an import in this charset: a name of the Encoding Standard (what it decodes
 * with), but not UTF-16, whose ASCII is not ASCII's bytes (refused for every body).
 */
function isCharset(label: unknown): label is string {
  if (typeof label !== "string" || !/^[\w.:-]+$/.test(label)) return false;
  try {
    return !new TextDecoder(label).encoding.startsWith("utf-16");
  } catch {
    return false;
  }
}

/** The body of an import, its format, and the charset its bytes are in. */
interface ImportBody {
  body: AsyncIterable<Uint8Array> | Blob;
  format: ImportFormat;
  charset: string;
}

/**
 * The request body a source gives: bytes as they are (with their format, in `charset` — else a Blob's
 * own, else UTF-8), records as NDJSON.
 */
async function importBody(source: ImportSource, format: ImportFormat | undefined, charset: string | undefined, refused: RefusedRecords): Promise<ImportBody> {
  if (typeof source === "string") return bodyOf(await fileBody(source), format ?? formatOfName(source), charset, refused);
  if (typeof Blob !== "undefined" && source instanceof Blob) {
    const named = formatOfType(source.type) ?? formatOfName((source as Blob & { name?: string }).name);
    const own = /;\s*charset\s*=\s*"?([\w.:-]+)/i.exec(source.type)?.[1];
    const sniffed = readAs(new Uint8Array(await source.slice(0, 64).arrayBuffer()), format ?? named);
    if (sniffed !== "csv" && sniffed !== "ndjson") return sniffedBody(chunksOf(source.stream() as ReadableStream<Uint8Array>), sniffed, charset ?? own, refused);
    return { body: source, format: sniffed, charset: charset ?? own ?? "utf-8" };
  }
  if (source instanceof Uint8Array) return bodyOf([source], format, charset, refused);
  return bodyOf(source as Exclude<ImportSource, string | Blob | Uint8Array>, format, charset, refused);
}

async function bodyOf(source: Exclude<ImportSource, string | Blob | Uint8Array>, format: ImportFormat | undefined, charset: string | undefined, refused: RefusedRecords): Promise<ImportBody> {
  const iterator =
    typeof ReadableStream !== "undefined" && source instanceof ReadableStream ? chunksOf(source)
    : source !== null && typeof source === "object" && Symbol.asyncIterator in source ? (source as AsyncIterable<unknown>)[Symbol.asyncIterator]()
    : source !== null && typeof source === "object" && Symbol.iterator in source ? (async function* () { yield* source as Iterable<unknown>; })()
    : undefined;
  if (!iterator) throw new TypeError("importUsers: the source must be a file path, a Blob, bytes, a stream or an iterable");
  const first = await iterator.next();
  if (first.done) return { body: bytesOf([]), format: format ?? "ndjson", charset: "utf-8" };
  const all = startingWith(first.value, iterator);
  // Strings are text already, sent as UTF-8 as records are: a charset could only be wrong for them.
  if (charset !== undefined && !(first.value instanceof Uint8Array)) throw new TypeError("importUsers: charset is of bytes; strings and records are sent as UTF-8, leave charset out");
  if (isBytes(first.value)) return sniffedBody(all as AsyncIterable<Uint8Array | string>, readAs(first.value, format), charset, refused);
  if (format === "csv") throw new TypeError("importUsers: records are sent as NDJSON; leave format out");
  return { body: ndjsonOf(all as AsyncIterable<ImportUserRecord>, refused, importRow), format: "ndjson", charset: "utf-8" };
}

/**
 * The answer's NDJSON lines as results, as its bytes arrive, with the records the SDK refused in their
 * places; the summary (or the failure that ended it) at the end.
 */
export class ImportResults {
  constructor(readonly refused: RefusedRecords) {}
  readonly #decoder = new TextDecoder();
  #pending = "";
  #summary: ECMImportSummary | undefined;
  #failure: { code: string; message: string } | undefined;

  push(chunk: Uint8Array): ECMImportResult[] {
    const lines = (this.#pending + this.#decoder.decode(chunk, { stream: true })).split("\n");
    this.#pending = lines.pop()!;
    const results: ECMImportResult[] = [];
    for (const line of lines) {
      if (line === "") continue;
      const parsed = JSON.parse(line) as { line?: number; username?: string; status?: ECMImportResult["status"]; id?: string; error?: ECMImportResult["error"]; summary?: ECMImportSummary };
      if (parsed.summary) {
        results.push(...this.refused.before(Infinity));
        this.#summary = { ...parsed.summary, failed: parsed.summary.failed + this.refused.count };
      } else if (parsed.line === undefined) this.#failure = parsed.error;
      else {
        results.push(...this.refused.before(parsed.line));
        const result: ECMImportResult = { line: parsed.line, username: parsed.username, status: parsed.status! };
        if (parsed.id !== undefined) result.guid = parsed.id;
        // Rows made from records are refused in the names they were given (remark, not description).
        if (parsed.error !== undefined) result.error = this.refused.fromRecords ? rowErrorInSdkNames(parsed.error) : parsed.error;
        results.push(result);
      }
    }
    return results;
  }

  /** The summary; throws when the import ended early (every row answered before is imported). */
  end(): ECMImportSummary {
    if (this.#failure) {
      const { code, message } = this.#failure;
      // The answer's status was 200; the error is typed, and its status given, as the code's own.
      const status = STATUS_OF_CODE[code] ?? 500;
      throw new (errorClassForStatus(status))(`${code}-E ${message}`, { status, code, serverMessage: message });
    }
    if (!this.#summary) throw new ECMConnectionError("the import's answer ended before its summary: the rows answered so far are imported, the others are not");
    return this.#summary;
  }
}
