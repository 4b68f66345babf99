/** The console in Chromium when things go wrong: code that loads slowly or not at all, a server that cannot be reached or answers 429, a proxy's page, a link with values no page takes. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createGroup, createUser, groupId } from "../../server/src/test-support/accounts.js";
import { ADMIN_PASSWORD } from "../../server/src/test-support/server.js";
import { answerLate, describeConsole, logInByToken, nextFrames, onOwnServer, onPage, openPage } from "./support.js";

describeConsole("the console when things go wrong", {}, (ctx, kind) => {
  it("shows the page asked for last: a page whose code loads slowly gives way, and away and back before either change is handled makes the page anew", async () => {
    const { server } = ctx();
    const token = await server.login();
    const group = await createGroup(server, token, "shown.late");
    await onPage(ctx(), async ({ page }) => {
      // The audit page's code comes late, once the roles page asked for meanwhile is shown; that page stays.
      const roles = page.getByRole("heading", { level: 1, name: "Roles" });
      const late = await answerLate(page, /\/chunks\/audit-[^/]*\.js$/, () => roles.waitFor());
      const asked = page.waitForRequest(/\/chunks\/audit-[^/]*\.js$/);
      await page.evaluate(() => { location.hash = "#/audit"; });
      await asked;
      await page.evaluate(() => { location.hash = "#/roles"; });
      await roles.waitFor();
      await late.delivered;
      await page.waitForFunction(() => customElements.get("ecm-audit") !== undefined);
      await nextFrames(page);
      assert.equal(await page.getByRole("heading", { level: 1, name: "Audit log" }).count(), 0);
      assert.match(page.url(), /#\/roles$/);
      // A group shown, a member added elsewhere, then away and back in one go: the group is read again.
      await page.evaluate((id) => { location.hash = `#/groups/${id}`; }, group);
      await page.getByRole("heading", { level: 1, name: "shown.late" }).waitFor();
      await page.getByText("No members.").waitFor();
      const me = (await server.api<{ id: string }>("GET", "/security/v1/me", { token })).body;
      assert.equal((await server.api("PUT", `/security/v1/users/${me.id}/user-groups/${group}`, { token })).status, 204);
      await page.evaluate((id) => { location.hash = "#/groups"; location.hash = `#/groups/${id}`; }, group);
      await page.getByRole("link", { name: "sysadmin" }).waitFor();
    });
  });

  it("a page whose code cannot be loaded (the server gone) says so in its place, with no error of the page", async () => {
    await onPage(ctx(), async ({ page }) => {
      await page.getByRole("heading", { level: 1, name: "Users" }).waitFor();
      await page.route(/\/chunks\/groups-[^/]*\.js$/, (route) => route.abort("connectionrefused"));
      await page.getByRole("link", { name: "Groups", exact: true }).click();
      await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor();
      assert.match(await page.getByRole("alert").innerText(), /^The server cannot be reached: this page could not be loaded\./);
      assert.equal(await page.getByRole("link", { name: "Groups", exact: true }).getAttribute("aria-current"), "page");
      assert.equal(await page.locator("ecm-users").count(), 0, "not the page before under the new address");
      // The failed chunk is one line of Chromium's own (a resource it could not load), not an error of the page.
    }, { errorsAllowed: /Failed to load resource/ });
  });

  it("a web page answered in the server's place (a load balancer whose nodes are down) is said in words, never as its markup", async () => {
    await onPage(ctx(), async ({ page }) => {
      await page.getByRole("heading", { level: 1, name: "Users" }).waitFor();
      // HAProxy's own answer when no node of its backend is up.
      await page.route(/\/security\/v1\/user-groups\?/, (route) => route.fulfill({ status: 503, contentType: "text/html", body: "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n" }));
      await page.getByRole("link", { name: "Groups", exact: true }).click();
      const alert = page.getByRole("alert");
      await alert.waitFor();
      const words = await alert.innerText();
      assert.doesNotMatch(words, /[<>]/);
      assert.match(words, /^503 Service Unavailable from something in between/);
    }, { errorsAllowed: /status of 503/ });
  });

  it("a 429 says when to try again, as its Retry-After says: a proxy's that says nothing of it (a list read, with Try again; a new user refused, in the dialog; a login) and the server's own (a password change), said once", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.getByRole("heading", { level: 1, name: "Users" }).waitFor();
      // A proxy's rate limit in front of the server: its own words, which say no wait; the wait in its Retry-After.
      const tooMany = (seconds: number) => ({ status: 429, headers: { "retry-after": String(seconds) }, contentType: "application/json", body: JSON.stringify({ message: "Too many requests" }) });
      let limited = true;
      await page.route(/\/security\/v1\/user-groups\?/, (route) => (limited ? route.fulfill(tooMany(30)) : route.continue()));
      await page.getByRole("link", { name: "Groups", exact: true }).click();
      const alert = page.getByRole("alert");
      await alert.waitFor();
      assert.equal(await alert.innerText(), "Too many requests. Try again in 30 seconds. Try again");
      limited = false;
      await alert.getByRole("button", { name: "Try again" }).click();
      await page.getByRole("link", { name: "administrators", exact: true }).waitFor();
      await page.route(/\/security\/v1\/users$/, (route) => (route.request().method() === "POST" ? route.fulfill(tooMany(1)) : route.continue()));
      await page.goto(`${url}#/users`);
      await page.getByRole("button", { name: "New user…" }).click();
      const dialog = page.getByRole("dialog", { name: "New user" });
      await dialog.getByLabel("Username").fill(`limited.${kind}`);
      await dialog.getByRole("button", { name: "Create" }).click();
      await dialog.getByRole("alert").filter({ hasText: "Too many requests. Try again in 1 second." }).waitFor();
      // The login page says its own words, with the wait of the Retry-After (a proxy's answer has no other).
      await page.keyboard.press("Escape");
      await page.getByRole("button", { name: "Log out" }).click();
      await page.route(/\/auth\/v1\/providers\/builtin\/token$/, (route) => route.fulfill(tooMany(7)));
      await page.getByLabel("Username").fill("sysadmin");
      await page.getByLabel("Password").fill(ADMIN_PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("alert").filter({ hasText: "Too many attempts. Try again in 7 seconds." }).waitFor();
    }, { errorsAllowed: /status of 429/ });
    // The server's own limit: its words say the wait too, and the page says it once.
    const limits = { windowSeconds: 60, perAddress: 3, perAccount: 0, providerLoginsPerAddress: 0, refusedApiKeysPerAddress: 0, refusalDelayMs: 0 };
    await onOwnServer(ctx().browser, kind, async () => undefined, async ({ server, token, page, url: own }) => {
      // The attempts of this address used up (the browser's is the same), then the page's is refused.
      for (let i = 0; i < 3; i++) assert.notEqual((await server.api("PUT", "/security/v1/me/password", { token, body: { currentPassword: "not-the-password", newPassword: "Changed-Pass-4567" } })).status, 429);
      await page.goto(`${own}#/me`);
      await page.getByLabel("Current password").fill(ADMIN_PASSWORD);
      await page.getByLabel("New password", { exact: true }).fill("Changed-Pass-4567");
      await page.getByLabel("Repeat the password").fill("Changed-Pass-4567");
      await page.getByRole("button", { name: "Change password" }).click();
      assert.match(await page.getByRole("alert").innerText(), /^Too many password change attempts\. Try again in [1-6]?\d seconds?\. \(ECMS1401\)$/);
    }, { rateLimit: limits }, /status of 429/);
  });

  it("a page that reads what it shows while the server cannot be reached offers Try again, which reads it once the server answers: a user, a group, the groups, the roles, the directories, the identity providers, the audit log", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const me = (await server.api<{ id: string }>("GET", "/security/v1/me", { token })).body;
    const administrators = await groupId(server, token, "administrators");
    const pages: [hash: string, shown: string][] = [
      [`#/users/${me.id}`, "sysadmin"],
      [`#/groups/${administrators}`, "administrators"],
      ["#/groups", "administrators"],
      ["#/roles", "system-administrator"],
      ["#/directories", "Directories"],
      ["#/providers", "Identity providers"],
      ["#/audit", "Audit log"],
    ];
    await onPage(ctx(), async ({ page }) => {
      await page.getByRole("heading", { level: 1, name: "Users" }).waitFor();
      for (const [hash, shown] of pages) {
        let down = true;
        // Every request to the server but the console's own files.
        const api = /\/portal\/(?!console\/)/;
        await page.route(api, (route) => (down ? route.abort("connectionrefused") : route.continue()));
        await page.goto(`${url}${hash}`);
        const failure = page.getByRole("alert").filter({ hasText: "The server cannot be reached" });
        await failure.waitFor().catch(async () => assert.fail(`${hash}: ${await page.locator("main").innerText()}`));
        down = false;
        await failure.getByRole("button", { name: "Try again" }).click({ timeout: 5_000 }).catch(async () => assert.fail(`${hash}: no Try again beside “${await failure.innerText()}”`));
        // The page's own words once read again (a list that failed shows its empty table until the answer comes).
        await page
          .waitForFunction((words) => { const text = document.querySelector("main")?.textContent ?? ""; return text.includes(words) && !text.includes("Loading…") && !document.querySelector("main [role=alert]"); }, shown, { polling: 100, timeout: 10_000 })
          .catch(async () => assert.fail(`${hash}: ${await page.locator("main").innerText()}`));
        await page.unroute(api);
      }
    }, { errorsAllowed: /ERR_CONNECTION_REFUSED/ });
  });

  it("a read beside what a page shows that fails offers Try again too, which reads it once the server answers: the users count, the directory the users are filtered by, a group's member count, a user's events after a save", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const directory = await server.api<{ id: string }>("POST", "/security/v1/external-user-storage", { token, body: { name: `retry ldap ${kind}`, connectionUrl: "ldap://127.0.0.1:9", baseDn: "dc=example,dc=com", enabled: false } });
    assert.equal(directory.status, 201, directory.text);
    const group = await createGroup(server, token, `retry-count-${kind}`);
    const user = await createUser(server, token, `retry.events.${kind}`);
    await onPage(ctx(), async ({ page }) => {
      const failure = page.getByRole("alert").filter({ hasText: "The server cannot be reached" });
      /** Opens `hash` (or does `act` on the page shown) while the requests matching `path` find no server; Try again, once it answers, shows what `shown` waits for. */
      const retried = async (what: string, path: RegExp, act: () => Promise<void>, shown: () => Promise<unknown>) => {
        let down = true;
        await page.route(path, (route) => (down ? route.abort("connectionrefused") : route.continue()));
        await act();
        await failure.waitFor().catch(async () => assert.fail(`${what}: ${await page.locator("main").innerText()}`));
        down = false;
        await failure.getByRole("button", { name: "Try again" }).click({ timeout: 5_000 }).catch(async () => assert.fail(`${what}: no Try again beside “${await failure.innerText()}”`));
        await shown();
        await failure.waitFor({ state: "detached" });
        await page.unroute(path);
      };
      await retried("the users count", /\/security\/v1\/users\/count/, () => page.goto(`${url}#/users?enabled=true`).then(() => undefined),
        () => page.getByRole("status").filter({ hasText: /^\d+ users$/ }).waitFor());
      await retried("the directory filtered by", new RegExp(`/external-user-storage/${directory.body.id}$`), () => page.goto(`${url}#/users?source=directory:${directory.body.id}`).then(() => undefined),
        () => page.waitForFunction((name) => document.querySelector<HTMLSelectElement>("select[aria-label=Source]")?.selectedOptions[0]?.textContent === name, `Directory: retry ldap ${kind}`));
      await retried("a group's member count", /\/security\/v1\/users\/count\?.*groupId/, () => page.goto(`${url}#/groups/${group}`).then(() => undefined),
        () => page.getByRole("status").filter({ hasText: "0 members" }).waitFor());
      await page.goto(`${url}#/users/${user.uuid}`);
      await page.getByRole("heading", { level: 1, name: new RegExp(`retry\\.events\\.${kind}`) }).waitFor();
      await retried("a user's events after a save", /\/security\/v1\/audit-events/, async () => {
        await page.getByLabel("Description").fill("saved while the events cannot be read");
        await page.getByRole("button", { name: "Save", exact: true }).click();
      }, () => page.getByRole("cell", { name: "user.update", exact: true }).waitFor());
    }, { errorsAllowed: /ERR_CONNECTION_REFUSED/ });
  });

  it("a link with a value no page takes shows the page or says why in words, never a blank page: bad times, numbers and filters, unknown ids (a group, directory, identity provider or profile) and pages", async () => {
    const { server, browser, url } = ctx();
    const { page, errors, close } = await openPage(browser);
    const alert = () => page.getByRole("alert").innerText();
    try {
      await logInByToken(page, server, url);
      // A time that is no time is left out of the filter, and said.
      await page.goto(`${url}#/audit?from=garbage&to=2020-13-45T99:00`);
      await page.getByText("“From” in the address is no time: the events are not filtered by it.").waitFor();
      await page.getByText("“Until” in the address is no time: the events are not filtered by it.").waitFor();
      await page.getByRole("row", { name: /auth\.login\s+sysadmin/ }).first().waitFor();
      assert.equal(await page.getByLabel("From").inputValue(), "");
      // Values no filter takes filter nothing; a group the server does not know is its answer, in words.
      await page.goto(`${url}#/users?profileId=abc&enabled=maybe&cols=nope`);
      await page.getByRole("gridcell", { name: "sysadmin", exact: true }).first().waitFor();
      await page.getByRole("status").filter({ hasText: /^\d+ users?$/ }).waitFor();
      for (const filter of ["groupId=zzz", "source=bogus"]) {
        // From the whole list first: the alert of the filter before is not this one's (a page that takes in
        // the hash late still shows it, and the filter it then skips is never asked for).
        await page.goto(`${url}#/users`);
        await page.getByRole("status").filter({ hasText: /^[\d,]+ users?$/ }).waitFor();
        await page.goto(`${url}#/users?${filter}`);
        assert.match(await alert(), /ECMS\d+/, filter);
        // Said, and then nothing pretends to be on its way.
        await page.waitForFunction(() => !document.querySelector("main")!.textContent!.includes("Loading…") && !document.querySelector("main")!.textContent!.includes("Counting…")).catch(() => assert.fail(`${filter}: still “Loading…” or “Counting…”`));
      }
      // A directory, identity provider or profile that is none: said in words, and its menu says it is unknown instead of showing the id.
      for (const [filter, menu, option, words] of [
        ["source=directory:nope", "Source", "Unknown directory", "There is no directory “nope”: no user comes from it."],
        ["source=identity-provider:nope", "Source", "Unknown identity provider", "There is no identity provider “nope”: no user comes from it."],
        ["linkedTo=nope", "Linked to", "Unknown identity provider", "There is no identity provider “nope”: no user is linked to it."],
        ["profileId=99999999", "Profile", "Unknown profile #99999999", "There is no profile #99999999: no user has it."],
      ] as const) {
        const [name, value] = filter.split("=") as [string, string];
        const counted = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith("/users/count") && new URL(r.url()).searchParams.get(name) === value);
        await page.goto(`${url}#/users?${filter}`);
        await page.getByText(words).waitFor();
        assert.equal(await page.getByRole("combobox", { name: menu, exact: true }).locator("option:checked").innerText(), option, filter);
        // Said once, in those words: not the server's answer to the list and its count (a 404) beside them.
        assert.equal((await counted).status(), 404, filter);
        await nextFrames(page);
        assert.deepEqual(await page.locator("main .message").allInnerTexts(), [words], filter);
        // An export of that list, refused so too, says nothing more either.
        const exported = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith("/users/csv-links"));
        await page.getByRole("button", { name: "Export CSV" }).click();
        assert.equal((await exported).status(), 404, filter);
        await page.getByRole("button", { name: "Export CSV" }).and(page.locator(":enabled")).waitFor();
        assert.deepEqual(await page.locator("main .message").allInnerTexts(), [words], `${filter}, exported`);
      }
      // The source the server refuses is a 400 Chromium logs for each of the two requests: asked for, and said.
      const bogus = (e: string) => /status of 400 .*source=bogus/.test(e);
      assert.ok(errors.some(bogus), errors.join("\n"));
      // An unknown group or directory: said so, no “Loading…” for ever.
      for (const [hash, heading] of [["#/groups/zzz", "Group"], [`#/groups/${crypto.randomUUID()}`, "Group"], ["#/directories/zzz", "Directories"], ["#/providers/zzz", "Identity providers"]] as const) {
        // From another page first: the page before's alert is not this one's.
        await page.goto(`${url}#/roles`);
        await page.getByRole("heading", { level: 1, name: "Roles" }).waitFor();
        await page.goto(`${url}${hash}`);
        await page.getByRole("heading", { level: 1, name: heading, exact: true }).waitFor();
        await page.waitForFunction(() => document.querySelector("main [role=alert]") !== null && !document.querySelector("main")!.textContent!.includes("Loading…")).catch(() => assert.fail(`${hash}: still “Loading…”, or no error`));
      }
      // No page by that name: the home page, and the URL says so.
      await page.goto(`${url}#/nonsense`);
      await page.getByRole("status").filter({ hasText: "There is no page “nonsense”." }).waitFor();
      await page.waitForURL(/#\/users$/);
      await page.getByRole("heading", { level: 1, name: "Users" }).waitFor();
      // A link whose percent-encoding is broken (cut short, typed by hand): taken as written — an unknown
      // user, no page by that name — whether it opens the console or comes while the console is open.
      // It, and any id that is no guid, is an unknown user as an unknown guid is, in the same words.
      for (const id of ["%E0%A4%A", "bob", crypto.randomUUID()]) {
        await page.goto("about:blank");
        await page.goto(`${url}#/users/${id}`);
        await page.getByRole("heading", { level: 1, name: "User", exact: true }).waitFor();
        assert.match((await page.getByRole("alert").textContent()) ?? "", /^The specified user does not exist\./, id);
      }
      await page.goto(`${url}#/%zz`);
      await page.getByRole("status").filter({ hasText: "There is no page “%zz”." }).waitFor();
      // The refused filter's answers (the list's, and the count's, which may come later) are the only errors.
      assert.deepEqual(errors.filter((e) => !bogus(e)), []);
    } finally {
      await close();
    }
  });
});
