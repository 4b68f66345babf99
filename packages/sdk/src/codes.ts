/**
 * The server's error codes (packages/server/src/http/errors.ts) for the conditions the SDK also finds
 * itself — a user or group name that matches nothing, a call that cannot authenticate — so that
 * callers switch on one code wherever the error was found. A test keeps them equal to the server's.
 */
export const SERVER_CODES = {
  authenticationRequired: "ECMS1101",
  notFound: "ECMS1201",
} as const;

/**
 * The HTTP status the server answers each of its codes with (its ErrorCodes table; a test keeps the
 * two equal): an error that ends a streamed answer comes after the 200, as a line with its code, and
 * is typed by the status it stands for.
 */
export const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  ECMS1001: 400, ECMS1002: 400, ECMS1003: 413, ECMS1004: 415, ECMS1005: 414, ECMS1006: 408, ECMS1007: 431,
  ECMS1101: 401, ECMS1102: 401, ECMS1103: 403,
  ECMS1201: 404, ECMS1202: 404, ECMS1203: 405,
  ECMS1301: 409, ECMS1302: 409, ECMS1303: 412, ECMS1304: 428,
  ECMS1401: 429,
  ECMS1901: 503, ECMS1999: 500,
};
