/**
 * `ecm-sdk/browser`: the async client for browsers (and any other runtime with `fetch`). Nothing on
 * this path imports a `node:` module; the blocking ECMSync, which needs Node's worker threads, is in
 * the main entry only.
 */
export { ECM } from "./client.js";
export { Security, type UserRef, type GroupRef, type ExportGroupRef } from "./security.js";
export { Admin } from "./admin.js";
export type * from "./admin.js";
export type { ECMOptions, TokenInfo } from "./http.js";
export { backoffDelay, normalizeBaseUrl } from "./http.js";
export { parseLinkHeader, restUserFields, rowToECMUser, toECMUser, toECMGroup, toECMRole, toRestUserBody, toUserSource, isGuid } from "./mapping.js";
export * from "./errors.js";
export { exportRecords, type ExportRecord } from "./export-records.js";
export type * from "./types.js";
