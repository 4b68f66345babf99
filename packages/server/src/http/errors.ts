import type { DomainError, DomainErrorKind } from "../domain/errors.js";
import { etagOf } from "./etag.js";

/**
 * Every error the API answers with: an HTTP status and `{"errorMessage": "<CODE>-E <text>",
 * "additionalInfo": "<JSON as string>"}`. Codes are stable; clients may switch on them.
 */
export const ErrorCodes = {
  invalidRequest: { code: "ECMS1001", status: 400 },
  malformedJson: { code: "ECMS1002", status: 400 },
  bodyTooLarge: { code: "ECMS1003", status: 413 },
  unsupportedMediaType: { code: "ECMS1004", status: 415 },
  uriTooLong: { code: "ECMS1005", status: 414 },
  requestTimeout: { code: "ECMS1006", status: 408 },
  headersTooLarge: { code: "ECMS1007", status: 431 },
  authenticationRequired: { code: "ECMS1101", status: 401 },
  invalidCredentials: { code: "ECMS1102", status: 401 },
  forbidden: { code: "ECMS1103", status: 403 },
  notFound: { code: "ECMS1201", status: 404 },
  routeNotFound: { code: "ECMS1202", status: 404 },
  methodNotAllowed: { code: "ECMS1203", status: 405 },
  conflict: { code: "ECMS1301", status: 409 },
  refused: { code: "ECMS1302", status: 409 },
  preconditionFailed: { code: "ECMS1303", status: 412 },
  preconditionRequired: { code: "ECMS1304", status: 428 },
  tooManyRequests: { code: "ECMS1401", status: 429 },
  unavailable: { code: "ECMS1901", status: 503 },
  internal: { code: "ECMS1999", status: 500 },
} as const;

export type ErrorKind = keyof typeof ErrorCodes;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly info: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = ErrorCodes[kind].status;
    this.code = ErrorCodes[kind].code;
  }

  get body(): ErrorBody {
    return errorBody(this.code, this.message, this.info);
  }
}

export interface ErrorBody {
  errorMessage: string;
  additionalInfo: string;
}

export function errorBody(code: string, message: string, info: Record<string, unknown> = {}): ErrorBody {
  return { errorMessage: `${code}-E ${message}`, additionalInfo: JSON.stringify(info) };
}

/** The status and code of each kind of domain error. */
const DOMAIN_ERROR_KINDS: Record<DomainErrorKind, ErrorKind> = {
  invalid: "invalidRequest",
  "not-found": "notFound",
  "name-taken": "conflict",
  refused: "refused",
  stale: "preconditionFailed",
  "not-permitted": "forbidden",
  "credentials-refused": "invalidCredentials",
  "too-many-attempts": "tooManyRequests",
  unavailable: "unavailable",
  busy: "unavailable",
};

/** The answer to a domain error: its kind's status and code, its message and details (a version as the ETag a client sends back). */
export function fromDomainError(error: DomainError): ApiError {
  const { currentVersion, ...details } = error.details;
  const info = typeof currentVersion === "number" ? { ...details, currentETag: etagOf(currentVersion) } : details;
  return new ApiError(DOMAIN_ERROR_KINDS[error.kind], error.message, info);
}
