/**
 * A `fetch` for long streamed answers (the users list, the export) that reads them on a worker thread:
 * the socket, the HTTP parsing and the buffering run there, and the calling thread only parses the
 * bytes, up to a megabyte at a time, while the next ones arrive. At a million users that reading is
 * a fifth of what the calling thread would otherwise do (docs/benchmarks.md, issue 15). Node only;
 * one thread for the whole process, started at the first streamed request, holding the process open
 * only while a request is under way. Where no thread may start, it is global fetch.
 */
import { Worker } from "node:worker_threads";

/** Bytes the worker reads ahead of the calling thread, at most. */
const READ_AHEAD = 1 << 20;

// Plain JavaScript (no imports, nothing a transpiler rewrites): it runs as given, whatever ran the SDK.
const WORKER_CODE = `
const { parentPort } = require("node:worker_threads");
const READ_AHEAD = ${READ_AHEAD};
const streams = new Map();
function fail(id, err) {
  const cause = err && err.cause;
  parentPort.postMessage({ type: "error", id, message: String((err && err.message) || err), code: cause && cause.code, cause: cause && cause.message });
}
function flush(s) {
  if (!s.wanted) return;
  if (s.chunks.length > 0) {
    const out = new Uint8Array(s.bytes);
    let at = 0;
    for (const c of s.chunks) { out.set(c, at); at += c.byteLength; }
    s.chunks = [];
    s.bytes = 0;
    s.wanted = false;
    parentPort.postMessage({ type: "bytes", id: s.id, bytes: out }, [out.buffer]);
    if (s.resume) { const r = s.resume; s.resume = undefined; r(); }
  } else if (s.done) {
    streams.delete(s.id);
    if (s.error !== undefined) fail(s.id, s.error);
    else parentPort.postMessage({ type: "bytes", id: s.id, bytes: null });
  }
}
async function open(m) {
  const s = { id: m.id, controller: new AbortController(), chunks: [], bytes: 0, done: false, error: undefined, wanted: false, resume: undefined };
  streams.set(m.id, s);
  let res;
  try {
    res = await fetch(m.url, { method: m.method, headers: m.headers, signal: s.controller.signal, redirect: "manual" });
  } catch (err) {
    streams.delete(m.id);
    return fail(m.id, err);
  }
  parentPort.postMessage({ type: "head", id: m.id, status: res.status, statusText: res.statusText, headers: [...res.headers] });
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        if (!streams.has(m.id)) return;
        s.chunks.push(chunk);
        s.bytes += chunk.byteLength;
        flush(s);
        if (s.bytes >= READ_AHEAD) await new Promise((r) => (s.resume = r));
      }
    }
  } catch (err) {
    s.error = err;
  }
  s.done = true;
  flush(s);
}
parentPort.on("message", (m) => {
  if (m.type === "open") return void open(m);
  const s = streams.get(m.id);
  if (!s) return;
  if (m.type === "read") {
    s.wanted = true;
    flush(s);
  } else {
    streams.delete(m.id);
    s.controller.abort();
    if (s.resume) s.resume();
  }
});
`;

type WorkerMessage =
  | { type: "head"; id: number; status: number; statusText: string; headers: [string, string][] }
  | { type: "bytes"; id: number; bytes: Uint8Array | null }
  | { type: "error"; id: number; message: string; code?: string; cause?: string };

/** A request under way: what its next message from the worker goes to. */
type Pending = (m: WorkerMessage | { type: "lost"; error: Error }) => void;

let reader: { worker: Worker; pending: Map<number, Pending> } | undefined;
/** A thread could not be started here (a permission model, a runtime without threads): global fetch from then on. */
let noThreads = false;
let nextId = 1;

function startReader(): NonNullable<typeof reader> {
  // execArgv: []: the caller's flags (--max-old-space-size, --input-type) are not the worker's to take.
  const worker = new Worker(WORKER_CODE, { eval: true, execArgv: [] });
  const pending = new Map<number, Pending>();
  const started = { worker, pending };
  worker.on("message", (m: WorkerMessage) => pending.get(m.id)?.(m));
  let online = false;
  worker.once("online", () => (online = true));
  const lost = (err: unknown) => {
    if (reader === started) reader = undefined;
    // A thread that never ran will not run next time either: the requests it failed are sent again without one.
    if (!online) noThreads = true;
    const error = new TypeError("fetch failed", { cause: { code: "ECONNRESET", message: `the thread reading the answer stopped: ${(err as Error)?.message ?? err}` } });
    for (const go of [...pending.values()]) go({ type: "lost", error });
  };
  worker.on("error", lost);
  worker.on("exit", (code) => lost(new Error(`exit code ${code}`)));
  // After the listeners: one for "message" holds the thread's port open again. Held while a request is under way.
  worker.unref();
  return started;
}

/** A fetch error as fetch throws it: the connection's code in `cause`, where the Transport looks for it. */
function fetchError(m: { message: string; code?: string; cause?: string }): TypeError {
  return new TypeError(m.message, { cause: { code: m.code, message: m.cause ?? m.message } });
}

/** fetch, for requests without a body; the answer's bytes read on the worker thread. */
export function workerFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  if (noThreads || init.body != null) return fetch(url, init);
  try {
    reader ??= startReader();
  } catch {
    noThreads = true;
    return fetch(url, init);
  }
  const { worker, pending } = reader;
  const id = nextId++;
  const signal = init.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (pending.size === 0) worker.ref();
  const done = () => {
    pending.delete(id);
    signal?.removeEventListener("abort", onAbort);
    if (pending.size === 0) worker.unref();
  };
  let fail: (err: unknown) => void = () => undefined;
  const onAbort = () => {
    worker.postMessage({ type: "abort", id });
    done();
    fail(signal!.reason);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  return new Promise<Response>((resolve, reject) => {
    fail = reject;
    pending.set(id, (m) => {
      if (m.type === "lost" || m.type === "error") {
        done();
        return reject(m.type === "lost" ? m.error : fetchError(m));
      }
      if (m.type !== "head") return;
      // The answer's body, read a piece at a time as the caller asks for it.
      let waiting: { controller: ReadableStreamDefaultController<Uint8Array>; resolve: () => void } | undefined;
      /** Why the body ended early (an abort), for a read still to come. */
      let ended: { reason: unknown } | undefined;
      const body = new ReadableStream<Uint8Array>(
        {
          pull: (controller) => {
            if (ended) return controller.error(ended.reason);
            return new Promise<void>((resolvePull) => {
              waiting = { controller, resolve: resolvePull };
              worker.postMessage({ type: "read", id });
            });
          },
          cancel: () => {
            if (!pending.has(id)) return;
            worker.postMessage({ type: "abort", id });
            done();
          },
        },
        { highWaterMark: 0 },
      );
      fail = (reason) => {
        ended = { reason };
        waiting?.controller.error(reason);
        waiting?.resolve();
        waiting = undefined;
      };
      pending.set(id, (next) => {
        const w = waiting;
        waiting = undefined;
        if (next.type === "bytes" && next.bytes !== null) w?.controller.enqueue(next.bytes);
        else if (next.type === "bytes") {
          done();
          w?.controller.close();
        } else {
          done();
          ended = { reason: next.type === "lost" ? next.error : fetchError(next as { message: string; code?: string; cause?: string }) };
          w?.controller.error(ended.reason);
        }
        w?.resolve();
      });
      const empty = m.status === 204 || m.status === 205 || m.status === 304;
      if (empty) void body.cancel();
      resolve(new Response(empty ? null : body, { status: m.status, statusText: m.statusText, headers: m.headers }));
    });
    worker.postMessage({ type: "open", id, url: String(url), method: init.method ?? "GET", headers: Object.fromEntries(new Headers(init.headers)) });
  });
}
