import { ECM as BrowserECM } from "./client.js";
import type { ECMOptions } from "./http.js";
import { workerFetch } from "./worker-fetch.js";

/**
 * Asynchronous ECM Security client (Node): as `ecm-sdk/browser`'s, with long streamed answers (the users
 * list, the export) read on a worker thread while this one parses them.
 *
 * ```ts
 * const ecm = new ECM({ baseUrl: "http://127.0.0.1:8080/portal", username: "sysadmin", password });
 * for (const user of await ecm.security.users()) console.log(user.username);
 * ```
 */
export class ECM extends BrowserECM {
  constructor(options: ECMOptions) {
    super(options, workerFetch as typeof fetch);
  }
}
