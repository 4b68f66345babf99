/** Directories in Chromium against a real slapd: configure one with its write-only bind password, test it, sync it and read the report, delete it with its users. */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { directoryConfig, startDirectory, syncAndWait } from "../../server/src/test-support/directories.js";
import { DIRECTORY_SERVICE_PASSWORD, GROUPS, NAMED, type DirectoryTree } from "../../server/src/test-support/directory-trees.js";
import { createGroup, createSecurityAdministrator, USER_PASSWORD } from "../../server/src/test-support/accounts.js";
import { insertUser } from "../../server/src/test-support/fixtures.js";
import type { Slapd } from "../../server/src/test-support/slapd.js";
import { axeViolations, describeConsole, focusReaches, onPage, pickGroup, screenshot } from "./support.js";

const PATH = "/security/v1/external-user-storage";

let tree: DirectoryTree;
let slapd: Slapd;
before(async () => {
  ({ tree, slapd } = await startDirectory("openldap", 40));
});
after(async () => {
  await slapd?.remove();
});

describeConsole("directories in the console", {}, (ctx, kind) => {
  it("creates a directory, tests it, syncs it with its report, and deletes it with its users", { timeout: 180_000 }, async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const config = directoryConfig(tree, slapd, { name: `corp ldap ${kind}` });
    // What the server answers for this configuration: the page must say the same.
    const expected = (await server.api<{ message: string; sample: { username: string }[] }>("POST", `${PATH}/test`, { token, body: config })).body;
    assert.equal(expected.sample.length, 3);
    await onPage(ctx(), async ({ page }) => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Directories" }).click();
      await page.getByRole("heading", { level: 1, name: "Directories" }).waitFor();
      await page.getByRole("link", { name: "New directory" }).click();
      await page.getByLabel("Server URLs").fill(slapd.url);
      await page.getByLabel("StartTLS on ldap://").check();
      await page.getByLabel("CA certificate").fill(slapd.caPem!);
      await page.getByLabel("Base DN", { exact: true }).fill(tree.suffix);
      await page.getByLabel("Bind DN").fill(tree.serviceDn);
      // The directory's password, not the console's: a browser that keeps that one fills it in (after
      // the bind DN, taken for the username) unless the field says it is another password.
      assert.equal(await page.getByLabel("Bind password", { exact: true }).getAttribute("autocomplete"), "new-password");
      await page.getByLabel("Bind password", { exact: true }).fill(DIRECTORY_SERVICE_PASSWORD);
      await page.getByLabel("User filter").fill(tree.userFilter);
      await page.getByLabel("Groups to import").fill(`${tree.groupDn(GROUPS[0])}\n${tree.groupDn(GROUPS[3])}`);

      await page.getByRole("button", { name: "Test these settings" }).click();
      const test = page.getByRole("region", { name: "Connection test" });
      await test.getByText(expected.message).waitFor();
      assert.deepEqual(await test.getByRole("row").allInnerTexts().then((rows) => rows.slice(1).map((r) => r.split("\t")[0])), expected.sample.map((u) => u.username));
      // Tested before it was named (a test stores nothing); named to be created.
      await page.getByLabel("Directory name", { exact: true }).fill(String(config.name));

      // A directory that never synced: its page says so without asking for a run (a 404).
      const runReads: string[] = [];
      const creates: string[] = [];
      page.on("request", (r) => { if (r.method() === "GET" && /\/external-user-storage\/[^/]+\/sync$/.test(r.url())) runReads.push(r.url()); });
      page.on("request", (r) => { if (r.method() === "POST" && r.url().endsWith(PATH)) creates.push(r.url()); });
      // Created once for a double click (a second request would be refused: the name is taken).
      await page.getByRole("button", { name: "Create" }).dblclick();
      await page.getByRole("heading", { level: 1, name: String(config.name) }).waitFor();
      await page.getByText("Never synced.").waitFor();
      assert.deepEqual(runReads, []);
      assert.equal(creates.length, 1);
      assert.equal(await page.getByLabel("Bind password", { exact: true }).inputValue(), "");
      assert.doesNotMatch(await page.content(), new RegExp(DIRECTORY_SERVICE_PASSWORD));
      const id = /#\/directories\/([^?]+)/.exec(page.url())![1]!;
      // Saved again with the password typed: the form does not keep it once the server has it.
      await page.getByLabel("Bind password", { exact: true }).fill(DIRECTORY_SERVICE_PASSWORD);
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText(`Saved ${config.name}.`).waitFor();
      assert.equal(await page.getByLabel("Bind password", { exact: true }).inputValue(), "");

      // Pressed from the keyboard: disabled while the sync runs, it has the focus back once the sync is over.
      await page.getByRole("button", { name: "Start a full sync" }).focus();
      await page.keyboard.press("Enter");
      const sync = page.getByRole("region", { name: "Sync" });
      await sync.getByText("Full sync: Finished").waitFor({ timeout: 60_000 });
      await focusReaches(page, { text: "Start a full sync" });
      const run = (await server.api<Record<string, number> & { problems: { dn: string }[] }>("GET", `${PATH}/${id}/sync`, { token })).body;
      assert.equal(run.created, tree.userCount - 1, "every user but the invalid one");
      for (const key of ["Entries read", "Users created", "Entries with a problem"]) {
        const [label, value] = (await sync.getByRole("row", { name: key }).innerText()).split("\t");
        const field = { "Entries read": "seen", "Users created": "created", "Entries with a problem": "failed" }[key]!;
        assert.deepEqual([label, value], [key, run[field]!.toLocaleString("en-US")]);
      }
      await sync.getByRole("cell", { name: tree.dn(NAMED.invalid.name) }).waitFor();
      // Its users, in the users table filtered to this directory.
      await sync.getByRole("link", { name: "Its users" }).click();
      await page.getByRole("gridcell", { name: NAMED.hmueller.name, exact: true }).waitFor();
      assert.equal(await page.getByLabel("Source").locator("option:checked").innerText(), `Directory: ${config.name}`);
      await page.goBack();
      await sync.getByText("Full sync: Finished").waitFor();
      // A group it imported: its name and description are the directory's, shown read-only (the server refuses a change).
      const staff = (await server.api<{ id: string; name: string }[]>("GET", "/security/v1/user-groups?search=staff", { token })).body.find((g) => g.name === GROUPS[0])!;
      await page.goto(`${url}#/groups/${staff.id}`);
      await page.getByText("Its directory decides its name and description: change them there.").waitFor();
      const readonly = (field: string) => page.locator(`#group-form input[name=${field}]`).getAttribute("readonly");
      assert.deepEqual([await readonly("name"), await readonly("description")], ["", ""]);
      assert.equal(await page.locator("#group-form").getByRole("button", { name: "Save" }).count(), 0);
      await page.goBack();
      await sync.getByText("Full sync: Finished").waitFor();

      await page.getByRole("button", { name: "Test the stored settings" }).click();
      await test.getByText(expected.message).waitFor();
      for (const theme of ["light", "dark"]) {
        await page.evaluate((t) => { document.documentElement.dataset.theme = t; }, theme);
        assert.deepEqual(await axeViolations(page), [], `directory page, ${theme}`);
        await screenshot(page, `directory-${theme}`);
      }

      // A filter of its own, then emptied: a stored directory's filter is its vendor's default again.
      for (const [typed, stored] of [["(&(objectClass=inetOrgPerson)(uid=*))", "(&(objectClass=inetOrgPerson)(uid=*))"], ["", "(objectClass=inetOrgPerson)"]] as const) {
        await page.getByLabel("User filter").fill(typed);
        const saved = page.waitForResponse((r) => r.request().method() === "PUT" && r.url().endsWith(`${PATH}/${id}`));
        await page.getByRole("button", { name: "Save", exact: true }).click();
        assert.equal((await saved).status(), 200);
        assert.equal((await server.api<{ userFilter: string }>("GET", `${PATH}/${id}`, { token })).body.userFilter, stored);
        // The page shows what was stored when opened again (a field typed in while the save's own read is on its way would be filled again by it).
        await page.reload();
        await page.waitForFunction((value) => document.querySelector<HTMLInputElement>("#d-userFilter")?.value === value, stored);
      }

      await page.getByRole("button", { name: "Delete…" }).click();
      const dialog = page.getByRole("dialog", { name: /Delete the directory/ });
      await dialog.getByLabel("Delete them, and the groups it brought").check();
      assert.deepEqual(await axeViolations(page), [], "delete dialog");
      await dialog.getByRole("button", { name: "Delete", exact: true }).click();
      await page.getByText(`Deleted ${config.name}.`).waitFor();
      assert.equal((await server.api("GET", `${PATH}/${id}`, { token })).status, 404);
      assert.equal((await server.api<number>("GET", `/security/v1/users/count?search=${NAMED.hmueller.name}`, { token })).body, 0);
    });
  });

  it("says beside the sync's buttons why a sync cannot start: a disabled directory, one deleted meanwhile", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const created = await server.api<{ id: string }>("POST", PATH, { token, body: directoryConfig(tree, slapd, { name: `idle ldap ${kind}`, enabled: false }) });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/directories/${id}`);
      const sync = page.getByRole("region", { name: "Sync" });
      await sync.getByText("Never synced.").waitFor();
      const full = sync.getByRole("button", { name: "Start a full sync" });
      assert.equal(await full.isDisabled(), true);
      assert.equal(await full.getAttribute("aria-describedby"), "sync-disabled");
      await sync.getByText("The directory is disabled: check “Enabled” above and save to sync it.").waitFor();

      await page.getByLabel("Enabled (logins and periodic syncs)").check();
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText(`Saved idle ldap ${kind}.`).waitFor();
      assert.equal(await full.isDisabled(), false);
      // Gone by the time the button is pressed: the refusal is said where the user is looking, not at the top of the page.
      assert.equal((await server.api("DELETE", `${PATH}/${id}`, { token })).status, 204);
      await full.click();
      await sync.getByRole("alert").filter({ hasText: "ECMS1201" }).waitFor();
    });
  });

  it("a sync is watched on after looks at it failed for a while (the server unreachable, then a proxy's 503): its state says so meanwhile, and shows the end of the run", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const created = await server.api<{ id: string }>("POST", PATH, { token, body: directoryConfig(tree, slapd, { name: `watched ldap ${kind}` }) });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/directories/${id}`);
      const sync = page.getByRole("region", { name: "Sync" });
      await sync.getByText("Never synced.").waitFor();
      // Every look at the run fails until told: first the connection refused, then a load balancer's page with no node behind it.
      let failing: "refused" | "503" | null = "refused";
      await page.route(new RegExp(`${PATH}/${id}/sync$`), (route) =>
        route.request().method() !== "GET" || failing === null ? route.continue()
        : failing === "refused" ? route.abort("connectionrefused")
        : route.fulfill({ status: 503, contentType: "text/html", body: "<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>" }));
      await sync.getByRole("button", { name: "Start a full sync" }).click();
      await sync.getByRole("status").getByText(/The server cannot be reached.*looks at it again/).waitFor();
      failing = "503";
      await sync.getByRole("status").getByText(/503 Service Unavailable from something in between.*looks at it again/).waitFor();
      failing = null;
      await sync.getByText("Full sync: Finished").waitFor({ timeout: 30_000 });
      assert.equal(await sync.getByText(/looks at it again/).count(), 0, "what a look failed for is no longer said once one answered");
      // Opened again with the run's read held: a directory that synced is not said to have never synced meanwhile.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      await page.route(new RegExp(`${PATH}/${id}/sync$`), async (route) => {
        await held;
        await route.continue();
      });
      await page.reload();
      await sync.getByText("Reading the last sync…").waitFor();
      assert.equal(await sync.getByText("Never synced.").count(), 0);
      release();
      await sync.getByText("Full sync: Finished").waitFor();
    }, { errorsAllowed: /ERR_CONNECTION_REFUSED|status of 503/ });
    // With its users: a later test's directory of the same people would find their usernames taken.
    assert.equal((await server.api("DELETE", `${PATH}/${id}?users=delete`, { token })).status, 204);
  });

  it("sets a directory's priority, attribute mapping, page size and timeout, and keeps the mapping of the fields left as they were", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/directories/new`);
      await page.getByLabel("Directory name", { exact: true }).fill(`tuned ldap ${kind}`);
      await page.getByLabel("Server URLs").fill(slapd.url);
      await page.getByLabel("Base DN", { exact: true }).fill(tree.suffix);
      await page.getByLabel("Priority (the lower number wins a login name two directories hold)").fill("7");
      await page.getByLabel("Login name attribute").fill("mail");
      await page.getByLabel("Entries a search page reads").fill("200");
      await page.getByLabel("Seconds to wait for an answer of the directory").fill("4");
      await page.getByRole("button", { name: "Create" }).click();
      await page.getByText("Created. Test it, then start a sync.").waitFor();
      const id = /#\/directories\/([^?]+)/.exec(page.url())![1]!;
      const stored = async () => (await server.api<Record<string, any>>("GET", `${PATH}/${id}`, { token })).body;
      const created = await stored();
      assert.deepEqual([created.priority, created.attributeMapping.loginName, created.attributeMapping.username, created.pageSize, created.timeoutSeconds], [7, "mail", "uid", 200, 4]);
      // Shown as stored; a change of one field leaves the others as they are.
      assert.equal(await page.getByLabel("Username attribute").inputValue(), "uid");
      await page.getByLabel("Priority (the lower number wins a login name two directories hold)").fill("3");
      await page.getByLabel("Email attribute").fill("userPrincipalName");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText(`Saved tuned ldap ${kind}.`).waitFor();
      const saved = await stored();
      assert.deepEqual([saved.priority, saved.attributeMapping.email, saved.attributeMapping.loginName, saved.attributeMapping.uniqueId], [3, "userPrincipalName", "mail", "entryUUID"]);
      // Emptied, as its placeholder says: the kind's default.
      await page.getByLabel("Login name attribute").fill("");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText(`Saved tuned ldap ${kind}.`).waitFor();
      assert.deepEqual([(await stored()).attributeMapping.loginName, (await stored()).attributeMapping.email], ["uid", "userPrincipalName"]);
      assert.equal(await page.getByLabel("Login name attribute").inputValue(), "uid");
      assert.equal((await server.api("DELETE", `${PATH}/${id}?users=delete`, { token })).status, 204);
    });
  });

  it("a change of Kind takes the new kind's filters and attributes where they were the former kind's defaults, as the API does", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const { userFilter: _, ...plain } = directoryConfig(tree, slapd, { name: `kind ldap ${kind}` });
    const created = await server.api<{ id: string; userFilter: string }>("POST", PATH, { token, body: { ...plain, attributeMapping: { email: "userPrincipalName" } } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.userFilter, "(objectClass=inetOrgPerson)");
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/directories/${created.body.id}`);
      await page.getByLabel("Kind", { exact: true }).selectOption("ACTIVE_DIRECTORY");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText(`Saved kind ldap ${kind}.`).waitFor();
    });
    const saved = (await server.api<Record<string, any>>("GET", `${PATH}/${created.body.id}`, { token })).body;
    assert.deepEqual(
      [saved.vendor, saved.userFilter, saved.groupFilter, saved.attributeMapping.username, saved.attributeMapping.uniqueId, saved.attributeMapping.email],
      ["ACTIVE_DIRECTORY", "(&(objectCategory=person)(objectClass=user))", "(objectClass=group)", "sAMAccountName", "objectGUID", "userPrincipalName"],
    );
    assert.equal((await server.api("DELETE", `${PATH}/${created.body.id}?users=delete`, { token })).status, 204);
  });

  it("a connection test that gets no answer (the server unreachable) says so where its outcome goes, with the focus there, not out of view at the top of the page", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.setViewportSize({ width: 1024, height: 768 });
      await page.goto(`${url}#/directories/new`);
      await page.getByLabel("Server URLs").fill(slapd.url);
      await page.getByLabel("Base DN", { exact: true }).fill(tree.suffix);
      await page.route(new RegExp(`${PATH}/test$`), (route) => route.abort("connectionrefused"));
      await page.getByRole("button", { name: "Test these settings" }).click();
      const test = page.getByRole("region", { name: "Connection test" });
      await test.getByText("The server cannot be reached. Check the connection and try again.").waitFor();
      await focusReaches(page, { text: "Connection test" });
      assert.ok(await test.getByText("The server cannot be reached").isVisible());
      assert.equal(await page.getByRole("alert").filter({ hasText: "The server cannot be reached" }).count(), 0, "said once, where the test is");
    }, { errorsAllowed: /ERR_CONNECTION_REFUSED/ });
  });

  it("a connection test names each field by its label, as the form shows it, never by its name in the API", async () => {
    const { url } = ctx();
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/directories/new`);
      await page.getByLabel("Server URLs").fill(slapd.url);
      await page.getByLabel("Base DN", { exact: true }).fill(tree.suffix);
      await page.getByLabel("Bind DN").fill(tree.serviceDn);
      await page.getByLabel("Bind password", { exact: true }).fill("not-the-password");
      const test = page.getByRole("region", { name: "Connection test" });
      // Not encrypted, then a wrong password: each step says what to check in the words of the form.
      await page.getByRole("button", { name: "Test these settings" }).click();
      await test.getByText("unless Allow passwords over an unencrypted connection is set").first().waitFor();
      await page.getByLabel("StartTLS on ldap://").check();
      await page.getByLabel("CA certificate").fill(slapd.caPem!);
      await page.getByRole("button", { name: "Test these settings" }).click();
      await test.getByText("check Bind DN (empty: anonymous) and Bind password.").first().waitFor();
      assert.doesNotMatch(await test.innerText(), /bindDn|bindPassword|allowUnencryptedPasswords/);
    });
  });

  it("a failed sync's reason names each field by its label, as the connection test does", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const created = await server.api<{ id: string }>("POST", PATH, { token, body: directoryConfig(tree, slapd, { name: `refused ldap ${kind}`, bindPassword: "not-the-password" }) });
    assert.equal(created.status, 201, created.text);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/directories/${created.body.id}`);
      const sync = page.getByRole("region", { name: "Sync" });
      await sync.getByRole("button", { name: "Start a full sync" }).click();
      await sync.getByText("Full sync: Failed").waitFor({ timeout: 60_000 });
      await sync.getByText("check Bind DN (empty: anonymous) and Bind password.", { exact: false }).waitFor();
      assert.doesNotMatch(await sync.innerText(), /bindDn|bindPassword/);
    });
    assert.equal((await server.api("DELETE", `${PATH}/${created.body.id}?users=delete`, { token })).status, 204);
  });

  it("a Save over another administrator's change made meanwhile saves nothing, names what they changed, and Reload shows their version", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const created = await server.api<{ id: string; userFilter: string }>("POST", PATH, { token, body: directoryConfig(tree, slapd, { name: `shared ldap ${kind}`, enabled: false }) });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/directories/${id}`);
      await page.getByRole("heading", { level: 1, name: `shared ldap ${kind}` }).waitFor();
      await page.getByLabel("User filter").fill("(&(objectClass=inetOrgPerson)(uid=a*))");
      // Another administrator, meanwhile: a sync every hour.
      assert.equal((await server.api("PUT", `${PATH}/${id}`, { token, body: { syncPeriodSeconds: { full: 3600 } } })).status, 200);
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByRole("alert").filter({ hasText: "Someone else changed this directory since this page read it: nothing was saved. They changed Full sync every … seconds (0: only when started). Reload shows their version; then make your changes again." }).waitFor();
      const stored = (await server.api<{ userFilter: string; syncPeriodSeconds: { full: number } }>("GET", `${PATH}/${id}`, { token })).body;
      assert.deepEqual([stored.userFilter, stored.syncPeriodSeconds.full], [created.body.userFilter, 3600], "their change stays, and mine is not written over it");
      await page.getByRole("button", { name: "Reload" }).click();
      await page.waitForFunction(() => document.querySelector<HTMLInputElement>("[name='syncPeriodSeconds/full']")?.value === "3600");
      assert.equal(await page.getByLabel("User filter").inputValue(), created.body.userFilter);
      // Their version read, the edit made again is saved over it.
      await page.getByLabel("User filter").fill("(&(objectClass=inetOrgPerson)(uid=a*))");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText(`Saved shared ldap ${kind}.`).waitFor();
      const saved = (await server.api<{ userFilter: string; syncPeriodSeconds: { full: number } }>("GET", `${PATH}/${id}`, { token })).body;
      assert.deepEqual([saved.userFilter, saved.syncPeriodSeconds.full], ["(&(objectClass=inetOrgPerson)(uid=a*))", 3600]);
      // A delete is based on the version shown too: after their change, nothing is deleted, and the page says why.
      assert.equal((await server.api("PUT", `${PATH}/${id}`, { token, body: { enabled: true } })).status, 200);
      await page.getByRole("button", { name: "Delete…" }).click();
      await page.getByRole("dialog", { name: /Delete the directory/ }).getByRole("button", { name: "Delete", exact: true }).click();
      await page.getByRole("alert").filter({ hasText: "Someone else changed this directory since this page read it: nothing was deleted. They changed Enabled (logins and periodic syncs). Reload shows their version." }).waitFor();
      assert.equal((await server.api("GET", `${PATH}/${id}`, { token })).status, 200);
      await page.getByRole("button", { name: "Reload" }).click();
      await page.getByRole("button", { name: "Delete…" }).click();
      await page.getByRole("dialog", { name: /Delete the directory/ }).getByRole("button", { name: "Delete", exact: true }).click();
      await page.getByText(`Deleted shared ldap ${kind}.`).waitFor();
    });
    assert.equal((await server.api("GET", `${PATH}/${id}`, { token })).status, 404);
  });

  it("a run's report with more problems than it keeps says how many it lists of how many there were", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    // A directory of its own: 120 entries whose username is not valid here (a space in it), besides the named ones.
    const own = await startDirectory("openldap", 0);
    try {
      const ldap = await own.slapd.admin();
      for (let i = 0; i < 120; i++) {
        await ldap.add(`uid=bad person ${i},${own.tree.ouDn(["Berlin"])}`, { objectClass: ["inetOrgPerson", "lockableAccount"], cn: `Bad ${i}`, sn: "Person", uid: `bad person ${i}` });
      }
      await ldap.unbind();
      const created = await server.api<{ id: string }>("POST", PATH, { token, body: directoryConfig(own.tree, own.slapd, { name: `many problems ${kind}` }) });
      assert.equal(created.status, 201, created.text);
      const run = await syncAndWait(server, token, created.body.id);
      assert.deepEqual([run.failed, run.problems.length], [121, 100]);
      await onPage(ctx(), async ({ page }) => {
        await page.goto(`${url}#/directories/${created.body.id}`);
        const sync = page.getByRole("region", { name: "Sync" });
        await sync.getByRole("heading", { name: "Problems: the first 100 (121 entries had one)" }).waitFor();
        assert.equal(await sync.getByRole("table", { name: "Problems: the first 100 (121 entries had one)" }).locator("tbody tr").count(), 100);
      });
      assert.equal((await server.api("DELETE", `${PATH}/${created.body.id}?users=delete`, { token })).status, 204);
    } finally {
      await own.slapd.remove();
    }
  });

  it("a security administrator is not offered, as a mapping's local group, a group that grants system-administrator (the server would refuse the directory)", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    await createSecurityAdministrator(server, token, `sam.security.${kind}`);
    await createGroup(server, token, `ldap-admins-${kind}`, ["system-administrator"]);
    await createGroup(server, token, `ldap-staff-${kind}`);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/directories/new`);
      await page.getByRole("button", { name: "Add a mapping" }).click();
      await page.getByRole("combobox", { name: "Local group 1" }).fill(`ldap-`);
      const suggestions = page.getByRole("listbox", { name: "Suggestions" });
      await suggestions.getByRole("option", { name: `ldap-staff-${kind}`, exact: true }).waitFor();
      assert.deepEqual(await suggestions.getByRole("option").allInnerTexts(), [`ldap-staff-${kind}`]);
    }, { as: [`sam.security.${kind}`, USER_PASSWORD] });
  });

  it("a refusal names each field by its label, also one the server names by its path in the settings (syncPeriodSeconds/full) or a list of them (groupMappings)", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const created = await server.api<{ id: string }>("POST", PATH, { token, body: directoryConfig(tree, slapd, { name: `worded ldap ${kind}`, enabled: false }) });
    assert.equal(created.status, 201, created.text);
    await createGroup(server, token, `worded-${kind}`);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/directories/${created.body.id}`);
      const full = page.getByLabel("Full sync every … seconds (0: only when started)");
      await full.fill("-5");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByRole("alert").filter({ hasText: /^Full sync every … seconds \(0: only when started\) must be at least 0\. \(ECMS1001\)$/ }).waitFor();
      await full.fill("0");
      await page.getByRole("button", { name: "Add a mapping" }).click();
      await page.getByLabel("Group DN 1").fill("not a dn");
      await pickGroup(page, page.getByRole("combobox", { name: "Local group 1" }), `worded-${kind}`, `worded-${kind}`);
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByRole("alert").filter({ hasText: /^Group mapping \(group DN → local group\): "not a dn" is not a distinguished name/ }).waitFor();
    }, { errorsAllowed: /status of 400 .*\/external-user-storage\// });
    assert.equal((await server.api("DELETE", `${PATH}/${created.body.id}?users=delete`, { token })).status, 204);
  });

  it("a security administrator sees no Save or Delete for a directory through which accounts hold system-administrator, and may still test and sync it", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const security = await createSecurityAdministrator(server, token, `sol.security.${kind}`);
    const root = await createGroup(server, token, `ldap-root-${kind}`, ["system-administrator"]);
    const create = async (name: string, more: Record<string, unknown> = {}) => {
      const r = await server.api<{ id: string }>("POST", PATH, { token, body: directoryConfig(tree, slapd, { name, ...more }) });
      assert.equal(r.status, 201, r.text);
      return r.body.id;
    };
    // Through its group mapping; through one of its users, a member of a group that grants the role; neither.
    const mapped = await create(`mapped ldap ${kind}`, { groupMappings: [{ groupDn: tree.groupDn(GROUPS[0]), localGroupId: root }] });
    const held = await create(`held ldap ${kind}`);
    const plain = await create(`plain ldap ${kind}`);
    const { id: heldId } = await server.server.deps.store.db.selectFrom("directories").select("id").where("uuid", "=", held).executeTakeFirstOrThrow();
    const holder = await insertUser(server.server.deps.store, { username: `root.of.ldap.${kind}`, directory_id: heldId, dn: `uid=root,${tree.suffix}` });
    assert.equal((await server.api("PUT", `/security/v1/users/${holder.uuid}/user-groups/${root}`, { token })).status, 204);
    await onPage(ctx(), async ({ page }) => {
      for (const [name, id] of [[`mapped ldap ${kind}`, mapped], [`held ldap ${kind}`, held]]) {
        await page.goto(`${url}#/directories/${id}`);
        // This directory's page (its name): the previous one, shown until the hash change is handled, says the same.
        await page.getByRole("heading", { level: 1, name, exact: true }).waitFor();
        await page.getByText("Only a system administrator may change or delete this directory").waitFor();
        assert.equal(await page.getByRole("button", { name: /^(Save|Delete)/ }).count(), 0, id);
        assert.equal(await page.getByLabel("Directory name", { exact: true }).isDisabled(), true, id);
        assert.equal(await page.getByRole("button", { name: "Test the stored settings" }).isEnabled(), true, id);
        assert.equal(await page.getByRole("button", { name: "Start a full sync" }).isEnabled(), true, id);
        // What the server says to a change: the page hid what it refuses.
        assert.equal((await server.api("PUT", `${PATH}/${id}`, { token: security.token, body: { syncPeriodSeconds: { full: 0 } } })).status, 403, id);
      }
      // The mapping's local group is named by reading that group by its id; locked, its picker is too.
      await page.goto(`${url}#/directories/${mapped}`);
      const mapping = page.getByRole("group", { name: "Group mapping (group DN → local group)" });
      await page.waitForFunction((name) => document.querySelector<HTMLInputElement>("ecm-group-rows input[role=combobox]")?.value === name, `ldap-root-${kind}`);
      assert.equal(await mapping.getByLabel("Group DN 1").inputValue(), tree.groupDn(GROUPS[0]));
      assert.equal(await mapping.getByRole("combobox", { name: "Local group 1" }).isDisabled(), true);
      await page.goto(`${url}#/directories/${plain}`);
      await page.getByRole("button", { name: "Save", exact: true }).waitFor();
      assert.equal(await page.getByText("Only a system administrator may change").count(), 0);
    }, { as: [`sol.security.${kind}`, USER_PASSWORD] });
  });

  it("the list shows each directory's priority and when its last sync started (never, for one not synced yet)", { timeout: 120_000 }, async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const synced = await server.api<{ id: string }>("POST", PATH, { token, body: directoryConfig(tree, slapd, { name: `listed ldap ${kind}`, priority: 4 }) });
    assert.equal(synced.status, 201, synced.text);
    const run = await syncAndWait(server, token, synced.body.id);
    const idle = await server.api<{ id: string }>("POST", PATH, { token, body: { name: `idle ldap ${kind}`, connectionUrl: "ldap://127.0.0.1:9", baseDn: "dc=idle,dc=example", enabled: false, priority: 2 } });
    assert.equal(idle.status, 201, idle.text);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/directories`);
      const cells = async (name: string) => {
        const row = page.getByRole("row").filter({ has: page.getByRole("link", { name, exact: true }) });
        await row.waitFor();
        return Object.fromEntries((await row.getByRole("cell").allInnerTexts()).map((text, i) => [["Name", "Kind", "Server", "Base DN", "Priority", "Enabled", "Last sync", "Users"][i], text]));
      };
      const started = await page.evaluate((time) => new Date(time).toLocaleString(), run.startedAt as string);
      assert.deepEqual([(await cells(`listed ldap ${kind}`)).Priority, (await cells(`listed ldap ${kind}`))["Last sync"]], ["4", started]);
      assert.deepEqual(await page.getByRole("columnheader").allInnerTexts(), ["Name", "Kind", "Server", "Base DN", "Priority", "Enabled", "Last sync", "Users"]);
      assert.deepEqual([(await cells(`idle ldap ${kind}`)).Priority, (await cells(`idle ldap ${kind}`))["Last sync"]], ["2", "never"]);
    });
    for (const id of [synced.body.id, idle.body.id]) assert.equal((await server.api("DELETE", `${PATH}/${id}?users=delete`, { token })).status, 204);
  });

  it("turning StartTLS off on a directory whose servers are all ldaps:// is saved without the bind password asked again: it crosses TLS all the same, and the server asks for it no more than the form does", async () => {
    const { server, url } = ctx();
    const token = await server.login();
    const created = await server.api<{ id: string }>("POST", PATH, {
      token,
      body: { name: `tls ldap ${kind}`, connectionUrl: "ldaps://dc1.tls.example ldaps://dc2.tls.example:3269", startTls: true, baseDn: "dc=tls,dc=example", bindDn: "cn=reader,dc=tls,dc=example", bindPassword: "S3cret-Bind-Pass", enabled: false },
    });
    assert.equal(created.status, 201, created.text);
    await onPage(ctx(), async ({ page }) => {
      await page.goto(`${url}#/directories/${created.body.id}`);
      await page.getByRole("heading", { level: 1, name: `tls ldap ${kind}` }).waitFor();
      await page.getByLabel("StartTLS on ldap://").uncheck();
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText(`Saved tls ldap ${kind}.`).waitFor();
      // The form's word on the password says the server's rule.
      await page.getByText("StartTLS is turned off for an ldap:// server").waitFor();
    });
    const stored = (await server.api<{ startTls: boolean }>("GET", `${PATH}/${created.body.id}`, { token })).body;
    assert.equal(stored.startTls, false);
    assert.equal((await server.api("DELETE", `${PATH}/${created.body.id}?users=delete`, { token })).status, 204);
  });
});
