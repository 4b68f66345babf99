/** The audit log's page in Chromium: its filter, the URL and history, answers that come late or are refused. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createGroup, createUser } from "../../server/src/test-support/accounts.js";
import { answerLate, describeConsole, holdRequests, logInByToken, nextFrames, onPage } from "./support.js";

describeConsole("the audit log in the console", {}, (ctx, kind) => {
  it("a time without a zone in the audit log's link is this browser's local time, for the form and the server alike", async () => {
    const { server, browser, url } = ctx();
    const context = await browser.newContext({ timezoneId: "Asia/Kolkata" });
    const page = await context.newPage();
    try {
      await logInByToken(page, server, url);
      const asked = page.waitForRequest((r) => r.url().includes("/security/v1/audit-events") && r.url().includes("from="));
      await page.goto(`${url}#/audit?from=2026-12-05T11:55`);
      assert.equal(new URL((await asked).url()).searchParams.get("from"), "2026-12-05T06:25:00.000Z", "11:55 in Kolkata");
      assert.equal(await page.getByLabel("From").inputValue(), "2026-12-05T11:55");
    } finally {
      await context.close();
    }
  });

  it("a reloaded page, shown before its session is checked, keeps what is typed and said meanwhile once the check answers: the audit log's filter typed, the groups page's kept New group and its notice", async () => {
    const { url } = ctx();
    const KEPT = "Your changes not saved when you left this page are back in the form: they are not saved yet.";
    const me = /\/security\/v1\/me$/;
    await onPage(ctx(), async ({ page }) => {
      /** Reloads the page with the session's check held; `meanwhile` runs before it answers, `after` once the page has taken its answer. */
      const reloadChecked = async (heading: string, meanwhile: () => Promise<void>, after: () => Promise<void>) => {
        const release = await holdRequests(page, me);
        await page.reload();
        await page.getByRole("heading", { level: 1, name: heading }).waitFor();
        await meanwhile();
        // The check, once answered, writes the session's lifetime again: its absence says it has not yet.
        await page.evaluate(() => sessionStorage.removeItem("ecm.console.lifetime"));
        release();
        await page.waitForFunction(() => sessionStorage.getItem("ecm.console.lifetime") !== null);
        await nextFrames(page);
        await after();
        await page.unroute(me);
      };
      await page.goto(`${url}#/audit`);
      await page.getByRole("heading", { level: 1, name: "Audit log" }).waitFor();
      await reloadChecked("Audit log", () => page.getByLabel("Actor (username)").fill("sysadmin"), async () => {
        assert.equal(await page.getByLabel("Actor (username)").inputValue(), "sysadmin");
      });
      await page.goto(`${url}#/groups`);
      await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor();
      await page.getByLabel("Name", { exact: true }).fill(`kept-over-a-reload-${kind}`);
      await reloadChecked("Groups", () => page.getByText(KEPT).waitFor(), async () => {
        assert.equal(await page.getByText(KEPT).count(), 1);
        assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), `kept-over-a-reload-${kind}`);
      });
    });
  });

  it("the audit log's form follows the URL: Back shows the filter of the list it returns to, and the next Filter sends only what is chosen then", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/audit`);
      await page.getByLabel("Outcome").selectOption("failure");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL(/#\/audit\?outcome=failure$/);
      // Typed and not applied: it belongs to this filter, and goes with it.
      await page.getByLabel("Actor (username)").fill("nobody");
      await page.goBack();
      await page.waitForURL(/#\/audit$/);
      await page.waitForFunction(() => document.querySelector<HTMLSelectElement>("select[name=outcome]")?.value === "" && document.querySelector<HTMLInputElement>("input[name=actor]")?.value === "")
        .catch(() => assert.fail("after Back, the form still shows the outcome or actor of the filter left"));
      await page.getByLabel("Outcome").selectOption("success");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL(/#\/audit\?outcome=success$/);
    });
  });

  it("the audit log's buttons each name their event: no two are one name (a screen reader's list of buttons, a voice command)", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const user = await createUser(server, token, "named.events");
    const group = await createGroup(server, token, "named-events");
    assert.equal((await server.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${group}`, { token })).status, 204);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/audit?actor=sysadmin`);
      const buttons = page.getByRole("table", { name: "Audit events, newest first" }).getByRole("button");
      await buttons.first().waitFor();
      const names = await buttons.evaluateAll((els) => els.map((el) => el.textContent!.replace(/\s+/g, " ").trim()));
      assert.ok(names.length >= 3, names.join("\n"));
      assert.deepEqual(names.filter((name, i) => names.indexOf(name) !== i), [], names.join("\n"));
      assert.ok(names.every((name) => name.startsWith("Show details")), names.join("\n"));
    });
  });

  it("the audit log shows the events of the filter last asked for, even when an earlier one answers later", async () => {
    await onPage(ctx(), async ({ page }) => {
      // The first filter's answer comes once the second's is shown.
      const logins = page.getByRole("row", { name: /auth\.login\s+sysadmin/ });
      const slow = await answerLate(page, /\/audit-events\?.*actor=nobody/, () => logins.first().waitFor());
      await page.evaluate(() => { location.hash = "#/audit?actor=nobody"; });
      await page.getByRole("heading", { level: 1, name: "Audit log" }).waitFor();
      await page.evaluate(() => { location.hash = "#/audit?actor=sysadmin"; });
      await logins.first().waitFor();
      // The slow answer came (or was cancelled), and the page had a frame to show it.
      await slow.delivered;
      await nextFrames(page);
      assert.ok((await logins.count()) > 0, "the events of actor=sysadmin are still shown");
      assert.equal(await page.getByText("No events match.").count(), 0);
    });
  });

  it("the audit log's Action suggests the action names as it is typed, and a part of one finds no events but says which names hold it", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/audit`);
      const action = page.getByLabel("Action");
      await action.fill("login");
      // The suggestions are the server's names, offered by the box's list once the page has read them.
      await page.waitForFunction(() => (document.querySelector<HTMLInputElement>("input[name=action]")?.list?.options.length ?? 0) > 0);
      const listed = await action.evaluate((el) => [...((el as HTMLInputElement).list?.options ?? [])].map((o) => o.value));
      assert.ok(listed.includes("auth.login") && listed.includes("user.lockout-cleared"), listed.join(" "));
      await page.getByRole("button", { name: "Filter" }).click();
      await page.getByText("No events match: “login” is no action’s whole name. Names holding it:").waitFor();
      await page.getByRole("link", { name: "auth.provider-login" }).waitFor();
      await page.getByRole("link", { name: "auth.login", exact: true }).click();
      await page.getByRole("row", { name: /auth\.login/ }).first().waitFor();
      assert.match(page.url(), /action=auth\.login/);
      assert.equal(await action.inputValue(), "auth.login");
    });
  });

  it("a filter the server refuses shows no events of the filter before, nor More events, nor “No events match.”", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/audit`);
      const events = page.getByRole("table", { name: "Audit events, newest first" }).locator("tbody tr");
      await events.first().waitFor();
      await page.getByLabel("Target (id or name)").fill("t".repeat(300));
      await page.getByRole("button", { name: "Filter" }).click();
      await page.getByText("Target (id or name) must be at most 256 characters long.").waitFor();
      assert.equal(await events.count(), 0, "the events of the filter before are gone");
      assert.equal(await page.getByRole("button", { name: "More events" }).count(), 0);
      assert.equal(await page.getByText("No events match.").count(), 0);
      // The refusal is the 400 the page says in words.
    }, { errorsAllowed: /status of 400 .*\/audit-events\?target=t+&/ });
  });
});
