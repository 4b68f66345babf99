/** `ecm-sdk`: everything of the browser entry, the blocking ECMSync, and an ECM that reads long answers on a thread of its own (Node only). */
export * from "./browser.js";
export { ECM } from "./node-client.js";
export { ECMSync, SecuritySync, type SyncCallOptions } from "./sync.js";
