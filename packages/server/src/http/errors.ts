/**
 * Every error the API answers with: an HTTP status and `{"errorMessage": "<CODE>-E <text>",
 * "additionalInfo": "<JSON as string>"}`. Codes are stable; clients may switch on them.
 */
export const ErrorCodes = {
  invalidRequest: { code: "ECMS1001", status: 400 },
  malformedJson: { code: "ECMS1002", status: 400 },
  bodyTooLarge: { code: "ECMS1003", status: 413 },
  unsupportedMediaType: { code: "ECMS1004", status: 415 },
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

/** 404 for a resource that does not exist (or whose id is not even well-formed). */
export function notFound(what: string, id: string): ApiError {
  return new ApiError("notFound", `The specified ${what} does not exist.`, { id });
}
