/**
 * Typed errors. Every error the SDK throws is an {@link ECMError}; HTTP errors carry the server's
 * status, code (e.g. `ECMS1201`) and message, parsed from
 * `{"errorMessage": "<CODE>-E <text>", "additionalInfo": "<JSON as string>"}`.
 */

export interface ECMErrorInit {
  status?: number;
  code?: string;
  serverMessage?: string;
  additionalInfo?: unknown;
  retryAfterSeconds?: number | null;
  cause?: unknown;
}

export class ECMError extends Error {
  /** HTTP status, 0 when no response was received. */
  readonly status: number;
  /** Server error code such as `ECMS1201`, "" when the server gave none. */
  readonly code: string;
  /** The server's message text without the code prefix. */
  readonly serverMessage: string;
  /** The server's `additionalInfo`, parsed from JSON when possible. */
  readonly additionalInfo: unknown;
  /** When the server says to try again (its `Retry-After`, on a 429 or 503), in seconds; null when it did not say. */
  readonly retryAfterSeconds: number | null;

  constructor(message: string, init: ECMErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status ?? 0;
    this.code = init.code ?? "";
    this.serverMessage = init.serverMessage ?? message;
    this.additionalInfo = init.additionalInfo;
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
  }
}

/** 400: the request was invalid (bad field, bad value); also 413, 414 and 431, a body, a path part or a URL too large, and 415. */
export class ECMValidationError extends ECMError {}
/** 401: no valid credentials or token. */
export class ECMAuthError extends ECMError {}
/** 403: authenticated but not allowed. */
export class ECMPermissionError extends ECMError {}
/** 404: the resource does not exist. */
export class ECMNotFoundError extends ECMError {}
/** 409: conflict, e.g. the username is taken or a built-in object cannot be changed. */
export class ECMConflictError extends ECMError {}
/** 412: the If-Match version is stale. */
export class ECMPreconditionError extends ECMError {}
/** 429: too many requests (login attempts, rate limits). */
export class ECMTooManyRequestsError extends ECMError {}
/** 503 (after retries): the server is unavailable. */
export class ECMUnavailableError extends ECMError {}
/** Any other HTTP error status (5xx etc.). */
export class ECMServerError extends ECMError {}
/** No response: connection refused, reset, DNS failure (after retries). */
export class ECMConnectionError extends ECMError {}
/** The call's timeout elapsed. */
export class ECMTimeoutError extends ECMError {}
/** The caller's AbortSignal fired. */
export class ECMAbortError extends ECMError {}

export const errorClasses = {
  ECMError,
  ECMValidationError,
  ECMAuthError,
  ECMPermissionError,
  ECMNotFoundError,
  ECMConflictError,
  ECMPreconditionError,
  ECMTooManyRequestsError,
  ECMUnavailableError,
  ECMServerError,
  ECMConnectionError,
  ECMTimeoutError,
  ECMAbortError,
} as const;

export type ECMErrorName = keyof typeof errorClasses;

export function errorClassForStatus(status: number): typeof ECMError {
  switch (status) {
    case 400:
    case 413:
    case 414:
    case 415:
    case 422:
    case 431:
      return ECMValidationError;
    case 401:
      return ECMAuthError;
    case 403:
      return ECMPermissionError;
    case 404:
      return ECMNotFoundError;
    case 409:
      return ECMConflictError;
    case 412:
    case 428:
      return ECMPreconditionError;
    case 429:
      return ECMTooManyRequestsError;
    case 503:
      return ECMUnavailableError;
    default:
      return ECMServerError;
  }
}

const CODE_RE = /^\s*([A-Z][A-Z0-9]*\d+)-[EWI]\s*(.*)$/s;

/** Splits `"ECMS1201-E The user was not found."` into code and text. */
export function parseErrorMessage(errorMessage: string): { code: string; text: string } {
  const m = CODE_RE.exec(errorMessage);
  if (m) return { code: m[1]!, text: m[2]!.trim() };
  return { code: "", text: errorMessage.trim() };
}

/**
 * Builds the typed error for an HTTP error response body (already read as text) and its Retry-After
 * header. A web page (`html`: its content type) is not the server's answer but that of something in
 * between — a proxy, a load balancer whose nodes are down —, said as such in words, not as its markup.
 */
export function errorFromResponse(status: number, statusText: string, bodyText: string, retryAfter: string | null = null, html = false): ECMError {
  let code = "";
  let text = "";
  let additionalInfo: unknown;
  if (html) {
    text = `${status}${statusText ? ` ${statusText}` : ""} from something in between (a proxy, a load balancer: its web page, not the server's answer); is the server behind it running?`;
  } else if (bodyText) {
    try {
      const body = JSON.parse(bodyText) as unknown;
      if (body && typeof body === "object") {
        const b = body as Record<string, unknown>;
        if (typeof b.errorMessage === "string") ({ code, text } = parseErrorMessage(b.errorMessage));
        else if (typeof b.message === "string") text = b.message;
        if (typeof b.additionalInfo === "string" && b.additionalInfo !== "") {
          try {
            additionalInfo = JSON.parse(b.additionalInfo);
          } catch {
            additionalInfo = b.additionalInfo;
          }
        } else if (b.additionalInfo !== undefined && b.additionalInfo !== null) {
          additionalInfo = b.additionalInfo;
        }
      }
    } catch {
      text = bodyText.length > 200 ? bodyText.slice(0, 200) + "…" : bodyText;
    }
  }
  if (!text) text = statusText || `HTTP ${status}`;
  const Cls = errorClassForStatus(status);
  const message = code ? `${code}-E ${text}` : `HTTP ${status}: ${text}`;
  return new Cls(message, { status, code, serverMessage: text, additionalInfo, retryAfterSeconds: retryAfterSeconds(retryAfter) });
}

/** Retry-After in milliseconds: a number of seconds, or an HTTP date (RFC 9110 10.2.3); null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

function retryAfterSeconds(value: string | null): number | null {
  const ms = parseRetryAfter(value);
  return ms === null ? null : Math.ceil(ms / 1000);
}

/** Plain, structured-clonable form of an error, used by ECMSync to cross the worker boundary. */
export interface SerializedError {
  name: string;
  message: string;
  status: number;
  code: string;
  serverMessage: string;
  additionalInfo: unknown;
  retryAfterSeconds: number | null;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof ECMError) {
    let additionalInfo: unknown = err.additionalInfo;
    try {
      structuredClone(additionalInfo);
    } catch {
      additionalInfo = String(additionalInfo);
    }
    return {
      name: err.name,
      message: err.message,
      status: err.status,
      code: err.code,
      serverMessage: err.serverMessage,
      additionalInfo,
      retryAfterSeconds: err.retryAfterSeconds,
    };
  }
  const e = err as { name?: unknown; message?: unknown } | null;
  return {
    name: typeof e?.name === "string" && e.name === "TypeError" ? "TypeError" : "ECMError",
    message: typeof e?.message === "string" ? e.message : String(err),
    status: 0,
    code: "",
    serverMessage: "",
    additionalInfo: undefined,
    retryAfterSeconds: null,
  };
}

export function deserializeError(s: SerializedError): Error {
  if (s.name === "TypeError") return new TypeError(s.message);
  const Cls = (errorClasses as Record<string, typeof ECMError>)[s.name] ?? ECMError;
  return new Cls(s.message, {
    status: s.status,
    code: s.code,
    serverMessage: s.serverMessage,
    additionalInfo: s.additionalInfo,
    retryAfterSeconds: s.retryAfterSeconds,
  });
}
