/** ECMSync's worker thread: runs the async client and answers each call on the shared port. */
import { workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { serializeError } from "./errors.js";
import { Transport, type ECMOptions } from "./http.js";
import { Security } from "./security.js";

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
  }
  if (method.startsWith("security.")) {
    const name = method.slice("security.".length);
    const fn = (security as unknown as Record<string, unknown>)[name];
    if (typeof fn !== "function" || name === "constructor" || name === "iterUsers" || name === "iterExport" || name.endsWith("Stream")) {
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
