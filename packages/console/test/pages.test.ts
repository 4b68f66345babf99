/** Every page: no WCAG 2.1 A/AA violation in either theme, a screenshot of each; login, forced password change and session expiry as a user meets them. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createGroup, createSecurityAdministrator, createUser, groupId, USER_PASSWORD } from "../../server/src/test-support/accounts.js";
import { insertGroups, insertUser } from "../../server/src/test-support/fixtures.js";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../../server/src/test-support/server.js";
import type { Locator } from "playwright-core";
import { answerLate, axeViolations, describeConsole, focusReaches, holdRequests, logIn, logInByToken, nextFrames, onOwnServer, onPage, openPage, pickGroup, screenshot } from "./support.js";

/** The words of a table (up to 20 characters: a long value may break anywhere) that are broken across lines. */
const brokenWords = (table: Locator) =>
  table.evaluate((t) => {
    const walker = document.createTreeWalker(t, NodeFilter.SHOW_TEXT);
    const broken: string[] = [];
    while (walker.nextNode()) {
      const text = walker.currentNode as Text;
      for (const word of (text.textContent ?? "").matchAll(/\S{1,20}(?!\S)/g)) {
        if (word[0].length < 2 || (word.index! > 0 && /\S/.test(text.textContent![word.index! - 1]!))) continue;
        const range = document.createRange();
        range.setStart(text, word.index!);
        range.setEnd(text, word.index! + word[0].length);
        if (range.getClientRects().length > 1) broken.push(word[0]);
      }
    }
    return broken;
  });

describeConsole("console pages", {}, (ctx, kind) => {
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

  it("at 1 024 × 768 a status badge is whole inside its cell: a user's page and the users table with every column", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const future = await createUser(server, token, "badge.not-yet-valid");
    // The longest statuses: valid from a date to come, and locked out until one.
    assert.equal((await server.api("PUT", `/security/v1/users/${future.uuid}`, { token, body: { validFrom: "2099-12-31T23:59:59Z", displayName: "Badge Not-yet-valid" } })).status, 200);
    await onPage(ctx(), async ({ page }) => {
      /** Each badge's box against its cell's and the viewport's (CSS pixels), and whether its text is cut. */
      const outside = (selector: string) =>
        page.evaluate((sel) => {
          const out: string[] = [];
          for (const badge of document.querySelectorAll<HTMLElement>(sel)) {
            const b = badge.getBoundingClientRect();
            const cell = badge.parentElement!.getBoundingClientRect();
            const where = `${badge.textContent} [${Math.round(b.left)}–${Math.round(b.right)}] in [${Math.round(cell.left)}–${Math.round(cell.right)}]`;
            if (b.left < cell.left - 0.5 || b.right > cell.right + 0.5 || b.top < cell.top - 0.5 || b.bottom > cell.bottom + 0.5) out.push(`outside its cell: ${where}`);
            if (b.right > innerWidth || b.bottom > innerHeight) out.push(`outside the viewport: ${where}`);
            if (badge.scrollWidth > badge.clientWidth + 1) out.push(`text cut: ${where}`);
            // Clipped by a parent that hides its overflow (a grid cell does).
            for (let p = badge.parentElement; p; p = p.parentElement) {
              const r = p.getBoundingClientRect();
              if (getComputedStyle(p).overflowX !== "visible" && (b.left < r.left - 0.5 || b.right > r.right + 0.5)) out.push(`clipped by ${p.className || p.tagName}: ${where}`);
            }
          }
          return out;
        }, selector);
      await page.setViewportSize({ width: 1024, height: 768 });
      await page.goto(`${url}#/users/${future.uuid}`);
      await page.getByText(/^Not yet valid until /).waitFor();
      assert.deepEqual(await outside("main h1 ~ p.row > .badge"), []);
      await screenshot(page, "user-not-yet-valid-1024");
      await page.goto(`${url}#/users?search=badge.not-yet-valid&cols=username,displayName,email,status,groups,loginName,firstName,lastName,source,validTo,description`);
      await page.getByRole("gridcell", { name: "Not yet valid" }).waitFor();
      assert.deepEqual(await outside(".grid .r .badge"), []);
      await screenshot(page, "users-status-1024");
    }, { width: 1024 });
    assert.equal((await server.api("DELETE", `/security/v1/users/${future.uuid}`, { token })).status, 204);
  });

  it("at 1 024 × 768 a long page scrolls in its own area: the document never scrolls, so the navigation stays in place", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const long = await createUser(server, token, "long.page");
    await onPage(ctx(), async ({ page }) => {
      await page.setViewportSize({ width: 1024, height: 768 });
      await page.goto(`${url}#/users/${long.uuid}`);
      await page.getByRole("heading", { name: "Effective roles" }).waitFor();
      // A text for screen readers only far down the page (the groups table's "Actions" header) is laid out in the scrolled area, not past the document's end.
      assert.ok(await page.evaluate(() => document.querySelector("main")!.scrollHeight > innerHeight), "the user's page is longer than the window");
      assert.equal(await page.evaluate(() => document.documentElement.scrollHeight), 768);
      // The wheel over the navigation moves nothing.
      await page.mouse.move(90, 400);
      await page.mouse.wheel(0, 600);
      await nextFrames(page);
      assert.equal(await page.evaluate(() => document.documentElement.scrollTop), 0);
    });
    assert.equal((await server.api("DELETE", `/security/v1/users/${long.uuid}`, { token })).status, 204);
  });

  it("at 1 024 × 768 the conflict dialog names each field in whole words: a value beside it gives way, never the name", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const user = await createUser(server, token, "conflict.words");
    await onPage(ctx(), async ({ page }) => {
      await page.setViewportSize({ width: 1024, height: 768 });
      // Long values in each column: as opened, as changed meanwhile, as changed here.
      const opened = { description: "a description long enough to fill its cell", email: "the.first.rather.long.address.of.this.user@subdomain.example.com" };
      assert.equal((await server.api("PUT", `/security/v1/users/${user.uuid}`, { token, body: opened })).status, 200);
      await page.goto(`${url}#/users/${user.uuid}`);
      await page.getByRole("heading", { name: "Effective roles" }).waitFor();
      const read = await server.api("GET", `/security/v1/users/${user.uuid}`, { token });
      const theirs = { description: "a description someone else wrote meanwhile", email: "someone.with.a.rather.long.address@subdomain.example.com" };
      assert.equal((await server.api("PUT", `/security/v1/users/${user.uuid}`, { token, body: theirs, headers: { "if-match": read.headers.get("etag")! } })).status, 200);
      await page.getByLabel("Description").fill("changed here");
      await page.getByLabel("Email").fill("another.rather.long.address.of.mine@subdomain.example.com");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      const dialog = page.getByRole("dialog", { name: "Someone else changed this user" });
      await dialog.waitFor();
      // Each word of a field's name on one line (a word broken across two has two boxes).
      const broken = await dialog.evaluate((d) => [...d.querySelectorAll("tbody td:first-child")].flatMap((cell) => {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        const texts: Text[] = [];
        while (walker.nextNode()) texts.push(walker.currentNode as Text);
        return texts.flatMap((text) => [...(text.textContent ?? "").matchAll(/\S+/g)].filter((word) => {
          const range = document.createRange();
          range.setStart(text, word.index!);
          range.setEnd(text, word.index! + word[0].length);
          return range.getClientRects().length > 1;
        }).map((word) => word[0]));
      }));
      assert.deepEqual(broken, []);
      await screenshot(page, "user-conflict-1024");
    });
    assert.equal((await server.api("DELETE", `/security/v1/users/${user.uuid}`, { token })).status, 204);
  });

  it("at 1 024 × 768 an event's details leave the other columns their words whole — a change with a long value, and details that are no change (a membership's group): the audit log's and a user's page", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const user = await createUser(server, token, "long.change");
    assert.equal((await server.api("PUT", `/security/v1/users/${user.uuid}`, { token, body: { description: "a-long-unbroken-description-".repeat(12) } })).status, 200);
    const group = await createGroup(server, token, "a-group-of-a-rather-long-name-".repeat(3));
    assert.equal((await server.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${group}`, { token })).status, 204);
    await onPage(ctx(), async ({ page }) => {
      await page.setViewportSize({ width: 1024, height: 768 });
      const log = page.getByRole("table", { name: "Audit events, newest first" });
      for (const [action, shown] of [["user.update", page.getByRole("columnheader", { name: "After" })], ["group.member.add", page.getByText(/"groupId"/)]] as const) {
        await page.goto(`${url}#/audit?target=${user.uuid}&action=${action}`);
        // The newest (a membership's: the group's, not the users group every new user joins).
        await page.getByRole("button", { name: "Show details" }).first().click();
        await log.locator(shown).waitFor();
        assert.deepEqual(await brokenWords(log), [], action);
        await screenshot(page, `audit-details-1024-${action}`);
      }
      await page.goto(`${url}#/users/${user.uuid}`);
      const events = page.locator("main table").filter({ has: page.getByRole("cell", { name: "user.update" }) }).last();
      await events.getByRole("columnheader", { name: "After" }).waitFor();
      await events.getByText(/"groupId"/).first().waitFor();
      assert.deepEqual(await brokenWords(events), []);
    });
    assert.equal((await server.api("DELETE", `/security/v1/users/${user.uuid}`, { token })).status, 204);
  });

  it("at 1 024 × 768 the lists of directories, identity providers and roles, and a user's groups and roles, keep the words of their headings and short cells whole: the long values (server URLs, a base DN, an issuer, the groups granting a role) wrap inside their columns, in the page", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const tenant = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47";
    const directory = await server.api<{ id: string }>("POST", "/security/v1/external-user-storage", { token, body: { name: `corp ad ${kind}`, connectionUrl: "ldaps://dc1.corp.example.com:636 ldaps://dc2.corp.example.com:636 ldaps://dc3.corp.example.com:636", baseDn: "OU=Users,OU=Headquarters,OU=Europe,DC=corp,DC=example,DC=com", enabled: false } });
    assert.equal(directory.status, 201, directory.text);
    const config = { issuer: `${tenant}/v2.0/a/long/path`, authorizationUrl: `${tenant}/oauth2/v2.0/authorize`, tokenUrl: `${tenant}/oauth2/v2.0/token`, jwksUrl: `${tenant}/discovery/v2.0/keys` };
    const provider = await server.api("POST", "/idp/v1/external-identity-provider", { token, body: { alias: `entra-${kind}`, displayName: "Corporate sign-in with a rather long display name", fromUrl: null, clientId: "ecm", clientSecret: "wide-secret-1", config } });
    assert.equal(provider.status, 201, provider.text);
    // More groups granting a role than the roles page names, of long names.
    const granting = await Promise.all(Array.from({ length: 21 }, (_, i) => createGroup(server, token, `Отдел-очень-длинное-название-${kind}-${i}`, ["security-administrator"])));
    // A user in them: its page's groups and effective roles.
    const member = await createUser(server, token, `many.groups.${kind}`);
    for (const id of granting) assert.equal((await server.api("PUT", `/security/v1/users/${member.uuid}/user-groups/${id}`, { token })).status, 204);
    await onPage(ctx(), async ({ page }) => {
      await page.setViewportSize({ width: 1024, height: 768 });
      for (const [path, name] of [["directories", `corp ad ${kind}`], ["providers", `entra-${kind}`], ["roles", "every group granting security-administrator"], [`users/${member.uuid}`, `Отдел-очень-длинное-название-${kind}-9`]]) {
        await page.goto(`${url}#/${path}`);
        const list = page.locator("main");
        await list.getByRole("link", { name, exact: true }).last().waitFor();
        assert.deepEqual(await brokenWords(list), [], path);
        const [scrolled, shown] = await page.evaluate(() => { const main = document.querySelector("main")!; return [main.scrollWidth, main.clientWidth]; });
        assert.ok(scrolled! <= shown!, `${path}: ${scrolled} px wide in ${shown}`);
      }
      // A mapping's group DN takes the row's room: a DN of a usual length is seen whole, not its first 20 characters.
      assert.equal((await server.api("PUT", `/security/v1/external-user-storage/${directory.body.id}`, { token, body: { groupMappings: [{ groupDn: "cn=human-resources,ou=groups,dc=example,dc=org", localGroupId: granting[0] }] } })).status, 200);
      await page.goto(`${url}#/directories/${directory.body.id}`);
      const dn = page.getByLabel("Group DN 1");
      assert.equal(await dn.inputValue(), "cn=human-resources,ou=groups,dc=example,dc=org");
      assert.ok(await dn.evaluate((el) => el.scrollWidth <= el.clientWidth), "the group DN is cut");
    });
    assert.equal((await server.api("DELETE", `/security/v1/external-user-storage/${directory.body.id}`, { token })).status, 204);
    assert.equal((await server.api("DELETE", `/idp/v1/external-identity-provider/entra-${kind}`, { token })).status, 204);
    for (const id of granting) assert.equal((await server.api("DELETE", `/security/v1/user-groups/${id}`, { token })).status, 204);
    assert.equal((await server.api("DELETE", `/security/v1/users/${member.uuid}`, { token })).status, 204);
  });

  it("at 1 024 × 768 a name of one long word (a group's, an actor's) wraps inside its column of an events table: the table stays in the page, and the other columns keep their words whole", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    // As long as a username may be (64 characters), one word.
    const actor = `Ζωή.Иванова.очень-длинное-имя-${kind}-очень-длинное@example.com`.padStart(64, "x");
    const security = await createSecurityAdministrator(server, token, actor);
    const group = (await server.api<{ id: string }>("POST", "/security/v1/user-groups", { token: security.token, body: { name: `Группа-${"ΑΒΓΔΕΖΗΘ".repeat(20)}` } })).body.id;
    const user = await createUser(server, token, `long.named.target.${kind}`);
    assert.equal((await server.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${group}`, { token: security.token })).status, 204);
    await onPage(ctx(), async ({ page }) => {
      await page.setViewportSize({ width: 1024, height: 768 });
      const fits = () => page.evaluate(() => { const main = document.querySelector("main")!; return [main.scrollWidth, main.clientWidth]; });
      await page.goto(`${url}#/audit?actor=${encodeURIComponent(actor)}`);
      const log = page.getByRole("table", { name: "Audit events, newest first" });
      await log.getByRole("cell", { name: "group.member.add" }).first().waitFor();
      const [scrolled, shown] = await fits();
      assert.ok(scrolled! <= shown!, `the audit log is ${scrolled} px wide in ${shown}`);
      assert.deepEqual(await brokenWords(log), []);
      await screenshot(page, "audit-long-names-1024");
      await page.goto(`${url}#/users/${user.uuid}`);
      const events = page.locator("main table").filter({ has: page.getByRole("cell", { name: "group.member.add" }) }).last();
      await events.getByRole("cell", { name: "group.member.add" }).first().waitFor();
      const [userScrolled, userShown] = await fits();
      assert.ok(userScrolled! <= userShown!, `the user's page is ${userScrolled} px wide in ${userShown}`);
      assert.deepEqual(await brokenWords(events), []);
    });
  });

  it("at 1 024 × 768 the groups list and a group's roles and members keep the words of their headings and short cells whole beside long names (one long word, right-to-left, emoji, a display name of 200 characters): the long values wrap inside their columns, in the page", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const name = `Группа-${kind}-${"مجموعة".repeat(6)}-🎉🎉-${"ΑΒΓΔΕΖΗΘ".repeat(8)}`;
    const group = (await server.api<{ id: string }>("POST", "/security/v1/user-groups", { token, body: { name, description: `${"وصف-طويل-".repeat(10)} 👩‍💻` } })).body.id;
    const user = await createUser(server, token, `longname.${kind}`);
    const half = `${"x".repeat(40)}${"é".repeat(30)}${"👍".repeat(30)}`;
    assert.equal((await server.api("PUT", `/security/v1/users/${user.uuid}`, { token, body: { firstName: half, lastName: half, email: `someone.with.a.rather.long.address.${kind}@subdomain.example.com` } })).status, 200);
    assert.equal((await server.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${group}`, { token })).status, 204);
    assert.equal((await server.api("PUT", `/security/v1/user-groups/${group}/role-mappings/portal/security-administrator`, { token })).status, 204);
    await onPage(ctx(), async ({ page }) => {
      await page.setViewportSize({ width: 1024, height: 768 });
      for (const [path, link] of [[`groups?search=${encodeURIComponent(`Группа-${kind}`)}`, name], [`groups/${group}`, `longname.${kind}`]] as const) {
        await page.goto(`${url}#/${path}`);
        const main = page.locator("main");
        await main.getByRole("link", { name: link, exact: true }).waitFor();
        assert.deepEqual(await brokenWords(main), [], path);
        const [scrolled, shown] = await page.evaluate(() => { const m = document.querySelector("main")!; return [m.scrollWidth, m.clientWidth]; });
        assert.ok(scrolled! <= shown!, `${path}: ${scrolled} px wide in ${shown}`);
        await screenshot(page, `${path.startsWith("groups?") ? "groups" : "group"}-long-names-1024`);
      }
    });
    assert.equal((await server.api("DELETE", `/security/v1/user-groups/${group}`, { token })).status, 204);
    assert.equal((await server.api("DELETE", `/security/v1/users/${user.uuid}`, { token })).status, 204);
  });

  it("a right-to-left name reads in its own order: a user's heading keeps its display name before its username (a number), and its fields lay out what is typed in Hebrew or Arabic right to left, as a field made right-to-left shows it", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const user = await createUser(server, token, `20417${kind === "sqlite" ? 1 : 2}`);
    const description = "מנהלת מערכת, קומה 3!";
    assert.equal((await server.api("PUT", `/security/v1/users/${user.uuid}`, { token, body: { firstName: "מרים", lastName: "כהן", description } })).status, 200);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${user.uuid}`);
      const heading = page.getByRole("heading", { level: 1, name: new RegExp(user.username) });
      await heading.waitFor();
      // Left to right, as the page reads: the name, then the username in its parentheses.
      const [name, username] = await heading.evaluate((h, [n, u]) => [n, u].map((text) => {
        const walker = document.createTreeWalker(h, NodeFilter.SHOW_TEXT);
        let node = walker.nextNode() as Text;
        while (!node.data.includes(text)) node = walker.nextNode() as Text;
        const range = document.createRange();
        range.setStart(node, node.data.indexOf(text));
        range.setEnd(node, node.data.indexOf(text) + text.length);
        return range.getBoundingClientRect().left;
      }), ["מרים כהן", user.username] as const);
      assert.ok(name! < username!, `the username is drawn at ${username} px, left of the name at ${name} px`);
      // A field lays out what was typed as the browser lays out text whose direction is its own (dir="auto"): “3!” at its end, on the left.
      for (const label of ["Description", "First name"]) {
        const field = page.getByLabel(label, { exact: true });
        if (label === "First name") await field.fill(description);
        // Inside its border (a right-to-left text area has its resize grip on the left, its rounded corners drawn a little otherwise): the text.
        await field.evaluate((el) => ((el as HTMLElement).style.resize = "none"));
        const box = (await field.boundingBox())!;
        const inside = { x: box.x + 6, y: box.y + 6, width: box.width - 12, height: box.height - 12 };
        const shown = await page.screenshot({ clip: inside });
        await field.evaluate((el) => ((el as HTMLElement).dir = "auto"));
        const own = await page.screenshot({ clip: inside });
        await field.evaluate((el) => el.removeAttribute("dir"));
        assert.ok(shown.equals(own), `${label}: not laid out in the direction of its text`);
      }
    });
    assert.equal((await server.api("DELETE", `/security/v1/users/${user.uuid}`, { token })).status, 204);
  });

  it("a user in no group, holding no role, is said so in words under Groups and Effective roles, not with a table's headings alone", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const user = await createUser(server, token, `grouped.nowhere.${kind}`);
    assert.equal((await server.api("DELETE", `/security/v1/users/${user.uuid}/user-groups/${await groupId(server, token, "users")}`, { token })).status, 204);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${user.uuid}`);
      await page.getByRole("heading", { level: 1, name: new RegExp(`grouped\\.nowhere\\.${kind}`) }).waitFor();
      await page.getByText("In no group.", { exact: true }).waitFor();
      await page.getByText("Holds no role: roles come from the groups a user is in and those of its profile.", { exact: true }).waitFor();
      // The tables with no rows are gone: a screen reader would announce a table of headings only.
      assert.equal(await page.getByRole("columnheader", { name: "Membership" }).count(), 0);
      assert.equal(await page.getByRole("columnheader", { name: "Granted by" }).count(), 0);
    });
    assert.equal((await server.api("DELETE", `/security/v1/users/${user.uuid}`, { token })).status, 204);
  });

  it("at 1 024 × 768 the users table ends inside the window, also under a selection's bar: its last rows never sit below the fold", async () => {
    await onPage(ctx(), async ({ page }) => {
      await page.setViewportSize({ width: 1024, height: 768 });
      await page.goto(`${ctx().url}#/users`);
      await page.getByRole("row", { name: /sysadmin/ }).waitFor();
      /** How far the table's bottom is below the window's, and how far the page area beside the navigation scrolls: none of either. */
      const overflow = () => page.evaluate(() => {
        const main = document.querySelector("main")!;
        return { table: Math.max(0, Math.round(document.querySelector(".grid")!.getBoundingClientRect().bottom - innerHeight)), page: main.scrollHeight - main.clientHeight };
      });
      assert.deepEqual(await overflow(), { table: 0, page: 0 });
      await page.getByRole("checkbox", { name: "Select sysadmin" }).check();
      await page.getByRole("region", { name: "Bulk actions" }).waitFor();
      await nextFrames(page);
      assert.deepEqual(await overflow(), { table: 0, page: 0 });
      // Shorter, never below the few rows a table needs to be of use.
      assert.ok(await page.evaluate(() => document.querySelector<HTMLElement>(".grid .viewport")!.clientHeight >= 240));
    }, { width: 1024 });
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

  it("an administrator whose role is taken away meanwhile: the next refusal brings the pages and navigation of what they hold now", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const rita = await createSecurityAdministrator(server, token, "rita.demoted");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/groups`);
      await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor();
      assert.equal((await server.api("DELETE", `/security/v1/users/${rita.user.uuid}/user-groups/${await groupId(server, token, "rita.demoted-group")}`, { token })).status, 204);
      await page.getByRole("searchbox", { name: "Search groups" }).fill("adm");
      await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();
      assert.deepEqual(await page.getByRole("navigation", { name: "Main" }).getByRole("link").allInnerTexts(), ["My account"]);
    }, { as: ["rita.demoted", USER_PASSWORD] });
  });

  it("a plain user who opens an administration page gets the own account, and is never refused a request", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const other = await createUser(server, token, "pia.plain");
    await onPage(ctx(), async ({ page }) => {
      const refused: string[] = [];
      const icons: string[] = [];
      page.on("response", (r) => {
        if (r.status() === 403) refused.push(`${r.status()} ${r.url()}`);
        if (r.url().includes("favicon")) icons.push(`${r.status()} ${new URL(r.url()).pathname}`);
      });
      const mine = async () => {
        await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();
        await page.waitForURL(/#\/me$/);
      };
      // An administration page asked for before the login is not the page after it.
      await page.goto(`${url}#/users`);
      await page.getByLabel("Username").fill("pia.plain");
      await page.getByLabel("Password").fill(USER_PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await mine();
      for (const hash of ["#/users", "#/groups", "#/audit", "#/providers", `#/users/${other.uuid}`]) {
        await page.goto(`${url}${hash}`);
        await mine();
        await page.getByRole("status").filter({ hasText: "That page is for administrators: here is your own account." }).waitFor();
      }
      assert.deepEqual(await page.getByRole("navigation", { name: "Main" }).getByRole("link").allInnerTexts(), ["My account"]);
      // The shortcuts are those of the pages shown: no search, no users table.
      await page.keyboard.press("?");
      const shortcuts = page.getByRole("dialog", { name: "Keyboard shortcuts" });
      assert.deepEqual(await shortcuts.getByRole("row").allInnerTexts(), ["?\tThis list", "Esc\tClose a dialog"]);
      await page.keyboard.press("Escape");
      assert.deepEqual(refused, []);
      // The console's own icon, not /favicon.ico (a 404 on every page).
      assert.ok(icons.length > 0 && icons.every((i) => /^200 \/portal\/console\/favicon-\w+\.svg$/.test(i)), icons.join());
    }, { as: null });
  });

  it("the built-in users group says why its roles have no control: every account is in it", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/groups/${await groupId(server, token, "users")}`);
      await page.getByRole("cell", { name: "user", exact: true }).waitFor();
      assert.equal(await page.getByRole("button", { name: "Revoke user" }).count(), 0);
      await page.getByText("Every account is in this group: it always grants the user role, and never an administrator role.").waitFor();
    });
  });

  it("a security administrator sees no control for a group that grants system-administrator", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    await createSecurityAdministrator(server, token, "sid.security");
    const operators = await createGroup(server, token, "operators", ["system-administrator"]);
    const helpdesk = await createGroup(server, token, "helpdesk");
    await onPage(ctx(), async ({ page }) => {
      for (const [name, id] of [["administrators", await groupId(server, token, "administrators")], ["operators", operators]] as const) {
        await page.goto(`${url}#/groups/${id}`);
        // This group's page: the previous group's, shown until the hash change is handled, passes the checks below too.
        await page.getByRole("heading", { level: 1, name, exact: true }).waitFor();
        await page.getByRole("cell", { name: "system-administrator", exact: true }).waitFor();
        assert.equal(await page.getByRole("button", { name: /^(Revoke|Grant|Save|Delete)/ }).count(), 0, id);
        assert.equal(await page.getByLabel("Grant role").count(), 0, id);
        // Its roles say why they have no control, the built-in group's too (it says it is built in for its name alone).
        await page.getByText("Only a system administrator may change the roles of this group: it grants the system-administrator role.").waitFor();
      }
      await page.getByText("Only a system administrator may change this group: it grants the system-administrator role.").waitFor();
      // A group that grants it not: the security administrator's controls, without system-administrator.
      await page.goto(`${url}#/groups/${helpdesk}`);
      await page.getByRole("button", { name: "Save" }).waitFor();
      const roles = await page.getByLabel("Grant role").locator("option").allInnerTexts();
      assert.ok(roles.includes("security-administrator") && !roles.includes("system-administrator"), roles.join());
      // A user's page offers no group that grants it to add the user to.
      const plain = await createUser(server, token, "sid.target");
      await page.goto(`${url}#/users/${plain.uuid}`);
      const add = page.getByRole("combobox", { name: "Add to group" });
      for (const guarded of ["operators", "administrators"]) {
        // helpdesk in between: each "No group matches." is the answer to its own text.
        await add.fill("helpdesk");
        await page.getByRole("option", { name: "helpdesk", exact: true }).waitFor();
        await add.fill(guarded);
        await page.getByText("No group matches.").waitFor();
      }
      // Nor a profile that holds it through such a group; another profile is offered.
      for (const [username, group] of [["ops.profile", operators], ["desk.profile", helpdesk]] as const) {
        const profile = await server.api<{ id: string }>("POST", "/security/v1/users", { token, body: { username, profileId: 0 } });
        assert.equal((await server.api("PUT", `/security/v1/users/${profile.body.id}/user-groups/${group}`, { token })).status, 204);
      }
      await page.reload();
      await page.getByRole("heading", { level: 1, name: /sid\.target/ }).waitFor();
      const offered = await page.getByLabel("Profile").locator("option").allInnerTexts();
      assert.ok(offered.includes("desk.profile") && !offered.includes("ops.profile"), offered.join());
    }, { as: ["sid.security", USER_PASSWORD] });
  });

  it("a security administrator sees a profile a system administrator is assigned to as theirs: no control, and says why", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    await createSecurityAdministrator(server, token, "pia.security");
    const profile = await createUser(server, token, "pia.profile", { profile_id: 0 });
    const assigned = await createUser(server, token, "pia.admin", { profile_id: profile.id });
    assert.equal((await server.api("PUT", `/security/v1/users/${assigned.uuid}/user-groups/${await groupId(server, token, "administrators")}`, { token })).status, 204);
    const free = await createUser(server, token, "pia.free-profile", { profile_id: 0 });
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/users/${profile.uuid}`);
      await page.getByText("Only a system administrator may change this profile: a system administrator is assigned to it and takes over its groups.").waitFor();
      assert.equal(await page.getByRole("button", { name: /^(Save|Delete|Remove from)/ }).count(), 0);
      // A profile no system administrator is assigned to: the security administrator's to change.
      await page.goto(`${url}#/users/${free.uuid}`);
      await page.getByRole("button", { name: "Save" }).waitFor();
      assert.equal(await page.getByText("Only a system administrator may change").count(), 0);
    }, { as: ["pia.security", USER_PASSWORD] });
  });

  it("a security administrator sees no Rename, Delete or role control for a group a system administrator is in, and still changes its description", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    await createSecurityAdministrator(server, token, "sam.security");
    const admin2 = await createUser(server, token, "sam.admin2");
    const join = async (group: string) => assert.equal((await server.api("PUT", `/security/v1/users/${admin2.uuid}/user-groups/${group}`, { token })).status, 204);
    await join(await groupId(server, token, "administrators"));
    const nightShift = await createGroup(server, token, "night-shift", ["user"]);
    await join(nightShift);
    const dayShift = await createGroup(server, token, "day-shift", ["user"]);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/groups/${nightShift}`);
      await page.getByText("Only a system administrator may rename or delete this group: a system administrator is a member of it.").waitFor();
      await page.getByText("Only a system administrator may change the roles of this group: a system administrator is a member of it.").waitFor();
      assert.equal(await page.getByRole("button", { name: /^(Revoke|Grant|Delete)/ }).count(), 0);
      assert.equal(await page.getByLabel("Grant role").count(), 0);
      const name = page.getByLabel("Name", { exact: true });
      assert.equal(await name.isEditable(), false);
      assert.equal(await name.getAttribute("aria-describedby"), "group-of-administrators");
      assert.deepEqual(await axeViolations(page), []);
      // Its description stays the security administrator's: Save is there, and the server takes it.
      await page.getByLabel("Description", { exact: true }).fill("Covers the nights");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Saved.").waitFor();
      assert.equal((await server.api("GET", `/security/v1/user-groups/${nightShift}`, { token })).body.description, "Covers the nights");
      // The note stays after the save (the update's answer says it too).
      assert.equal(await page.getByRole("button", { name: /^Delete/ }).count(), 0);
      // A group no system administrator is in: every control.
      await page.goto(`${url}#/groups/${dayShift}`);
      await page.getByRole("button", { name: "Delete…" }).waitFor();
      await page.getByRole("button", { name: "Revoke user" }).waitFor();
      assert.equal(await page.getByLabel("Grant role").count(), 1);
      assert.equal(await page.getByLabel("Name", { exact: true }).isEditable(), true);
      assert.equal(await page.getByText("a system administrator is a member of it").count(), 0);
    }, { as: ["sam.security", USER_PASSWORD] });
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

  it("a search typed on the groups page is one step of history: Back returns to the list before it, then to the page before", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/roles`);
      await page.getByRole("heading", { level: 1, name: "Roles" }).waitFor();
      await page.goto(`${url}#/groups`);
      const search = page.getByRole("searchbox", { name: "Search groups" });
      // Two pauses in one typing: the first adds an entry, the second replaces it.
      await search.fill("ad");
      await page.waitForURL(/#\/groups\?search=ad$/);
      await search.fill("admin");
      await page.waitForURL(/#\/groups\?search=admin$/);
      await page.goBack();
      await page.waitForURL(/#\/groups$/);
      await page.getByRole("heading", { level: 1, name: "Groups" }).waitFor();
      await page.goBack();
      await page.getByRole("heading", { level: 1, name: "Roles" }).waitFor();
    });
  });

  it("a group's member search is in the URL: a link opens it searched, and Back returns to the members before it", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const team = await createGroup(server, token, "searched-team");
    for (const name of ["mira.member", "otto.member"]) {
      const member = await createUser(server, token, name);
      assert.equal((await server.api("PUT", `/security/v1/users/${member.uuid}/user-groups/${team}`, { token })).status, 204);
    }
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/groups/${team}`);
      const search = page.getByRole("searchbox", { name: "Search members" });
      await page.getByRole("link", { name: "otto.member" }).waitFor();
      await search.fill("mira");
      await page.waitForURL(new RegExp(`#/groups/${team}\\?search=mira$`));
      await page.getByRole("link", { name: "otto.member" }).waitFor({ state: "detached" });
      await page.getByRole("link", { name: "mira.member" }).waitFor();
      await page.goBack();
      await page.waitForURL(new RegExp(`#/groups/${team}$`));
      await page.getByRole("link", { name: "otto.member" }).waitFor();
      assert.equal(await search.inputValue(), "");
      // A shared link: the search in its box, the members it finds.
      await page.goto(`${url}#/groups/${team}?search=otto`);
      await page.getByRole("link", { name: "mira.member" }).waitFor({ state: "detached" });
      await page.getByRole("link", { name: "otto.member" }).waitFor();
      assert.equal(await search.inputValue(), "otto");
    });
  });

  it("a group's Save keeps another administrator's change of another field, and gives way to theirs of the same field", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const id = await createGroup(server, token, "clash-group");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/groups/${id}`);
      await page.getByRole("heading", { level: 1, name: "clash-group" }).waitFor();
      await page.getByLabel("Description").fill("mine");
      assert.equal((await server.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { name: "clash-group-renamed" } })).status, 200);
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText("Saved.").waitFor();
      const both = (await server.api<{ name: string; description: string }>("GET", `/security/v1/user-groups/${id}`, { token })).body;
      assert.deepEqual([both.name, both.description], ["clash-group-renamed", "mine"]);
      assert.equal(await page.getByRole("textbox", { name: "Name" }).inputValue(), "clash-group-renamed");

      await page.getByLabel("Description").fill("mine again");
      assert.equal((await server.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { description: "theirs" } })).status, 200);
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText("Someone else changed this group meanwhile: the form now shows their version. Make your change again.").waitFor();
      assert.equal(await page.getByLabel("Description").inputValue(), "theirs");
      assert.equal((await server.api<{ description: string }>("GET", `/security/v1/user-groups/${id}`, { token })).body.description, "theirs");
      assert.equal((await server.api("DELETE", `/security/v1/user-groups/${id}`, { token })).status, 204);
    });
  });

  it("creates a group from the top of the groups page, once for a double click, and says a refusal where it was asked, in view", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    await insertGroups(server.server.deps.store, Array.from({ length: 250 }, (_, i) => `listed.team.${String(i).padStart(3, "0")}`));
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/groups`);
      await page.getByRole("button", { name: "More groups" }).waitFor();
      await page.getByLabel("Name", { exact: true }).fill("users");
      await page.getByRole("button", { name: "Create" }).click();
      const refusal = page.getByRole("alert").filter({ hasText: /already exists/ });
      await refusal.waitFor();
      const box = (await refusal.boundingBox())!;
      assert.ok(box.y >= 0 && box.y + box.height <= 800, `the refusal is in view (y ${box.y})`);
      await page.getByLabel("Name", { exact: true }).fill("fresh.team");
      const creates: string[] = [];
      page.on("request", (r) => { if (r.method() === "POST" && r.url().endsWith("/security/v1/user-groups")) creates.push(r.url()); });
      await page.getByRole("button", { name: "Create" }).dblclick();
      await page.getByRole("heading", { level: 1, name: "fresh.team" }).waitFor();
      // A second request would be refused (the name is taken by the first), unseen on the page gone to.
      assert.equal(creates.length, 1);
      assert.ok((await server.api<{ name: string }[]>("GET", "/security/v1/user-groups?search=fresh.team", { token })).body.some((g) => g.name === "fresh.team"));
    });
  });

  it("a double click on a group's Grant grants the role once", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const group = await createGroup(server, token, "granted.once");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/groups/${group}`);
      await page.getByRole("heading", { level: 1, name: "granted.once" }).waitFor();
      let grants = 0;
      page.on("request", (r) => { if (r.method() === "PUT" && r.url().includes("/role-mappings/")) grants++; });
      await page.getByRole("button", { name: "Grant", exact: true }).dblclick();
      await page.getByRole("status").filter({ hasText: /^Granted / }).waitFor();
      await page.getByRole("button", { name: "Grant", exact: true }).waitFor();
      assert.equal(grants, 1);
      // Its Revoke goes with the row it removes: the focus goes to the heading, not the top of the document.
      const role = (await page.getByRole("status").filter({ hasText: /^Granted / }).innerText()).replace(/^Granted (.*)\.$/, "$1");
      await page.getByRole("button", { name: `Revoke ${role}` }).click();
      await page.getByRole("status").filter({ hasText: `Revoked ${role}.` }).waitFor();
      await page.waitForFunction(() => document.activeElement?.tagName === "H1");
    });
  });

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

  it("More events, More groups and More members pressed from the keyboard keep the focus: on the button, then, once the last page took it away, on the first row that page brought", async () => {
    // Its own server: the users and groups it adds would push those the other tests look for out of their first pages.
    const fill = async (own: TestServer) => {
      const token = await own.login();
      await insertGroups(own.server.deps.store, Array.from({ length: 210 }, (_, i) => `paged.team.${String(i).padStart(3, "0")}`));
      const crew = await createGroup(own, token, "paged-crew");
      for (let i = 0; i < 60; i++) {
        const { uuid } = await insertUser(own.server.deps.store, { username: `paged.member.${String(i).padStart(2, "0")}` });
        assert.equal((await own.api("PUT", `/security/v1/users/${uuid}/user-groups/${crew}`, { token })).status, 204);
      }
      return crew;
    };
    await onOwnServer(ctx().browser, kind, fill, async ({ page, url, filled: crew }) => {
      /** Presses `name` until it is gone; each time the focus is back on it, and at last in the first row of the last page. */
      const pressToTheEnd = async (name: string, rows: string) => {
        const more = page.getByRole("button", { name, exact: true });
        await more.waitFor();
        await more.focus();
        for (let pages = 0; await more.count(); pages++) {
          assert.ok(pages < 10, `${name}: pages without end`);
          const before = await page.locator(rows).count();
          await page.keyboard.press("Enter");
          await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length > n, [rows, before] as const);
          await nextFrames(page);
          await page.waitForFunction(([sel, n, label]) => {
            const focused = document.activeElement;
            const button = [...document.querySelectorAll("button")].find((b) => b.textContent === label);
            return button ? focused === button : focused !== null && document.querySelectorAll(sel)[n]?.contains(focused) === true;
          }, [rows, before, name] as const, { timeout: 5_000 }).catch(async () => assert.fail(`${name}: the focus is on ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 80))}`));
        }
      };
      await page.goto(`${url}#/audit?action=group.member.add`);
      await pressToTheEnd("More events", "#audit-events > tr");
      await page.goto(`${url}#/groups?search=paged.team`);
      await pressToTheEnd("More groups", "#groups-listed > tr");
      await page.goto(`${url}#/groups/${crew}`);
      await pressToTheEnd("More members", "#group-members > tr");
    });
  });

  it("a search the server refuses shows no groups, nor members, of the search before, and no More button", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const users = await groupId(server, token, "users");
    await onPage(ctx(), async ({ page }) => {
      const tooLong = "s".repeat(300);
      await page.goto(`${url}#/groups`);
      const groups = page.getByRole("table", { name: "Groups" }).locator("tbody tr");
      await groups.first().waitFor();
      await page.getByLabel("Search groups").fill(tooLong);
      await page.getByText("search must be at most 256 characters long.").waitFor();
      assert.equal(await groups.count(), 0, "the groups of the search before are gone");
      await page.goto(`${url}#/groups/${users}`);
      const members = page.locator("table", { has: page.getByRole("columnheader", { name: "Username" }) }).locator("tbody tr");
      await members.first().waitFor();
      await page.getByLabel("Search members").fill(tooLong);
      await page.getByText("search must be at most 256 characters long.").waitFor();
      assert.equal(await members.count(), 0, "the members of the search before are gone");
      assert.equal(await page.getByRole("button", { name: "More members" }).count(), 0);
      assert.equal(await page.getByText(/^No member/).count(), 0);
      // The refusals are the 400s the pages say in words (the members' count asked beside them is refused too).
    }, { errorsAllowed: /status of 400 .*search=s+(&|\)$)/ });
  });

  it("a group's page says how many members it has, from the server's count, and its members are shown without waiting for it", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const team = await createGroup(server, token, "counted-team");
    for (const name of ["counted.one", "counted.two", "counted.three"]) {
      const u = await createUser(server, token, name);
      assert.equal((await server.api("PUT", `/security/v1/users/${u.uuid}/user-groups/${team}`, { token })).status, 204);
    }
    await onPage(ctx(), async ({ page }) => {
      const release = await holdRequests(page, /\/security\/v1\/users\/count\?/);
      await page.goto(`${url}#/groups/${team}`);
      await page.getByRole("link", { name: "counted.three" }).waitFor();
      release();
      await page.getByRole("status").filter({ hasText: /^3 members$/ }).waitFor();
      await page.getByRole("searchbox", { name: "Search members" }).fill("two");
      await page.getByRole("status").filter({ hasText: "1 member matching “two”" }).waitFor();
    });
  });

  it("an empty list says so: a group without roles or members, a search of its members or of the groups that finds none, a user without events", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const empty = await createGroup(server, token, "empty-team");
    const quiet = await createUser(server, token, "quinn.quiet");
    // Written to the store directly: no event names it.
    const silent = await insertUser(server.server.deps.store, { username: "sol.silent" });
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/groups/${empty}`);
      await page.getByText("This group grants no role.").waitFor();
      await page.getByText("No members.").waitFor();
      await page.goto(`${url}#/groups/${await groupId(server, token, "users")}`);
      await page.getByRole("link", { name: "quinn.quiet" }).waitFor();
      // The built-in users group keeps its user role (the server refuses it): no Revoke to press.
      await page.getByRole("cell", { name: "user", exact: true }).waitFor();
      assert.equal(await page.getByRole("button", { name: "Revoke user" }).count(), 0);
      await page.getByRole("searchbox", { name: "Search members" }).fill("nobody-by-this-name");
      await page.getByText("No member matches “nobody-by-this-name”.").waitFor();
      await page.goto(`${url}#/groups?search=no-group-by-this-name`);
      await page.getByText("No group matches “no-group-by-this-name”.").waitFor();
      // A role no group grants, and one that does not exist (the server's 404, in its words).
      await page.goto(`${url}#/groups?role=system-administrator&search=empty-team`);
      await page.getByText("No group matching “empty-team” grants the role “system-administrator”.").waitFor();
      await page.goto(`${url}#/groups?role=no-such-role`);
      await page.getByText("The specified role does not exist.").waitFor();
      await page.goto(`${url}#/users/${silent.uuid}`);
      await page.getByText("No events about this user").waitFor();
    });
  });

  it("the roles page names the groups that grant each role, asking once per role (not once per group)", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    await createGroup(server, token, "reviewers", ["security-administrator"]);
    for (let i = 0; i < 30; i++) await createGroup(server, token, `team-${i}`);
    await onPage(ctx(), async ({ page }) => {
      const asked: string[] = [];
      // The requests about roles (the users page left behind may still be asking for its own rows).
      page.on("request", (r) => {
        const { pathname, search } = new URL(r.url());
        if (pathname.includes("/security/v1/") && /role/.test(pathname + search)) asked.push(pathname + search);
      });
      await logInByToken(page, server, url);
      asked.length = 0;
      await page.goto(`${url}#/roles`);
      const row = page.getByRole("row", { name: /^security-administrator/ });
      await row.getByRole("link", { name: "reviewers" }).waitFor();
      // Other tests of this server add groups of their own: only these are known here.
      const grants = await row.getByRole("link").allInnerTexts();
      assert.ok(grants.includes("administrators") && grants.includes("reviewers") && !grants.some((g) => g.startsWith("team-")), grants.join());
      const users = await page.getByRole("row", { name: /^user\b/ }).getByRole("link").allInnerTexts();
      assert.ok(users.includes("administrators") && users.includes("users") && !users.includes("reviewers"), users.join());
      assert.ok(asked.length <= 5, asked.join("\n"));
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
