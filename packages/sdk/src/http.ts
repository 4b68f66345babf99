import { SERVER_CODES } from "./codes.js";
import {
  ECMAbortError,
  ECMAuthError,
  ECMConnectionError,
  ECMError,
  ECMTimeoutError,
  errorFromResponse,
  parseRetryAfter,
} from "./errors.js";
import { checkOptions } from "./options.js";
import { unreachableReason } from "./unreachable.js";
import { send, type WireResponse } from "./wire.js";

/** Options of `new ECM(...)` and `new ECMSync(...)`. */
export interface ECMOptions {
  /** Server base URL, e.g. `http://127.0.0.1:8080/portal` (a bare origin gets `/portal` appended). */
  baseUrl: string;
  // `| undefined`: `process.env.X` may be given as it is, also under `exactOptionalPropertyTypes`.
  /** Credentials: the client logs in itself and logs in again when the token expires. */
  username?: string | undefined;
  password?: string | undefined;
  /** Or an existing access token (no renewal possible once it expires). */
  token?: string | undefined;
  /** Or an API key (`ecm_…`, made by an administrator): it does not expire with idle time, and there is no login. */
  apiKey?: string | undefined;
  /**
   * Default timeout per call in milliseconds, including retries (default 30000). For a streamed list or
   * export: for its answer to start, and then for each next piece of it (not for the whole).
   */
  timeout?: number;
  /** Retries of idempotent requests on connection failure or 503 (default 3). */
  retries?: number;
  /** First backoff delay in milliseconds; doubles per retry, with jitter (default 200). */
  retryDelay?: number;
  /** Longest backoff delay in milliseconds (default 5000). */
  maxRetryDelay?: number;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  timeout?: number | undefined;
  /** Retry on connection failure / 503. Defaults to true for GET, HEAD, PUT, DELETE. */
  idempotent?: boolean;
  /** Send the bearer token (default true). */
  auth?: boolean;
  /** Answer a successful response with its body as an async iterable of byte chunks, unread. */
  stream?: boolean;
  /**
   * A body sent as it is read, instead of `body`: sent once (no retry, no renewal and resend after a
   * 401), while the answer may already arrive (see Transport.#send).
   */
  upload?: { body: AsyncIterable<Uint8Array> | Blob; contentType: string };
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: WireResponse["headers"];
  data: T;
  url: string;
}

export interface TokenInfo {
  accessToken: string;
  expiresIn: number;
  tokenType: string;
}

/** How often and how soon requests are sent again (the options' values or their defaults). */
export interface RetryPolicy {
  retries: number;
  retryDelay: number;
  maxRetryDelay: number;
}

export function retryPolicy(opts: ECMOptions): RetryPolicy {
  return { retries: opts.retries ?? 3, retryDelay: opts.retryDelay ?? 200, maxRetryDelay: opts.maxRetryDelay ?? 5_000 };
}

/** Delay before retry number `attempt` (0-based): base·2^attempt capped at max, with 50–100% jitter. */
export function backoffDelay(attempt: number, base: number, max: number, random: () => number = Math.random): number {
  const raw = Math.min(max, base * 2 ** attempt);
  return Math.round(raw * (0.5 + random() * 0.5));
}

/**
 * After `err` while reading a streamed answer: rethrows it, unless the connection dropped and fewer than
 * `retries` drops came in a row (`attempt` of them); then the milliseconds to wait before reading again.
 */
export function readAgainAfter(err: unknown, attempt: number, retry: RetryPolicy): number {
  if (!(err instanceof ECMConnectionError) || attempt >= retry.retries) throw err;
  return backoffDelay(attempt, retry.retryDelay, retry.maxRetryDelay);
}

/** The base URL as the client uses it: `/portal` appended to a bare origin, no trailing slash. */
export function normalizeBaseUrl(baseUrl: string): string {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    throw new TypeError(`invalid baseUrl: ${JSON.stringify(baseUrl)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new TypeError(`baseUrl must be http(s): ${baseUrl}`);
  let path = u.pathname.replace(/\/+$/, "");
  if (path === "") path = "/portal";
  return `${u.origin}${path}`;
}

export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The longest delay setTimeout keeps (2^31 − 1 ms). */
const TIMER_MAX_MS = 2_147_483_647;

/**
 * A call's time limit: for the whole call, or for a streamed answer the wait for it to start and then
 * for each next chunk, so that a long answer that keeps arriving is never cut off.
 */
class Deadline {
  readonly #controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  constructor(readonly ms: number) {
    checkTimeout(ms);
    this.arm();
  }
  get signal(): AbortSignal {
    return this.#controller.signal;
  }
  arm(): void {
    this.clear();
    // Longer than a timer holds (about 24.8 days), Node's fires after 1 ms: a limit that long is none.
    if (this.ms <= TIMER_MAX_MS) this.#timer = setTimeout(() => this.#controller.abort(), this.ms);
  }
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** A value as a message quotes it: a string in quotes (`"5000"`), NaN as NaN. */
const shown = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : String(value));

/** A timeout as given: a string (`process.env.X` as it is) or 0 would be no timeout at all; Infinity says so on purpose. */
function checkTimeout(ms: unknown): void {
  if (typeof ms !== "number" || !(ms > 0)) throw new TypeError(`timeout must be a number of milliseconds above 0 (Infinity: none), not ${shown(ms)}`);
}

/** What `new ECM(…)` takes: another name (a typo, snake_case) would be dropped, its default used instead. */
const CLIENT_OPTIONS = ["baseUrl", "username", "password", "token", "apiKey", "timeout", "retries", "retryDelay", "maxRetryDelay"];

/** The ways to sign in, of which a client takes one. */
const GIVE_EITHER = "ECM: give either { username, password }, { token } or { apiKey }";

function checkClientOptions(opts: ECMOptions): void {
  // A signal is a call's option (`{ signal }` on each call): the client would otherwise take it and never use it.
  if (opts !== null && typeof opts === "object" && "signal" in opts) throw new TypeError('unknown option "signal": pass it to each call, as in users({ signal })');
  checkOptions(opts, CLIENT_OPTIONS);
  if (opts.timeout !== undefined) checkTimeout(opts.timeout);
  if (opts.retries !== undefined && !(Number.isSafeInteger(opts.retries) && opts.retries >= 0)) throw new TypeError(`retries must be a whole number from 0, not ${shown(opts.retries)}`);
  for (const name of ["retryDelay", "maxRetryDelay"] as const) {
    const ms = opts[name];
    // Past 2^31 - 1 ms (about 24.8 days) a timer fires at once: the wait would be no wait.
    if (ms !== undefined && !(typeof ms === "number" && ms >= 0 && ms <= TIMER_MAX_MS)) throw new TypeError(`${name} must be a number of milliseconds from 0 to ${TIMER_MAX_MS}, not ${shown(ms)}`);
  }
}

async function* chunks(body: ReadableStream<Uint8Array>, readError: (err: unknown) => unknown, deadline: Deadline): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      deadline.arm();
      try {
        r = await reader.read();
      } catch (err) {
        throw readError(err);
      } finally {
        deadline.clear();
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    // A consumer that stops early (break, error) releases the connection.
    await reader.cancel().catch(() => undefined);
  }
}

/** `promise`, or a rejection as soon as `signal` aborts (the promise goes on for whoever else waits for it). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener("abort", onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener("abort", onAbort), reject(error)),
    );
  });
}

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
/** Renew a little before the server's idle lifetime ends. */
const RENEW_MARGIN_MS = 15_000;

/**
 * A streamed request body for fetch. Node's fetch (undici) reads the answer while it still sends this
 * (an import's results arrive as the file goes up); browsers send it whole first, and only over HTTP/2.
 * A failure of the source is kept, so that the call reports it rather than the connection it broke.
 */
function uploadStream(chunks: AsyncIterable<Uint8Array>, failed: { error?: unknown }): ReadableStream<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (error) {
        failed.error = error;
        throw error;
      }
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

/** HTTP transport: tokens, retries, timeouts, error mapping. */
export class Transport implements RetryPolicy {
  readonly baseUrl: string;
  readonly timeout: number;
  readonly retries: number;
  readonly retryDelay: number;
  readonly maxRetryDelay: number;
  readonly #username: string | undefined;
  #password: string | undefined;
  #token: string | undefined;
  /** When the token was last used successfully (the server slides its lifetime on each use). */
  #lastUsed = 0;
  #expiresInMs = 300_000;
  #login: Promise<string> | undefined;
  /** Authenticated by an API key: nothing to log in or out. */
  readonly #apiKey: boolean;

  constructor(opts: ECMOptions) {
    // The names first: `base_url` is named as the misspelling it is, not reported missing as baseUrl.
    if (opts !== null && typeof opts === "object") checkClientOptions(opts);
    if (!opts || typeof opts.baseUrl !== "string") throw new TypeError("ECM: baseUrl is required");
    // One way to sign in: of two, one would be used and the other silently not.
    const ways = [["username", "password"], ["token"], ["apiKey"]].filter((names) => names.some((n) => opts[n as keyof ECMOptions] !== undefined));
    if (ways.length > 1) {
      const given = ways.flat().filter((n) => opts[n as keyof ECMOptions] !== undefined);
      throw new TypeError(`${GIVE_EITHER}, not { ${given.join(", ")} }`);
    }
    this.baseUrl = normalizeBaseUrl(opts.baseUrl);
    this.#username = opts.username;
    this.#password = opts.password;
    // A key as the server makes them: another could not even be sent (fetch refuses such a header) and would fail as a connection error.
    if (opts.apiKey !== undefined && !/^ecm_[\w-]*$/.test(opts.apiKey)) throw new TypeError("ECM: an apiKey starts with ecm_ and holds only letters, digits, - and _");
    this.#apiKey = opts.apiKey !== undefined;
    this.#token = opts.apiKey ?? opts.token;
    if (this.#token) this.#lastUsed = Date.now();
    if (!this.#token && (opts.username === undefined || opts.password === undefined)) {
      throw new TypeError(GIVE_EITHER);
    }
    this.timeout = opts.timeout ?? 30_000;
    ({ retries: this.retries, retryDelay: this.retryDelay, maxRetryDelay: this.maxRetryDelay } = retryPolicy(opts));
  }

  get hasCredentials(): boolean {
    return this.#username !== undefined && this.#password !== undefined;
  }

  get username(): string | undefined {
    return this.#username;
  }

  /** The signed-in user changed its password: logins from now on use the new one. */
  passwordChanged(password: string): void {
    if (this.#password !== undefined) this.#password = password;
  }

  /** The current access token, if any (for tools that store it, like `ecm login`). */
  get token(): string | undefined {
    return this.#token;
  }

  url(path: string, query?: RequestOptions["query"]): string {
    const absolute = /^https?:\/\//i.test(path);
    const u = absolute ? new URL(path) : new URL(this.baseUrl + path);
    // A cursor or link naming another server is not followed: the token would go with it.
    if (absolute && u.origin !== new URL(this.baseUrl).origin) {
      throw new ECMError(`${u.origin} is not the server this client talks to (${new URL(this.baseUrl).origin}): a cursor or link naming another one is not followed`);
    }
    if (query) {
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null) u.searchParams.set(k, String(v));
      }
    }
    return u.toString();
  }

  /** Logs in with the configured username and password (deduplicated when concurrent). */
  async login(signal?: AbortSignal, timeout?: number): Promise<TokenInfo> {
    if (!this.hasCredentials) {
      throw new ECMAuthError("no username/password configured; cannot log in", { status: 401, code: SERVER_CODES.authenticationRequired });
    }
    const res = await this.request<{ access_token: string; expires_in?: number; token_type?: string }>(
      "POST",
      "/auth/v1/providers/builtin/token",
      {
        body: { username: this.#username, password: this.#password },
        auth: false,
        idempotent: true,
        signal,
        timeout,
      },
    );
    const d = res.data;
    if (!d || typeof d.access_token !== "string") throw new ECMError("login answered without access_token");
    this.#token = d.access_token;
    this.#lastUsed = Date.now();
    if (typeof d.expires_in === "number" && d.expires_in > 0) this.#expiresInMs = d.expires_in * 1000;
    return { accessToken: d.access_token, expiresIn: d.expires_in ?? 300, tokenType: d.token_type ?? "bearer" };
  }

  async #ensureToken(signal: AbortSignal, forceRenew: boolean): Promise<string> {
    const stale =
      this.#token === undefined ||
      forceRenew ||
      (this.hasCredentials && Date.now() - this.#lastUsed > this.#expiresInMs - Math.min(RENEW_MARGIN_MS, this.#expiresInMs / 4));
    if (!stale) return this.#token!;
    if (!this.hasCredentials) {
      if (this.#token !== undefined && !forceRenew) return this.#token;
      throw new ECMAuthError("the access token is no longer valid and no credentials were given to renew it", {
        status: 401,
        code: SERVER_CODES.authenticationRequired,
      });
    }
    if (!this.#login) {
      // Shared by every call waiting for it: on no caller's signal (one caller's abort or short timeout
      // would fail the others), each waits for it on its own.
      this.#login = this.login().then((t) => t.accessToken);
      this.#login.then(
        () => (this.#login = undefined),
        () => (this.#login = undefined),
      );
    }
    return untilAborted(this.#login, signal);
  }

  /** Revokes the token on the server and forgets it. */
  async logout(opts: { signal?: AbortSignal | undefined; timeout?: number | undefined } = {}): Promise<void> {
    if (this.#token === undefined || this.#apiKey) return;
    try {
      await this.request("POST", "/auth/v1/logout", { ...opts, idempotent: true, renew: false } as RequestOptions);
    } finally {
      this.#token = undefined;
    }
  }

  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse<T>> {
    const timeout = opts.timeout ?? this.timeout;
    const deadline = new Deadline(timeout);
    try {
      return await this.#send<T>(method, path, opts, deadline);
    } finally {
      // A stream re-arms it for each chunk it waits for.
      deadline.clear();
    }
  }

  async #send<T>(method: string, path: string, opts: RequestOptions, deadline: Deadline): Promise<HttpResponse<T>> {
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;
    const abortError = (waitingFor = "timed out after"): ECMError => {
      if (opts.signal?.aborted) {
        return new ECMAbortError(`${method} ${path}: aborted`, { cause: opts.signal.reason });
      }
      return new ECMTimeoutError(`${method} ${path}: ${waitingFor} ${deadline.ms} ms`);
    };
    // A streamed body cannot be sent twice.
    // A conditional write sent again after it was applied would be refused (412): not retried.
    const conditional = Object.keys(opts.headers ?? {}).some((h) => h.toLowerCase() === "if-match");
    const idempotent = !opts.upload && (opts.idempotent ?? (IDEMPOTENT.has(method) && !conditional));
    const auth = opts.auth ?? true;
    const allowRenew = (opts as { renew?: boolean }).renew !== false && !opts.upload;
    const source: { error?: unknown } = {};
    const url = this.url(path, opts.query);
    let attempt = 0;
    let renewed = false;
    /** The connection dropped before an answer: the request may have been done already. */
    let dropped = false;
    for (;;) {
      if (signal.aborted) throw abortError();
      const headers: Record<string, string> = { accept: "application/json", ...opts.headers };
      let body: string | Blob | ReadableStream<Uint8Array> | undefined;
      if (opts.upload) {
        headers["content-type"] = opts.upload.contentType;
        body = opts.upload.body instanceof Blob ? opts.upload.body : uploadStream(opts.upload.body, source);
      } else if (opts.body !== undefined) {
        headers["content-type"] = "application/json";
        body = JSON.stringify(opts.body);
      }
      let usedToken: string | undefined;
      let res: WireResponse;
      try {
        if (auth) {
          usedToken = await this.#ensureToken(signal, false);
          headers.authorization = `Bearer ${usedToken}`;
        }
        res = await send(url, { method, headers, body, signal });
      } catch (err) {
        if (source.error !== undefined) throw source.error;
        if (signal.aborted) throw abortError();
        if (err instanceof ECMError) throw err;
        if (idempotent && attempt < this.retries) {
          // Refused or not found, the connection sent nothing: only one that broke may have been acted on.
          const code = (err as { cause?: { code?: string } }).cause?.code;
          if (code !== "ECONNREFUSED" && code !== "ENOTFOUND" && code !== "EAI_AGAIN") dropped = true;
          try {
            await sleep(backoffDelay(attempt++, this.retryDelay, this.maxRetryDelay), signal);
          } catch {
            throw abortError();
          }
          continue;
        }
        throw new ECMConnectionError(`cannot reach ${this.baseUrl}: ${unreachableReason(err, this.baseUrl)}`, { cause: err });
      }

      if (res.status === 401 && auth && allowRenew && this.hasCredentials && !renewed) {
        await res.body?.cancel().catch(() => undefined);
        renewed = true;
        if (this.#token === usedToken) this.#token = undefined;
        continue;
      }
      if (res.status === 503 && idempotent && attempt < this.retries) {
        await res.body?.cancel().catch(() => undefined);
        const ra = parseRetryAfter(res.headers.get("retry-after"));
        const delay = ra !== null ? Math.min(ra, this.maxRetryDelay) : backoffDelay(attempt, this.retryDelay, this.maxRetryDelay);
        attempt++;
        try {
          await sleep(delay, signal);
        } catch {
          throw abortError();
        }
        continue;
      }
      // Redirects are not followed (the token would go along): one is a mistake of baseUrl or of a proxy, said as such.
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel().catch(() => undefined);
        const to = res.headers.get("location");
        throw new ECMError(`${method} ${path}: the server answered ${res.status}${to ? ` to ${to}` : ""}, a redirect this client does not follow; check baseUrl (https? the /portal path? a proxy in between?)`, { status: res.status });
      }
      // Deleted by the try the connection dropped on: done.
      if (res.status === 404 && method === "DELETE" && dropped) {
        await res.body?.cancel().catch(() => undefined);
        return { status: 204, headers: res.headers, data: undefined as T, url };
      }
      // A web page where the API's JSON was expected: said as such, as a redirect is.
      if (res.ok && /^text\/html\b/i.test(res.headers.get("content-type") ?? "")) {
        await res.body?.cancel().catch(() => undefined);
        throw new ECMError(`${method} ${path}: the server answered a web page (text/html), not the API's JSON; check baseUrl (the /portal path? a proxy's login page in between?)`, { status: res.status });
      }
      const readError = (err: unknown): unknown => {
        if (source.error !== undefined) return source.error;
        if (signal.aborted) return abortError(opts.stream ? "no data for" : "timed out after");
        if ((err as { code?: string }).code === "ERR_STRING_TOO_LONG") {
          return new ECMError(`${method} ${path}: the response is too large for one string; read it in pages or as a stream`, { cause: err });
        }
        return new ECMConnectionError(`${method} ${path}: connection lost while reading the response`, { cause: err });
      };
      if (opts.stream && res.ok && res.body) {
        if (auth && usedToken !== undefined && usedToken === this.#token) this.#lastUsed = Date.now();
        return { status: res.status, headers: res.headers, data: chunks(res.body, readError, deadline) as T, url };
      }
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        throw readError(err);
      }
      if (!res.ok) {
        throw errorFromResponse(res.status, res.statusText, text, res.headers.get("retry-after"), /^text\/html\b/i.test(res.headers.get("content-type") ?? ""));
      }
      if (auth && usedToken !== undefined && usedToken === this.#token) this.#lastUsed = Date.now();
      let data: unknown = undefined;
      if (text !== "") {
        const ct = res.headers.get("content-type") ?? "";
        if (ct.includes("json") || /^\s*[[{"\d-]|^\s*(true|false|null)\s*$/.test(text)) {
          try {
            data = JSON.parse(text);
          } catch {
            data = text;
          }
        } else {
          data = text;
        }
      }
      return { status: res.status, headers: res.headers, data: data as T, url };
    }
  }
}
