import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe } from "node:test";
import axe from "axe-core";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { ADMIN_PASSWORD, startTestServer, storeKinds, storeSkip, type StoreKind, type TestServer } from "../../server/src/test-support/server.js";
import type { Config } from "../../server/src/config.js";
import { ensureBuilt } from "../build.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
/** Screenshots of every page, kept as test artefacts (git-ignored). */
export const SCREENSHOTS = join(root, "test-results", "screenshots");

/** Debian's Chromium, never a downloaded one. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
}

export interface ConsoleContext {
  server: TestServer;
  browser: Browser;
  /** `http://127.0.0.1:<port>/portal/console/` */
  url: string;
}

let launched: Promise<Browser> | undefined;
/** The browser of this test file (each file runs in a process of its own), shared by its suites. */
function fileBrowser(): Promise<Browser> {
  launched ??= (async () => {
    await ensureBuilt();
    mkdirSync(SCREENSHOTS, { recursive: true });
    return launchChromium();
  })();
  return launched;
}

/**
 * Why a console suite runs on SQLite alone. The console speaks only HTTP, and the server's suites run
 * every route on each store (packages/server/src/**): a browser test on a second store sends the same
 * requests again, at a browser's cost, to answers those suites have checked already.
 */
export const SQLITE_ALONE = "the console speaks only HTTP: the server's suites test each store's answers (docs/testing.md)";

/**
 * Where a console suite runs, each store's choice with its reason in one line: on PostgreSQL only where
 * `onPostgres` says why (a server path that differs per store and that the page meets as no server test
 * does), otherwise reported skipped with SQLITE_ALONE; on SQLite unless `skipSqlite` says why not.
 */
export interface ConsoleStores {
  onPostgres?: string;
  skipSqlite?: string;
}

/**
 * A suite per store chosen (PostgreSQL skipped without ECM_TEST_DATABASE_URL), each with its own server;
 * one browser for the whole file, its suites' too, closed after them.
 */
export function describeConsole(title: string, stores: ConsoleStores, body: (ctx: () => ConsoleContext, kind: StoreKind) => void): void {
  let browser: Browser | undefined;
  before(async () => {
    browser = await fileBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  for (const kind of storeKinds) {
    const skip = storeSkip(kind) || (kind === "postgres" ? !stores.onPostgres && SQLITE_ALONE : stores.skipSqlite ?? false);
    describe(`${title} [${kind}]`, { skip }, () => {
      let server: TestServer | undefined;
      before(async () => {
        server = await startTestServer(kind);
      });
      after(async () => {
        await server?.close();
      });
      body(() => {
        if (!server || !browser) throw new Error("server or browser not started");
        return { server, browser, url: `${server.baseUrl}/console/` };
      }, kind);
    });
  }
}

export interface PageOptions {
  width?: number;
  colorScheme?: "light" | "dark";
}

/** A new page (1 280 × 800 unless told) that records console errors and refused requests. */
export async function openPage(browser: Browser, options: PageOptions = {}): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 800 }, colorScheme: options.colorScheme ?? "light" });
  const page = await context.newPage();
  // Generous: the shared 2-core machine is often busy; nothing here measures time.
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on("console", (m) => {
    // A 401/403/404/409/412 the console asked for and handles is logged by Chromium as a failed resource: not an error of the page.
    // Only the console's own pages count (an identity provider's pages are not ours).
    const own = m.location().url.includes("/portal/") || m.location().url === "";
    if (m.type() === "error" && own && !/the server responded with a status of (401|403|404|409|412)/.test(m.text())) errors.push(`${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return { page, errors, close: () => context.close() };
}

/**
 * Waits (5 s at most) until the element with the focus is the one described — by its text, its id or an
 * attribute's value — and fails otherwise, saying where the focus is.
 */
export async function focusReaches(page: Page, want: { text?: string; id?: string; attribute?: [name: string, value: string] }): Promise<void> {
  await page
    .waitForFunction((w) => {
      const el = document.activeElement;
      return el !== null && (w.text === undefined || el.textContent === w.text) && (w.id === undefined || el.id === w.id) && (w.attribute === undefined || el.getAttribute(w.attribute[0]) === w.attribute[1]);
    }, want, { timeout: 5_000 })
    .catch(async () => assert.fail(`the focus is on ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 80))}, not on ${JSON.stringify(want)}`));
}

/** Requests matching `url` wait until the returned function is called; then they (and later ones) go through. */
export async function holdRequests(page: Page, url: RegExp): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => { release = resolve; });
  await page.route(url, async (route) => {
    await released;
    // The page may have given the request up meanwhile.
    await route.continue().catch(() => undefined);
  });
  return release;
}

/**
 * The first answer to a request matching `url` reaches the page only once `until` has settled (the
 * server answers at once): after what the page did meanwhile, however slow the machine, and without a
 * wait of real time. `delivered` settles once the page has it, or had given the request up; it fails when
 * the page never showed what `until` waits for.
 */
export async function answerLate(page: Page, url: RegExp, until: () => Promise<unknown>): Promise<{ delivered: Promise<void> }> {
  let done!: (missed?: Error) => void;
  const delivered = new Promise<void>((resolve, reject) => { done = (missed) => (missed ? reject(missed) : resolve()); });
  let first = true;
  await page.route(url, async (route) => {
    if (!first) return route.continue();
    first = false;
    let missed: Error | undefined;
    try {
      const response = await route.fetch();
      // Held until the page shows what it did meanwhile. If it never does, the answer goes on all the
      // same (the page must not hang) and `delivered` fails: a test's own wait, as long, could pass after it.
      missed = await until().then(() => undefined, (error: unknown) => new Error(`the page did not show, before the late answer of ${url}, what it was to show first: ${error}`));
      await route.fulfill({ response });
    } catch {
      // The page gave the request up meanwhile.
    } finally {
      done(missed);
    }
  });
  return { delivered };
}

/** Two animation frames of the page: what it took in before is drawn. */
export function nextFrames(page: Page): Promise<void> {
  return page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
}

/** Logs in through the login page. */
export async function logIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

/**
 * Opens the console already logged in as `username`, for tests that are not about logging in: a token
 * got through the API is put where the console keeps a tab's session (sessionStorage), then the start
 * page is opened, as a reload of a logged-in tab opens it. The page ends where `logIn` leaves it, with a
 * session of its own, without the login page's round (about 1 CPU-second of the browser's each; the tests
 * of the login page, its refusals and the session's end use `logIn`).
 */
export async function logInByToken(page: Page, server: TestServer, url: string, username = "sysadmin", password = ADMIN_PASSWORD): Promise<void> {
  const token = await server.login(username, password);
  // Once per tab: a later reload, or the login page after a logout, finds what the console left there.
  await page.addInitScript(({ origin, token }) => {
    if (location.origin !== origin || sessionStorage.getItem("ecm.test.token-given")) return;
    sessionStorage.setItem("ecm.test.token-given", "1");
    sessionStorage.setItem("ecm.console.token", token);
  }, { origin: new URL(url).origin, token });
  await page.goto(url);
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

/**
 * A test on a page of its own, closed after it whatever happens; once the test is done, the page may
 * have logged no error (but those `errorsAllowed` matches). The page opens the console logged in by a
 * token (`logInByToken`) as sysadmin, or as `as` says; `as: null` leaves it blank, for a test that logs
 * in its own way or must watch the page before it opens the console.
 */
export async function onPage(
  c: ConsoleContext,
  test: (p: { page: Page; errors: string[] }) => Promise<void>,
  options: PageOptions & { as?: [username: string, password: string] | null; errorsAllowed?: RegExp } = {},
): Promise<void> {
  const { page, errors, close } = await openPage(c.browser, options);
  try {
    if (options.as !== null) await logInByToken(page, c.server, c.url, ...(options.as ?? []));
    await test({ page, errors });
    const allowed = options.errorsAllowed;
    assert.deepEqual(allowed ? errors.filter((e) => !allowed.test(e)) : errors, []);
  } finally {
    await close();
  }
}

/**
 * WCAG 2.1 A and AA violations of the page as it is now (none expected): axe-core run once in the page,
 * as @axe-core/playwright's legacy mode runs it for a console that has no frames. axe's source (half a
 * megabyte) is put into a document once and stays for its later checks (a hash change, a theme switched),
 * where that builder evaluated it twice for every check: 0.4–0.7 s each, about half of a check's time.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  const analysis = (async () => {
    if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axe.source);
    return page.evaluate((options) => (window as unknown as { axe: typeof axe }).axe.run(document, options), {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      resultTypes: ["violations"],
    } satisfies axe.RunOptions);
  })();
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`axe did not finish on ${page.url()}`)), 30_000).unref());
  const result = await Promise.race([analysis, timeout]);
  return result.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(" | ")}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** Chooses a group in a group picker: types part of its name, then clicks it among the suggestions. */
export async function pickGroup(page: Page, picker: Locator, typed: string, name: string): Promise<void> {
  await picker.fill(typed);
  await page.getByRole("listbox", { name: "Suggestions" }).getByRole("option", { name, exact: true }).click();
}

/**
 * The requests of a page for the whole group list (GET …/user-groups without `max`), as they come. The
 * groups granting system-administrator are the one list pages still read whole: they are few.
 */
export function wholeGroupLists(page: Page): string[] {
  const seen: string[] = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (r.method() === "GET" && u.pathname.endsWith("/security/v1/user-groups") && !u.searchParams.has("max") && u.searchParams.get("role") !== "system-administrator") seen.push(r.url());
  });
  return seen;
}

/**
 * A test on a server of its own (a store filled apart from its suite's): `fill` prepares the store and
 * answers what the test needs of it; then a page logged in as sysadmin, the server's token, and the
 * console's URL (`config`: the server's settings that differ). The page may log no error (but those `errorsAllowed` matches); the server and page are closed after.
 */
export async function onOwnServer<T>(
  browser: Browser,
  kind: StoreKind,
  fill: (server: TestServer) => Promise<T>,
  test: (own: { server: TestServer; token: string; page: Page; url: string; filled: T }) => Promise<void>,
  config: Partial<Config> = {},
  errorsAllowed?: RegExp,
): Promise<void> {
  const server = await startTestServer(kind, config);
  try {
    const filled = await fill(server);
    const token = await server.login();
    const url = `${server.baseUrl}/console/`;
    await onPage({ server, browser, url }, ({ page }) => test({ server, token, page, url, filled }), { errorsAllowed });
  } finally {
    await server.close();
  }
}
