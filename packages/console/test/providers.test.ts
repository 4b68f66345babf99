/** Identity providers in Chromium: a login through a real OpenID Connect provider (oidc-provider on loopback), and the providers page. */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { Page } from "playwright-core";
import type { TestProvider } from "../../server/src/test-support/oidc-provider.js";
import { providerFor } from "../../server/src/test-support/provider-login.js";
import { createGroup, createSecurityAdministrator, createUser, USER_PASSWORD } from "../../server/src/test-support/accounts.js";
import { axeViolations, describeConsole, focusReaches, logInByToken, onPage, pickGroup, screenshot, wholeGroupLists } from "./support.js";

/** The provider's own login and consent forms (oidc-provider's development interactions), as `sub`. */
async function signInAtProvider(page: Page, sub: string): Promise<void> {
  await page.locator("input[name=login]").fill(sub);
  await page.locator("input[name=password]").fill("any password");
  await page.locator("button[type=submit]").click();
  await page.locator("button[type=submit]").filter({ hasText: /continue/i }).click();
}

describeConsole("identity providers in the console", {}, (ctx, kind) => {
  let corp: TestProvider;
  before(async () => {
    const { server } = ctx();
    corp = await providerFor(server, await server.login(), "corp");
    corp.accounts.set("pat-sub", { preferred_username: "pat", email: "pat@corp.example", email_verified: true, given_name: "Pat", family_name: "Parker" });
  });
  after(async () => {
    await corp?.close();
  });

  it("logs in through the provider's button and comes back to the page asked for, logged in", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/me`);
      const button = page.getByRole("link", { name: "Log in with corp SSO" });
      await button.waitFor();
      await screenshot(page, `login-providers-${kind}`);
      await button.click();
      await signInAtProvider(page, "pat-sub");
      await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();
      assert.match(await page.locator("main").innerText(), /pat/);
      assert.match(page.url(), /\/portal\/console\/#\/me$/, "the code is gone from the URL");
      // pat has no password here: nothing to change, and the page says how pat logs in.
      await page.getByText("You log in through corp SSO: this account has no password here.").waitFor();
      assert.equal(await page.getByRole("heading", { name: "Change password" }).count(), 0);
      assert.equal(await page.getByRole("button", { name: "Change password" }).count(), 0);
      assert.equal(await page.getByLabel("Current password").count(), 0);
    }, { as: null });
  });

  it("logs in through the server's login URL opened directly (a bookmark, a portal's link), though no page of the console began it", async () => {
    const { server } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${server.baseUrl}/auth/v1/providers/corp/login`);
      await signInAtProvider(page, "pat-sub");
      await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();
      assert.match(await page.locator("main").innerText(), /pat/);
      assert.match(page.url(), /\/portal\/console\/#\/$/, "the code and the provider are gone from the URL");
    }, { as: null });
  });

  it("logs in through the login URL opened directly in a tab where a login through another provider was begun and left", async () => {
    const { server, url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/me`);
      // The button of a provider since gone was clicked, and its login never came back.
      await page.evaluate(() => sessionStorage.setItem("ecm.console.provider-login", JSON.stringify({ alias: "gone", next: "groups" })));
      await page.goto(`${server.baseUrl}/auth/v1/providers/corp/login`);
      await signInAtProvider(page, "pat-sub");
      await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();
      assert.match(page.url(), /\/portal\/console\/#\/$/);
    }, { as: null });
  });

  /** Runs `test`, which may turn corp's logins off (`turnOff`); they are turned on again after it, however it ends. */
  async function mayTurnCorpOff(test: (turnOff: () => Promise<void>) => Promise<void>): Promise<void> {
    const { server } = ctx();
    const token = await server.login();
    const enabled = (on: boolean) => server.api("PUT", "/idp/v1/external-identity-provider/corp", { token, body: { enabled: on } });
    try {
      await test(async () => assert.equal((await enabled(false)).status, 200));
    } finally {
      await enabled(true);
    }
  }

  it("says that a login opened directly was refused, in its own words, never the address's", async () => {
    const { server, url } = ctx();
    await mayTurnCorpOff((turnOff) => onPage(ctx(), async ({ page }) => {
      await turnOff();
      await page.goto(`${server.baseUrl}/auth/v1/providers/corp/login`);
      await page.getByText("The login through the identity provider was refused; try again or ask an administrator.").waitFor();
      assert.match(page.url(), /\/portal\/console\/#\/login\?provider=/);
      // A link made to look like one says the same, not its words.
      await page.goto(`${url}?provider=corp#error=Your%20account%20is%20suspended%3A%20call%20555`);
      await page.getByText("The login through the identity provider was refused; try again or ask an administrator.").waitFor();
      assert.equal(await page.getByText("Your account is suspended").count(), 0);
    }, { as: null }));
  });

  it("says on the login page why a provider's login was refused", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const pat = (await server.api<Array<{ id: string }>>("GET", "/security/v1/users?search=pat&max=1", { token })).body[0]!;
    assert.equal((await server.api("PUT", `/security/v1/users/${pat.id}`, { token, body: { enabled: false } })).status, 200);
    try {
      await onPage(ctx(), async ({ page }) => {
        await page.goto(`${url}#/me`);
        await page.getByRole("link", { name: "Log in with corp SSO" }).click();
        await signInAtProvider(page, "pat-sub");
        await page.getByText("The login through the identity provider was refused.").waitFor();
        assert.match(page.url(), /#\/login\?next=me&provider=/, "the page asked for is kept for the next login");
      }, { as: null });
    } finally {
      await server.api("PUT", `/security/v1/users/${pat.id}`, { token, body: { enabled: true } });
    }
  });

  it("a tab back from a provider with a broken percent-encoding in its address starts, and says the refusal in words", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      // The tab begins a provider login each time; the address it comes back to is cut short.
      for (const [back, said] of [["#error=%E0%A4%A", "%E0%A4%A"], ["#code=%E0%A4%A", "The login through the identity provider failed: "]] as const) {
        await page.goto(`${url}#/login`);
        await page.getByRole("link", { name: "Log in with corp SSO" }).click();
        await page.locator("input[name=login]").waitFor();
        await page.goto(`${url}${back}`);
        await page.getByRole("button", { name: "Log in" }).waitFor();
        const alert = await page.getByRole("alert").textContent();
        assert.ok(alert?.startsWith(said) && !alert.includes("URI malformed"), `${back}: ${alert}`);
      }
    }, { errorsAllowed: /status of 4\d\d/, as: null });
  });

  it("shows no refusal a link alone brings: words in its address are not the server's", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      for (const address of [`${url}#/login?provider=Your%20account%20is%20suspended%3A%20call%20555`, `${url}#error=Your%20account%20is%20suspended%3A%20call%20555`]) {
        await page.goto(address);
        await page.getByRole("button", { name: "Log in" }).waitFor();
        assert.equal(await page.getByText("Your account is suspended").count(), 0, address);
      }
    }, { as: null });
  });

  it("says on the login page that a provider disabled since the page was shown lets no one in", async () => {
    const { url } = ctx();
    await mayTurnCorpOff((turnOff) => onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/me`);
      const button = page.getByRole("link", { name: "Log in with corp SSO" });
      await button.waitFor();
      await turnOff();
      await button.click();
      await page.getByText("Logging in through this identity provider is turned off: log in another way, or ask an administrator.").waitFor();
      assert.match(page.url(), /#\/login\?next=me&provider=/);
    }, { as: null }));
  });

  it("configures a provider without ever showing its secret", async () => {
    const { server } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.getByRole("link", { name: "Identity providers" }).click();
      await page.getByRole("link", { name: "corp", exact: true }).click();
      await page.getByRole("heading", { level: 1, name: "corp SSO" }).waitFor();
      assert.equal(await page.getByLabel("Client secret").inputValue(), "");
      // The provider's secret, not the console's password: a browser that keeps that one fills it in
      // (after the client ID, taken for the username) unless the field says it is another password.
      assert.equal(await page.getByLabel("Client secret").getAttribute("autocomplete"), "new-password");
      assert.match(await page.locator("main").innerText(), /A secret is stored; it is never shown/);
      assert.doesNotMatch(await page.content(), /provider-client-secret-4711/);
      for (const theme of ["light", "dark"]) {
        await page.evaluate((t) => { document.documentElement.dataset.theme = t; }, theme);
        assert.deepEqual(await axeViolations(page), [], `provider page, ${theme}`);
        await screenshot(page, `provider-${theme}`);
      }
      // The saved settings tested against the real provider: its keys, and the client id and secret it takes.
      await page.getByRole("button", { name: "Test the stored settings" }).click();
      const test = page.getByRole("region", { name: "Test" });
      await test.waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), "test-title");
      assert.equal(await test.locator("li").count(), 2);
      assert.doesNotMatch(await test.innerText(), /✗/);
      await page.getByLabel("Display name").fill("Corporate SSO");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByRole("cell", { name: "Corporate SSO" }).waitFor();
      // The list it comes back to says that the change was saved.
      assert.equal(await page.getByRole("status").filter({ hasText: "Saved" }).innerText(), "Saved corp.");
      // Said once: the URL does not carry it, so a reload does not say it again.
      assert.doesNotMatch(page.url(), /saved/);
      await page.reload();
      await page.getByRole("cell", { name: "Corporate SSO" }).waitFor();
      assert.equal(await page.getByRole("status").filter({ hasText: "Saved" }).count(), 0);
      // Its users, in the users table filtered to the accounts linked to it: pat, whom its login made in
      // the first test, and a local account an administrator linked to it.
      const token = await server.login();
      const kim = await server.api<{ id: string }>("POST", "/security/v1/users", { token, body: { username: "kim.linked" } });
      assert.equal((await server.api("PUT", `/security/v1/users/${kim.body.id}/federated-identities/corp`, { token, body: { subject: "kim-sub" } })).status, 204);
      await page.getByRole("row", { name: /Corporate SSO/ }).getByRole("link", { name: "Its users" }).click();
      await page.getByRole("gridcell", { name: "kim.linked", exact: true }).first().waitFor();
      await page.getByRole("gridcell", { name: "pat", exact: true }).waitFor();
      assert.match(page.url(), /[?&]linkedTo=corp(&|$)/);
      // Named by its alias until the providers are read (they come after the rows on a busy machine).
      await page.getByLabel("Linked to").locator("option:checked", { hasText: "Linked to Corporate SSO" }).waitFor({ state: "attached" });
      assert.equal(await page.getByLabel("Source").locator("option:checked").innerText(), "Any source");
      await page.getByRole("status").filter({ hasText: /^2 users$/ }).waitFor();
      await server.api("DELETE", `/security/v1/users/${kim.body.id}`, { token });
      const stored = await server.api<{ displayName: string; clientSecret: string }>("GET", "/idp/v1/external-identity-provider/corp", { token });
      assert.deepEqual([stored.body.displayName, stored.body.clientSecret], ["Corporate SSO", "**********"]);
    });
  });

  /** A provider without a discovery document: its issuer and endpoints given in its settings. */
  const explicitProvider = (alias: string, more: Record<string, unknown> = {}) => ({
    alias,
    displayName: `${alias} IdP`,
    fromUrl: null,
    clientId: "ecm",
    clientSecret: "manual-secret-0815",
    config: {
      issuer: `https://${alias}.example.com`,
      authorizationUrl: `https://${alias}.example.com/oauth2/authorize`,
      tokenUrl: `https://${alias}.example.com/oauth2/token`,
      jwksUrl: `https://${alias}.example.com/oauth2/keys`,
    },
    ...more,
  });

  it("edits a provider configured with explicit endpoints: each shown and saved, the redirect URI within its column", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    assert.equal((await server.api("POST", "/idp/v1/external-identity-provider", { token, body: explicitProvider("manual") })).status, 201);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/providers/manual`);
      await page.getByRole("heading", { level: 1, name: "manual IdP" }).waitFor();
      assert.equal(await page.getByLabel("Given here").isChecked(), true);
      assert.equal(await page.getByLabel("Issuer or discovery URL").count(), 0, "no discovery URL asked for");
      assert.equal(await page.getByLabel("Issuer (iss)").inputValue(), "https://manual.example.com");
      assert.equal(await page.getByLabel("Token endpoint").inputValue(), "https://manual.example.com/oauth2/token");
      assert.equal(await page.getByLabel("Client authentication").inputValue(), "client_secret_basic");
      // The redirect URI to register wraps inside its column: it never runs into the next one's labels.
      const overflow = await page.locator(".form-grid > div").first().evaluate((column) => {
        const code = [...column.querySelectorAll("code")].at(-1)!;
        return code.getBoundingClientRect().right - column.getBoundingClientRect().right;
      });
      assert.ok(overflow <= 0, `the redirect URI runs ${overflow} px past its column`);
      await screenshot(page, `provider-explicit-${kind}`);
      await page.getByLabel("UserInfo endpoint (optional)").fill("https://manual.example.com/oauth2/userinfo");
      await page.getByLabel("Client authentication").selectOption("client_secret_post");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByRole("status").filter({ hasText: "Saved manual." }).waitFor();
      const stored = (await server.api<{ fromUrl: string | null; config: Record<string, string> }>("GET", "/idp/v1/external-identity-provider/manual", { token })).body;
      assert.deepEqual([stored.fromUrl, stored.config.userInfoUrl, stored.config.clientAuthMethod, stored.config.tokenUrl], [null, "https://manual.example.com/oauth2/userinfo", "client_secret_post", "https://manual.example.com/oauth2/token"]);
    });
  });

  it("a refusal names each field by its label, also one the server names by its path in the settings (config.authorizationUrl, config/scopes)", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    assert.equal((await server.api("POST", "/idp/v1/external-identity-provider", { token, body: explicitProvider("worded") })).status, 201);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/providers/worded`);
      const authorization = page.getByLabel("Authorization endpoint");
      await authorization.fill("http://worded.example.com/oauth2/authorize");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByRole("alert").filter({ hasText: /^Authorization endpoint must be an https URL \(plain http only on loopback\)\. \(ECMS1001\)$/ }).waitFor();
      await authorization.fill("https://worded.example.com/oauth2/authorize");
      await page.getByLabel("Scopes").fill("");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByRole("alert").filter({ hasText: /^Scopes must not be empty\. \(ECMS1001\)$/ }).waitFor();
    }, { errorsAllowed: /status of 400 .*\/external-identity-provider\// });
    assert.equal((await server.api("DELETE", "/idp/v1/external-identity-provider/worded", { token })).status, 204);
  });

  it("a test of the stored settings names each field by its label, as the form shows it, never by its path in the API (config.jwksUrl)", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    // Keys where nothing answers (plain http is taken on loopback).
    const config = { ...explicitProvider("unkeyed").config, jwksUrl: "http://127.0.0.1:1/keys" };
    assert.equal((await server.api("POST", "/idp/v1/external-identity-provider", { token, body: explicitProvider("unkeyed", { config }) })).status, 201);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/providers/unkeyed`);
      await page.getByRole("button", { name: "Test the stored settings" }).click();
      const test = page.getByRole("region", { name: "Test" });
      await test.getByText("The provider's keys (Keys (JWKS) URL) cannot be reached.").first().waitFor();
      assert.doesNotMatch(await test.innerText(), /config\.|jwksUrl|tokenUrl/);
    });
    assert.equal((await server.api("DELETE", "/idp/v1/external-identity-provider/unkeyed", { token })).status, 204);
  });

  it("a test of the stored settings that gets no answer (the server unreachable) says so in the test's section, with the focus there, not at the top of the page", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    assert.equal((await server.api("POST", "/idp/v1/external-identity-provider", { token, body: explicitProvider("unanswered") })).status, 201);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/providers/unanswered`);
      await page.route(/\/external-identity-provider\/unanswered\/test$/, (route) => route.abort("connectionrefused"));
      await page.getByRole("button", { name: "Test the stored settings" }).click();
      const test = page.getByRole("region", { name: "Test" });
      await test.getByText("The server cannot be reached. Check the connection and try again.").waitFor();
      await focusReaches(page, { text: "Test" });
      assert.equal(await page.getByRole("alert").filter({ hasText: "The server cannot be reached" }).count(), 0, "said once, where the test is");
    }, { errorsAllowed: /ERR_CONNECTION_REFUSED/ });
    assert.equal((await server.api("DELETE", "/idp/v1/external-identity-provider/unanswered", { token })).status, 204);
  });

  it("a Save over another administrator's change made meanwhile saves nothing, names what they changed, and Reload shows their version", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    assert.equal((await server.api("POST", "/idp/v1/external-identity-provider", { token, body: explicitProvider("shared") })).status, 201);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/providers/shared`);
      await page.getByRole("heading", { level: 1, name: "shared IdP" }).waitFor();
      await page.getByLabel("Scopes").fill("openid email");
      // Another administrator, meanwhile: another name on the login page.
      assert.equal((await server.api("PUT", "/idp/v1/external-identity-provider/shared", { token, body: { displayName: "Shared sign-in" } })).status, 200);
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByRole("alert").filter({ hasText: "Someone else changed this identity provider since this page read it: nothing was saved. They changed Display name. Reload shows their version; then make your changes again." }).waitFor();
      const stored = (await server.api<{ displayName: string; config: { scopes: string[] } }>("GET", "/idp/v1/external-identity-provider/shared", { token })).body;
      assert.deepEqual([stored.displayName, stored.config.scopes], ["Shared sign-in", ["openid", "profile", "email"]], "their change stays, and mine is not written over it");
      await page.getByRole("button", { name: "Reload" }).click();
      await page.getByRole("heading", { level: 1, name: "Shared sign-in" }).waitFor();
      assert.equal(await page.getByLabel("Display name").inputValue(), "Shared sign-in");
      assert.equal(await page.getByLabel("Scopes").inputValue(), "openid profile email");
      await page.getByLabel("Scopes").fill("openid email");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByRole("status").filter({ hasText: "Saved shared." }).waitFor();
      const saved = (await server.api<{ displayName: string; config: { scopes: string[] } }>("GET", "/idp/v1/external-identity-provider/shared", { token })).body;
      assert.deepEqual([saved.displayName, saved.config.scopes], ["Shared sign-in", ["openid", "email"]]);
      // A delete is based on the version shown too: after their change, nothing is deleted, and the page says why.
      await page.goto(`${url}#/providers/shared`);
      await page.getByRole("heading", { level: 1, name: "Shared sign-in" }).waitFor();
      assert.equal((await server.api("PUT", "/idp/v1/external-identity-provider/shared", { token, body: { guiOrder: 7 } })).status, 200);
      await page.getByRole("button", { name: "Delete…" }).click();
      await page.getByRole("dialog", { name: /Delete the identity provider/ }).getByRole("button", { name: "Delete", exact: true }).click();
      await page.getByRole("alert").filter({ hasText: "Someone else changed this identity provider since this page read it: nothing was deleted. They changed Order on the login page. Reload shows their version." }).waitFor();
      assert.equal((await server.api("GET", "/idp/v1/external-identity-provider/shared", { token })).status, 200);
      await page.getByRole("button", { name: "Reload" }).click();
      await page.getByRole("button", { name: "Delete…" }).click();
      await page.getByRole("dialog", { name: /Delete the identity provider/ }).getByRole("button", { name: "Delete", exact: true }).click();
      await page.getByRole("status").filter({ hasText: "Deleted shared." }).waitFor();
    });
    assert.equal((await server.api("GET", "/idp/v1/external-identity-provider/shared", { token })).status, 404);
  });

  it("a Save that moves the issuer of a provider with links asks what becomes of them, Cancel first, and saves with the answer", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    assert.equal((await server.api("POST", "/idp/v1/external-identity-provider", { token, body: explicitProvider("relinked") })).status, 201);
    const linked = await createUser(server, token, "relinked-user");
    assert.equal((await server.api("PUT", `/security/v1/users/${linked.uuid}/federated-identities/relinked`, { token, body: { subject: "sub-1" } })).status, 204);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/providers/relinked`);
      await page.getByRole("heading", { level: 1, name: "relinked IdP" }).waitFor();
      await page.getByLabel("Issuer (iss)").fill("https://moved.example.com");
      await page.getByRole("button", { name: "Save" }).click();
      const dialog = page.getByRole("dialog", { name: "The issuer or client ID changes: what becomes of its link?" });
      await dialog.waitFor();
      assert.equal(await dialog.getByRole("button", { name: "Cancel" }).evaluate((b) => b === document.activeElement), true, "Cancel has the focus");
      await dialog.getByRole("button", { name: "Cancel" }).click();
      await dialog.waitFor({ state: "hidden" });
      assert.equal((await server.api<{ config: { issuer: string } }>("GET", "/idp/v1/external-identity-provider/relinked", { token })).body.config.issuer, "https://relinked.example.com", "nothing saved");
      await page.getByRole("button", { name: "Save" }).click();
      await dialog.getByRole("radio", { name: "Remove them, as deleting the provider does: its users log in again as new users, or by a verified email" }).check();
      await dialog.getByRole("button", { name: "Save" }).click();
      await page.getByRole("status").filter({ hasText: "Saved relinked; its link was removed." }).waitFor();
    }, { errorsAllowed: /status of 409 .*\/external-identity-provider\/relinked/ });
    assert.equal((await server.api<{ config: { issuer: string } }>("GET", "/idp/v1/external-identity-provider/relinked", { token })).body.config.issuer, "https://moved.example.com");
    assert.equal((await server.api<{ federatedIdentities: unknown }>("GET", `/security/v1/users/${linked.uuid}`, { token })).body.federatedIdentities, null);
    assert.equal((await server.api("DELETE", "/idp/v1/external-identity-provider/relinked", { token })).status, 204);
  });

  it("from the keyboard, a group row added takes the focus in its first field, and one removed leaves it on the Remove of the row in its place (the one before, when it was the last), the last row's on Add", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/providers/new`);
      const mapping = page.getByRole("group", { name: "Group mapping (claim value → local group)" });
      const everyone = page.getByRole("group", { name: "Groups every user of it joins" });
      for (const [list, add, first] of [[mapping, "Add a mapping", "Claim value"], [everyone, "Add a group", "Default group"]] as const) {
        await list.getByRole("button", { name: add }).focus();
        await page.keyboard.press("Enter");
        await focusReaches(page, { attribute: ["aria-label", `${first} 1`] });
        await list.getByRole("button", { name: add }).focus();
        await page.keyboard.press("Enter");
        await focusReaches(page, { attribute: ["aria-label", `${first} 2`] });
      }
      await mapping.getByLabel("Claim value 2").fill("second");
      await mapping.getByRole("button", { name: "Remove mapping 1" }).focus();
      await page.keyboard.press("Enter");
      // The second row is the first now: its Remove, where the keyboard was.
      await focusReaches(page, { attribute: ["aria-label", "Remove mapping 1"] });
      assert.equal(await mapping.getByLabel("Claim value 1").inputValue(), "second");
      await page.keyboard.press("Enter");
      await focusReaches(page, { text: "Add a mapping" });
      await everyone.getByRole("button", { name: "Remove group 2" }).focus();
      await page.keyboard.press("Enter");
      await focusReaches(page, { attribute: ["aria-label", "Remove group 1"] });
    });
  });

  it("creates a provider from the New provider form as it starts, once for a double click: the standard claims, its endpoints given here", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/providers/new`);
      // An alias the server would refuse is refused as it is typed.
      const alias = page.getByLabel("Alias (in URLs, fixed)");
      for (const bad of ["two words", "builtin", "-dash"]) {
        await alias.fill(bad);
        assert.equal(await alias.evaluate((input: HTMLInputElement) => input.validity.valid), false, bad);
      }
      await alias.fill("a".repeat(65));
      assert.equal((await alias.inputValue()).length, 64, "no longer than the server takes");
      await alias.fill("fresh");
      await page.getByLabel("Display name").fill("Fresh IdP");
      await page.getByLabel("Given here").check();
      for (const [label, path] of [["Authorization endpoint", "authorize"], ["Token endpoint", "token"], ["Keys (JWKS) URL", "keys"]] as const) await page.getByLabel(label).fill(`https://fresh.example.com/oauth2/${path}`);
      await page.getByLabel("Issuer (iss)").fill("https://fresh.example.com");
      await page.getByLabel("Client ID").fill("ecm");
      await page.getByLabel("Client secret").fill("fresh-secret-1234");
      assert.equal(await page.getByLabel("Username claim").inputValue(), "preferred_username");
      await page.getByLabel("Groups claim").fill("");
      const creates: string[] = [];
      page.on("request", (r) => { if (r.method() === "POST" && r.url().endsWith("/idp/v1/external-identity-provider")) creates.push(r.url()); });
      await page.getByRole("button", { name: "Create" }).dblclick();
      await page.getByRole("status").filter({ hasText: "Created fresh." }).waitFor();
      // A second request would be refused (the alias is taken by the first), unseen on the page gone to.
      assert.equal(creates.length, 1);
      const stored = (await server.api<{ config: Record<string, string> }>("GET", "/idp/v1/external-identity-provider/fresh", { token })).body.config;
      assert.deepEqual([stored.usernameClaim, stored.emailClaim, stored.firstNameClaim, stored.lastNameClaim, stored.groupsClaim], ["preferred_username", "email", "given_name", "family_name", "groups"], "a claim emptied is the server's standard one");
    });
  });

  it("chooses the groups every user joins and the group mapping with the group picker: the stored ones named by their ids, never the whole list", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const [joined, mapped, added] = [await createGroup(server, token, "sso joined"), await createGroup(server, token, "sso mapped"), await createGroup(server, token, "sso added")];
    const body = explicitProvider("grouped", { defaultGroupList: [joined], customGroupList: [{ idpGroupName: "eng", localGroupId: mapped }] });
    assert.equal((await server.api("POST", "/idp/v1/external-identity-provider", { token, body })).status, 201);
    await onPage(ctx(), async ({ page }) => {
      const whole = wholeGroupLists(page);
      await logInByToken(page, server, url);
      await page.goto(`${url}#/providers/grouped`);
      const everyone = page.getByRole("group", { name: "Groups every user of it joins" });
      const mapping = page.getByRole("group", { name: "Group mapping (claim value → local group)" });
      await page.waitForFunction(() => [...document.querySelectorAll<HTMLInputElement>("ecm-group-rows input[role=combobox]")].map((i) => i.value).join() === "sso joined,sso mapped");
      assert.equal(await mapping.getByLabel("Claim value 1").inputValue(), "eng");
      await everyone.getByRole("button", { name: "Add a group" }).click();
      await pickGroup(page, everyone.getByRole("combobox", { name: "Default group 2" }), "sso add", "sso added");
      await mapping.getByRole("button", { name: "Remove mapping 1" }).click();
      await mapping.getByRole("button", { name: "Add a mapping" }).click();
      await mapping.getByLabel("Claim value 1").fill("ops");
      // A claim value without its local group is refused in words, before anything is sent.
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Choose the local group of “ops” (group mapping).").waitFor();
      await pickGroup(page, mapping.getByRole("combobox", { name: "Local group 1" }), "JOINED", "sso joined");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByRole("status").filter({ hasText: "Saved grouped." }).waitFor();
      const stored = (await server.api<{ defaultGroupList: string[]; customGroupList: { idpGroupName: string; localGroupId: string }[] }>("GET", "/idp/v1/external-identity-provider/grouped", { token })).body;
      assert.deepEqual([stored.defaultGroupList, stored.customGroupList], [[joined, added], [{ idpGroupName: "ops", localGroupId: joined }]]);
      assert.deepEqual(whole, []);
    }, { as: null });
  });

  it("a provider's button on the login page stays inside the login box, also for a name of one long word", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const displayName = `Ζωή ${"ΑΒΓΔΕΖΗΘ".repeat(6)}`;
    assert.equal((await server.api("POST", "/idp/v1/external-identity-provider", { token, body: explicitProvider("longword", { displayName }) })).status, 201);
    try {
      await onPage(ctx(), async ({ page }) => {
        await page.goto(url);
        const button = page.getByRole("link", { name: `Log in with ${displayName}` });
        await button.waitFor();
        const [inner, outer] = await Promise.all([button.boundingBox(), page.locator(".login").boundingBox()]);
        assert.ok(inner!.x + inner!.width <= outer!.x + outer!.width, `the button ends at ${inner!.x + inner!.width} px, the box at ${outer!.x + outer!.width}`);
      }, { as: null });
    } finally {
      assert.equal((await server.api("DELETE", "/idp/v1/external-identity-provider/longword", { token })).status, 204);
    }
  });

  it("a security administrator is not offered, as a group every user joins or a mapping's local group, a group that grants system-administrator (the server would refuse the provider)", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    await createSecurityAdministrator(server, token, `sid.security.${kind}`);
    await createGroup(server, token, `idp-admins-${kind}`, ["system-administrator"]);
    await createGroup(server, token, `idp-staff-${kind}`);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/providers/new`);
      for (const [add, picker] of [["Add a group", "Default group 1"], ["Add a mapping", "Local group 1"]] as const) {
        await page.getByRole("button", { name: add }).click();
        await page.getByRole("combobox", { name: picker }).fill(`idp-`);
        const shown = page.locator(".combobox-popup:not([hidden])").getByRole("listbox", { name: "Suggestions" });
        await shown.getByRole("option", { name: `idp-staff-${kind}`, exact: true }).waitFor();
        assert.deepEqual(await shown.getByRole("option").allInnerTexts(), [`idp-staff-${kind}`], picker);
        await page.keyboard.press("Escape");
      }
    }, { as: [`sid.security.${kind}`, USER_PASSWORD] });
  });

  it("a security administrator sees no Save or Delete for a provider that fills a group granting system-administrator", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    await createSecurityAdministrator(server, token, "sia.security");
    const root = await createGroup(server, token, "idp-root", ["system-administrator"]);
    assert.equal((await server.api("POST", "/idp/v1/external-identity-provider", { token, body: explicitProvider("rooted", { defaultGroupList: [root] }) })).status, 201);
    assert.equal((await server.api("POST", "/idp/v1/external-identity-provider", { token, body: explicitProvider("plain") })).status, 201);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/providers/rooted`);
      await page.getByText("Only a system administrator may change or delete this identity provider").waitFor();
      assert.equal(await page.getByRole("button", { name: /^(Save|Delete)/ }).count(), 0);
      assert.equal(await page.getByLabel("Display name").isDisabled(), true);
      await page.getByRole("button", { name: "Test the stored settings" }).waitFor();
      await page.goto(`${url}#/providers/plain`);
      await page.getByRole("button", { name: "Save" }).waitFor();
      assert.equal(await page.getByText("Only a system administrator may change").count(), 0);
      // A system administrator linked to it (not made by it) locks it too, as the server's rule does.
      const admins = (await server.api<{ id: string; name: string }[]>("GET", "/security/v1/user-groups?search=administrators", { token })).body.find((g) => g.name === "administrators")!;
      const boss = await server.api<{ id: string }>("POST", "/security/v1/users", { token, body: { username: "plain.boss", password: USER_PASSWORD } });
      assert.equal((await server.api("PUT", `/security/v1/users/${boss.body.id}/user-groups/${admins.id}`, { token })).status, 204);
      assert.equal((await server.api("PUT", `/security/v1/users/${boss.body.id}/federated-identities/plain`, { token, body: { subject: "boss-sub" } })).status, 204);
      // Away to the list and back, the list shown between: two hash changes the console had not yet
      // handled would keep the page already drawn, which knew nothing of the link.
      await page.goto(`${url}#/providers`);
      await page.getByRole("link", { name: "New provider" }).waitFor();
      await page.goto(`${url}#/providers/plain`);
      await page.getByText("Only a system administrator may change or delete this identity provider").waitFor();
      assert.equal((await server.api("PUT", "/idp/v1/external-identity-provider/plain", { token: await server.login("sia.security", USER_PASSWORD), body: { guiOrder: 9 } })).status, 403, "as the server says");
    }, { as: ["sia.security", USER_PASSWORD] });
  });
});
