import { ECM, ECMAbortError, ECMAuthError, ECMConnectionError, ECMError, ECMPermissionError, ECMTimeoutError, type RestMe } from "ecm-sdk/browser";
import { decodeSegment } from "./router.js";

/** The server's base URL: the console lives at `<base>/console/`. */
export const BASE_URL = new URL("..", new URL(".", location.href)).href.replace(/\/$/, "");

const TOKEN_KEY = "ecm.console.token";
/** Who the token of this tab was for, with which roles, as last read (what a reload shows before it has checked again). */
const WHO_KEY = "ecm.console.who";
/** The token's idle lifetime in milliseconds (`expires_in` of the token answer), kept with it for a reload. */
const LIFETIME_KEY = "ecm.console.lifetime";
/** A form's edits not saved when the session ended (keepUnsaved). */
const UNSAVED_KEY = "ecm.console.unsaved";
/** The server's default idle lifetime, for a token whose answer did not say. */
const DEFAULT_LIFETIME_MS = 300_000;

export type Role = "system-administrator" | "security-administrator" | "user";

/**
 * The logged-in session: the SDK client on the token (the password is never kept), who is logged in
 * and with which roles. The token lives in sessionStorage: a reload keeps the session, a new tab does not.
 */
class Session extends EventTarget {
  ecm: ECM | null = null;
  me: RestMe | null = null;
  roles: Role[] = [];
  /** Each answer to the token restarts its idle lifetime on the server: when the last one came, and that lifetime. */
  #usedAt = 0;
  #lifetimeMs = DEFAULT_LIFETIME_MS;
  #renewing = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #tracked = new WeakMap<object, object>();

  /** The client; only called by pages shown to a logged-in user. */
  get api() {
    if (!this.ecm) throw new ECMAuthError("not logged in", { status: 401 });
    return this.#track(this.ecm.admin);
  }

  /** The seed-shaped namespace, for what only it has (identity providers). */
  get security() {
    if (!this.ecm) throw new ECMAuthError("not logged in", { status: 401 });
    return this.#track(this.ecm.security);
  }

  /**
   * The namespace with every answered call noted as a use of the token: a page that keeps calling (a
   * bulk action's or a sync's progress) keeps its session, and one that stops lets it expire.
   */
  #track<T extends object>(target: T): T {
    let proxy = this.#tracked.get(target) as T | undefined;
    if (!proxy) {
      proxy = new Proxy(target, {
        get: (t, key) => {
          const value: unknown = Reflect.get(t, key, t);
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            const result: unknown = value.apply(t, args);
            if (result instanceof Promise) result.then(() => this.#used(), () => undefined);
            return result;
          };
        },
      });
      this.#tracked.set(target, proxy);
    }
    return proxy;
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
    this.#lifetimeMs = Number(sessionStorage.getItem(LIFETIME_KEY)) || DEFAULT_LIFETIME_MS;
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
    const { accessToken, expiresIn } = await new ECM({ baseUrl: BASE_URL, username, password, retries: 0 }).login();
    await this.#open(accessToken, expiresIn);
  }

  /** Takes a token handed over by an identity provider's login, with its idle lifetime in seconds. */
  async adopt(token: string, expiresIn: number | undefined): Promise<void> {
    await this.#open(token, expiresIn);
  }

  /** Checks the token and takes it; `expiresIn` (seconds) comes with a new token, a known one keeps its lifetime. */
  async #open(token: string, expiresIn?: number): Promise<void> {
    const ecm = this.ecm?.token === token ? this.ecm : new ECM({ baseUrl: BASE_URL, token, retries: 1 });
    const me = await ecm.admin.me();
    const roles = await rolesOf(ecm, me);
    this.ecm = ecm;
    this.me = me;
    this.roles = roles;
    if (expiresIn) this.#lifetimeMs = expiresIn * 1000;
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(LIFETIME_KEY, String(this.#lifetimeMs));
    sessionStorage.setItem(WHO_KEY, JSON.stringify({ me, roles }));
    this.#used();
    this.#watch();
    this.dispatchEvent(new Event("change"));
  }

  /** Reads the own account again (after a password change). */
  async refresh(): Promise<void> {
    const token = this.ecm?.token;
    if (token) await this.#open(token);
  }

  /**
   * After a refusal (403): the account's roles may have changed since the console read them (an
   * administrator took one away). Read again; when they differ, the pages and navigation follow.
   */
  async recheckRoles(): Promise<void> {
    const ecm = this.ecm;
    if (!ecm || this.me?.changePassword) return;
    const roles = await rolesOf(ecm, this.me!);
    if (this.ecm !== ecm || (roles.length === this.roles.length && roles.every((r) => this.roles.includes(r)))) return;
    await this.#open(ecm.token!);
  }

  /** Ends the session; "loggedout" takes the page to the login page, which keeps no page of this session (the next to log in starts afresh). */
  async logout(): Promise<void> {
    try {
      await this.ecm?.logout();
    } finally {
      sessionStorage.removeItem(UNSAVED_KEY);
      this.#close();
      this.dispatchEvent(new Event("loggedout"));
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
    sessionStorage.removeItem(LIFETIME_KEY);
    clearTimeout(this.#timer);
  }

  #used(): void {
    this.#usedAt = Date.now();
  }

  /**
   * Left alone, the session ends on the server when its idle lifetime has passed since the token was
   * last used: the page goes to the login page then, not at the next click.
   */
  #watch(): void {
    clearTimeout(this.#timer);
    if (!this.ecm) return;
    const left = this.#usedAt + this.#lifetimeMs - Date.now();
    if (left <= 0) this.expired();
    else this.#timer = setTimeout(() => this.#watch(), left);
  }

  /**
   * Someone uses the page (keys, pointer): the session is renewed once a third of its lifetime has
   * passed since the token was last used, well before it runs out however short it is.
   */
  noteActivity(): void {
    if (!this.ecm || this.#renewing || Date.now() - this.#usedAt < this.#lifetimeMs / 3) return;
    this.#renewing = true;
    this.api.me().catch(failed).finally(() => (this.#renewing = false));
  }
}

export const session = new Session();

/** Why a form's edits were kept: the session ended under them, or their page was left (a link, Back, a reload). */
export type KeptBecause = "ended" | "left";
/** Pages whose edits are kept at most: the latest left. */
const PAGES_KEPT = 20;
interface Kept {
  account: string;
  /** Missing in an entry an earlier console kept. */
  pages?: Record<string, { edits: Record<string, string>; because: KeptBecause }>;
}

/**
 * A form's edits not saved when the session ended under them (a Save refused, a page left alone) or when
 * their page was left: kept in this tab for the account that made them, page by page, coming back to the
 * same page when it is opened again (after logging in again). A logout drops them.
 */
export function keepUnsaved(account: string, page: string, edits: Record<string, string>, because: KeptBecause): void {
  const kept = JSON.parse(sessionStorage.getItem(UNSAVED_KEY) ?? "null") as Kept | null;
  // An entry of an earlier console (one page's edits, no `pages`) gives way.
  const pages = kept?.account === account && kept.pages ? kept.pages : {};
  delete pages[page];
  pages[page] = { edits, because };
  const latest = Object.entries(pages).slice(-PAGES_KEPT);
  sessionStorage.setItem(UNSAVED_KEY, JSON.stringify({ account, pages: Object.fromEntries(latest) } satisfies Kept));
}

/** The edits kept for `page`, once, when `account` made them; another account's are dropped, never shown to it. */
export function takeUnsaved(account: string, page: string): { edits: Record<string, string>; because: KeptBecause } | null {
  const kept = JSON.parse(sessionStorage.getItem(UNSAVED_KEY) ?? "null") as Kept | null;
  if (!kept) return null;
  // Another account's are dropped, and so is what an earlier console kept (one page's edits, no `pages`).
  if (kept.account !== account || !kept.pages) {
    sessionStorage.removeItem(UNSAVED_KEY);
    return null;
  }
  const mine = kept.pages[page];
  if (!mine) return null;
  delete kept.pages[page];
  sessionStorage.setItem(UNSAVED_KEY, JSON.stringify(kept));
  return mine;
}

/** For the public calls of the login page (providers, the code exchange): they send no token. */
export const publicApi = new ECM({ baseUrl: BASE_URL, token: "anonymous" });

const PROVIDER_LOGIN_KEY = "ecm.console.provider-login";
/** Why the last provider login begun in this tab was refused: the login page shows only this, never text from its URL alone. */
const PROVIDER_REFUSAL_KEY = "ecm.console.provider-refusal";

/** The refusal of this tab's last provider login, when `shown` is its text (the login page's `provider` parameter). */
export function providerRefusal(shown: string | null): string | null {
  return shown !== null && sessionStorage.getItem(PROVIDER_REFUSAL_KEY) === shown ? shown : null;
}

/** Goes to the login page saying why this tab's provider login was refused. */
function refusedTo(why: string, next: string): void {
  sessionStorage.setItem(PROVIDER_REFUSAL_KEY, why);
  history.replaceState(null, "", `${location.pathname}#/login?${new URLSearchParams({ ...(next ? { next } : {}), provider: why })}`);
}

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
  // A login opened at the server's own URL (a bookmark, a portal's link) began in no tab: the server
  // names its provider, and a login this tab began before (abandoned at its provider) is not this one.
  const named = new URLSearchParams(location.search).get("provider");
  const started = sessionStorage.getItem(PROVIDER_LOGIN_KEY);
  const begun = named ? { alias: named, next: "" } : started ? (JSON.parse(started) as { alias: string; next?: string }) : null;
  const refused = /^#error=(.*)$/.exec(location.hash)?.[1];
  if (refused !== undefined) {
    sessionStorage.removeItem(PROVIDER_LOGIN_KEY);
    // The server sent the browser back with the reason the provider's login was refused. Its words are
    // said only to a tab that began the login: a link of anyone's with words of theirs in it is no
    // refusal. A login opened directly began in no tab, so it is told in words of our own.
    if (named) refusedTo("The login through the identity provider was refused; try again or ask an administrator.", "");
    else if (begun) refusedTo(decodeSegment(refused) || "The login through the identity provider was refused.", begun.next ?? "");
    else history.replaceState(null, "", `${location.pathname}#/login`);
    return;
  }
  const code = /^#code=(.+)$/.exec(location.hash)?.[1];
  // Only the browser the login ran in can exchange the code (its cookie).
  if (!code || !begun) return;
  sessionStorage.removeItem(PROVIDER_LOGIN_KEY);
  const { alias, next = "" } = begun;
  history.replaceState(null, "", `${location.pathname}#/${next}`);
  try {
    // The whole token answer, not only the token (which `exchangeProviderCode` answers): its idle lifetime too.
    const answer = await publicApi.request<{ access_token: string; expires_in?: number }>("POST", `/auth/v1/providers/${encodeURIComponent(alias)}/exchange`, { body: { code: decodeSegment(code) } });
    await session.adopt(answer.access_token, answer.expires_in);
  } catch (error) {
    refusedTo(`The login through the identity provider failed: ${failed(error) || "it was refused."}`, next);
  }
}

/**
 * What the server said, for a page: the password policy names the API's field ("newPassword is
 * refused: …"), which on a page is the password box; other fields the server names by their API names
 * (`loginName must be …`, `… when bindDn changes`) are said by the labels the page shows them with
 * (`labelOf`: a field's label on the page, if it has one).
 */
export function serverWords(error: ECMError, labelOf: (field: string) => string | undefined = () => undefined): string {
  const words = (error.serverMessage || error.message).replace(/^(?:password|newPassword|value) is refused: /, "The password is refused: ");
  const field = (error.additionalInfo as { field?: unknown } | undefined)?.field;
  const named = typeof field === "string" && words.startsWith(`${field} `) ? (labelOf(field) ?? field) + words.slice(field.length) : words;
  return inLabels(named, labelOf);
}

/**
 * A sentence of the server's (a refusal, a connection test's step) with the API's field names in it said
 * by the labels the page shows those fields with. Only camelCase names and paths (`syncPeriodSeconds/full`,
 * `config.tokenUrl`: a plain word such as email may be just a word there), and never in quotes: a quoted
 * value ("firstName", a username) is said as it is.
 */
export function inLabels(words: string, labelOf: (field: string) => string | undefined): string {
  return words
    .split(/("[^"]*"|“[^”]*”)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/\b[a-z][a-z0-9]*(?:[A-Z][A-Za-z0-9]*|[./][A-Za-z0-9]+)+\b/g, (name) => labelOf(name) ?? name)))
    .join("");
}

/** Every account may read its own roles: which pages to offer (until a required password change, none but that). */
async function rolesOf(ecm: ECM, me: RestMe): Promise<Role[]> {
  return me.changePassword ? ["user"] : (await ecm.admin.effectiveRoles(me.id)).map((r) => r.name as Role);
}

/**
 * A failure as a sentence for the page; an authentication failure ends the session instead. A refusal
 * that says when to try again (a 429, a 503 with Retry-After) says it — unless `wait` is false: the
 * page tries again by itself (lookAtRun).
 */
export function failed(error: unknown, labelOf?: (field: string) => string | undefined, wait = true): string {
  if (error instanceof ECMAuthError) {
    session.expired();
    return "Your session has ended. Please log in again.";
  }
  if (error instanceof ECMAbortError || (error instanceof DOMException && error.name === "AbortError")) return "";
  if (error instanceof ECMConnectionError || error instanceof ECMTimeoutError) return "The server cannot be reached. Check the connection and try again.";
  // A role taken away meanwhile: what the console offers follows (a refusal for other reasons changes nothing).
  if (error instanceof ECMPermissionError) void session.recheckRoles().catch(() => undefined);
  if (error instanceof ECMError) {
    const when = tryAgainWords(error);
    const words = when ? withoutOwnWait(serverWords(error, labelOf)) : serverWords(error, labelOf);
    return [words, wait ? when : "", error.code ? `(${error.code})` : ""].filter(Boolean).join(" ");
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * When a refusal says to try again, in words: in the seconds of its Retry-After (a 429; a 503, the server
 * busy or restarting), or later (a 429 that did not say: a proxy's); "" for a refusal that says nothing of it.
 */
export function tryAgainWords(error: ECMError): string {
  const seconds = error.retryAfterSeconds;
  return seconds ? `Try again ${inSeconds(seconds)}.` : error.status === 429 ? "Try again later." : "";
}

/** “in 42 seconds”, “in 1 second”. */
const inSeconds = (n: number): string => `in ${n} ${n === 1 ? "second" : "seconds"}`;

/**
 * The server's words of a refusal that says when to try again, as a sentence without their own “try again
 * in 42 s.” or “try again in a moment” (a proxy's say none): when is said once, in tryAgainWords'.
 */
function withoutOwnWait(words: string): string {
  const what = words.replace(/[;,.]?\s*try again\b[^;]*$/i, "").trim();
  return what === "" || /[.?!]$/.test(what) ? what : `${what}.`;
}

/** A failure that passes: the server unreachable or slow to answer, too busy (429), or a node or proxy in between without it for a moment (502, 503, 504). */
export function passing(error: unknown): error is ECMError {
  return error instanceof ECMConnectionError || error instanceof ECMTimeoutError || (error instanceof ECMError && [429, 502, 503, 504].includes(error.status));
}

/** How long a look at a run waits after a passing failure before the next, at most: from 1 s, doubled each time (or the server's Retry-After). */
const LOOK_AGAIN_MAX_MS = 10_000;

/**
 * A look at a run on the server that a page follows (a bulk action, a directory's sync): `look`'s answer.
 * The run goes on on the server whatever happens between it and the page, so a look failed for a passing
 * reason (the server unreachable a moment, restarting, a proxy's 503) does not end the following:
 * `trouble` says why, in words, and the page looks again, later each time, until a look answers
 * (`trouble(null)`), or answers undefined once `following()` says it no longer follows. Another failure
 * (the run gone: 404; the session ended) is thrown, the page's to say.
 */
export async function lookAtRun<T>(look: () => Promise<T>, trouble: (text: string | null) => void, following: () => boolean): Promise<T | undefined> {
  for (let wait = 1_000; ; wait = Math.min(2 * wait, LOOK_AGAIN_MAX_MS)) {
    try {
      const answer = await look();
      trouble(null);
      return answer;
    } catch (error) {
      if (!passing(error)) {
        trouble(null);
        throw error;
      }
      // The server's Retry-After, when it says one, is how long the page waits: said so.
      const after = error.retryAfterSeconds;
      trouble(`${failed(error, undefined, false)} The run goes on on the server: the page looks at it again ${after ? inSeconds(after) : "in a moment"}.`);
      await new Promise((resolve) => setTimeout(resolve, after ? after * 1_000 : wait));
      if (!following()) return undefined;
    }
  }
}

addEventListener("unhandledrejection", (event) => {
  if (event.reason instanceof ECMAuthError) {
    session.expired();
    event.preventDefault();
  }
});
