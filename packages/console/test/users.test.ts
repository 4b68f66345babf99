/** The users and user pages in Chromium, as an administrator uses them: on SQLite, and on PostgreSQL what only that store shows the page. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, it } from "node:test";
import type { Locator, Page } from "playwright-core";
import { createGroup, createSecurityAdministrator, createUser, USER_PASSWORD } from "../../server/src/test-support/accounts.js";
import { insertGroups, insertUser } from "../../server/src/test-support/fixtures.js";
import { PgSession } from "../../server/src/test-support/pg-session.js";
import { ADMIN_PASSWORD, type TestServer } from "../../server/src/test-support/server.js";
import { seedStore } from "../../server/src/tools/seed-data.js";
import { answerLate, describeConsole, focusReaches, holdRequests, logInByToken, nextFrames, onOwnServer, onPage, pickGroup, screenshot, wholeGroupLists } from "./support.js";

/** The row of the users grid that shows this username. */
const row = (page: Page, username: string) => page.getByRole("row").filter({ has: page.getByRole("gridcell", { name: username, exact: true }) });

/**
 * Starts a bulk Disable of sysadmin from the users page, which the run refuses (a built-in user is never
 * disabled) and its report says so. The page's looks at the run are held: it stays in progress there
 * until the test calls `release`. `bar` is the bulk actions' bar.
 */
async function disableSysadminHeld(page: Page, url: string): Promise<{ release: () => void; bar: Locator }> {
  const release = await holdRequests(page, /\/security\/v1\/users\/bulk-actions\/[^/]+$/);
  await page.goto(`${url}#/users?search=sysadmin`);
  await page.getByRole("checkbox", { name: "Select sysadmin" }).check();
  const bar = page.getByRole("region", { name: "Bulk actions" });
  await bar.getByRole("button", { name: "Disable" }).click();
  return { release, bar };
}

/**
 * Waits for the list filtered by `search=person` (the suite's 240 people), its first row drawn. Its
 * first rows are the whole list's too, which stays drawn until the page takes in the new hash: a row
 * ticked or a position read there would be the whole list's, dropped or off by one once the filter applies.
 */
async function filteredByPerson(page: Page): Promise<void> {
  await page.getByRole("status").filter({ hasText: "240 users matching “person”" }).waitFor();
  await row(page, "person000").waitFor();
}

/**
 * Scrolls the users grid down by `step` pixels at a time until the row of this username is drawn. It
 * scrolls only while no row is still loading: past a page on its way, the target could go by unseen.
 */
const scrollUntil = (page: Page, username: string, step: number) => page.waitForFunction(([name, by]) => {
  const viewport = document.querySelector(".viewport");
  if (!viewport) return false;
  if ([...viewport.querySelectorAll(".r:not(.placeholder) [role=gridcell]")].some((cell) => cell.textContent?.trim() === name)) return true;
  if (!viewport.querySelector(".r.placeholder")) viewport.scrollBy({ top: by });
  return false;
}, [username, step] as const, { polling: 100 });

/**
 * Scrolls the users grid to `top` and waits for the next frame: its scroll event redraws the rows, each
 * element taking another row, so a row clicked before then may be another user by the time of the click.
 */
async function scrollTo(page: Page, top: number): Promise<void> {
  await page.locator(".viewport").evaluate((el, to) => { el.scrollTop = to; }, top);
  await nextFrames(page);
}

describeConsole("users in the console", {}, (ctx, kind) => {
  let token: string;
  before(async () => {
    const { server } = ctx();
    token = await server.login();
    for (let i = 0; i < 240; i++) {
      await insertUser(server.server.deps.store, { username: `person${String(i).padStart(3, "0")}`, first_name: "Pat", last_name: `Person ${i}`, email: `person${i}@example.com` });
    }
    await insertUser(server.server.deps.store, { username: "carol.jones", first_name: "Carol", last_name: "Jones", email: "carol@example.com" });
    await createGroup(server, token, "auditors", ["security-administrator"]);
  });

  it("finds a user by typing, opens it, edits it through a conflict, locks it, adds it to a group and shows its roles", async () => {
    const { server } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.getByRole("searchbox", { name: "Search users" }).fill("jones");
      await row(page, "carol.jones").waitFor();
      await page.getByRole("status").filter({ hasText: "1 user matching" }).waitFor();
      assert.match(page.url(), /#\/users\?search=jones$/, "the search is in the URL");
      await row(page, "carol.jones").click();
      await page.getByRole("heading", { level: 1, name: /Carol Jones/ }).waitFor();
      await screenshot(page, `user-${kind}`);

      // Someone else changes another field while the form is open: the save goes through, their change stays, and the page says so.
      const id = page.url().split("/users/")[1]!;
      await page.getByLabel("Description").fill("Mine");
      const other = await server.api("PUT", `/security/v1/users/${id}`, { token, body: { firstName: "Caroline" } });
      assert.equal(other.status, 200);
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByRole("status").filter({ hasText: "Saved. Someone else changed First name and Display name meanwhile: their change stays, and the form shows it." }).waitFor();
      assert.equal(await page.getByRole("dialog", { name: "Someone else changed this user" }).isVisible(), false);
      assert.deepEqual([await page.getByLabel("First name").inputValue(), await page.getByLabel("Description").inputValue()], ["Caroline", "Mine"]);
      const both = (await server.api("GET", `/security/v1/users/${id}`, { token })).body;
      assert.deepEqual([both.firstName, both.description], ["Caroline", "Mine"]);
      // Someone else changes the field edited: saving shows what changed and offers to reload.
      await page.getByLabel("Description").fill("Mine again");
      assert.equal((await server.api("PUT", `/security/v1/users/${id}`, { token, body: { description: "Theirs" } })).status, 200);
      await page.getByRole("button", { name: "Save", exact: true }).click();
      const conflict = page.getByRole("dialog", { name: "Someone else changed this user" });
      await conflict.waitFor();
      assert.match(await conflict.innerText(), /Description\s+Mine\s+Theirs\s+Mine again/);
      await screenshot(page, `user-conflict-${kind}`);
      await conflict.getByRole("button", { name: "Reload (discard my changes)" }).click();
      assert.equal(await page.getByLabel("Description").inputValue(), "Theirs");
      await page.getByLabel("Description").fill("Mine again");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText("Saved.").waitFor();

      await page.getByRole("button", { name: "Disable (lock)" }).click();
      await page.getByText("Disabled; the user's sessions were ended.").waitFor();
      assert.equal((await server.api("GET", `/security/v1/users/${id}`, { token })).body.enabled, false);

      await pickGroup(page, page.getByRole("combobox", { name: "Add to group" }), "audit", "auditors");
      await page.getByRole("button", { name: "Add", exact: true }).click();
      await page.getByText("Added to auditors.").waitFor();
      const roles = page.getByRole("table").filter({ has: page.getByRole("columnheader", { name: "Granted by" }) });
      await roles.getByRole("row", { name: /security-administrator\s+auditors/ }).waitFor();
      await page.getByRole("cell", { name: "group.member.add" }).first().waitFor();
      // Its changes in its own events read as the audit log shows them: each field before and after.
      const events = page.getByRole("table").filter({ has: page.getByRole("columnheader", { name: "By" }) });
      await events.locator("table").getByRole("row", { name: /firstName\s+"Carol"\s+"Caroline"/ }).waitFor();
    });
  });

  it("a field saved before is not sent again with a later save: a change another administrator made meanwhile stays, and the form shows it", async () => {
    const { server, url } = ctx();
    const dana = await createUser(server, token, "dana.field");
    await createGroup(server, token, "field-team-a");
    await createGroup(server, token, "field-team-b");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${dana.uuid}`);
      await page.getByLabel("Description").fill("Mine");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText("Saved.").waitFor();
      assert.equal((await server.api("PUT", `/security/v1/users/${dana.uuid}`, { token, body: { description: "Theirs" } })).status, 200);
      // Another change on the page reads the user again: the field not being edited shows their value.
      await pickGroup(page, page.getByRole("combobox", { name: "Add to group" }), "field-team", "field-team-a");
      await page.getByRole("button", { name: "Add", exact: true }).click();
      await page.getByText("Added to field-team-a.").waitFor();
      assert.equal(await page.getByLabel("Description").inputValue(), "Theirs");
      await page.getByLabel("Email").fill("dana@example.com");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText("Saved.").waitFor();
      const saved = (await server.api("GET", `/security/v1/users/${dana.uuid}`, { token })).body;
      assert.deepEqual([saved.description, saved.email], ["Theirs", "dana@example.com"]);

      // An edit of a field they change meanwhile is kept in the form, and saving it is a conflict, not an overwrite.
      await page.getByLabel("Description").fill("Edited");
      assert.equal((await server.api("PUT", `/security/v1/users/${dana.uuid}`, { token, body: { description: "Theirs again" } })).status, 200);
      await pickGroup(page, page.getByRole("combobox", { name: "Add to group" }), "field-team", "field-team-b");
      await page.getByRole("button", { name: "Add", exact: true }).click();
      await page.getByText("Added to field-team-b.").waitFor();
      assert.equal(await page.getByLabel("Description").inputValue(), "Edited");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      const conflict = page.getByRole("dialog", { name: "Someone else changed this user" });
      await conflict.waitFor();
      assert.match(await conflict.innerText(), /Description\s+Theirs\s+Theirs again\s+Edited/);
      await conflict.getByRole("button", { name: "Reload (discard my changes)" }).click();
      assert.equal(await page.getByLabel("Description").inputValue(), "Theirs again");
      assert.equal((await server.api("GET", `/security/v1/users/${dana.uuid}`, { token })).body.description, "Theirs again");
      // The tests after this one count the users and groups there were before it.
      assert.equal((await server.api("DELETE", `/security/v1/users/${dana.uuid}`, { token })).status, 204);
      for (const name of ["field-team-a", "field-team-b"]) {
        const [group] = (await server.api<{ id: string; name: string }[]>("GET", `/security/v1/user-groups?search=${name}`, { token })).body.filter((g) => g.name === name);
        assert.equal((await server.api("DELETE", `/security/v1/user-groups/${group!.id}`, { token })).status, 204);
      }
    });
  });

  it("a value a field cannot hold as it is (line breaks) is not sent back by a save that did not change it", async () => {
    const { server, url } = ctx();
    const fay = await createUser(server, token, "fay.lines");
    const lines = await server.api("PUT", `/security/v1/users/${fay.uuid}`, { token, body: { lastName: "x\ny", description: "l1\r\nl2\rl3" } });
    assert.equal(lines.status, 200, lines.text);
    const group = await createGroup(server, token, "lines-group");
    assert.equal((await server.api("PUT", `/security/v1/user-groups/${group}`, { token, body: { description: "a\nb" } })).status, 200);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${fay.uuid}`);
      await page.getByLabel("Description").waitFor();
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText("Nothing to save.").waitFor();
      const stored = (await server.api("GET", `/security/v1/users/${fay.uuid}`, { token })).body;
      assert.deepEqual([stored.lastName, stored.description], ["x\ny", "l1\r\nl2\rl3"]);
      await page.goto(`${url}#/groups/${group}`);
      await page.getByRole("heading", { level: 1, name: "lines-group" }).waitFor();
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText("Nothing to save.").waitFor();
      assert.equal((await server.api("GET", `/security/v1/user-groups/${group}`, { token })).body.description, "a\nb");
      assert.equal((await server.api("DELETE", `/security/v1/users/${fay.uuid}`, { token })).status, 204);
      assert.equal((await server.api("DELETE", `/security/v1/user-groups/${group}`, { token })).status, 204);
    });
  });

  it("a refusal names a field by the label the page shows it with, not by the API's name for it", async () => {
    const { server, url } = ctx();
    const gus = await createUser(server, token, "gus.named");
    // The refusal is the 400 the page shows; nothing else went wrong.
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${gus.uuid}`);
      await page.getByLabel("Login name").fill("g".repeat(257));
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByRole("alert").filter({ hasText: "Login name must be at most 256 characters long. (ECMS1001)" }).waitFor();
    }, { errorsAllowed: /status of 400 .*\/users\// });
    // The tests after this one count the suite's users.
    assert.equal((await server.api("DELETE", `/security/v1/users/${gus.uuid}`, { token })).status, 204);
  });

  it("an emptied display or login name goes back to its default", async () => {
    const { server, url } = ctx();
    const hal = await createUser(server, token, "hal.defaults");
    assert.equal((await server.api("PUT", `/security/v1/users/${hal.uuid}`, { token, body: { displayName: "Hal by hand", loginName: "hal.login" } })).status, 200);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${hal.uuid}`);
      await page.getByLabel("Display name").fill("");
      await page.getByLabel("Login name").fill("");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText("Saved.").waitFor();
      assert.deepEqual([await page.getByLabel("Display name").inputValue(), await page.getByLabel("Login name").inputValue()], ["hal.defaults", "hal.defaults"]);
      const stored = (await server.api<{ displayName: string; loginName: string }>("GET", `/security/v1/users/${hal.uuid}`, { token })).body;
      assert.deepEqual([stored.displayName, stored.loginName], ["hal.defaults", "hal.defaults"]);
    });
    assert.equal((await server.api("DELETE", `/security/v1/users/${hal.uuid}`, { token })).status, 204);
  });

  it("deleting a user someone else changed meanwhile reads it again and asks once more", async () => {
    const { server, url } = ctx();
    const erin = await createUser(server, token, "erin.delete");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${erin.uuid}`);
      await page.getByLabel("Description").waitFor();
      assert.equal((await server.api("PUT", `/security/v1/users/${erin.uuid}`, { token, body: { description: "changed elsewhere" } })).status, 200);
      const remove = async () => {
        await page.getByRole("button", { name: "Delete…" }).click();
        await page.getByRole("dialog", { name: "Delete erin.delete?" }).getByRole("button", { name: "Delete" }).click();
      };
      await remove();
      await page.getByText("Someone else changed erin.delete meanwhile: the page shows it as it is now. Delete it again if you still mean to.").waitFor();
      assert.equal(await page.getByLabel("Description").inputValue(), "changed elsewhere");
      assert.equal((await server.api("GET", `/security/v1/users/${erin.uuid}`, { token })).status, 200);
      await remove();
      await page.getByText("Deleted erin.delete.").waitFor();
      assert.equal((await server.api("GET", `/security/v1/users/${erin.uuid}`, { token })).status, 404);
    });
  });

  it("a user deleted from its page opened from a search goes back to that search, and so does its ← Users; a group to the groups search it came from", async () => {
    const { server, url } = ctx();
    const listed = await createUser(server, token, "lena.listed");
    await createUser(server, token, "lena.leaving");
    const lenaGroup = await createGroup(server, token, "lena-group");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users?search=lena`);
      await row(page, "lena.listed").click();
      await page.getByRole("heading", { level: 1, name: /lena\.listed/ }).waitFor();
      await page.getByRole("link", { name: "← Users" }).click();
      await page.waitForURL(/#\/users\?search=lena$/);
      await row(page, "lena.leaving").click();
      await page.getByRole("heading", { level: 1, name: /lena\.leaving/ }).waitFor();
      await page.getByRole("button", { name: "Delete…" }).click();
      await page.getByRole("dialog", { name: "Delete lena.leaving?" }).getByRole("button", { name: "Delete" }).click();
      await page.getByText("Deleted lena.leaving.").waitFor();
      await page.waitForURL(/#\/users\?search=lena$/);
      await row(page, "lena.listed").waitFor();
      assert.equal(await row(page, "lena.leaving").count(), 0);
      await page.goto(`${url}#/groups?search=lena`);
      await page.getByRole("link", { name: "lena-group" }).click();
      await page.getByRole("heading", { level: 1, name: "lena-group" }).waitFor();
      // Changed by someone else meanwhile, as a user is: read again, and deleting it asked once more.
      assert.equal((await server.api("PUT", `/security/v1/user-groups/${lenaGroup}`, { token, body: { description: "changed elsewhere" } })).status, 200);
      const remove = async () => {
        await page.getByRole("button", { name: "Delete…" }).click();
        await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
      };
      await remove();
      await page.getByText("Someone else changed the group lena-group meanwhile: the page shows it as it is now. Delete it again if you still mean to.").waitFor();
      assert.equal(await page.getByLabel("Description").inputValue(), "changed elsewhere");
      await remove();
      await page.getByText("Deleted the group lena-group.").waitFor();
      await page.waitForURL(/#\/groups\?search=lena$/);
      // The suite's later tests count the users.
      assert.equal((await server.api("DELETE", `/security/v1/users/${listed.uuid}`, { token })).status, 204);
    });
  });

  it("loads pages as the table scrolls: the next page of a filter, any position of the whole list", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      const grid = page.getByRole("grid", { name: "Users" });
      await page.getByRole("status").filter({ hasText: "242 users" }).waitFor();
      assert.equal(await grid.getAttribute("aria-rowcount"), "243");
      assert.ok((await grid.getByRole("row").count()) < 80, "only the visible rows are in the DOM");
      // Dragged to the end of the whole list: the rows there load from the position's cursor.
      await page.locator(".viewport").evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
      await row(page, "sysadmin").waitFor();
      assert.equal(await row(page, "sysadmin").getAttribute("aria-rowindex"), "243");
      // A filtered list grows page by page as it is scrolled.
      await page.goto(`${url}#/users?search=person`);
      await filteredByPerson(page);
      // To the end of what is loaded, again once the next page is in.
      await scrollUntil(page, "person239", 1_000_000);
      assert.equal(await row(page, "person239").getAttribute("aria-rowindex"), "241");
    });
  });

  it("a page of rows that failed to load (the server unreachable while the list was scrolled) is asked again by Try again, and the list goes on from there", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users?search=person`);
      await filteredByPerson(page);
      await page.getByRole("checkbox", { name: "Select person000" }).check();
      let down = true;
      await page.route(/\/security\/v1\/users\?/, (route) => (down ? route.abort("connectionrefused") : route.continue()));
      await page.locator(".viewport").evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
      const failure = page.getByRole("alert").filter({ hasText: "The server cannot be reached" });
      await failure.waitFor();
      down = false;
      await failure.getByRole("button", { name: "Try again" }).click();
      await failure.waitFor({ state: "detached" });
      await scrollUntil(page, "person239", 1_000_000);
      assert.equal(await row(page, "person239").getAttribute("aria-rowindex"), "241");
      // Nothing chosen before is lost to it.
      await page.getByRole("region", { name: "Bulk actions" }).getByText("1 selected", { exact: true }).waitFor();
    }, { errorsAllowed: /ERR_CONNECTION_REFUSED/ });
  });

  it("comes back from a user to the rows the list was scrolled to, the whole list's and a filter's", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      /** The username in the first row in view. */
      const firstInView = () => page.locator(".viewport").evaluate((viewport) => {
        const top = viewport.getBoundingClientRect().top;
        const rows = [...viewport.querySelectorAll<HTMLElement>(".r:not(.placeholder)")].filter((r) => r.getBoundingClientRect().bottom > top + 1);
        rows.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
        return rows[0]?.querySelectorAll("[role=gridcell]")[1]?.textContent?.trim() ?? "";
      });
      for (const [list, target] of [["#/users", "person180"], ["#/users?search=person", "person150"]] as const) {
        await page.goto(`${url}${list}`);
        if (list.includes("search")) await filteredByPerson(page);
        await row(page, "person000").waitFor();
        // Scrolled down row by row as far as the target (a filtered list loads its next pages on the way).
        await scrollUntil(page, target, 600);
        // The target row at the top of the view (rows are 30 px high; aria-rowindex counts the header).
        const index = Number(await row(page, target).getAttribute("aria-rowindex")) - 2;
        await scrollTo(page, index * 30);
        await row(page, target).waitFor();
        assert.equal(await firstInView(), target, `${list}: scrolled to ${target}`);
        await row(page, target).click();
        await page.getByRole("heading", { level: 1, name: /Pat Person/ }).waitFor();
        await page.goBack();
        // The page is made anew: its table may not be there yet.
        await page.waitForFunction(() => (document.querySelector(".viewport")?.scrollTop ?? 0) > 0);
        await row(page, target).waitFor();
        assert.equal(await firstInView(), target, `${list}: back at ${target}`);
      }
    });
  });

  it("bulk-disables all users matching a search, on the server, with progress and a report", async () => {
    const { server, url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users?search=person1`);
      await row(page, "person100").waitFor();
      await page.getByRole("status").filter({ hasText: "111 users matching" }).waitFor();
      await page.getByRole("checkbox", { name: "Select person100" }).check();
      await page.getByRole("button", { name: "Select all 111 matching" }).click();
      await page.getByText("All 111 matching users selected").waitFor();
      const runs = async () => (await server.api<unknown[]>("GET", "/security/v1/audit-events?action=users.bulk-action.start", { token })).body.length;
      const before = await runs();
      // All matching: asked first, saying what it does; one run starts.
      await page.getByRole("region", { name: "Bulk actions" }).getByRole("button", { name: "Disable" }).click();
      const ask = page.getByRole("dialog", { name: "Disable all 111 matching users" });
      assert.match(await ask.innerText(), /their sessions and API keys stop at once/);
      await ask.getByRole("button", { name: "Disable" }).click();
      const progress = page.getByRole("dialog", { name: /Disable: done/ });
      await progress.waitFor();
      assert.equal(await runs(), before + 1);
      assert.match(await progress.innerText(), /111 of 111 processed: 111 changed, 0 unchanged, 0 refused/);
      await screenshot(page, `bulk-progress-${kind}`);
      await progress.getByRole("button", { name: "Close" }).click();
      // The bar that opened it is gone with the selection: the focus goes to the table's row, not the top of the document.
      await page.waitForFunction(() => document.activeElement?.getAttribute("role") === "row");
      assert.equal((await server.api("GET", "/security/v1/users/count?search=person1&enabled=false", { token })).body, 111);
      assert.equal((await server.api("GET", "/security/v1/users/count?search=person2&enabled=false", { token })).body, 0);
    });
  });

  it("a bulk action's report with many refused users keeps Close in view at 1 024 × 768: the list scrolls inside the dialog", async () => {
    const { browser } = ctx();
    await onOwnServer(browser, kind, async (server) => {
      // Built-in users: a bulk Disable refuses each.
      for (let i = 0; i < 40; i++) await insertUser(server.server.deps.store, { username: `kept${String(i).padStart(2, "0")}`, builtin: 1 });
    }, async ({ page, url }) => {
      await page.setViewportSize({ width: 1024, height: 768 });
      await page.goto(`${url}#/users?search=kept`);
      await page.getByRole("status").filter({ hasText: "40 users matching" }).waitFor();
      await page.getByRole("checkbox", { name: "Select kept00" }).check();
      await page.getByRole("button", { name: "Select all 40 matching" }).click();
      await page.getByRole("region", { name: "Bulk actions" }).getByRole("button", { name: "Disable" }).click();
      await page.getByRole("dialog", { name: "Disable all 40 matching users" }).getByRole("button", { name: "Disable" }).click();
      const progress = page.getByRole("dialog", { name: /Disable: done/ });
      await progress.getByText("40 refused").waitFor();
      const close = progress.getByRole("button", { name: "Close" });
      assert.equal(await close.evaluate((el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }), true, "Close is in view");
      await screenshot(page, `bulk-report-refused-${kind}`);
      await close.click();
      await progress.waitFor({ state: "hidden" });
    });
  });

  it("the header box that selects the loaded rows is disabled until a row has loaded: ticked before, it would select nothing", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      const header = page.getByRole("checkbox", { name: "Select all loaded users" });
      const release = await holdRequests(page, /\/security\/v1\/users\?.*search=carol/);
      const asked = page.waitForRequest(/\/security\/v1\/users\?.*search=carol/);
      await page.goto(`${url}#/users?search=carol`);
      // The page has taken in the filter and its first rows are on their way.
      await asked;
      await nextFrames(page);
      assert.equal(await header.isDisabled(), true);
      release();
      // check() waits for the box to be enabled: it ticks the row loaded by then.
      await header.check();
      await page.getByRole("region", { name: "Bulk actions" }).getByText("1 selected", { exact: true }).waitFor();
      assert.equal(await page.getByRole("checkbox", { name: "Select carol.jones" }).isChecked(), true);
    });
  });

  it("a bulk action on a hundred rows and more picked one by one asks first, as one on all matching does", async () => {
    const { server, url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users?search=person`);
      await filteredByPerson(page);
      // A click, not check(): a page that arrives just after it is loaded and not picked, which unticks the box (not all
      // loaded rows are picked now) while the rows picked stay picked — what the bar counts.
      await page.getByRole("checkbox", { name: "Select all loaded users" }).click();
      const bar = page.getByRole("region", { name: "Bulk actions" });
      const picked = Number((/^([\d,]+) selected$/.exec(await bar.getByText(/^[\d,]+ selected$/).innerText()) ?? [])[1]?.replace(/,/g, ""));
      assert.ok(picked >= 100, `${picked} rows loaded`);
      const runs = async () => (await server.api<unknown[]>("GET", "/security/v1/users/bulk-actions", { token })).body.length;
      const before = await runs();
      await bar.getByRole("button", { name: "Enable" }).click();
      const ask = page.getByRole("dialog", { name: `Enable ${picked.toLocaleString("en")} selected users` });
      await ask.getByRole("button", { name: "Cancel" }).click();
      await ask.waitFor({ state: "hidden" });
      assert.equal(await runs(), before, "nothing started");
    });
  });

  it("unticking one row of all matching leaves the other loaded rows selected, never that one: the ticks are what the action gets", async () => {
    const { server, url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users?search=person23`);
      const status = page.getByRole("status").filter({ hasText: /\d+ users matching/ });
      await status.waitFor();
      const matching = Number(/(\d+) users matching/.exec(await status.innerText())![1]);
      await page.getByRole("checkbox", { name: "Select person230" }).check();
      await page.getByRole("button", { name: `Select all ${matching} matching` }).click();
      await page.getByRole("checkbox", { name: "Select person233" }).uncheck();
      await page.getByRole("region", { name: "Bulk actions" }).getByText(`${matching - 1} selected`, { exact: true }).waitFor();
      await page.getByText(`Unticking one of all matching leaves the ${matching - 1} other rows loaded so far selected, not all matching.`).waitFor();
      assert.equal(await page.getByRole("checkbox", { name: "Select person233" }).isChecked(), false);
      assert.equal(await page.getByRole("checkbox", { name: "Select person231" }).isChecked(), true);
      assert.equal(await page.getByRole("checkbox", { name: "Select all loaded users" }).isChecked(), false);
      await page.getByRole("region", { name: "Bulk actions" }).getByRole("button", { name: "Clear lockout" }).click();
      await page.getByRole("dialog", { name: /Clear lockout: done/ }).waitFor();
      const [run] = (await server.api<{ action: string; total: number }[]>("GET", "/security/v1/users/bulk-actions", { token })).body;
      assert.deepEqual([run!.action, run!.total], ["clear-lockout", matching - 1]);
    });
  });

  it("shows a user's profile past the profiles a menu lists, and a save of another field keeps it", async () => {
    const fill = async (own: TestServer) => {
      let last: { id: number } | undefined;
      for (let i = 0; i <= 1000; i++) last = await insertUser(own.server.deps.store, { username: `prof${String(i).padStart(4, "0")}`, profile_id: 0 });
      return { profile: last!.id, user: await insertUser(own.server.deps.store, { username: "has.late.profile", profile_id: last!.id }) };
    };
    await onOwnServer(ctx().browser, "sqlite", fill, async ({ server: own, token: ownToken, page, url: ownUrl, filled: { profile, user } }) => {
      await page.goto(`${ownUrl}#/users/${user.uuid}`);
      const select = page.getByLabel("Profile", { exact: true });
      await page.getByLabel("Description").waitFor();
      assert.equal(await select.inputValue(), String(profile));
      await page.getByLabel("Description").fill("late profile kept");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText("Saved.").waitFor();
      const saved = (await own.api("GET", `/security/v1/users/${user.uuid}`, { token: ownToken })).body;
      assert.deepEqual([saved.description, saved.profileId], ["late profile kept", profile]);
      // The list's menu shows the filter's profile too.
      await page.goto(`${ownUrl}#/users?profileId=${profile}`);
      await row(page, "has.late.profile").waitFor();
      assert.equal(await page.getByRole("combobox", { name: "Profile" }).inputValue(), String(profile));
    });
  });

  it("a bulk action whose progress was closed while it ran is shown again from the bar, and its report opens when it ends", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      const { release, bar } = await disableSysadminHeld(page, url);
      const running = page.getByRole("dialog", { name: "Disable: in progress" });
      await running.getByRole("button", { name: "Close" }).click();
      await bar.getByText("Disable: in progress").waitFor();
      await bar.getByRole("button", { name: "Show progress" }).click();
      await running.getByRole("button", { name: "Stop" }).waitFor();
      await running.getByRole("button", { name: "Close" }).click();
      release();
      const done = page.getByRole("dialog", { name: "Disable: done" });
      await done.getByRole("row", { name: "sysadmin A built-in user cannot be disabled." }).waitFor();
    });
  });

  it("the progress of a bulk action keeps the keyboard in it: Stop has the focus while the run goes on, Close once its end took Stop away", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      const { release } = await disableSysadminHeld(page, url);
      await page.getByRole("dialog", { name: "Disable: in progress" }).waitFor();
      await focusReaches(page, { text: "Stop" });
      release();
      await page.getByRole("dialog", { name: "Disable: done" }).waitFor();
      // Not the page's body: the page behind the dialog takes no focus, and Tab or Enter would start from nowhere.
      await focusReaches(page, { text: "Close" });
      await page.keyboard.press("Enter");
      await page.getByRole("dialog").waitFor({ state: "hidden" });
    });
  });

  it("a bulk action still running when a user is opened is followed again on Back: in progress in the bar, its report when it ends", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      const { release, bar } = await disableSysadminHeld(page, url);
      await page.getByRole("dialog", { name: "Disable: in progress" }).getByRole("button", { name: "Close" }).click();
      await row(page, "sysadmin").click();
      await page.getByRole("heading", { level: 1, name: /sysadmin/ }).waitFor();
      await page.goBack();
      await bar.getByText("Disable: in progress").waitFor();
      release();
      const done = page.getByRole("dialog", { name: "Disable: done" });
      await done.getByRole("row", { name: "sysadmin A built-in user cannot be disabled." }).waitFor();
    });
  });

  it("a bulk action's progress goes on after its looks failed for a while (the server unreachable, then a proxy's 503, then its 429): the dialog says so meanwhile — when it looks again, as a Retry-After says —, and shows the report when the run ends", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      // Every look at the run fails until told: first the connection refused, then a load balancer's page with no node behind it, then its rate limit.
      let failing: "refused" | "503" | "429" | null = "refused";
      await page.route(/\/security\/v1\/users\/bulk-actions\/[^/]+$/, (route) =>
        failing === "refused" ? route.abort("connectionrefused")
        : failing === "503" ? route.fulfill({ status: 503, contentType: "text/html", body: "<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>" })
        : failing === "429" ? route.fulfill({ status: 429, headers: { "retry-after": "2" }, contentType: "application/json", body: JSON.stringify({ message: "Too many requests" }) })
        : route.continue());
      await page.goto(`${url}#/users?search=sysadmin`);
      await page.getByRole("checkbox", { name: "Select sysadmin" }).check();
      await page.getByRole("region", { name: "Bulk actions" }).getByRole("button", { name: "Disable" }).click();
      const running = page.getByRole("dialog", { name: "Disable: in progress" });
      await running.getByRole("status").filter({ hasText: "The server cannot be reached" }).waitFor();
      failing = "503";
      await running.getByRole("status").filter({ hasText: "503 Service Unavailable from something in between" }).waitFor();
      failing = "429";
      await running.getByRole("status").filter({ hasText: "Too many requests. The run goes on on the server: the page looks at it again in 2 seconds." }).waitFor();
      failing = null;
      const done = page.getByRole("dialog", { name: "Disable: done" });
      await done.getByRole("row", { name: "sysadmin A built-in user cannot be disabled." }).waitFor({ timeout: 30_000 });
      assert.equal(await done.getByText(/cannot be reached|Service Unavailable/).count(), 0, "what a look failed for is no longer said once one answered");
    }, { errorsAllowed: /ERR_CONNECTION_REFUSED|status of (503|429)/ });
  });

  it("Back and Forward bring the filter menus and the search back with the list; a typed search is one step of history", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      const menu = (name: string) => page.getByRole("combobox", { name, exact: true });
      // The profile menu shows its chosen option's label, the group picker the group's name ("" for any).
      const shows = (name: string, label: string) => page.waitForFunction(([n, l]) => {
        const select = document.querySelector<HTMLSelectElement>(`select[aria-label="${n}"]`);
        if (select) return select.selectedOptions[0]?.textContent === l;
        return document.querySelector<HTMLInputElement>(`input[aria-label="${n}"]`)?.value === (l === "Any group" ? "" : l);
      }, [name, label] as const);
      await page.goto(`${url}#/groups`);
      await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor();
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
      await row(page, "carol.jones").waitFor();
      for (const [name, label, any] of [["Group", "auditors", "Any group"], ["Profile", "No profile", "Any profile"]] as const) {
        if (name === "Group") await pickGroup(page, menu(name), "audit", label);
        else await menu(name).selectOption({ label });
        await page.waitForURL(name === "Group" ? /groupId=/ : /profileId=-1/);
        await page.goBack();
        await page.waitForURL(/#\/users$/);
        await shows(name, any);
        await page.goForward();
        await shows(name, label);
        await page.goBack();
        await shows(name, any);
      }
      // The first keystrokes add an entry, the next ones of the same typing change it: Back is the list before.
      const search = page.getByRole("searchbox", { name: "Search users" });
      await search.pressSequentially("jon");
      await page.waitForURL(/search=jon$/);
      await search.pressSequentially("es");
      await page.waitForURL(/search=jones$/);
      await row(page, "carol.jones").waitFor();
      await page.goBack();
      await page.waitForURL(/#\/users$/);
      // The page follows the URL once it has changed: wait for the box to be emptied.
      await page.waitForFunction(() => document.querySelector<HTMLInputElement>('input[aria-label="Search users"]')?.value === "");
      await page.goBack();
      await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor();
    });
  });

  it("an empty result says that nothing matches the search or the filters; Escape, a click elsewhere or Tab past its last box closes the Columns menu", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users?search=no-such-person-at-all`);
      await page.getByRole("status").filter({ hasText: "No user matches “no-such-person-at-all”." }).waitFor();
      await page.goto(`${url}#/users?search=no-such-person-at-all&profileId=-1`);
      await page.getByRole("status").filter({ hasText: "No user matches “no-such-person-at-all” with these filters." }).waitFor();
      await page.goto(`${url}#/users?lockedOut=true&expired=true&profileId=0`);
      await page.getByRole("status").filter({ hasText: "No user matches these filters." }).waitFor();

      const columns = page.locator("details.menu");
      await columns.getByText("Columns", { exact: true }).click();
      await page.getByRole("group", { name: "Columns to show" }).getByRole("checkbox").nth(1).focus();
      await page.keyboard.press("Escape");
      const closed = () => page.waitForFunction(() => !document.querySelector<HTMLDetailsElement>("details.menu")!.open, undefined, { timeout: 5_000 });
      await closed();
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Columns", "the focus is back on the menu's button");
      // Left open, it would cover the table's right columns.
      await columns.getByText("Columns", { exact: true }).click();
      await page.getByRole("group", { name: "Columns to show" }).getByRole("checkbox", { name: "Email" }).click();
      assert.equal(await columns.evaluate((menu: HTMLDetailsElement) => menu.open), true, "a click inside keeps it open");
      await page.getByRole("heading", { level: 1, name: "Users" }).click();
      await closed();
      await columns.getByText("Columns", { exact: true }).click();
      await page.getByRole("group", { name: "Columns to show" }).getByRole("checkbox", { name: "Description" }).focus();
      await page.keyboard.press("Tab");
      await closed();
    });
  });

  it("the group filter's box never shows other than the filter: emptied and Enter clears it, Escape shows the chosen group again", async () => {
    const { server, url } = ctx();
    // "users" is in another group's name too: Enter picks the group of exactly that name.
    await createGroup(server, token, "power-users");
    await onPage(ctx(), async ({ page }) => {
      const picker = page.getByRole("combobox", { name: "Group", exact: true });
      await page.goto(`${url}#/users`);
      await row(page, "carol.jones").waitFor();
      await picker.fill("Users");
      await page.getByRole("listbox", { name: "Suggestions" }).getByRole("option", { name: "power-users", exact: true }).waitFor();
      await picker.press("Enter");
      await page.waitForURL(/groupId=/);
      assert.equal(await picker.inputValue(), "users");
      await pickGroup(page, picker, "audit", "auditors");
      await page.waitForURL(/groupId=/);
      await picker.fill("xyz");
      await picker.press("Escape");
      await page.waitForFunction(() => document.querySelector<HTMLInputElement>('input[aria-label="Group"]')?.value === "auditors");
      assert.match(page.url(), /groupId=/);
      await picker.fill("");
      await picker.press("Enter");
      await page.waitForURL(/#\/users$/);
      assert.equal(await picker.inputValue(), "");
      // A name pasted over the suggestions of an earlier text, and Enter at once: the group of that
      // name, not the one suggestion still shown for the text before.
      await picker.fill("audit");
      await page.getByRole("listbox", { name: "Suggestions" }).getByRole("option", { name: "auditors", exact: true }).waitFor();
      await picker.fill("users");
      await picker.press("Enter");
      await page.waitForURL(/groupId=/);
      // The box shows the group's name once the list has read it (after the URL on a busy machine).
      await page.waitForFunction(() => document.querySelector<HTMLInputElement>('input[aria-label="Group"]')?.value === "users");
      assert.equal(await picker.inputValue(), "users");
      await row(page, "sysadmin").waitFor();
    });
  });

  it("with 3 000 groups, the group pickers find one as its name is typed — the user page adds to it, the list filters by it — and never ask for them all", async () => {
    const { server, url } = ctx();
    await insertGroups(server.server.deps.store, Array.from({ length: 3000 }, (_, i) => `Team ${String(i).padStart(4, "0")}`));
    const ellen = await createUser(server, token, "ellen.picker");
    await onPage(ctx(), async ({ page }) => {
      const whole = wholeGroupLists(page);
      await logInByToken(page, server, url);
      await page.goto(`${url}#/users/${ellen.uuid}`);
      const add = page.getByRole("combobox", { name: "Add to group" });
      const options = page.getByRole("listbox", { name: "Suggestions" }).getByRole("option");
      await add.fill("team");
      await page.getByText("More groups match — type to narrow.").waitFor();
      assert.equal(await options.count(), 20);
      assert.equal(await add.getAttribute("aria-expanded"), "true");
      await add.press("Escape");
      assert.equal(await add.getAttribute("aria-expanded"), "false");
      // From the keyboard: the suggestions of the text typed, ↓ to the third, Enter picks it.
      await add.fill("M 271");
      await page.getByRole("option", { name: "Team 2719" }).waitFor();
      assert.equal(await options.count(), 10);
      for (let i = 0; i < 3; i++) await add.press("ArrowDown");
      const active = await add.getAttribute("aria-activedescendant");
      assert.equal(await page.locator(`[id="${active}"]`).innerText(), "Team 2712");
      await add.press("Enter");
      assert.equal(await add.inputValue(), "Team 2712");
      await page.getByRole("button", { name: "Add", exact: true }).click();
      await page.getByText("Added to Team 2712.").waitFor();
      const groups = await server.api<{ id: string; name: string }[]>("GET", `/security/v1/users/${ellen.uuid}/user-groups`, { token });
      const team = groups.body.find((g) => g.name === "Team 2712");
      assert.ok(team, JSON.stringify(groups.body));
      // A group the user is in is not offered again.
      await add.fill("Team 2712");
      await page.getByText("No group matches.").waitFor();

      await page.goto(`${url}#/users`);
      await row(page, "carol.jones").waitFor();
      await pickGroup(page, page.getByRole("combobox", { name: "Group", exact: true }), "2712", "Team 2712");
      await page.waitForURL(new RegExp(`groupId=${team.id}$`));
      await row(page, "ellen.picker").waitFor();
      await row(page, "carol.jones").waitFor({ state: "detached" });
      // A reload names the group of the URL's groupId (read by its id).
      await page.reload();
      await row(page, "ellen.picker").waitFor();
      await page.waitForFunction(() => document.querySelector<HTMLInputElement>('input[aria-label="Group"]')?.value === "Team 2712");
      await screenshot(page, `users-group-filter-${kind}`);
      // The bulk action's group is picked the same way: the dialog's Add waits for a group.
      await page.getByRole("checkbox", { name: "Select ellen.picker" }).check();
      await page.getByRole("region", { name: "Bulk actions" }).getByRole("button", { name: "Add to group…" }).click();
      const confirm = page.getByRole("dialog", { name: /^Add to group 1 selected/ });
      const go = confirm.getByRole("button", { name: "Add to group", exact: true });
      assert.equal(await go.isDisabled(), true);
      await pickGroup(page, confirm.getByRole("combobox", { name: "Group" }), "0005", "Team 0005");
      await go.click();
      await page.getByRole("dialog", { name: "Add to group: done" }).waitFor();
      const after = await server.api<{ name: string }[]>("GET", `/security/v1/users/${ellen.uuid}/user-groups`, { token });
      assert.ok(after.body.some((g) => g.name === "Team 0005"), JSON.stringify(after.body));
      // The groups page reads them a page at a time, the roles page the first few granting each role.
      await page.goto(`${url}#/groups`);
      const teams = page.getByRole("table").getByRole("link", { name: /^Team \d{4}$/ });
      await page.getByRole("button", { name: "More groups" }).waitFor();
      const first = await teams.count();
      assert.ok(first > 0 && first < 3000, `${first} groups on the first page`);
      await page.getByRole("button", { name: "More groups" }).click();
      await page.waitForFunction((n) => document.querySelectorAll("table a").length > n, first);
      await page.goto(`${url}#/roles`);
      await page.getByRole("heading", { level: 1, name: "Roles" }).waitFor();
      await page.getByRole("cell", { name: /administrators/ }).first().waitFor();
      assert.deepEqual(whole, []);
    }, { as: null });
  });

  it("a user's own membership in a group its profile also gives is direct and can be removed", async () => {
    const { server, url } = ctx();
    const profile = await createUser(server, token, "profile.staff", { profile_id: 0 });
    const dana = await createUser(server, token, "dana.direct", { profile_id: profile.id });
    const staff = await createGroup(server, token, "staff", ["security-administrator"]);
    const readers = await createGroup(server, token, "readers", ["user"]);
    const notices = await createGroup(server, token, "notices");
    for (const [user, group] of [[profile, staff], [profile, readers], [profile, notices], [dana, staff]] as const) {
      assert.equal((await server.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${group}`, { token })).status, 204);
    }
    await onPage(ctx(), async ({ page }) => {
      const groups = page.getByRole("table").filter({ has: page.getByRole("columnheader", { name: "Membership" }) });
      const membership = (group: string) => groups.getByRole("row").filter({ has: page.getByRole("link", { name: group, exact: true }) });
      await page.goto(`${url}#/users/${dana.uuid}`);
      await page.getByRole("heading", { level: 1, name: /dana\.direct/ }).waitFor();
      assert.match(await membership("staff").innerText(), /direct\s+Remove from staff/);
      assert.match(await membership("readers").innerText(), /through the profile\s*$/);
      assert.match(await membership("notices").innerText(), /through the profile\s*$/, "a group that grants no role: told apart too");
      assert.match(await membership("users").innerText(), /direct/);
      await page.getByRole("button", { name: "Remove from staff" }).click();
      await page.getByText("staff stays: the profile gives it.").waitFor();
      assert.match(await membership("staff").innerText(), /through the profile\s*$/);
      // The profile taken away (saved): its groups leave the page at once, not at the next reload.
      await page.getByLabel("Profile").selectOption({ label: "No profile" });
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Saved.").waitFor();
      await membership("readers").waitFor({ state: "detached" });
      assert.equal(await membership("staff").count(), 0);
    });
  });

  it("works from the keyboard alone: / to search, arrows to move, Space to select, Enter to open", async () => {
    await onPage(ctx(), async ({ page }) => {
      await page.locator("main h1").focus();
      await page.keyboard.press("/");
      await page.keyboard.type("person05");
      await row(page, "person059").waitFor();
      for (let i = 0; i < 25; i++) {
        if ((await page.evaluate(() => document.activeElement?.getAttribute("role"))) === "row") break;
        await page.keyboard.press("Tab");
      }
      const focusedRow = (index: string) => page.waitForFunction((i) => document.activeElement?.getAttribute("aria-rowindex") === i, index);
      await focusedRow("2");
      await page.keyboard.press("ArrowDown");
      await page.keyboard.press("ArrowDown");
      await focusedRow("4");
      await page.keyboard.press("Space");
      assert.equal(await row(page, "person052").getAttribute("aria-selected"), "true");
      await page.keyboard.press("End");
      await focusedRow("11");
      assert.equal(await page.evaluate(() => document.activeElement?.textContent?.includes("person059")), true);
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { level: 1, name: /person059/ }).waitFor();
      // The user's page keeps the focus where Tab goes on from its heading, not back at the top of the document.
      assert.match(await page.evaluate(() => `${document.activeElement?.tagName} ${document.activeElement?.textContent}`), /^H1 .*person059/);
    });
  });

  it("from the keyboard, a button pressed keeps the focus once its change is done (Save, Disable, Enable) or its dialog closed, and a bulk action's report closed gives it to the table, not the heading", async () => {
    const { server, url } = ctx();
    const kim = await createUser(server, token, "kim.keys");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${kim.uuid}`);
      await page.getByLabel("Description", { exact: true }).fill("pressed from the keyboard");
      await page.getByRole("button", { name: "Save", exact: true }).focus();
      await page.keyboard.press("Enter");
      await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      await page.waitForFunction(() => document.activeElement?.textContent === "Save");
      await page.getByRole("button", { name: "Disable (lock)" }).focus();
      await page.keyboard.press("Enter");
      // The same button, now Enable, which Enter presses again.
      await page.getByRole("button", { name: "Enable (unlock)" }).waitFor();
      await page.waitForFunction(() => document.activeElement?.textContent === "Enable (unlock)");
      await page.keyboard.press("Enter");
      await page.getByRole("button", { name: "Disable (lock)" }).waitFor();
      await focusReaches(page, { text: "Disable (lock)" });
      // A conflict's dialog, opened by Save (disabled while it ran) and closed with Escape: back on Save.
      assert.equal((await server.api("PUT", `/security/v1/users/${kim.uuid}`, { token, body: { description: "theirs" } })).status, 200);
      await page.getByLabel("Description", { exact: true }).fill("mine");
      await page.getByRole("button", { name: "Save", exact: true }).focus();
      await page.keyboard.press("Enter");
      await page.getByRole("dialog", { name: "Someone else changed this user" }).waitFor();
      await page.keyboard.press("Escape");
      await focusReaches(page, { text: "Save" });
      await page.goto(`${url}#/users?search=person23`);
      await row(page, "person231").waitFor();
      await page.keyboard.press("/");
      for (let i = 0; i < 25 && (await page.evaluate(() => document.activeElement?.getAttribute("role"))) !== "row"; i++) await page.keyboard.press("Tab");
      // person023 (its email holds person23) comes first, then person230, person231.
      await page.keyboard.press("ArrowDown");
      await page.keyboard.press("ArrowDown");
      await page.waitForFunction(() => document.activeElement?.getAttribute("aria-rowindex") === "4");
      await page.keyboard.press("Space");
      assert.equal(await row(page, "person231").getAttribute("aria-selected"), "true");
      // Back to the bar above the table: Shift+Tab to its Clear lockout (a few rows are acted on at once).
      await page.getByRole("region", { name: "Bulk actions" }).waitFor();
      for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement?.textContent)) !== "Clear lockout"; i++) await page.keyboard.press("Shift+Tab");
      await page.keyboard.press("Enter");
      const report = page.getByRole("dialog", { name: /done$/ });
      await report.waitFor();
      await page.keyboard.press("Escape");
      // The list was read again from its top (the action may have changed what it holds): its first row.
      await focusReaches(page, { attribute: ["aria-rowindex", "2"] });
    });
  });

  it("a group added from the keyboard leaves the focus in the group box, for the next one, not at the top of the page", async () => {
    const { server, url } = ctx();
    const kai = await createUser(server, token, "kai.adds");
    await createGroup(server, token, "keyboard-team");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${kai.uuid}`);
      const picker = page.getByLabel("Add to group");
      await picker.fill("keyboard-te");
      await page.getByRole("listbox", { name: "Suggestions" }).getByRole("option", { name: "keyboard-team", exact: true }).waitFor();
      await page.keyboard.press("ArrowDown");
      await page.keyboard.press("Enter");
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Add");
      await page.keyboard.press("Enter");
      await page.getByRole("status").filter({ hasText: "Added to keyboard-team." }).waitFor();
      await focusReaches(page, { id: "add-group" });
    });
  });

  it("Export CSV has the browser download the users of the filter shown from the server, and pressed from the keyboard keeps the focus", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users?search=person12`);
      await row(page, "person129").waitFor();
      // What the browser asks of the one-time link: one GET, which the download is saved from (no HEAD first, no second GET).
      const asked: string[] = [];
      page.on("request", (r) => { if (/\/csv-links\/[^/?]+$/.test(r.url())) asked.push(r.method()); });
      await page.getByRole("button", { name: "Export CSV" }).focus();
      const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Enter")]);
      assert.equal(download.suggestedFilename(), "users.csv");
      assert.equal(await download.failure(), null);
      assert.deepEqual(asked, ["GET"]);
      // The browser's own download of the server's answer, saved as it comes: not a file the page held whole first.
      assert.match(download.url(), /\/portal\/security\/v1\/users\/csv-links\/[A-Za-z0-9_-]+$/);
      const lines = readFileSync((await download.path())!, "utf8").trimEnd().split("\r\n");
      assert.match(lines[0]!, /^\uFEFFid,numericId,username,/);
      const usernames = lines.slice(1).map((l) => l.split(",")[2]);
      assert.deepEqual(usernames, ["person012", ...Array.from({ length: 10 }, (_, i) => `person12${i}`)]);
      await page.getByRole("button", { name: "Export CSV" }).waitFor();
      await focusReaches(page, { text: "Export CSV" });
    });
  });

  it("an Export CSV whose link the server refuses (the session ended between making and opening it) is said in words, not a failed download", async () => {
    const { server, url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users?search=person12`);
      await row(page, "person129").waitFor();
      // The link is made; before the page has it, the session ends.
      let made!: () => void;
      let deliver!: () => void;
      const linkMade = new Promise<void>((resolve) => { made = resolve; });
      const delivered = new Promise<void>((resolve) => { deliver = resolve; });
      await page.route(/\/security\/v1\/users\/csv-links\?/, async (route) => {
        const response = await route.fetch();
        made();
        await delivered;
        await route.fulfill({ response });
      });
      let downloads = 0;
      page.on("download", () => downloads++);
      await page.getByRole("button", { name: "Export CSV" }).click();
      await linkMade;
      const token = await page.evaluate(() => sessionStorage.getItem("ecm.console.token"));
      assert.equal((await server.api("POST", "/auth/v1/logout", { token: token! })).status, 204);
      deliver();
      // Back in the console, whose session is gone: logged in again, the users page says why there was no file.
      await page.getByRole("heading", { name: "Log in to ECM Security" }).waitFor();
      await page.getByLabel("Username").fill("sysadmin");
      await page.getByLabel("Password").fill(ADMIN_PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("status").filter({ hasText: "The CSV download was refused: the session that asked for it had ended, or its link had expired. Export again." }).waitFor();
      assert.equal(downloads, 0);
      // Said once: the address no longer asks for it, and a reload does not say it again.
      assert.doesNotMatch(page.url(), /export=/);
    });
  });

  it("shows why failed logins refuse a user — the user's own address locked out, failures elsewhere — and clears them", async () => {
    const { server, url } = ctx();
    const loginFrom = async (address: string, password: string) => (await server.api("POST", "/auth/v1/providers/builtin/token", { from: address, body: { username: "dana.out", password } })).status;
    const dana = await createUser(server, token, "dana.out");
    assert.equal(await loginFrom("127.0.0.2", USER_PASSWORD), 200, "the user's own address, familiar from now on");
    for (let i = 0; i < 5; i++) assert.equal(await loginFrom("127.0.0.2", `wrong-${i}`), 401);
    for (let i = 0; i < 2; i++) assert.equal(await loginFrom("127.0.0.3", `wrong-${i}`), 401);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${dana.uuid}`);
      await page.getByRole("heading", { level: 2, name: "Lockout after failed logins" }).waitFor();
      await screenshot(page, `user-lockout-${kind}`);
      // The account itself is not locked out (no account-wide badge or line): only the address is, and a badge says so.
      assert.deepEqual(await page.locator(".badge").filter({ hasText: "Locked out" }).allInnerTexts(), ["Locked out at 1 address"]);
      assert.equal(await page.getByText("Every address the account does not know is locked out", { exact: false }).count(), 0);
      await page.getByText("2 failed logins in a row from addresses the account does not know.").waitFor();
      const addresses = page.getByRole("table").filter({ has: page.getByRole("columnheader", { name: "Locked out until" }) });
      const cells = await addresses.locator("tbody tr").evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent)));
      assert.deepEqual(cells.map(([address, until, failed, last]) => [address, until === "—", failed, last === "—"]), [["127.0.0.3", true, "2", true], ["127.0.0.2", false, "0", false]]);

      await page.getByRole("button", { name: "Clear lockout" }).click();
      await page.getByText("The lockout was cleared.").waitFor();
      await page.getByRole("heading", { level: 2, name: "Lockout after failed logins" }).waitFor({ state: "detached" });
      assert.equal(await page.getByRole("button", { name: "Clear lockout" }).count(), 0, "nothing left to clear");
      assert.equal(await loginFrom("127.0.0.2", USER_PASSWORD), 200);
    });
  });

  it("resets a password: a refused one is said in the dialog, which keeps what was typed; passwords that differ are said, and go through once the first is corrected", async () => {
    const { server, url } = ctx();
    const erin = await createUser(server, token, "erin.reset");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${erin.uuid}`);
      await page.getByRole("button", { name: "Reset password…" }).click();
      const dialog = page.getByRole("dialog", { name: "Reset the password of erin.reset" });
      const fill = async (password: string) => {
        await dialog.getByLabel("New password").fill(password);
        await dialog.getByLabel("Repeat it").fill(password);
        await dialog.getByRole("button", { name: "Set password" }).click();
      };
      await fill("password1234");
      await page.waitForFunction(() => (document.querySelector<HTMLInputElement>("#reset-password [name=password]")?.validationMessage ?? "") !== "");
      // Said of the password, not of the API's field for it.
      assert.match(await page.locator("#reset-password [name=password]").evaluate((el) => (el as HTMLInputElement).validationMessage), /^The password is refused: it is too easy to guess/);
      assert.equal(await dialog.isVisible(), true);
      assert.equal(await dialog.getByLabel("New password").inputValue(), "password1234");
      await dialog.getByLabel("New password").fill("Quite-Unusual-Reset-6");
      await dialog.getByLabel("Repeat it").fill("Quite-Unusual-Reset-7");
      await dialog.getByRole("button", { name: "Set password" }).click();
      assert.equal(await dialog.getByLabel("Repeat it").evaluate((el) => (el as HTMLInputElement).validationMessage), "The passwords differ.");
      // The first field is the one corrected: the passwords match now, and Set password takes them.
      await dialog.getByLabel("New password").fill("Quite-Unusual-Reset-7");
      await dialog.getByRole("button", { name: "Set password" }).click();
      await page.getByText("The password was set; the user's sessions were ended.").waitFor();
      assert.equal(await dialog.isVisible(), false);
      // The reset made a new version: the next save is based on it, not refused as a conflict.
      await page.getByLabel("Description").fill("reset, then described");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Saved.").waitFor();
      assert.equal(await page.getByRole("dialog", { name: /changed this user/ }).isVisible(), false);
      assert.equal((await server.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "erin.reset", password: "Quite-Unusual-Reset-7" } })).status, 200);
      // The refused password's 400 is the answer the dialog showed; Chromium logs it as a failed resource.
    }, { errorsAllowed: /status of 400 .*\/reset-password\)$/ });
  });

  it("says a filter's refusal only while that filter is shown: another filter, or an edited form, no longer shows it", async () => {
    const { server, url } = ctx();
    const carol = (await server.api("GET", "/security/v1/users?search=carol.jones", { token })).body[0];
    // The refused save is a 400 the page shows.
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users?groupId=00000000-0000-4000-8000-000000000000`);
      const alert = page.getByRole("alert");
      await alert.waitFor();
      await page.goto(`${url}#/users?search=carol`);
      await page.getByRole("row").filter({ hasText: "carol.jones" }).waitFor();
      assert.equal(await alert.count(), 0);
      // A refused save's words go once the form is changed again.
      await page.goto(`${url}#/users/${carol.id}`);
      await page.getByRole("heading", { level: 1, name: /carol\.jones/ }).waitFor();
      await page.getByLabel("Email", { exact: true }).fill("not an email");
      await page.getByRole("button", { name: "Save" }).click();
      await alert.waitFor();
      await page.getByRole("button", { name: "Undo changes" }).click();
      await alert.waitFor({ state: "detached" });
    }, { errorsAllowed: /status of 400 .*\/security\/v1\/users\/[^/]*\)$/ });
  });

  it("keeps the keyboard on a row that was still loading when its page arrives: Page Down to it, then ↑, Space, End, Home and Enter", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      // The second page of the filter held back until the focus is on its first row, still “Loading…”.
      const release = await holdRequests(page, /\/security\/v1\/users\?.*cursor=/);
      await page.goto(`${url}#/users?search=person`);
      await filteredByPerson(page);
      await row(page, "person000").focus();
      const focused = () => page.evaluate(() => ({ index: document.activeElement?.getAttribute("aria-rowindex") ?? document.activeElement?.tagName, text: document.activeElement?.textContent?.trim() }));
      // Page Down stops at the row of the page on its way (the list knows no more rows yet).
      for (let presses = 0; presses < 30 && (await focused()).index !== "102"; presses++) {
        await page.keyboard.press("PageDown");
        await nextFrames(page);
      }
      await page.waitForFunction(() => document.activeElement?.getAttribute("aria-rowindex") === "102");
      assert.equal((await focused()).text, "Loading…");
      release();
      await row(page, "person100").waitFor();
      assert.deepEqual(await focused(), { index: "102", text: (await row(page, "person100").textContent())?.trim() }, "the row keeps the focus once loaded");
      await page.keyboard.press("ArrowUp");
      await page.waitForFunction(() => document.activeElement?.getAttribute("aria-rowindex") === "101");
      await page.keyboard.press("Space");
      assert.equal(await row(page, "person099").getAttribute("aria-selected"), "true");
      // End: the filter's last row, its pages loaded down to it (240 users: the header is row 1).
      await page.keyboard.press("End");
      await page.waitForFunction(() => document.activeElement?.getAttribute("aria-rowindex") === "241");
      assert.equal((await focused()).text, (await row(page, "person239").textContent())?.trim());
      await page.keyboard.press("Home");
      await page.waitForFunction(() => document.activeElement?.getAttribute("aria-rowindex") === "2");
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { level: 1, name: /person000/ }).waitFor();
    });
  });

  it("a user's page says what the list says of it (expired), and an unknown user is said so, not loaded for ever", async () => {
    const { server, url } = ctx();
    await createUser(server, token, "gus.gone", { valid_to: "2001-02-03T04:05:06.000Z" });
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users?search=gus.gone`);
      assert.equal(await row(page, "gus.gone").locator(".badge").innerText(), "Expired");
      await row(page, "gus.gone").click();
      await page.getByRole("heading", { level: 1, name: /gus\.gone/ }).waitFor();
      assert.match(await page.locator("main .badge").first().innerText(), /^Expired since /);
      assert.equal(await page.getByText("Enabled", { exact: true }).count(), 0);

      await page.goto(`${url}#/users/${crypto.randomUUID()}`);
      await page.getByRole("alert").waitFor();
      assert.match(await page.getByRole("alert").innerText(), /ECMS\d+/);
      assert.equal(await page.getByText("Loading…").count(), 0);
    });
  });

  it("a user's events show the latest change, even when an earlier read of them answers later", async () => {
    const { server, url } = ctx();
    const user = await createUser(server, token, "eve.events");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${user.uuid}`);
      await page.getByRole("heading", { level: 1, name: /eve\.events/ }).waitFor();
      // The events read after the first save (one update) reach the page once those after the second are shown.
      const bothShown = () => page.waitForFunction(() => [...document.querySelectorAll("tr")].filter((r) => r.textContent?.includes("user.update")).length === 2);
      const late = await answerLate(page, /\/audit-events\?/, bothShown);
      const updates = page.getByRole("row", { name: /user\.update/ });
      await page.getByLabel("Description").fill("first");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      await page.getByLabel("Description").fill("second");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await bothShown();
      await late.delivered;
      await nextFrames(page);
      assert.equal(await updates.count(), 2, "the first save's late answer does not replace the second's");
    });
  });

  it("offers no Disable, Delete or password reset on the page of the account the console acts from, but My account for its password (a bulk action leaves it alone too)", async () => {
    const { server, url } = ctx();
    const { user } = await createSecurityAdministrator(server, token, "selma.self");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${user.uuid}`);
      await page.getByRole("heading", { level: 1, name: /selma\.self/ }).waitFor();
      await page.getByRole("link", { name: "Change your password on My account" }).click();
      await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();
      await page.goBack();
      await page.getByRole("heading", { level: 1, name: /selma\.self/ }).waitFor();
      assert.equal(await page.getByRole("button", { name: "Reset password…" }).count(), 0);
      assert.equal(await page.getByRole("button", { name: "Disable (lock)" }).count(), 0);
      assert.equal(await page.getByRole("button", { name: "Delete…" }).count(), 0);
    }, { as: ["selma.self", USER_PASSWORD] });
  });

  it("a double click on a user's Disable disables it once, with no conflict of its own", async () => {
    const { server, url } = ctx();
    const user = await createUser(server, token, "dora.double");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${user.uuid}`);
      await page.getByRole("heading", { level: 1, name: /dora\.double/ }).waitFor();
      let writes = 0;
      page.on("request", (r) => { if (r.method() === "PUT" && r.url().endsWith(`/users/${user.uuid}`)) writes++; });
      await page.getByRole("button", { name: "Disable (lock)" }).dblclick();
      await page.getByRole("status").filter({ hasText: "Disabled; the user's sessions were ended." }).waitFor();
      await page.getByRole("button", { name: "Enable (unlock)" }).waitFor();
      assert.equal(writes, 1, "one change sent");
      assert.equal(await page.getByRole("dialog", { name: "Someone else changed this user" }).isVisible(), false);
      assert.equal((await server.api<{ enabled: boolean }>("GET", `/security/v1/users/${user.uuid}`, { token })).body.enabled, false);
    });
  });

  it("a directory's user: what its directory decides (its password's expiry too) is read-only and said so, with no disable or password reset; its description is saved; a service account's password boxes say it has none", async () => {
    const { server, url } = ctx();
    const created = await server.api<{ id: string }>("POST", "/security/v1/external-user-storage", { token, body: { name: `hr ldap ${kind}`, connectionUrl: "ldap://127.0.0.1:9", baseDn: "dc=hr,dc=example", enabled: false } });
    assert.equal(created.status, 201, created.text);
    const directory = await server.server.deps.store.db.selectFrom("directories").select("id").where("uuid", "=", created.body.id).executeTakeFirstOrThrow();
    const dora = await insertUser(server.server.deps.store, { username: "dora.dir", first_name: "Dora", last_name: "Dir", directory_id: directory.id, dn: "uid=dora.dir,dc=hr,dc=example" });
    // A membership its directory's sync made: shown as the directory's, with nothing to remove it.
    const payroll = await createGroup(server, token, `payroll ${kind}`);
    const payrollId = (await server.server.deps.store.db.selectFrom("groups").select("id").where("uuid", "=", payroll).executeTakeFirstOrThrow()).id;
    await server.server.deps.store.db.insertInto("group_members").values({ group_id: payrollId, user_id: dora.id, synced_by: directory.id }).execute();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${dora.uuid}`);
      await page.getByRole("heading", { level: 1, name: /dora\.dir/ }).waitFor();
      await page.getByText(`The directory hr ldap ${kind} decides the login name`).waitFor();
      for (const label of ["Login name", "First name", "Last name", "Display name", "Email"]) assert.equal(await page.getByLabel(label).getAttribute("readonly"), "", label);
      // The password is the directory's: so is whether it expires.
      for (const label of ["Must change password at next login", "Password never expires"]) {
        assert.equal(await page.getByLabel(label).isDisabled(), true, label);
        assert.equal(await page.getByLabel(label).getAttribute("aria-describedby"), "directory-fields", label);
      }
      assert.equal(await page.getByLabel("Description").isEditable(), true);
      assert.equal(await page.getByRole("button", { name: /^(Disable|Enable|Reset password)/ }).count(), 0);
      const payrollRow = page.getByRole("row").filter({ has: page.getByRole("link", { name: `payroll ${kind}`, exact: true }) });
      assert.match(await payrollRow.innerText(), new RegExp(`from the directory hr ldap ${kind}\\s*$`));
      assert.equal(await page.getByRole("button", { name: `Remove from payroll ${kind}` }).count(), 0);
      await page.getByLabel("Description").fill("Payroll");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText("Saved.").waitFor();
      assert.equal((await server.api<{ description: string }>("GET", `/security/v1/users/${dora.uuid}`, { token })).body.description, "Payroll");
      // A service account has no password to reset either (the server refuses it, 409).
      const robot = await server.api<{ id: string }>("POST", "/security/v1/users", { token, body: { username: "robot.console", serviceAccount: true } });
      await page.goto(`${url}#/users/${robot.body.id}`);
      await page.getByRole("heading", { level: 1, name: /robot\.console/ }).waitFor();
      await page.getByRole("button", { name: /^Disable/ }).waitFor();
      assert.equal(await page.getByRole("button", { name: /^Reset password/ }).count(), 0);
      // Nor a password to change or let expire: said beside the boxes that would.
      for (const label of ["Must change password at next login", "Password never expires"]) {
        assert.equal(await page.getByLabel(label).isDisabled(), true, label);
        const why = await page.getByLabel(label).getAttribute("aria-describedby");
        assert.equal(await page.locator(`#${why}`).innerText(), "This account has no password here (a service account uses API keys): nothing to change or let expire.", label);
      }
    });
  });

  it("creates a local user from the users page: a refusal is said in the dialog, which keeps what was typed; then the new user's page; each opening of the dialog starts empty", async () => {
    const { server, url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.getByRole("heading", { level: 1, name: "Users" }).waitFor();
      await page.getByRole("button", { name: "New user…" }).click();
      const dialog = page.getByRole("dialog", { name: "New user" });
      await dialog.getByLabel("Username").fill(`nora.new.${kind}`);
      await dialog.getByLabel("First name").fill("Nora");
      await dialog.getByLabel("Email").fill("nora@exämple.de");
      await dialog.getByLabel(/^Password/).fill("password1234");
      await dialog.getByRole("button", { name: "Create" }).click();
      await dialog.getByRole("alert").filter({ hasText: /^The password is refused: it is too easy to guess/ }).waitFor();
      assert.equal(await dialog.getByLabel("Username").inputValue(), `nora.new.${kind}`);
      // The keyboard is on the field refused, in the dialog (not on the page behind it).
      await page.waitForFunction(() => document.activeElement?.getAttribute("name") === "password").catch(async () => assert.fail(`focus on ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 80))}`));
      await dialog.getByLabel(/^Password/).fill("Quite-Unusual-Start-9");
      await dialog.getByRole("button", { name: "Create" }).click();
      await page.getByRole("heading", { level: 1, name: new RegExp(`nora\\.new\\.${kind}`) }).waitFor();
      await page.getByRole("status").filter({ hasText: `Created nora.new.${kind}.` }).waitFor();
      const id = page.url().split("/users/")[1]!;
      const made = (await server.api<{ firstName: string; email: string; changePassword: boolean; groups: string[] }>("GET", `/security/v1/users/${id}?extendedInfo=true`, { token })).body;
      assert.deepEqual([made.firstName, made.email, made.changePassword, made.groups], ["Nora", "nora@exämple.de", true, ["users"]]);
      // The same name again: refused in words, in the dialog.
      await page.goto(`${url}#/users`);
      await page.getByRole("button", { name: "New user…" }).click();
      await dialog.getByLabel("Username").fill(`nora.new.${kind}`);
      await dialog.getByRole("button", { name: "Create" }).click();
      await dialog.getByRole("alert").filter({ hasText: /already exists/ }).waitFor();
      assert.equal(await dialog.getByLabel("Username").evaluate((el) => el === document.activeElement), true);
      await dialog.getByLabel(/^Password/).fill("Meant-For-Nora-1");
      await dialog.getByLabel("Must change the password at the first login").uncheck();
      await dialog.getByRole("button", { name: "Cancel" }).click();
      assert.equal(await dialog.isVisible(), false);
      // Opened again, for someone else: nothing typed for the one before, nor the refusal said of it.
      await page.getByRole("button", { name: "New user…" }).click();
      assert.deepEqual(
        [await dialog.getByLabel("Username").inputValue(), await dialog.getByLabel(/^Password/).inputValue(), await dialog.getByLabel("Must change the password at the first login").isChecked(), await dialog.getByRole("alert").count()],
        ["", "", true, 0],
      );
      await dialog.getByRole("button", { name: "Cancel" }).click();
    }, { errorsAllowed: /status of 400 .*\/security\/v1\/users\)$/ });
  });

  it("saves a user whose email is not ASCII (a domain such as außendienst.de, a name part such as jürgen@) and leaves that email as it was", async () => {
    const { server, url } = ctx();
    const emails = ["agnes@außendienst.example.de", "jürgen@exämple.de"];
    const users = await Promise.all(emails.map(async (email, i) => {
      const r = await server.api<{ id: string }>("POST", "/security/v1/users", { token, body: { username: `idn.mail${i}.${kind}`, email } });
      assert.equal(r.status, 201, r.text);
      return r.body;
    }));
    await onPage(ctx(), async ({ page }) => {
      for (const [i, u] of users.entries()) {
        await page.goto(`${url}#/users/${u.id}`);
        await page.getByRole("heading", { level: 1, name: new RegExp(`idn\\.mail${i}`) }).waitFor();
        await page.getByLabel("Description").fill(`Edited ${i}`);
        await page.getByRole("button", { name: "Save", exact: true }).click();
        await page.getByText("Saved.").waitFor();
        const saved = (await server.api<{ email: string; description: string }>("GET", `/security/v1/users/${u.id}`, { token })).body;
        assert.deepEqual([saved.email, saved.description], [emails[i], `Edited ${i}`]);
      }
    });
  });

  it("a list taller than a browser lays out (1.2 million rows of 30 px) is scrolled to its last row, by the scrollbar and by End, its rows in order where it shows them", async () => {
    const { server, url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      // The whole list's count says 1.2 million; its rows past the store's are pages that answer empty.
      await page.route(/\/security\/v1\/users\/count$/, (route) => route.fulfill({ status: 200, contentType: "application/json", body: "1200000" }));
      await logInByToken(page, server, url);
      const grid = page.getByRole("grid", { name: "Users" });
      await page.getByRole("status").filter({ hasText: "1,200,000 users" }).waitFor();
      const viewport = page.locator(".viewport");
      assert.ok((await viewport.evaluate((el) => el.scrollHeight)) <= 15_000_000, "no taller than every browser lays out");
      /** The rendered rows' indexes, in the order they are drawn from the top, and whether the last one's bottom is in view. */
      const drawn = () => viewport.evaluate((el) => {
        const view = el.getBoundingClientRect();
        const rows = [...el.querySelectorAll<HTMLElement>("[role=row]")].map((r) => ({ index: Number(r.getAttribute("aria-rowindex")), box: r.getBoundingClientRect() }));
        rows.sort((a, b) => a.box.top - b.box.top);
        const inView = rows.filter((r) => r.box.bottom > view.top && r.box.top < view.bottom);
        return { indexes: rows.map((r) => r.index), first: inView[0]?.index ?? 0, last: inView.at(-1)?.index ?? 0, lastFits: (inView.at(-1)?.box.bottom ?? Infinity) <= view.bottom + 1 };
      });
      const inOrder = (indexes: number[]) => indexes.every((n, i) => i === 0 || n === indexes[i - 1]! + 1);
      // Halfway down the scrollbar is halfway down the rows.
      await viewport.evaluate((el) => el.scrollTo({ top: (el.scrollHeight - el.clientHeight) / 2 }));
      await nextFrames(page);
      const middle = await drawn();
      assert.ok(inOrder(middle.indexes), JSON.stringify(middle.indexes));
      assert.ok(Math.abs(middle.first - 600_000) < 50, `row ${middle.first} first in view`);
      // Dragged to the end: the last row, whole.
      await viewport.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
      await nextFrames(page);
      const end = await drawn();
      assert.ok(inOrder(end.indexes), JSON.stringify(end.indexes));
      assert.deepEqual([end.last, end.lastFits], [1_200_001, true]);
      // From the top, End takes the keyboard to the last row.
      await viewport.evaluate((el) => el.scrollTo({ top: 0 }));
      await nextFrames(page);
      await grid.locator('[aria-rowindex="2"]').focus();
      await page.keyboard.press("End");
      await page.waitForFunction(() => document.activeElement?.getAttribute("aria-rowindex") === "1200001");
      const atEnd = await drawn();
      assert.deepEqual([atEnd.last, atEnd.lastFits], [1_200_001, true]);
      // And one row up with the arrow: still in order, the focused row in view.
      await page.keyboard.press("ArrowUp");
      await page.waitForFunction(() => document.activeElement?.getAttribute("aria-rowindex") === "1200000");
      assert.ok(inOrder((await drawn()).indexes));
    }, { as: null });
  });

  // Last: its users would change the counts the tests above see.
  it("comes back from a user to a filtered list scrolled past its first pages: those pages loaded down to there", async () => {
    const { server, url } = ctx();
    for (let i = 0; i < 460; i++) await insertUser(server.server.deps.store, { username: `member${String(i).padStart(3, "0")}`, first_name: "Mo", last_name: `Member ${i}` });
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users?search=member`);
      await row(page, "member000").waitFor();
      // Down to row 420: the fifth page of the filter.
      await scrollUntil(page, "member420", 900);
      await scrollTo(page, 420 * 30);
      await row(page, "member420").click();
      await page.getByRole("heading", { level: 1, name: /member420/ }).waitFor();
      await page.goBack();
      await page.waitForFunction(() => (document.querySelector(".viewport")?.scrollTop ?? 0) > 0);
      await row(page, "member420").waitFor();
      assert.equal(await page.locator(".viewport").evaluate((el) => Math.floor(el.scrollTop / 30)), 420);
    });
  });

  it("the group picker's suggestions that failed to be read (the server unreachable) offer Try again, which reads them once the server answers", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users`);
      await row(page, "carol.jones").waitFor();
      let down = true;
      await page.route(/\/security\/v1\/user-groups\?.*search=aud/, (route) => (down ? route.abort("connectionrefused") : route.continue()));
      await page.getByRole("combobox", { name: "Group", exact: true }).fill("aud");
      const popup = page.locator(".combobox-popup").filter({ hasText: "The server cannot be reached" });
      await popup.waitFor();
      down = false;
      await popup.getByRole("button", { name: "Try again" }).click();
      await page.getByRole("listbox", { name: "Suggestions" }).getByRole("option", { name: "auditors", exact: true }).waitFor();
      await popup.waitFor({ state: "detached" });
    }, { errorsAllowed: /ERR_CONNECTION_REFUSED/ });
  });

  it("a security administrator is never offered, in Add to group…, a group that grants system-administrator: not even before the page has read which groups those are", async () => {
    const { server, url } = ctx();
    await createGroup(server, token, `root-picks-${kind}`, ["system-administrator"]);
    await createGroup(server, token, `root-picks-${kind}-plain`);
    await createSecurityAdministrator(server, token, `sally.picks.${kind}`);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users`);
      await row(page, "carol.jones").waitFor();
      // The page read again, that read held: the dialog opens before the page knows which groups to leave out.
      const release = await holdRequests(page, /\/security\/v1\/user-groups\?(.*&)?role=system-administrator/);
      await page.reload();
      await row(page, "carol.jones").waitFor();
      await page.getByRole("checkbox", { name: "Select carol.jones" }).check();
      await page.getByRole("region", { name: "Bulk actions" }).getByRole("button", { name: "Add to group…" }).click();
      const confirm = page.getByRole("dialog", { name: /^Add to group 1 selected/ });
      await confirm.getByRole("combobox", { name: "Group" }).fill(`root-picks-${kind}`);
      const options = confirm.getByRole("listbox", { name: "Suggestions" }).getByRole("option");
      // What the picker shows while the page does not know yet: no group, not one it is about to leave out.
      await confirm.locator(".combobox-popup p, [role=option]").first().waitFor();
      assert.deepEqual(await options.allInnerTexts(), []);
      release();
      await options.filter({ hasText: `root-picks-${kind}-plain` }).waitFor();
      assert.deepEqual(await options.allInnerTexts(), [`root-picks-${kind}-plain`]);
    }, { as: [`sally.picks.${kind}`, USER_PASSWORD] });
  });
});

describeConsole("users in the console, far down the whole list", {
  onPostgres: "PostgreSQL answers a position far from both ends with its search bucket's start, thousands of rows before the row asked",
  skipSqlite: "SQLite's positions fall close to the row asked; the suite above scrolls the whole list there",
}, (ctx) => {
  it("a page loaded from a position of the whole list draws each user at its own row: scrolled up from there, no user shows twice", async () => {
    const { server, url } = ctx();
    // Enough users for a position more than 5 000 rows from both ends (nearer ones are found exactly),
    // in the second bucket of 4 096: no more, each costs the seeding.
    await seedStore(server.server.deps.store, { users: 11_000, seed: 9, passwordHash: "not-a-login" });
    const token = await server.login();
    const near = (await server.api<{ position: number }>("GET", "/security/v1/users/position?at=5600", { token })).body;
    assert.ok(near.position < 5_600, `the store answers a position before the one asked (${near.position}): what this test is about`);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users`);
      await page.getByRole("status").filter({ hasText: /11,001 users/ }).waitFor();
      await scrollTo(page, 5_600 * 30);
      const seen = new Map<string, string>();
      for (let step = 0; step < 12; step++) {
        await page.waitForFunction(() => !document.querySelector(".viewport .r.placeholder"));
        for (const r of await page.locator(".viewport .r").evaluateAll((rows) => rows.map((el) => [el.getAttribute("aria-rowindex")!, el.querySelector("[role=gridcell]:nth-child(2)")?.textContent?.trim() ?? ""]))) {
          const [index, username] = r as [string, string];
          assert.equal(seen.get(username) ?? index, index, `${username} drawn at rows ${seen.get(username)} and ${index}`);
          seen.set(username, index);
        }
        await page.locator(".viewport").evaluate((el) => el.scrollBy({ top: -300 }));
        await nextFrames(page);
      }
      assert.ok(seen.size > 100, `${seen.size} rows seen`);
    });
  });
});

describeConsole("users in the console, a bulk action held part way", {
  onPostgres: "a run's batch is held part way by a row lock of another session, which PostgreSQL has",
  skipSqlite: "SQLite runs one write transaction at a time: no batch waits there; the server's suite stops a run on each store",
}, (ctx) => {
  it("stops a bulk action on its way: the dialog says so, and the users of the batches done stay changed", async () => {
    const { server, url } = ctx();
    // Two batches of a thousand: the first is done, the second waits for a user the test holds.
    await seedStore(server.server.deps.store, { users: 1_500, seed: 8, passwordHash: "not-a-login" });
    const token = await server.login();
    const all = (await server.api<{ id: string }[]>("GET", "/security/v1/users?max=10000", { token })).body;
    const enabled = async () => (await server.api<number>("GET", "/security/v1/users/count?enabled=true", { token })).body;
    const enabledBefore = await enabled();
    const holder = await PgSession.open((server.server.deps.config.store as { url: string }).url);
    try {
      await holder.query("begin");
      await holder.query("select 1 from users where uuid = $1 for update", [all[1000]!.id]);
      await onPage(ctx(), async ({ page }) => {
        await page.goto(`${url}#/users`);
        const bar = page.getByRole("region", { name: "Bulk actions" });
        // Ticking the header box before a row has loaded picks nothing (and unticks it): wait for the rows.
        await page.locator(".viewport .r:not(.placeholder)").first().waitFor();
        await page.getByRole("checkbox", { name: "Select all loaded users" }).click();
        await page.getByRole("button", { name: /^Select all .* matching$/ }).click();
        await bar.getByRole("button", { name: "Disable" }).click();
        await page.getByRole("dialog", { name: /^Disable all .* matching users$/ }).getByRole("button", { name: "Disable" }).click();
        const progress = page.getByRole("dialog", { name: /^Disable: in progress$/ });
        await holder.blocking(1);
        await progress.getByRole("button", { name: "Stop" }).click();
        const stopped = page.getByRole("dialog", { name: /^Disable: stopped$/ });
        await stopped.waitFor();
        assert.match(await stopped.innerText(), /Stopped: the users processed before the stop are changed/);
        await holder.query("commit");
        const [run] = (await server.api<{ id: string; status: string; changed: number }[]>("GET", "/security/v1/users/bulk-actions", { token })).body;
        await server.server.deps.bulkActions.settled(run!.id);
        const after = (await server.api<{ status: string; changed: number }>("GET", `/security/v1/users/bulk-actions/${run!.id}`, { token })).body;
        assert.equal(after.status, "cancelled");
        assert.ok(after.changed > 0 && after.changed < enabledBefore - 1, `stopped part way: ${after.changed} changed`);
        assert.equal(await enabled(), enabledBefore - after.changed);
        assert.equal(await stopped.getByRole("button", { name: "Stop" }).count(), 0);
      });
    } finally {
      await holder.end();
    }
  });
});
