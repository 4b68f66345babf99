/** Accessibility across the console's pages in Chromium: no WCAG 2.1 A/AA violation on any page in either theme (a screenshot of each), every control found by its label, dialogs that open on their harmless button, the theme switch. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createGroup, createUser, groupId } from "../../server/src/test-support/accounts.js";
import { ADMIN_PASSWORD } from "../../server/src/test-support/server.js";
import type { Locator } from "playwright-core";
import { axeViolations, describeConsole, focusReaches, logIn, nextFrames, onPage, screenshot } from "./support.js";

describeConsole("accessibility in the console", {}, (ctx) => {
  it("every page has no WCAG 2.1 A or AA violation, in the light and the dark theme", { timeout: 300_000 }, async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const me = (await server.api<{ id: string }>("GET", "/security/v1/me", { token })).body;
    const administrators = await groupId(server, token, "administrators");
    const pages: [string, string, string][] = [
      ["users", "#/users", "Users"],
      ["user", `#/users/${me.id}`, "sysadmin"],
      ["groups", "#/groups", "Groups"],
      ["group", `#/groups/${administrators}`, "administrators"],
      ["roles", "#/roles", "Roles"],
      ["directories", "#/directories", "Directories"],
      ["audit", "#/audit", "Audit log"],
      ["me", "#/me", "My account"],
    ];
    await onPage(ctx(), async ({ page }) => {
      /** Whatever the page shows is loaded: no "Loading…" left in it. */
      const loaded = () => page.waitForFunction(() => !document.querySelector("main")?.textContent?.includes("Loading…"), undefined, { polling: 100 });
      const check = async (name: string) => {
        for (const theme of ["light", "dark"]) {
          await page.evaluate((t) => { document.documentElement.dataset.theme = t; }, theme);
          assert.deepEqual(await axeViolations(page), [], `${name}, ${theme}`);
          await screenshot(page, `${name}-${theme}`);
        }
      };
      await page.goto(url);
      await page.getByRole("heading", { name: "Log in to ECM Security" }).waitFor();
      await check("login");
      await logIn(page, url, "sysadmin", ADMIN_PASSWORD);
      for (const [name, hash, heading] of pages) {
        await page.goto(`${url}${hash}`);
        await page.getByRole("heading", { level: 1, name: new RegExp(heading) }).waitFor();
        await loaded();
        // Rows that come in after the heading with no "Loading…" before them: the audit log's events, a group's members.
        if (name === "audit") await page.getByRole("row", { name: /auth\.login/ }).first().waitFor();
        if (name === "group") await page.getByRole("link", { name: "sysadmin", exact: true }).waitFor();
        await check(name);
      }
      await page.keyboard.press("?");
      await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
      await check("shortcuts");
      await page.keyboard.press("Escape");
      // The narrowest laptop the console is made for.
      await page.setViewportSize({ width: 1024, height: 768 });
      for (const [name, hash, heading] of pages.slice(0, 2)) {
        await page.goto(`${url}${hash}`);
        // This page's heading, not the one still shown until the hash change is handled; then its rows.
        await page.getByRole("heading", { level: 1, name: new RegExp(heading) }).waitFor();
        await loaded();
        assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), true, `${name} fits 1 024 px`);
        await screenshot(page, `${name}-1024`);
      }
      // A user's page with its audit events' details, long values among them: nothing scrolls sideways.
      const wide = await createUser(server, token, "wide.details");
      assert.equal((await server.api("PUT", `/security/v1/users/${wide.uuid}`, { token, body: { description: "a-long-unbroken-description-".repeat(8), email: "someone.with.a.rather.long.address@subdomain.example.com" } })).status, 200);
      await page.goto(`${url}#/users/${wide.uuid}`);
      await page.getByRole("cell", { name: "user.update" }).first().waitFor();
      assert.equal(await page.evaluate(() => { const main = document.querySelector("main")!; return main.scrollWidth <= main.clientWidth && document.documentElement.scrollWidth <= innerWidth; }), true, "a user's page fits 1 024 px");
      assert.equal((await server.api("DELETE", `/security/v1/users/${wide.uuid}`, { token })).status, 204);
      // Every column chosen: they narrow to fit, so the rows never scroll sideways away from the header.
      await page.goto(`${url}#/users?cols=username,displayName,email,status,groups,loginName,firstName,lastName,source,validTo,description`);
      await page.getByRole("columnheader", { name: "Description" }).waitFor();
      await loaded();
      const fit = await page.evaluate(() => {
        const viewport = document.querySelector<HTMLElement>(".grid .viewport")!;
        return { overflow: viewport.scrollWidth - viewport.clientWidth, page: document.documentElement.scrollWidth <= innerWidth };
      });
      assert.deepEqual(fit, { overflow: 0, page: true });
      await screenshot(page, "users-all-columns-1024");
    }, { as: null });
  });

  it("every visible control of every page is found once by its visible label and by its role and name, as a checker's script finds it", { timeout: 180_000 }, async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const other = await createUser(server, token, "lena.labels");
    const administrators = await groupId(server, token, "administrators");
    // The buttons pressed on a page before its controls are looked at (one ending in “…” opens a dialog, whose controls are looked at).
    const pages: [hash: string, heading: string, press?: string[]][] = [
      ["#/users", "Users"],
      ["#/users", "Users", ["New user…"]],
      [`#/users/${other.uuid}`, "lena.labels"],
      ["#/groups", "Groups"],
      [`#/groups/${administrators}`, "administrators"],
      ["#/roles", "Roles"],
      ["#/directories", "Directories"],
      ["#/directories/new", "New directory", ["Add a mapping"]],
      ["#/providers", "Identity providers"],
      // Two lists of groups, each with a row: a group every user joins, and a mapping's.
      ["#/providers/new", "New identity provider", ["Add a group", "Add a mapping"]],
      ["#/audit", "Audit log"],
      ["#/me", "My account"],
    ];
    await onPage(ctx(), async ({ page }) => {
      const unclear: string[] = [];
      for (const [hash, heading, press = []] of pages) {
        await page.goto(`${url}${hash}`);
        await page.getByRole("heading", { level: 1, name: new RegExp(heading) }).waitFor();
        await page.waitForFunction(() => !document.querySelector("main")?.textContent?.includes("Loading…"), undefined, { polling: 100 });
        for (const name of press) await page.getByRole("button", { name }).click();
        if (press.some((name) => name.endsWith("…"))) await page.locator("dialog[open]").waitFor();
        const open = press.join(", ");
        // Each visible control's role and the words that name it on the screen: its label's or its own (a button's).
        const controls = await page.evaluate(() => {
          const within = document.querySelector("dialog[open]") ?? document.querySelector("main")!;
          return [...within.querySelectorAll<HTMLElement>("input:not([type=hidden]), select, textarea")].filter((el) => el.checkVisibility({ visibilityProperty: true } as CheckVisibilityOptions)).map((el) => {
            const label = (el as HTMLInputElement).labels?.[0];
            const words = label ? [...label.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE || (n instanceof HTMLElement && !n.matches("input, select, textarea"))).map((n) => n.textContent).join("") : el.getAttribute("aria-label") ?? "";
            const type = (el as HTMLInputElement).type;
            const role = el.tagName === "SELECT" || el.hasAttribute("list") ? "combobox" : el.tagName === "TEXTAREA" ? "textbox" : type === "checkbox" ? "checkbox" : type === "radio" ? "radio" : type === "number" ? "spinbutton" : type === "search" ? "searchbox" : el.getAttribute("role") ?? "textbox";
            return { words: words.replace(/\s+/g, " ").trim(), role };
          });
        });
        for (const { words, role } of controls) {
          if (!words) { unclear.push(`${hash}${open ? ` ${open}` : ""}: a ${role} with no visible label`); continue; }
          // What each finds, each element by its tag and name or id.
          const found = (l: Locator) => l.evaluateAll((els) => els.map((e) => `<${e.tagName.toLowerCase()} ${e.getAttribute("name") ?? e.id}>`));
          const byLabel = await found(page.getByLabel(words));
          const byRole = await found(page.getByRole(role as "textbox", { name: words }));
          if (byLabel.length !== 1 || byRole.length !== 1) unclear.push(`${hash}${open ? ` ${open}` : ""}: “${words}” (${role}) — getByLabel ${byLabel.join(" ")}, getByRole ${byRole.join(" ")}`);
        }
      }
      assert.deepEqual(unclear, []);
    });
  });

  it("a dialog whose choice cannot be undone opens on its harmless button: Enter at once deletes nothing — a user, users picked, a group, a directory, an identity provider — nor discards an edit in a conflict", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const user = await createUser(server, token, "del.kept");
    const group = await createGroup(server, token, "kept-group");
    const directory = await server.api<{ id: string }>("POST", "/security/v1/external-user-storage", { token, body: { name: "kept ldap", connectionUrl: "ldap://127.0.0.1:9", baseDn: "dc=example,dc=com", enabled: false } });
    assert.equal(directory.status, 201, directory.text);
    const provider = await server.api("POST", "/idp/v1/external-identity-provider", {
      token,
      body: { alias: "kept", displayName: "kept IdP", enabled: false, fromUrl: null, clientId: "ecm", clientSecret: "kept-secret-0815", config: { issuer: "https://kept.example.com", authorizationUrl: "https://kept.example.com/authorize", tokenUrl: "https://kept.example.com/token", jwksUrl: "https://kept.example.com/keys" } },
    });
    assert.equal(provider.status, 201, provider.text);
    await onPage(ctx(), async ({ page }) => {
      /** Opens the dialog from the keyboard, then presses Enter at once: the dialog closes on its harmless button. */
      const enterTwice = async (opener: Locator, harmless = "Cancel") => {
        await opener.focus();
        await page.keyboard.press("Enter");
        await page.locator("dialog[open]").waitFor();
        await focusReaches(page, { text: harmless });
        await page.keyboard.press("Enter");
        await page.locator("dialog[open]").waitFor({ state: "detached" });
      };
      /** Goes to a page and waits for its heading: the page before's button of the same name is gone. */
      const visit = async (hash: string, heading: string) => {
        await page.goto(`${url}${hash}`);
        await page.getByRole("heading", { level: 1, name: heading }).waitFor();
      };
      await visit(`#/users/${user.uuid}`, "(del.kept)");
      await enterTwice(page.getByRole("button", { name: "Delete…" }));
      // Changed meanwhile by someone else: Save opens the conflict, whose Reload would drop the edit.
      await page.getByLabel("Description").fill("my edit");
      const read = await server.api("GET", `/security/v1/users/${user.uuid}`, { token });
      assert.equal((await server.api("PUT", `/security/v1/users/${user.uuid}`, { token, body: { description: "theirs" }, headers: { "if-match": read.headers.get("etag")! } })).status, 200);
      await enterTwice(page.getByRole("button", { name: "Save", exact: true }), "Keep editing");
      assert.equal(await page.getByLabel("Description").inputValue(), "my edit");
      await page.goto(`${url}#/users?search=del.kept`);
      await page.getByRole("checkbox", { name: "Select del.kept" }).check();
      await enterTwice(page.getByRole("region", { name: "Bulk actions" }).getByRole("button", { name: "Delete…" }));
      await visit(`#/groups/${group}`, "kept-group");
      await enterTwice(page.getByRole("button", { name: "Delete…" }));
      await visit(`#/directories/${directory.body.id}`, "kept ldap");
      await enterTwice(page.getByRole("button", { name: "Delete…" }));
      await visit("#/providers/kept", "kept IdP");
      await enterTwice(page.getByRole("button", { name: "Delete…" }));
      await nextFrames(page);
    });
    for (const path of [`/security/v1/users/${user.uuid}`, `/security/v1/user-groups/${group}`, `/security/v1/external-user-storage/${directory.body.id}`, "/idp/v1/external-identity-provider/kept"]) {
      assert.equal((await server.api("GET", path, { token })).status, 200, path);
      assert.equal((await server.api("DELETE", path, { token })).status, 204, path);
    }
  });

  it("the theme switch overrides the system's, and stays", async () => {
    await onPage(ctx(), async ({ page }) => {
      await page.getByLabel("Theme").selectOption("dark");
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
      const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(await background(), "rgb(20, 23, 27)");
      await page.reload();
      await page.getByRole("navigation", { name: "Main" }).waitFor();
      assert.equal(await background(), "rgb(20, 23, 27)");
      await page.getByLabel("Theme").selectOption("system");
      assert.equal(await background(), "rgb(255, 255, 255)");
    }, { colorScheme: "light" });
  });
});
