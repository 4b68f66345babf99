/** ECMSync's worker thread: runs the async client and answers each call on the shared port. */
import { workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { serializeError } from "./errors.js";
import { Transport, type ECMOptions } from "./http.js";
import { RefusedRecords, startImport } from "./import-users.js";
import { Security } from "./security.js";
import type { ImportOptions, ImportSource } from "./types.js";

interface WorkerData {
  options: ECMOptions;
  port: MessagePort;
  flag: SharedArrayBuffer;
}

export interface CallMessage {
  id: number;
  method: string;
  args: unknown[];
}

const data = workerData as WorkerData;
const flag = new Int32Array(data.flag);
const port = data.port;
const http = new Transport(data.options);
const security = new Security(http);

function reply(msg: { id: number; ok: boolean; value?: unknown; error?: unknown }): void {
  // Bytes move to the calling thread, not a copy of them.
  port.postMessage(msg, msg.value instanceof Uint8Array ? [msg.value.buffer as ArrayBuffer] : []);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

/** Bytes read ahead of the calling thread, at most; it parses them while the next ones arrive. */
const READ_AHEAD = 1 << 20;

/** A streamed answer read ahead into a bounded buffer, handed out in pieces of up to READ_AHEAD bytes. */
class ByteStream {
  readonly #iterator: AsyncIterator<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #done = false;
  #error: unknown;
  #wake: (() => void) | undefined;
  #resume: (() => void) | undefined;

  constructor(chunks: AsyncIterable<Uint8Array>) {
    this.#iterator = chunks[Symbol.asyncIterator]();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        if (this.#bytes >= READ_AHEAD) await new Promise<void>((r) => (this.#resume = r));
        const r = await this.#iterator.next();
        if (r.done) break;
        this.#chunks.push(r.value);
        this.#bytes += r.value.byteLength;
        this.#wake?.();
      }
    } catch (err) {
      this.#error = err;
    }
    this.#done = true;
    this.#wake?.();
  }

  /** The bytes read so far (in one buffer of their own, to transfer), or null at the end; a read error after the bytes before it. */
  async read(): Promise<Uint8Array | null> {
    while (this.#chunks.length === 0 && !this.#done) await new Promise<void>((r) => (this.#wake = r));
    this.#wake = undefined;
    if (this.#chunks.length === 0) {
      if (this.#error !== undefined) throw this.#error;
      return null;
    }
    const out = new Uint8Array(this.#bytes);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    this.#chunks = [];
    this.#bytes = 0;
    this.#resume?.();
    this.#resume = undefined;
    return out;
  }

  close(): void {
    void this.#iterator.return?.();
  }
}

const streams = new Map<number, ByteStream>();
let nextStream = 1;

/** Pieces of an import's source the calling thread handed over that fetch has not read yet, at most. */
const QUEUED_PIECES = 4;

/** An import's source as the calling thread hands it over, a piece (an array of items) at a time. */
class UploadQueue {
  #pieces: unknown[][] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  #room: (() => void) | undefined;

  add(piece: unknown[] | undefined, last: boolean): void {
    if (piece) this.#pieces.push(piece);
    if (last) this.#ended = true;
    this.#wake?.();
  }

  get wantsMore(): boolean {
    return !this.#ended && this.#pieces.length < QUEUED_PIECES;
  }

  /** Resolves when another piece is wanted (never, once the source ended). */
  room(): Promise<void> {
    return this.wantsMore ? Promise.resolve() : new Promise<void>((resolve) => (this.#room = resolve));
  }

  async *items(): AsyncGenerator<unknown> {
    for (;;) {
      const piece = this.#pieces.shift();
      if (piece) {
        if (this.wantsMore) this.#room?.();
        yield* piece;
      } else if (this.#ended) return;
      else await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

/** An import under way: its source, its answer once it starts, and a read of it that may still be pending. */
interface Upload {
  queue: UploadQueue;
  /** Records refused here, handed to the calling thread with the bytes they come before. */
  refused: RefusedRecords;
  answer: Promise<ByteStream>;
  read?: Promise<Uint8Array | null>;
}
const uploads = new Map<number, Upload>();

/**
 * What the calling thread hears back after handing over a piece: the answer's bytes so far, or that
 * another piece is wanted, or (bytes null, more false) the end of the answer.
 */
async function exchange(upload: Upload): Promise<{ bytes: Uint8Array | null; more: boolean; refused: ReturnType<RefusedRecords["handOver"]> }> {
  upload.read ??= upload.answer.then((stream) => stream.read());
  const next = await Promise.race([upload.read.then((bytes) => ({ bytes })), upload.queue.room().then(() => undefined)]);
  // Taken after the read: every record refused before a line the bytes answer is among them.
  if (!next) return { bytes: null, more: true, refused: upload.refused.handOver() };
  upload.read = undefined;
  return { bytes: next.bytes, more: next.bytes !== null && upload.queue.wantsMore, refused: upload.refused.handOver() };
}

async function dispatch(method: string, args: unknown[]): Promise<unknown> {
  switch (method) {
    case "login": {
      const t = await http.login(undefined, (args[0] as { timeout?: number } | undefined)?.timeout);
      return { expiresIn: t.expiresIn, tokenType: t.tokenType, accessToken: t.accessToken };
    }
    case "logout":
      return http.logout((args[0] as { timeout?: number } | undefined) ?? {});
    case "token":
      return http.token;
    case "request": {
      const [m, path, opts] = args as [string, string, { query?: Record<string, string | number | boolean | undefined>; body?: unknown; timeout?: number }];
      return (await http.request(m, path, opts)).data;
    }
    case "stream.open": {
      const [path, query, timeout] = args as [string, Record<string, string | number | boolean | undefined>, number | undefined];
      const res = await http.request<AsyncIterable<Uint8Array>>("GET", path, { query, timeout, stream: true });
      const id = nextStream++;
      streams.set(id, new ByteStream(res.data));
      return id;
    }
    case "stream.read": {
      const stream = streams.get(args[0] as number);
      if (!stream) throw new TypeError("no such stream");
      const bytes = await stream.read().catch((err: unknown) => {
        streams.delete(args[0] as number);
        throw err;
      });
      if (bytes === null) streams.delete(args[0] as number);
      return bytes;
    }
    case "stream.close":
      streams.get(args[0] as number)?.close();
      streams.delete(args[0] as number);
      return undefined;
    case "import.open": {
      // A file path or bytes are the whole source; else the calling thread hands it over with import.exchange.
      const [source, opts] = args as [string | Uint8Array | undefined, Omit<ImportOptions, "signal">];
      const queue = new UploadQueue();
      // A whole source wants no pieces: the exchanges wait for the answer, not for room (which they would find at once, again and again).
      if (source !== undefined) queue.add(undefined, true);
      const refused = new RefusedRecords();
      const answer = startImport(http, (source ?? queue.items()) as ImportSource, opts, refused).then((bytes) => new ByteStream(bytes));
      answer.catch(() => undefined); // reported by the next exchange
      const id = nextStream++;
      uploads.set(id, { queue, refused, answer });
      return id;
    }
    case "import.exchange": {
      const [id, piece, last] = args as [number, unknown[] | undefined, boolean];
      const upload = uploads.get(id);
      if (!upload) throw new TypeError("no such import");
      upload.queue.add(piece, last);
      const out = await exchange(upload).catch((err: unknown) => {
        uploads.delete(id);
        throw err;
      });
      if (out.bytes === null && !out.more) uploads.delete(id);
      return out;
    }
    case "import.close": {
      const upload = uploads.get(args[0] as number);
      uploads.delete(args[0] as number);
      upload?.queue.add(undefined, true);
      void upload?.answer.then((stream) => stream.close(), () => undefined);
      return undefined;
    }
  }
  if (method.startsWith("security.")) {
    const name = method.slice("security.".length);
    const fn = (security as unknown as Record<string, unknown>)[name];
    if (typeof fn !== "function" || name === "constructor" || name === "iterUsers" || name === "iterUserBatches" || name === "iterExport" || name === "importUsers" || name.endsWith("Stream")) {
      throw new TypeError(`unknown method ${method}`);
    }
    return (fn as (...a: unknown[]) => Promise<unknown>).apply(security, args);
  }
  throw new TypeError(`unknown method ${method}`);
}

port.on("message", (m: CallMessage) => {
  dispatch(m.method, m.args).then(
    (value) => reply({ id: m.id, ok: true, value }),
    (err: unknown) => reply({ id: m.id, ok: false, error: serializeError(err) }),
  );
});

// Heartbeat: the blocked caller checks that this thread is alive.
setInterval(() => Atomics.add(flag, 1, 1), 250).unref();

process.on("uncaughtException", (err) => reply({ id: -1, ok: false, error: serializeError(err) }));
