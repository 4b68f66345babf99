/** `ecm-sdk`: everything of the browser entry, and the blocking ECMSync (Node only). */
export * from "./browser.js";
export { ECMSync, SecuritySync, type SyncCallOptions } from "./sync.js";
