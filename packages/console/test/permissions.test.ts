/** What the console shows each administrator in Chromium: the pages and controls of the roles held now, and why a control is missing. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createGroup, createSecurityAdministrator, createUser, groupId, USER_PASSWORD } from "../../server/src/test-support/accounts.js";
import { axeViolations, describeConsole, onPage } from "./support.js";

describeConsole("each administrator's console", {}, (ctx) => {
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
});
