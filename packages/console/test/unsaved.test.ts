/** Edits not saved yet in Chromium: kept when the session ends or the page is left, said so when they come back; the session renewed while the page is used. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createGroup, createSecurityAdministrator, createUser, USER_PASSWORD } from "../../server/src/test-support/accounts.js";
import { ADMIN_PASSWORD, startTestServer } from "../../server/src/test-support/server.js";
import { describeConsole, logIn, onPage, pickGroup } from "./support.js";

describeConsole("edits not saved yet in the console", {}, (ctx, kind) => {
  it("a user's edits not saved when the session ended come back after logging in again, said as not saved yet; another account logging in gets none", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const user = await createUser(server, token, `edited.while.ending.${kind}`);
    await createSecurityAdministrator(server, token, `other.admin.${kind}`);
    const description = async () => (await server.api<{ description: string | null }>("GET", `/security/v1/users/${user.uuid}`, { token })).body.description;
    await onPage(ctx(), async ({ page }) => {
      /** Types a description, then the session ends (revoked, as an expiry or another tab's logout ends it): the Save is refused, and the login page asked for. */
      const typeWhileEnding = async (text: string) => {
        await page.getByRole("heading", { level: 1, name: new RegExp(`edited\\.while\\.ending\\.${kind}`) }).waitFor();
        await page.waitForFunction(() => document.querySelector<HTMLInputElement>("#user-form [name=firstName]") !== null);
        await page.getByLabel("Description").fill(text);
        const pageToken = await page.evaluate(() => sessionStorage.getItem("ecm.console.token"));
        assert.equal((await server.api("POST", "/auth/v1/logout", { token: pageToken! })).status, 204);
        await page.getByRole("button", { name: "Save", exact: true }).click();
        await page.getByText("Your session has ended. Log in again to go back to where you were.").waitFor();
      };
      const logInAgain = async (username: string, password: string) => {
        await page.getByLabel("Username").fill(username);
        await page.getByLabel("Password").fill(password);
        await page.getByRole("button", { name: "Log in" }).click();
        await page.getByRole("heading", { level: 1, name: new RegExp(`edited\\.while\\.ending\\.${kind}`) }).waitFor();
      };
      await logIn(page, url, "sysadmin", ADMIN_PASSWORD);
      await page.goto(`${url}#/users/${user.uuid}`);
      await typeWhileEnding("typed before the session ended");
      await logInAgain("sysadmin", ADMIN_PASSWORD);
      await page.getByText("Your changes from before the session ended are back in the form: they are not saved yet.").waitFor();
      assert.equal(await page.getByLabel("Description").inputValue(), "typed before the session ended");
      assert.equal(await description(), null);
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      assert.equal(await description(), "typed before the session ended");

      await typeWhileEnding("typed by sysadmin, then ended");
      await logInAgain(`other.admin.${kind}`, USER_PASSWORD);
      await page.waitForFunction(() => document.querySelector<HTMLInputElement>("#user-form [name=description]")?.value === "typed before the session ended");
      assert.equal(await page.getByText("Your changes from before the session ended").count(), 0);
    }, { as: null });
  });

  it("a new user typed into the New user dialog when the session ended comes back in the dialog after logging in again, said as not saved yet (never the password typed)", async () => {
    const { server, url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await logIn(page, url, "sysadmin", ADMIN_PASSWORD);
      await page.goto(`${url}#/users`);
      await page.getByRole("button", { name: "New user…" }).click();
      const dialog = page.getByRole("dialog", { name: "New user" });
      await dialog.getByLabel("Username").fill(`typed.when.ended.${kind}`);
      await dialog.getByLabel("First name").fill("Typed");
      await dialog.getByLabel(/^Password/).fill("Typed-Secret-9");
      // The session ends elsewhere (revoked, as an expiry or another tab's logout ends it): Create is refused.
      const pageToken = await page.evaluate(() => sessionStorage.getItem("ecm.console.token"));
      assert.equal((await server.api("POST", "/auth/v1/logout", { token: pageToken! })).status, 204);
      await dialog.getByRole("button", { name: "Create" }).click();
      await page.getByText("Your session has ended. Log in again to go back to where you were.").waitFor();
      assert.doesNotMatch(await page.evaluate(() => JSON.stringify(sessionStorage)), /Typed-Secret/);
      await page.getByLabel("Username").fill("sysadmin");
      await page.getByLabel("Password").fill(ADMIN_PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByText("Your changes from before the session ended are back in the form: they are not saved yet.").waitFor({ state: "attached" });
      await dialog.waitFor();
      assert.equal(await dialog.getByLabel("Username").inputValue(), `typed.when.ended.${kind}`);
      assert.equal(await dialog.getByLabel("First name").inputValue(), "Typed");
      assert.equal(await dialog.getByLabel(/^Password/).inputValue(), "");
    }, { as: null });
  });

  it("a group's, a directory's and an identity provider's edits not saved when the session ended come back after logging in again, said as not saved yet (a secret typed is never kept)", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const group = await createGroup(server, token, `kept-edits-${kind}`);
    const directory = await server.api<{ id: string }>("POST", "/security/v1/external-user-storage", { token, body: { name: `kept edits ${kind}`, connectionUrl: "ldap://127.0.0.1:1", baseDn: "dc=example,dc=org", enabled: false } });
    assert.equal(directory.status, 201, directory.text);
    const config = { issuer: "https://kept.example.com", authorizationUrl: "https://kept.example.com/authorize", tokenUrl: "https://kept.example.com/token", jwksUrl: "https://kept.example.com/keys" };
    const provider = await server.api("POST", "/idp/v1/external-identity-provider", { token, body: { alias: `kept-${kind}`, displayName: "Kept", fromUrl: null, clientId: "ecm", clientSecret: "kept-secret-1", config } });
    assert.equal(provider.status, 201, provider.text);
    await onPage(ctx(), async ({ page }) => {
      await logIn(page, url, "sysadmin", ADMIN_PASSWORD);
      for (const [path, heading, edits, button] of [
        [`groups/${group}`, `kept-edits-${kind}`, [["Description", "typed before the end"]], "Save"],
        [`directories/${directory.body.id}`, `kept edits ${kind}`, [["User filter", "(uid=kept*)"], ["Bind password", "Typed-Secret-1"]], "Save"],
        [`providers/kept-${kind}`, "Kept", [["Scopes", "openid kept"], ["Client secret", "Typed-Secret-2"]], "Save"],
        // A new provider's endpoints given here: fields the form shows only once that is chosen.
        ["providers/new", "New identity provider", [["Alias (in URLs, fixed)", `new-${kind}`], ["Display name", "New"], ["Client ID", "ecm"], ["Client secret", "Typed-Secret-3"], ["Given here", "on"], ["Issuer (iss)", "https://new.example.com"], ["Authorization endpoint", "https://new.example.com/a"], ["Token endpoint", "https://new.example.com/t"], ["Keys (JWKS) URL", "https://new.example.com/k"]], "Create"],
      ] as const) {
        await page.goto(`${url}#/${path}`);
        await page.getByRole("heading", { level: 1, name: heading }).waitFor();
        for (const [label, text] of edits) await (text === "on" ? page.getByLabel(label, { exact: true }).check() : page.getByLabel(label, { exact: true }).fill(text));
        // A mapping's rows are edits too.
        const mapped = path.startsWith("directories/");
        if (mapped) {
          await page.getByRole("button", { name: "Add a mapping" }).click();
          await page.getByLabel("Group DN 1").fill("cn=kept,dc=example,dc=org");
          await pickGroup(page, page.getByRole("combobox", { name: "Local group 1" }), "kept-edits", `kept-edits-${kind}`);
        }
        // The session ends elsewhere (revoked, as an expiry or another tab's logout ends it): the Save is refused.
        const pageToken = await page.evaluate(() => sessionStorage.getItem("ecm.console.token"));
        assert.equal((await server.api("POST", "/auth/v1/logout", { token: pageToken! })).status, 204);
        await page.getByRole("button", { name: button, exact: true }).click();
        await page.getByText("Your session has ended. Log in again to go back to where you were.").waitFor();
        assert.doesNotMatch(await page.evaluate(() => JSON.stringify(sessionStorage)), /Typed-Secret/, path);
        await page.getByLabel("Username").fill("sysadmin");
        await page.getByLabel("Password").fill(ADMIN_PASSWORD);
        await page.getByRole("button", { name: "Log in" }).click();
        await page.getByRole("heading", { level: 1, name: heading }).waitFor();
        await page.getByText("Your changes from before the session ended are back in the form: they are not saved yet.").waitFor();
        for (const [label, text] of edits) {
          const field = page.getByLabel(label, { exact: true });
          if (text === "on") assert.ok(await field.isChecked(), `${path}: ${label}`);
          else assert.equal(await field.inputValue(), text.startsWith("Typed-Secret") ? "" : text, `${path}: ${label}`);
        }
        if (mapped) {
          assert.equal(await page.getByLabel("Group DN 1").inputValue(), "cn=kept,dc=example,dc=org");
          await page.waitForFunction((name) => document.querySelector<HTMLInputElement>("input[aria-label='Local group 1']")?.value === name, `kept-edits-${kind}`);
        }
      }
    }, { as: null });
    const stored = await server.api<{ description: string | null }>("GET", `/security/v1/user-groups/${group}`, { token });
    assert.equal(stored.body.description, null, "nothing was saved");
    assert.equal((await server.api("DELETE", `/security/v1/external-user-storage/${directory.body.id}`, { token })).status, 204);
    assert.equal((await server.api("DELETE", `/idp/v1/external-identity-provider/kept-${kind}`, { token })).status, 204);
  });

  it("edits not saved when their page is left — by a link, Back or a reload — come back when it is opened again, said as not saved yet; each page keeps its own, and a logout drops them", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const user = await createUser(server, token, `left.unsaved.${kind}`);
    const group = await createGroup(server, token, `left-unsaved-${kind}`);
    const KEPT = "Your changes not saved when you left this page are back in the form: they are not saved yet.";
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${user.uuid}`);
      await page.getByRole("heading", { level: 1, name: new RegExp(`left\\.unsaved\\.${kind}`) }).waitFor();
      await page.getByLabel("Description").fill("typed, then the page left by a link");
      // Another page with edits of its own, left by Back.
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Groups" }).click();
      await page.goto(`${url}#/groups/${group}`);
      await page.getByRole("heading", { level: 1, name: `left-unsaved-${kind}` }).waitFor();
      await page.getByLabel("Description").fill("a group's edit, left by Back");
      await page.goBack();
      await page.goBack();
      await page.getByRole("heading", { level: 1, name: new RegExp(`left\\.unsaved\\.${kind}`) }).waitFor();
      await page.getByText(KEPT).waitFor();
      assert.equal(await page.getByLabel("Description").inputValue(), "typed, then the page left by a link");
      // A reload keeps them too.
      await page.getByLabel("Description").fill("typed, then reloaded");
      await page.reload();
      await page.getByText(KEPT).waitFor();
      assert.equal(await page.getByLabel("Description").inputValue(), "typed, then reloaded");
      await page.goForward();
      await page.goForward();
      await page.getByRole("heading", { level: 1, name: `left-unsaved-${kind}` }).waitFor();
      await page.getByText(KEPT).waitFor();
      assert.equal(await page.getByLabel("Description").inputValue(), "a group's edit, left by Back");
      // Kept once: opened again after a Save, the page shows the server's values.
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      await page.reload();
      await page.getByRole("heading", { level: 1, name: `left-unsaved-${kind}` }).waitFor();
      assert.equal(await page.getByLabel("Description").inputValue(), "a group's edit, left by Back");
      assert.equal(await page.getByText(KEPT).count(), 0);
      // A logout drops what is kept.
      await page.goto(`${url}#/users/${user.uuid}`);
      await page.getByText(KEPT).waitFor();
      await page.getByLabel("Description").fill("typed, then logged out");
      await page.getByRole("button", { name: "Log out" }).click();
      await page.getByRole("heading", { name: "Log in to ECM Security" }).waitFor();
      assert.doesNotMatch(await page.evaluate(() => JSON.stringify(sessionStorage)), /typed, then/);
    });
    assert.equal((await server.api<{ description: string | null }>("GET", `/security/v1/users/${user.uuid}`, { token })).body.description, null, "nothing of the user was saved");
  });

  it("a new group, directory or identity provider typed and not created yet is kept when its page is left — by a link, Back or a reload — and comes back when it is opened again, said as not saved yet; once created, nothing is", async () => {
    const { url } = ctx();
    const KEPT = "Your changes not saved when you left this page are back in the form: they are not saved yet.";
    await onPage(ctx(), async ({ page }) => {
      const main = page.getByRole("navigation", { name: "Main" });
      /** Leaves the page by the navigation's link to `away`, then comes back by Back: what was typed is back, and said so. */
      const awayAndBack = async (away: string, heading: string | RegExp, typed: [label: string, value: string][]) => {
        await main.getByRole("link", { name: away }).click();
        await page.getByRole("heading", { level: 1, name: away === "Identity providers" ? "Identity providers" : away }).waitFor();
        await page.goBack();
        await page.getByRole("heading", { level: 1, name: heading }).waitFor();
        await page.getByText(KEPT).waitFor();
        for (const [label, value] of typed) assert.equal(await page.getByLabel(label, { exact: true }).inputValue(), value, label);
      };
      // The groups page's New group, by a link and by a reload.
      await page.goto(`${url}#/groups`);
      await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor();
      await page.getByLabel("Name", { exact: true }).fill(`typed-${kind}`);
      await page.getByLabel("Description", { exact: true }).fill("typed, then the page left");
      await awayAndBack("Roles", "Groups", [["Name", `typed-${kind}`], ["Description", "typed, then the page left"]]);
      await page.getByLabel("Description", { exact: true }).fill("typed, then reloaded");
      await page.reload();
      await page.getByText(KEPT).waitFor();
      assert.equal(await page.getByLabel("Description", { exact: true }).inputValue(), "typed, then reloaded");
      // Created: the page comes back empty.
      await page.getByRole("button", { name: "Create" }).click();
      await page.getByRole("heading", { level: 1, name: `typed-${kind}` }).waitFor();
      await page.goBack();
      await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor();
      await page.getByRole("link", { name: `typed-${kind}` }).waitFor();
      assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "");
      assert.equal(await page.getByText(KEPT).count(), 0);
      // A new directory and a new identity provider, each on its own page.
      await page.goto(`${url}#/directories/new`);
      await page.getByRole("heading", { level: 1, name: "New directory" }).waitFor();
      await page.getByLabel("Directory name", { exact: true }).fill(`typed ldap ${kind}`);
      await awayAndBack("Roles", "New directory", [["Directory name", `typed ldap ${kind}`]]);
      await page.goto(`${url}#/providers/new`);
      await page.getByRole("heading", { level: 1, name: "New identity provider" }).waitFor();
      await page.getByLabel("Alias (in URLs, fixed)", { exact: true }).fill(`typed-${kind}`);
      await awayAndBack("Roles", "New identity provider", [["Alias (in URLs, fixed)", `typed-${kind}`]]);
    });
  });

  it("the session renews while the page is used, however short its lifetime, and a page left alone goes to the login page when it ends", async (t) => {
    // A lifetime under a minute (ECM_TOKEN_TTL_SECONDS=45): the page renews at a third of it.
    const server = await startTestServer(kind, { tokenTtlSeconds: 45 });
    t.after(() => server.close());
    const url = `${server.baseUrl}/console/`;
    await onPage(ctx(), async ({ page }) => {
      // The page's clock is moved by the test, and the server's alike: the lifetime passes without waiting.
      await page.clock.install();
      const pass = async (seconds: number) => {
        server.clock.advance(seconds);
        await page.clock.fastForward(seconds * 1000);
      };
      const renewal = async () => {
        const answer = page.waitForResponse((r) => r.url().endsWith("/security/v1/me"));
        // A busy page may not have taken in the last renewal's answer yet (it renews one at a time): the
        // key is pressed again until it renews. One it took in only after the clock moved counts as a
        // use then, and the page renews 15 seconds after that: both clocks run on in real time, and each
        // second of waiting moves them a second more, at most 14 (the server's session, last used at the
        // last renewal, lasts 45).
        let answered = false;
        void answer.then(() => (answered = true), () => (answered = true));
        for (let waited = 0; !answered; waited++) {
          await page.keyboard.press("Shift");
          await Promise.race([answer.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 250))]);
          if (!answered && waited % 4 === 3 && waited < 4 * 14) await pass(1);
        }
        const response = await answer;
        await response.finished();
        return response.status();
      };
      await logIn(page, url, "sysadmin", ADMIN_PASSWORD);
      await page.goto(`${url}#/groups`);
      await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor();
      // Used (a key) after 25 of the 45 seconds, twice: renewed each time. Not 30: an answer the page
      // takes in after the clock moved counts as a use then, and the page renews only 15 seconds after
      // that — 25 + 15 seconds after the server's last use, still within its 45.
      await pass(25);
      assert.equal(await renewal(), 200);
      await pass(25);
      assert.equal(await renewal(), 200, "without the first renewal the session would have ended at 45 seconds");
      // Left alone: when the lifetime has passed, the page goes to the login page by itself, keeping the page.
      await pass(46);
      await page.getByText("Your session has ended. Log in again to go back to where you were.").waitFor();
      assert.match(page.url(), /#\/login\?next=groups/);
      assert.equal(await page.evaluate(() => sessionStorage.getItem("ecm.console.token")), null);
    }, { as: null });
  });
});
