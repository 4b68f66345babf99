/** The login page, the own password's change and the session's end in Chromium, as a user meets them. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createSecurityAdministrator, createUser, groupId, USER_PASSWORD } from "../../server/src/test-support/accounts.js";
import { ADMIN_PASSWORD, type TestServer } from "../../server/src/test-support/server.js";
import { describeConsole, logIn, onOwnServer, onPage } from "./support.js";

describeConsole("logging in to the console", {}, (ctx, kind) => {
  it("says why a login is refused, and sends a plain user with a forced password change to change it first", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const created = await server.api("POST", "/security/v1/users", { token, body: { username: "pat.new", password: "Initial-Pass-123", changePassword: true } });
    assert.equal(created.status, 201);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(url);
      // The page starts in its username field: typing goes there.
      await page.waitForFunction(() => document.activeElement?.id === "username");
      await page.keyboard.type("pat.new");
      assert.equal(await page.getByLabel("Username").inputValue(), "pat.new");
      await page.getByLabel("Password").fill("wrong-password");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("alert").filter({ hasText: "The username or password is wrong, or this account cannot log in now" }).waitFor();
      assert.equal(await page.getByLabel("Password").inputValue(), "");
      // The password is typed again where the keyboard already is.
      await page.waitForFunction(() => document.activeElement?.id === "password");
      await page.getByLabel("Password").fill("Initial-Pass-123");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("heading", { name: "My account" }).waitFor();
      await page.getByText("Your password must be changed before you go on.").waitFor();
      await page.getByLabel("Current password").fill("Initial-Pass-123");
      await page.getByLabel("New password", { exact: true }).fill("Changed-Pass-4567");
      await page.getByLabel("Repeat the password").fill("Changed-Pass-4567");
      // A double click changes it once: a second request would send the old password and be refused.
      await page.getByRole("button", { name: "Change password" }).dblclick();
      await page.getByText("Your password was changed; your other sessions were ended.").waitFor();
      await page.waitForURL(/#\/me$/);
      await page.getByRole("definition").filter({ hasText: /^user$/ }).waitFor();
      assert.equal((await server.api<unknown[]>("GET", "/security/v1/audit-events?action=user.password-change&target=pat.new", { token })).body.length, 1);
      assert.equal(await page.getByRole("alert").count(), 0);
      // A plain user sees only the own account: no administration pages in the navigation.
      const nav = page.getByRole("navigation", { name: "Main" });
      assert.deepEqual(await nav.getByRole("link").allInnerTexts(), ["My account"]);
    }, { as: null });
  });

  it("an administrator's forced password change does not show the account as holding the role user alone: its roles are shown once they can be read", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const { user } = await createSecurityAdministrator(server, token, `rae.forced.${kind}`);
    const reset = await server.api("PUT", `/security/v1/users/${user.uuid}/reset-password`, { token, body: { type: "password", value: "Temporary-Pass-17", temporary: true } });
    assert.equal(reset.status, 204);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(url);
      await page.getByLabel("Username").fill(`rae.forced.${kind}`);
      await page.getByLabel("Password").fill("Temporary-Pass-17");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByText("Your password must be changed before you go on.").waitFor();
      const roles = page.locator("dt:text-is('Roles') + dd");
      assert.doesNotMatch(await roles.innerText(), /^user$/);
      await page.getByLabel("Current password").fill("Temporary-Pass-17");
      await page.getByLabel("New password", { exact: true }).fill("Changed-Admin-Pass-4567");
      await page.getByLabel("Repeat the password").fill("Changed-Admin-Pass-4567");
      await page.getByRole("button", { name: "Change password" }).click();
      await page.getByText("Your password was changed.").waitFor();
      await page.goto(`${url}#/me`);
      await roles.filter({ hasText: "security-administrator" }).waitFor();
      assert.equal(await roles.innerText(), "security-administrator, user");
    }, { as: null });
  });

  it("changes the own password once the new passwords match, whichever of the two fields was corrected after “they differ”", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const created = await server.api("POST", "/security/v1/users", { token, body: { username: "mia.match", password: "Initial-Pass-123", changePassword: false } });
    assert.equal(created.status, 201);
    await onPage(ctx(), async ({ page }) => {
      await logIn(page, url, "mia.match", "Initial-Pass-123");
      await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();
      const repeat = page.getByLabel("Repeat the password");
      await page.getByLabel("Current password").fill("Initial-Pass-123");
      await page.getByLabel("New password", { exact: true }).fill("Changed-Pass-4567");
      await repeat.fill("Changed-Pass-4568");
      await page.getByRole("button", { name: "Change password" }).click();
      assert.equal(await repeat.evaluate((el) => (el as HTMLInputElement).validationMessage), "The new passwords differ.");
      // The first field is the one corrected: the passwords match now, and Change takes them.
      await page.getByLabel("New password", { exact: true }).fill("Changed-Pass-4568");
      await page.getByRole("button", { name: "Change password" }).click();
      await page.getByText("Your password was changed; your other sessions were ended.").waitFor();
      assert.equal((await server.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "mia.match", password: "Changed-Pass-4568" } })).status, 200);
    }, { as: null });
  });

  it("takes passwords as long as the server's policy asks, not a length of its own: 10 characters where ECM_PASSWORD_MIN_LENGTH is 8", async () => {
    const fill = async (server: TestServer) => {
      const created = await server.api<{ id: string }>("POST", "/security/v1/users", { token: await server.login(), body: { username: "sam.short", password: "Initial-Pass-123", changePassword: false } });
      assert.equal(created.status, 201);
      return created.body.id;
    };
    await onOwnServer(ctx().browser, kind, fill, async ({ server, page, url, filled: samId }) => {
      // An administrator's reset…
      await page.goto(`${url}#/users/${samId}`);
      await page.getByRole("button", { name: "Reset password…" }).click();
      const dialog = page.getByRole("dialog", { name: "Reset the password of sam.short" });
      await dialog.getByLabel("New password").fill("Qx7#vLm2Rp");
      await dialog.getByLabel("Repeat it").fill("Qx7#vLm2Rp");
      await dialog.getByLabel("The user must change it at the next login").uncheck();
      await dialog.getByRole("button", { name: "Set password" }).click();
      await page.getByText("The password was set; the user's sessions were ended.").waitFor();
      // …and the user's own change.
      await page.getByRole("button", { name: "Log out" }).click();
      await logIn(page, url, "sam.short", "Qx7#vLm2Rp");
      await page.goto(`${url}#/me`);
      await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();
      assert.doesNotMatch(await page.locator("#pw-rule").innerText(), /12/);
      await page.getByLabel("Current password").fill("Qx7#vLm2Rp");
      await page.getByLabel("New password", { exact: true }).fill("Zk4!wNb8Ty");
      await page.getByLabel("Repeat the password").fill("Zk4!wNb8Ty");
      await page.getByRole("button", { name: "Change password" }).click();
      await page.getByText("Your password was changed; your other sessions were ended.").waitFor();
      assert.equal((await server.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "sam.short", password: "Zk4!wNb8Ty" } })).status, 200);
    }, { passwordPolicy: { minLength: 8, minStrength: 3 } });
  });

  it("an administrator with a forced password change changes it first, then gets the page asked for; Back does not ask for the change again", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const admin = await createUser(server, token, "ada.new");
    await server.api("PUT", `/security/v1/users/${admin.uuid}/user-groups/${await groupId(server, token, "administrators")}`, { token });
    assert.equal((await server.api("PUT", `/security/v1/users/${admin.uuid}`, { token, body: { changePassword: true } })).status, 200);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/groups?search=adm`);
      await page.getByLabel("Username").fill("ada.new");
      await page.getByLabel("Password").fill(USER_PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByText("Your password must be changed before you go on.").waitFor();
      await page.getByLabel("Current password").fill(USER_PASSWORD);
      await page.getByLabel("New password", { exact: true }).fill("Changed-Pass-7654");
      await page.getByLabel("Repeat the password").fill("Changed-Pass-7654");
      await page.getByRole("button", { name: "Change password" }).click();
      await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor();
      assert.match(page.url(), /#\/groups\?search=adm$/);
      await page.getByRole("status").filter({ hasText: "Your password was changed." }).waitFor();
      // The change is done: no step of history asks for it again, nor says it is required.
      await page.goBack();
      assert.doesNotMatch(page.url(), /required/);
      await page.goto(`${url}#/me?required=1`);
      await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();
      assert.equal(await page.getByText("Your password must be changed before you go on.").count(), 0);
    }, { as: null });
  });

  it("a tab that keeps its token but not who it is for opens the page asked for once the token is checked, not the own account", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      // As a tab left by an older console, or whose stored account was cleared, holds it.
      assert.notEqual(await page.evaluate(() => sessionStorage.getItem("ecm.console.who")), null, "the console keeps who the token is for");
      await page.evaluate(() => sessionStorage.removeItem("ecm.console.who"));
      await page.goto(`${url}#/groups`);
      await page.reload();
      await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor();
      assert.match(page.url(), /#\/groups$/);
    });
  });

  it("an ended session goes back to the login page, and the login returns to the page the user was on", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    await createUser(server, token, "sam.admin");
    await server.api("PUT", `/security/v1/users/${(await server.api<{ id: string }[]>("GET", "/security/v1/users?search=sam.admin", { token })).body[0]!.id}/user-groups/${await groupId(server, token, "administrators")}`, { token });
    await onPage(ctx(), async ({ page }) => {
      await logIn(page, url, "sam.admin", USER_PASSWORD);
      await page.goto(`${url}#/users?search=sam`);
      await page.getByRole("gridcell", { name: "sam.admin", exact: true }).first().waitFor();
      // The session ends elsewhere (logged out from another place, or expired).
      const consoleToken = await page.evaluate(() => sessionStorage.getItem("ecm.console.token"));
      assert.equal((await server.api("POST", "/auth/v1/logout", { token: consoleToken! })).status, 204);
      // The next request finds the session ended: this search, or one of the page's still on its way
      // (the count), which may already have taken the page to the login.
      const search = page.getByRole("searchbox", { name: "Search users" });
      if (await search.isVisible()) await search.fill("sam.a", { timeout: 2000 }).catch(() => undefined);
      await page.waitForURL(/#\/login\?/);
      await page.getByText("Your session has ended. Log in again to go back to where you were.").waitFor();
      assert.match(page.url(), /#\/login\?next=users%3Fsearch%3Dsam/);
      await page.getByLabel("Username").fill("sam.admin");
      await page.getByLabel("Password").fill(USER_PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("gridcell", { name: "sam.admin", exact: true }).first().waitFor();
      assert.match(page.url(), /#\/users\?search=sam/);
    }, { as: null });
  });

  it("Log out ends the session and goes to the login page keeping no page of it: whoever logs in next starts afresh", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await logIn(page, url, "sysadmin", ADMIN_PASSWORD);
      await page.goto(`${url}#/groups`);
      await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor();
      await page.getByRole("button", { name: "Log out" }).click();
      await page.getByRole("button", { name: "Log in" }).waitFor();
      assert.match(page.url(), /#\/login$/);
      await page.getByLabel("Username").fill("sysadmin");
      await page.getByLabel("Password").fill(ADMIN_PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("heading", { level: 1, name: "Users" }).waitFor();
    }, { as: null });
  });
});
