import { Admin } from "./admin.js";
import { Transport, type ECMOptions, type TokenInfo } from "./http.js";
import { callOptions, checkOptions } from "./options.js";
import { Security } from "./security.js";
import type { CallOptions } from "./types.js";

/** What request() takes besides signal and timeout. */
export const REQUEST_OPTIONS = ["query", "body"];

/** Node's `util.inspect.custom`, named without importing node:util (this module also runs in browsers). */
export const inspectCustom = Symbol.for("nodejs.util.inspect.custom");

/** What `console.log` shows of a client: its URL and the username it logs in as (if any), never a password, key or token. */
export function describeClient(name: string, baseUrl: string, username: string | undefined): string {
  return `${name} { baseUrl: ${JSON.stringify(baseUrl)}${username !== undefined ? `, username: ${JSON.stringify(username)}` : ""} }`;
}

/**
 * Asynchronous ECM Security client.
 *
 * ```ts
 * const ecm = new ECM({ baseUrl: "http://127.0.0.1:8080/portal", username: "sysadmin", password });
 * for (const user of await ecm.security.users()) console.log(user.username);
 * ```
 */
export class ECM {
  readonly #http: Transport;
  /** Users, groups, roles, memberships and export. */
  readonly security: Security;
  /** The REST API's own shapes with ETags, cursors and bulk actions, for administration tools (the console). */
  readonly admin: Admin;

  constructor(options: ECMOptions) {
    this.#http = new Transport(options);
    this.security = new Security(this.#http);
    this.admin = new Admin(this.#http);
  }

  /** The normalized base URL (ends in `/portal` unless another path was given). */
  get baseUrl(): string {
    return this.#http.baseUrl;
  }

  /** The current access token, once the client has one. Never logged by the SDK. */
  get token(): string | undefined {
    return this.#http.token;
  }

  /** Logs in now (otherwise the first call does it). Needs username and password. */
  async login(opts?: CallOptions): Promise<TokenInfo> {
    const c = callOptions(opts);
    return this.#http.login(c.signal, c.timeout);
  }

  /** Revokes the current token on the server. */
  async logout(opts?: CallOptions): Promise<void> {
    return this.#http.logout(callOptions(opts));
  }

  /** Low-level escape hatch: an authenticated JSON request relative to the base URL. */
  async request<T = unknown>(
    method: string,
    path: string,
    opts: CallOptions & { query?: Record<string, string | number | boolean | undefined>; body?: unknown } = {},
  ): Promise<T> {
    checkOptions(opts, REQUEST_OPTIONS);
    return (await this.#http.request<T>(method, path, opts)).data;
  }

  /** Never shows credentials or tokens when logged. */
  [inspectCustom](): string {
    return describeClient("ECM", this.#http.baseUrl, this.#http.username);
  }

  toJSON(): { baseUrl: string } {
    return { baseUrl: this.#http.baseUrl };
  }
}
