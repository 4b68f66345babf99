import { ECM, ECMAbortError, ECMAuthError, ECMConnectionError, ECMError, ECMPermissionError, ECMTimeoutError, type RestMe } from "ecm-sdk/browser";

/** The server's base URL: the console lives at `<base>/console/`. */
export const BASE_URL = new URL("..", new URL(".", location.href)).href.replace(/\/$/, "");

const TOKEN_KEY = "ecm.console.token";
/** Who the token of this tab was for, with which roles, as last read (what a reload shows before it has checked again). */
const WHO_KEY = "ecm.console.who";
/** How often a page in use renews its session (the server's idle lifetime is 5 minutes by default). */
const RENEW_MS = 60_000;

export type Role = "system-administrator" | "security-administrator" | "user";

/**
 * The logged-in session: the SDK client on the token (the password is never kept), who is logged in
 * and with which roles. The token lives in sessionStorage: a reload keeps the session, a new tab does not.
 */
class Session extends EventTarget {
  ecm: ECM | null = null;
  me: RestMe | null = null;
  roles: Role[] = [];
  #active = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** The client; only called by pages shown to a logged-in user. */
  get api() {
    if (!this.ecm) throw new ECMAuthError("not logged in", { status: 401 });
    return this.ecm.admin;
  }

  /** The seed-shaped namespace, for what only it has (identity providers). */
  get security() {
    if (!this.ecm) throw new ECMAuthError("not logged in", { status: 401 });
    return this.ecm.security;
  }

  get isAdmin(): boolean {
    return this.roles.includes("system-administrator") || this.roles.includes("security-administrator");
  }

  get isSystemAdmin(): boolean {
    return this.roles.includes("system-administrator");
  }

  /**
   * Takes the token of this tab, if any, at once: pages may call the server with it before `resume`
   * has checked it (a reload's first rows do not wait for the check), and the roles are the ones this
   * tab last read. Answers whether there was a token.
   */
  restore(): boolean {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return false;
    this.ecm = new ECM({ baseUrl: BASE_URL, token, retries: 1 });
    const who = JSON.parse(sessionStorage.getItem(WHO_KEY) ?? "null") as { me: RestMe; roles: Role[] } | null;
    this.me = who?.me ?? null;
    this.roles = who?.roles ?? [];
    return true;
  }

  /** Checks the token of this tab (who it is for, with which roles); one that no longer works ends the session. */
  async resume(): Promise<boolean> {
    const token = this.ecm?.token ?? sessionStorage.getItem(TOKEN_KEY);
    if (!token) return false;
    try {
      await this.#open(token);
      return true;
    } catch (error) {
      this.#close();
      if (error instanceof ECMAuthError) return false;
      throw error;
    }
  }

  /** Logs in with a password; refusals come back as the SDK's errors. */
  async login(username: string, password: string): Promise<void> {
    const token = (await new ECM({ baseUrl: BASE_URL, username, password, retries: 0 }).login()).accessToken;
    await this.#open(token);
  }

  /** Takes a token handed over by an identity provider's login. */
  async adopt(token: string): Promise<void> {
    await this.#open(token);
  }

  async #open(token: string): Promise<void> {
    const ecm = this.ecm?.token === token ? this.ecm : new ECM({ baseUrl: BASE_URL, token, retries: 1 });
    const me = await ecm.admin.me();
    let roles: Role[] = ["user"];
    if (!me.changePassword) {
      try {
        roles = (await ecm.admin.effectiveRoles(me.id)).map((r) => r.name as Role);
      } catch (error) {
        if (!(error instanceof ECMPermissionError)) throw error; // a plain user may not read roles: it has only its own account
      }
    }
    this.ecm = ecm;
    this.me = me;
    this.roles = roles;
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(WHO_KEY, JSON.stringify({ me, roles }));
    this.#keepAlive();
    this.dispatchEvent(new Event("change"));
  }

  /** Reads the own account again (after a password change). */
  async refresh(): Promise<void> {
    const token = this.ecm?.token;
    if (token) await this.#open(token);
  }

  async logout(): Promise<void> {
    try {
      await this.ecm?.logout();
    } finally {
      this.#close();
      this.dispatchEvent(new Event("change"));
    }
  }

  /** The token stopped working (expired, revoked): back to the login page, keeping the page. */
  expired(): void {
    if (!this.ecm) return;
    this.#close();
    this.dispatchEvent(new Event("expired"));
  }

  #close(): void {
    this.ecm = null;
    this.me = null;
    this.roles = [];
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(WHO_KEY);
    clearInterval(this.#timer);
  }

  /** While someone uses the page (keys, pointer), the session is renewed; left alone, it expires. */
  #keepAlive(): void {
    clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      if (!this.#active || !this.ecm) return;
      this.#active = false;
      this.ecm.admin.me().catch(failed);
    }, RENEW_MS);
  }

  noteActivity(): void {
    this.#active = true;
  }
}

export const session = new Session();

/** For the public calls of the login page (providers, the code exchange): they send no token. */
export const publicApi = new ECM({ baseUrl: BASE_URL, token: "anonymous" });

const PROVIDER_LOGIN_KEY = "ecm.console.provider-login";

/** Before leaving for an identity provider: which one, and the page to come back to (this tab keeps them). */
export function beginProviderLogin(alias: string, next: string): void {
  sessionStorage.setItem(PROVIDER_LOGIN_KEY, JSON.stringify({ alias, next }));
}

/**
 * Back from an identity provider's login, at `…/console/#code=…`: trades the one-time code for a
 * session and leaves the URL at the page the user was on; at `…/console/#error=…`, the login page
 * says why the login was refused.
 */
export async function adoptProviderLogin(): Promise<void> {
  const refused = /^#error=(.*)$/.exec(location.hash)?.[1];
  if (refused !== undefined) {
    // The server sent the browser back with the reason the provider's login was refused.
    const { next = "" } = JSON.parse(sessionStorage.getItem(PROVIDER_LOGIN_KEY) ?? "{}") as { next?: string };
    sessionStorage.removeItem(PROVIDER_LOGIN_KEY);
    const why = decodeURIComponent(refused) || "The login through the identity provider was refused.";
    history.replaceState(null, "", `${location.pathname}#/login?${new URLSearchParams({ ...(next ? { next } : {}), provider: why })}`);
    return;
  }
  const code = /^#code=(.+)$/.exec(location.hash)?.[1];
  const started = sessionStorage.getItem(PROVIDER_LOGIN_KEY);
  if (!code || !started) return;
  sessionStorage.removeItem(PROVIDER_LOGIN_KEY);
  const { alias, next } = JSON.parse(started) as { alias: string; next: string };
  history.replaceState(null, "", `${location.pathname}#/${next}`);
  try {
    await session.adopt(await publicApi.admin.exchangeProviderCode(alias, decodeURIComponent(code)));
  } catch (error) {
    history.replaceState(null, "", `${location.pathname}#/login?provider=${encodeURIComponent(`The login through the identity provider failed: ${failed(error) || "it was refused."}`)}`);
  }
}

/** A failure as a sentence for the page; an authentication failure ends the session instead. */
export function failed(error: unknown): string {
  if (error instanceof ECMAuthError) {
    session.expired();
    return "Your session has ended. Please log in again.";
  }
  if (error instanceof ECMAbortError || (error instanceof DOMException && error.name === "AbortError")) return "";
  if (error instanceof ECMConnectionError || error instanceof ECMTimeoutError) return "The server cannot be reached. Check the connection and try again.";
  if (error instanceof ECMError) {
    return `${error.serverMessage || error.message}${error.code ? ` (${error.code})` : ""}`;
  }
  return error instanceof Error ? error.message : String(error);
}

addEventListener("unhandledrejection", (event) => {
  if (event.reason instanceof ECMAuthError) {
    session.expired();
    event.preventDefault();
  }
});
