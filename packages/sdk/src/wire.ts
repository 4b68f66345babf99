/**
 * How a request goes on the wire: by `fetch`, or, in a Node process without WebAssembly (`node
 * --jitless`) or without fetch (`--no-experimental-fetch`), by node:http(s). Node's fetch parses HTTP
 * with WebAssembly: without it a request fails, and merely touching its `Response` or `Headers` loads a
 * parser whose failure nothing can catch, which ends the process. node:http is looked up at run time,
 * so the browser entry imports no node: module.
 */

/** What the transport reads of an answer: as fetch's Response has it, or as made here from node:http's. */
export interface WireResponse {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
}

export interface WireRequest {
  method: string;
  headers: Record<string, string>;
  body: string | Blob | ReadableStream<Uint8Array> | undefined;
  signal: AbortSignal;
}

/**
 * Sends a request; rejects as fetch does: with the signal's reason once it aborted, else a TypeError
 * whose `cause` is the network's error (its `code`: ECONNREFUSED, …). Redirects are not followed.
 */
export function send(url: string, request: WireRequest): Promise<WireResponse> {
  const http = typeof WebAssembly === "undefined" || typeof fetch !== "function" ? nodeHttp(url) : undefined;
  if (!http) {
    const { method, headers, body, signal } = request;
    return fetch(url, { method, headers, body, signal, redirect: "manual", ...(body instanceof ReadableStream && { duplex: "half" }) } as RequestInit);
  }
  return sendByNodeHttp(http, url, request);
}

/** The parts of node:http(s) used here. */
interface NodeIncoming extends AsyncIterable<Uint8Array> {
  statusCode?: number;
  statusMessage?: string;
  headers: Record<string, string | string[] | undefined>;
  resume(): void;
  destroy(error?: unknown): void;
}
interface NodeRequest {
  readonly destroyed: boolean;
  on(event: "response", listener: (res: NodeIncoming) => void): this;
  on(event: "error", listener: (error: Error) => void): this;
  once(event: "drain" | "close", listener: () => void): this;
  write(chunk: Uint8Array): boolean;
  end(chunk?: Uint8Array): void;
  destroy(error?: unknown): void;
}
interface NodeHttp {
  request(url: URL, options: { method: string; headers: Record<string, string> }): NodeRequest;
}

/** node:http or node:https for the URL, where the runtime is Node (20.16 or later: process.getBuiltinModule). */
function nodeHttp(url: string): NodeHttp | undefined {
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return process?.getBuiltinModule?.(url.startsWith("https:") ? "node:https" : "node:http") as NodeHttp | undefined;
}

/** Statuses whose answer has no body (as fetch gives them: `body` null). */
const NO_BODY = new Set([204, 205, 304]);

function sendByNodeHttp(http: NodeHttp, url: string, { method, headers, body, signal }: WireRequest): Promise<WireResponse> {
  return new Promise<WireResponse>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    // Framed as fetch frames it: node:http sends a DELETE's body unframed unless told its length.
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
    const length = bytes instanceof Uint8Array ? bytes.length : bytes instanceof Blob ? bytes.size : undefined;
    const framing: Record<string, string> = bytes === undefined ? {} : length === undefined ? { "transfer-encoding": "chunked" } : { "content-length": String(length) };
    const req = http.request(new URL(url), { method, headers: { ...headers, ...framing } });
    // Aborting ends the request, and the answer's body where it is being read.
    signal.addEventListener("abort", () => req.destroy(signal.reason), { once: true });
    req.on("error", (error) => reject(signal.aborted ? signal.reason : new TypeError("fetch failed", { cause: error })));
    // The answer may come while the body still goes up (an import's results).
    req.on("response", (res) => resolve(responseOf(res, method, signal)));
    sendBody(req, bytes).catch((error: unknown) => req.destroy(error));
  });
}

async function sendBody(req: NodeRequest, body: Uint8Array | Blob | ReadableStream<Uint8Array> | undefined): Promise<void> {
  if (body === undefined) return req.end();
  if (body instanceof Uint8Array) return req.end(body);
  for await (const chunk of body instanceof ReadableStream ? body : (body.stream() as ReadableStream<Uint8Array>)) {
    if (req.destroyed) return;
    if (!req.write(chunk)) await new Promise<void>((resolve) => (req.once("drain", resolve), req.once("close", resolve)));
  }
  req.end();
}

function responseOf(res: NodeIncoming, method: string, signal: AbortSignal): WireResponse {
  const status = res.statusCode ?? 0;
  let body: ReadableStream<Uint8Array> | null = null;
  if (method === "HEAD" || NO_BODY.has(status)) res.resume();
  else {
    const chunks = res[Symbol.asyncIterator]();
    body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          // A connection cut before the answer's end, or an abort, fails the read as fetch's does.
          const next = await chunks.next().catch((error: unknown) => Promise.reject(signal.aborted ? signal.reason : new TypeError("terminated", { cause: error })));
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel: () => res.destroy(),
      },
      { highWaterMark: 0 },
    );
  }
  return {
    status,
    statusText: res.statusMessage ?? "",
    ok: status >= 200 && status < 300,
    headers: {
      get(name) {
        const value = res.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
      },
    },
    body,
    async text() {
      if (!body) return "";
      const parts: Uint8Array[] = [];
      for await (const part of body as unknown as AsyncIterable<Uint8Array>) parts.push(part);
      return new TextDecoder().decode(concat(parts));
    },
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}
