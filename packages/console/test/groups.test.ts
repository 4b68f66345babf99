/** The groups, group and roles pages in Chromium, as an administrator uses them. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createGroup, createUser, groupId } from "../../server/src/test-support/accounts.js";
import { insertGroups, insertUser } from "../../server/src/test-support/fixtures.js";
import type { TestServer } from "../../server/src/test-support/server.js";
import { describeConsole, holdRequests, logInByToken, nextFrames, onOwnServer, onPage } from "./support.js";

describeConsole("groups and roles in the console", {}, (ctx, kind) => {
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
});
