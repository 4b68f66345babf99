import { treeCpu } from "/tmp/h2m/treecpu.ts";
import { chromium } from "playwright-core";
import { openPage, logInByToken } from "./support.js";
import { startTestServer } from "../../server/src/test-support/server.js";
const server = await startTestServer("sqlite");
const url = `${server.baseUrl}/console/`;
const N = 8;
const base = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];
for (const round of [1, 2]) for (const extra of [[], ["--renderer-process-limit=1"]]) {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: [...base, ...extra] });
  const fn = async () => { const { page, close } = await openPage(browser); await logInByToken(page, server, url); await page.goto(`${url}#/groups`); await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor(); await close(); };
  await fn();
  const t0 = treeCpu();
  for (let i = 0; i < N; i++) await fn();
  console.log(round, JSON.stringify(extra), "per test", ((treeCpu() - t0) / N).toFixed(3), "load", (await import("node:os")).loadavg()[0].toFixed(1));
  await browser.close();
}
await server.close();
