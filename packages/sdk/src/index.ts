export { ECM } from "./client.js";
export { ECMSync, SecuritySync, type SyncCallOptions } from "./sync.js";
export { Security, type UserRef, type GroupRef } from "./security.js";
export type { ECMOptions, TokenInfo } from "./http.js";
export { backoffDelay, parseRetryAfter, normalizeBaseUrl } from "./http.js";
export { parseLinkHeader, toECMUser, toECMGroup, toECMRole, toRestUserBody, isGuid } from "./mapping.js";
export * from "./errors.js";
export { exportRecords, type ExportRecord } from "./export-records.js";
export type * from "./types.js";
