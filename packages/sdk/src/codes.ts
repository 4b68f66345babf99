/**
 * The server's error codes (packages/server/src/http/errors.ts) for the conditions the SDK also finds
 * itself — a user or group name that matches nothing, a call that cannot authenticate — so that
 * callers switch on one code wherever the error was found. A test keeps them equal to the server's.
 */
export const SERVER_CODES = {
  authenticationRequired: "ECMS1101",
  notFound: "ECMS1201",
} as const;
