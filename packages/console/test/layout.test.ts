/** The console's pages at the narrowest laptop they are made for (1 024 × 768) and with names of every script and length: nothing cut, scrolled sideways or broken mid-word. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createGroup, createSecurityAdministrator, createUser, groupId } from "../../server/src/test-support/accounts.js";
import type { Locator } from "playwright-core";
import { describeConsole, nextFrames, onPage, screenshot } from "./support.js";

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

describeConsole("the console's layout", {}, (ctx, kind) => {
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
});
