import { chromium, type Page } from "playwright-core";
import { BenchClient } from "./http-client.js";
import { latencyOf, ms, type Latency } from "./stats.js";

/**
 * The console in Chromium against a seeded store (`npm run bench -- --only console`): the users page
 * from navigation to first rows (cold: a fresh browser profile; warm: a reload once the page is
 * loaded), the first rows of a search after the last keystroke, each next page while scrolling, rows after the scrollbar is dragged
 * anywhere in the unfiltered list, long tasks while scrolling; and a bulk action over about 100 000
 * users through the API (disable, then enable again, so the store stays as seeded). Times are read in
 * the page (`performance.now()` from its navigation, a MutationObserver for rows), not around
 * Playwright's calls.
 */
export interface ConsoleResult {
  users: number;
  coldFirstRows: Latency;
  warmFirstRows: Latency;
  searchFirstRows: Latency;
  firstPage: Latency;
  nextPage: Latency;
  jump: Latency;
  longTasks: { count: number; maxMs: number; scrolledPages: number };
  bulk: { selection: string; users: number; seconds: number; usersPerSecond: number; statusAnswers: Latency }[];
}

const SEARCHES = ["smith", "müller", "anna", "john", "son", "lee", "garcia", "kim"];
/** Candidate bulk selections: the one whose count is nearest 100 000 (scaled to the data) is used. */
const BULK_SEARCHES = ["an", "er", "son", "ma", "el", "ri", "in", "a"];

/** Records in the page when a users row that is not a placeholder first appears, and every long task. */
const PROBE = `(() => {
  window.__rows = [];
  window.__longTasks = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); }).observe({ type: "longtask", buffered: true });
  new MutationObserver(() => {
    const loaded = document.querySelectorAll('.grid .r:not(.placeholder)').length;
    if (loaded > 0 && window.__rows.length === 0) window.__rows.push(performance.now());
  }).observe(document, { subtree: true, childList: true });
})();`;

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

export async function benchConsole(baseUrl: string, adminPassword: string, options: { rounds: number; log: (text: string) => void }): Promise<ConsoleResult> {
  const client = new BenchClient(baseUrl, 1);
  const login = await client.request("POST", "/auth/v1/providers/builtin/token", { username: "sysadmin", password: adminPassword });
  const token = (JSON.parse(login.body) as { access_token: string }).access_token;
  client.setToken(token);
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await client.request(method, path, body);
    if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${r.body}`);
    return r.body ? JSON.parse(r.body) : undefined;
  };
  const users = (await api("GET", "/security/v1/users/count")) as number;
  // The tab's session as a login leaves it (console/src/api.ts): the token, and who it is for with which roles.
  const me = (await api("GET", "/security/v1/me")) as { id: string };
  const roles = ((await api("GET", `/security/v1/users/${me.id}/roles`)) as { name: string }[]).map((r) => r.name);
  const url = `${baseUrl}/console/`;
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ARGS });
  const newPage = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // Logged in already: the console's session token, as a login leaves it.
    await context.addInitScript(`sessionStorage.setItem("ecm.console.token", ${JSON.stringify(token)}); sessionStorage.setItem("ecm.console.who", ${JSON.stringify(JSON.stringify({ me, roles }))}); ${PROBE}`);
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    return { page, close: () => context.close() };
  };
  const firstRowsAt = (page: Page) => page.waitForFunction(() => (window as unknown as { __rows: number[] }).__rows[0], undefined, { polling: 50 }).then((h) => h.jsonValue() as Promise<number>);
  /** Time until every row in the viewport is loaded, from `since` (page time). */
  const settled = (page: Page, since: number) =>
    page.waitForFunction(
      (t) => {
        const viewport = document.querySelector(".viewport")!.getBoundingClientRect();
        const visible = [...document.querySelectorAll(".grid .r")].filter((r) => { const b = r.getBoundingClientRect(); return b.bottom > viewport.top && b.top < viewport.bottom; });
        return visible.length > 0 && visible.every((r) => !r.classList.contains("placeholder")) ? performance.now() - t : 0;
      },
      since,
      { polling: "raf" },
    ).then((h) => h.jsonValue() as Promise<number>);

  try {
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < options.rounds; i++) {
      const { page, close } = await newPage();
      await page.goto(`${url}#/users`);
      cold.push(await firstRowsAt(page));
      // A revisit of a loaded page, not a reload while the first load is still asking for its count,
      // groups and profiles (those answers and the torn-down page's work would be measured too).
      await page.waitForLoadState("networkidle");
      await page.reload();
      warm.push(await firstRowsAt(page));
      await close();
    }
    options.log(`console: first rows cold ${ms(latencyOf(cold).p50)} ms, warm ${ms(latencyOf(warm).p50)} ms`);

    const { page, close } = await newPage();
    await page.goto(`${url}#/users`);
    await firstRowsAt(page);
    const search: number[] = [];
    const box = page.getByRole("searchbox", { name: "Search users" });
    for (const needle of SEARCHES.slice(0, Math.max(3, options.rounds))) {
      await box.fill("");
      await page.waitForFunction(() => !location.hash.includes("search="), undefined, { polling: 50 });
      await box.focus();
      await page.evaluate(() => { (window as unknown as { __lastKey: number }).__lastKey = 0; document.addEventListener("keydown", () => { (window as unknown as { __lastKey: number }).__lastKey = performance.now(); }, { capture: true }); });
      await page.keyboard.type(needle, { delay: 60 });
      const elapsed = await page.waitForFunction(
        (n) => {
          const w = window as unknown as { __lastKey: number };
          const row = document.querySelector(".grid .r:not(.placeholder)");
          return location.hash.includes(`search=${encodeURIComponent(n)}`) && row && (row.textContent ?? "").toLowerCase().includes(n) ? performance.now() - w.__lastKey : 0;
        },
        needle,
        { polling: "raf" },
      );
      search.push((await elapsed.jsonValue()) as number);
    }
    options.log(`console: search first rows p50 ${ms(latencyOf(search).p50)} ms`);

    // Scrolling the unfiltered list page by page: each next page, from the scroll that shows it.
    await box.fill("");
    await page.waitForFunction(() => !location.hash.includes("search="), undefined, { polling: 50 });
    await page.locator(".viewport").evaluate((el) => el.scrollTo({ top: 0 }));
    const first = await page.evaluate(() => performance.now());
    const firstPage = [await settled(page, first)];
    await page.evaluate(() => { (window as unknown as { __longTasks: number[] }).__longTasks = []; });
    const next: number[] = [];
    const pages = Math.max(10, options.rounds * 4);
    for (let i = 1; i <= pages; i++) {
      const since = await page.locator(".viewport").evaluate((el, top) => { el.scrollTo({ top }); return performance.now(); }, i * 100 * 30);
      next.push(await settled(page, since));
    }
    const longTasks = (await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks)).filter((d) => d > 50);
    options.log(`console: next page p50 ${ms(latencyOf(next).p50)} ms; long tasks over 50 ms while scrolling: ${longTasks.length}`);

    // The scrollbar dragged anywhere: positions spread over the whole list.
    const jump: number[] = [];
    for (let i = 0; i < Math.max(10, options.rounds * 4); i++) {
      const fraction = ((i * 7919) % 97) / 97;
      const since = await page.locator(".viewport").evaluate((el, f) => { el.scrollTo({ top: Math.floor((el.scrollHeight - el.clientHeight) * f) }); return performance.now(); }, fraction);
      jump.push(await settled(page, since));
    }
    options.log(`console: scrollbar jump p50 ${ms(latencyOf(jump).p50)} ms`);
    await close();

    // A bulk action over about 100 000 users (scaled to the data), done by the server.
    const target = Math.min(100_000, Math.round(users / 10));
    let best = { search: BULK_SEARCHES[0]!, count: -1 };
    for (const search of BULK_SEARCHES) {
      const count = (await api("GET", `/security/v1/users/count?search=${encodeURIComponent(search)}`)) as number;
      if (best.count < 0 || Math.abs(count - target) < Math.abs(best.count - target)) best = { search, count };
    }
    const bulk: ConsoleResult["bulk"] = [];
    for (const action of ["disable", "enable"]) {
      const started = performance.now();
      const run = (await api("POST", "/security/v1/users/bulk-actions", { action, filter: { search: best.search } })) as { id: string; status: string; processed: number };
      let state = run;
      // How long the server keeps a request waiting while the run holds the store.
      const polls: number[] = [];
      while (state.status === "running") {
        await new Promise((r) => setTimeout(r, 200));
        const asked = performance.now();
        state = (await api("GET", `/security/v1/users/bulk-actions/${run.id}`)) as typeof run;
        polls.push(performance.now() - asked);
      }
      const seconds = (performance.now() - started) / 1000;
      bulk.push({ selection: `${action} search=${best.search}`, users: state.processed, seconds, usersPerSecond: state.processed / seconds, statusAnswers: latencyOf(polls) });
      options.log(`console: bulk ${action} of ${state.processed.toLocaleString("en")} users: ${(state.processed / seconds).toFixed(0)} users/s (${state.status})`);
    }
    return {
      users,
      coldFirstRows: latencyOf(cold),
      warmFirstRows: latencyOf(warm),
      searchFirstRows: latencyOf(search),
      firstPage: latencyOf(firstPage),
      nextPage: latencyOf(next),
      jump: latencyOf(jump),
      longTasks: { count: longTasks.length, maxMs: Math.max(0, ...longTasks), scrolledPages: pages },
      bulk,
    };
  } finally {
    await browser.close();
  }
}

/** The report's lines for one store. */
export function consoleReport(r: ConsoleResult): string[] {
  const lat = (l: Latency) => `p50 ${ms(l.p50)} ms, p90 ${ms(l.p90)} ms, max ${ms(l.max)} ms`;
  return [
    `users page, navigation to first rows: cold ${lat(r.coldFirstRows)}; warm ${lat(r.warmFirstRows)} (targets ≤ 500 / ≤ 250 ms)`,
    `first rows of a search after the last keystroke (the 150 ms typing pause included): ${lat(r.searchFirstRows)} (target ≤ 300 ms)`,
    `scrolling: first page ${ms(r.firstPage.p50)} ms; each next page ${lat(r.nextPage)}`,
    `scrollbar dragged anywhere in ${r.users.toLocaleString("en")} users, rows shown: ${lat(r.jump)} (target ≤ 300 ms)`,
    `long tasks over 50 ms while scrolling ${r.longTasks.scrolledPages} pages: ${r.longTasks.count} (longest ${ms(r.longTasks.maxMs)} ms; target none)`,
    ...r.bulk.map(
      (b) =>
        `bulk ${b.selection}: ${b.users.toLocaleString("en")} users in ${b.seconds.toFixed(1)} s = ${b.usersPerSecond.toFixed(0)} users/s (target ≥ 5 000); its status, asked every 200 ms meanwhile, answered in ${lat(b.statusAnswers)}`,
    ),
  ];
}
