import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { sql } from "kysely";
import { Attribute, Change, Control, type Client } from "ldapts";
import { createGroup, createUser } from "../test-support/accounts.js";
import { directoryConfig, startDirectory, syncAndWait, waitForSync } from "../test-support/directories.js";
import { generatedName, GROUPS, NAMED, type DirectoryTree } from "../test-support/directory-trees.js";
import { CYRILLIC_SYSADMIN, pendingSearchPages, searchAllPages } from "../test-support/fixtures.js";
import { confusableKey } from "../domain/names.js";
import { fold } from "../domain/user-fields.js";
import { RUNS_KEPT } from "../storage/directory-queries.js";
import { describeEachStore } from "../test-support/server.js";
import type { Slapd } from "../test-support/slapd.js";

/**
 * Syncs of a real OpenLDAP directory (5 000 people in nested OUs, nested groups with a cycle,
 * non-ASCII names) into each store, over the API: the first sync, an unchanged one, renames and
 * moves, changed attributes and disabled accounts, `changed` syncs, group nesting and mapping,
 * removals and the safety share, clashes, and the directory going away mid-run.
 */
let tree: DirectoryTree;
let slapd: Slapd;
let ldap: Client;

describeEachStore("directory sync (OpenLDAP)", (server) => {
  // Each store gets the directory as loaded: the tests change it.
  before(async () => {
    // 5 000: the groups hold the first 2 600 and the tests name people up to 4 002; each further person
    // only makes each of the ~20 full syncs a store runs read one more unchanged entry.
    ({ tree, slapd } = await startDirectory("openldap", 5000));
    ldap = await slapd.admin();
  });
  after(async () => {
    await ldap.unbind();
    await slapd.remove();
  });

  let token: string;
  let id: string;
  let mappedGroup: string;

  const api = (method: string, path: string, body?: unknown) => server().api(method, path, { token, body });
  const user = async (username: string) => {
    const r = await api("GET", `/security/v1/users?extendedInfo=true&search=${encodeURIComponent(username)}`);
    return (r.body as any[]).find((u) => u.username === username);
  };
  const sync = (body: Record<string, unknown> = { mode: "full" }) => syncAndWait(server(), token, id, body);

  before(async () => {
    token = await server().login();
    mappedGroup = await createGroup(server(), token, "directory-engineers");
    const r = await api("POST", "/security/v1/external-user-storage", directoryConfig(tree, slapd, { groupMappings: [{ groupDn: tree.groupDn("engineering"), localGroupId: mappedGroup }] }));
    assert.equal(r.status, 201, r.text);
    id = r.body.id;
  });

  it("imports every user with its groups, nested ones resolved (a cycle included) and mapped ones joined", async () => {
    const run = await sync();
    assert.equal(run.state, "succeeded", run.message);
    assert.equal(run.seen, tree.userCount);
    assert.equal(run.created, tree.userCount - 1);
    assert.equal(run.failed, 1);
    assert.deepEqual(run.problems.map((p: any) => p.dn), [tree.dn(NAMED.invalid.name)]);
    assert.match(run.problems[0].message, /username "bad user"/);
    assert.equal((await api("GET", `/security/v1/users/count?source=directory:${id}`)).body, tree.userCount - 1);

    const hans = await user("hmueller");
    assert.equal(hans.dn, tree.dn("hmueller"));
    assert.equal(hans.lastName, "Müller");
    assert.deepEqual(hans.source, { type: "directory", id, name: "openldap directory" });
    // engineering ⊂ staff, engineering ⊂ developers ⊂ engineering (a cycle); engineering is mapped to a local group; every new user joins users.
    assert.deepEqual(hans.groups, ["developers", "directory-engineers", "engineering", "staff", "users", "zürich-office"]);
    // Each membership the sync made counted; a new user's in the event of its creation.
    const { db } = server().server.deps.store;
    const directory = await db.selectFrom("directories").select("id").where("uuid", "=", id).executeTakeFirstOrThrow();
    const made = await db.selectFrom("group_members").select((eb) => eb.fn.countAll().as("n")).where("synced_by", "=", directory.id).executeTakeFirstOrThrow();
    assert.deepEqual([run.joined, run.left], [Number(made.n), 0]);
    const created = (await api("GET", `/security/v1/audit-events?target=${hans.id}&action=user.create`)).body[0];
    assert.deepEqual(created.details.groups.sort(), ["developers", "directory-engineers", "engineering", "staff", "zürich-office"]);
    const zoe = await user("zoe");
    assert.deepEqual(zoe.groups, ["developers", "directory-engineers", "engineering", "staff", "users"]);
    assert.equal((await user(generatedName(1))).groups.includes("staff"), true);
    assert.equal((await user("locked")).enabled, false);
    assert.equal((await user(generatedName(4000))).groups.length, 1);

    const staff = (await api("GET", "/security/v1/user-groups?search=staff")).body.find((g: any) => g.name === "staff");
    assert.equal(staff.external, true);
    assert.equal(staff.dn, tree.groupDn("staff"));

    // Synced users are searched as seeded ones are, from the index in username order (SQLite: each has an order key).
    const { store } = server().server.deps;
    if (server().kind === "sqlite") assert.equal(Number((await sql<{ n: number }>`select count(*) as n from users where sort_key is null`.execute(store.db)).rows[0]!.n), 0);
    // The run left nothing pending in PostgreSQL's search indexes (every search would read it): merging again finds no page.
    assert.equal(await pendingSearchPages(store), 0);
    const everyMueller = (await sql<{ username: string }>`select username from users where ${store.dialect.userSearchMatches("müller")} order by username`.execute(store.db)).rows.map((r) => r.username);
    assert.ok(everyMueller.length > 2 * 250, `${everyMueller.length} users named Müller: more than two pages`);
    assert.deepEqual(await searchAllPages(store, "müller", 250), everyMueller);
  });

  it("a membership the sync made is the directory's: shown as such, and not removed by hand (one, all, in bulk, or by an import)", async () => {
    const name = generatedName(2550);
    const u = await user(name);
    const groups = (await api("GET", `/security/v1/users/${u.id}/user-groups`)).body as any[];
    const engineering = groups.find((g) => g.name === "engineering");
    assert.equal(engineering.syncedBy, "openldap directory");
    assert.equal(groups.find((g) => g.name === "users").syncedBy, undefined);
    const one = await api("DELETE", `/security/v1/users/${u.id}/user-groups/${engineering.id}`);
    assert.equal(one.status, 409, one.text);
    assert.match(one.body.errorMessage, /comes from the directory "openldap directory": change it there/);
    const all = await api("DELETE", `/security/v1/users/${u.id}/user-groups`);
    assert.deepEqual([all.status, all.body], [200, []]);
    const bulk = await api("POST", "/security/v1/users/bulk-actions", { action: "remove-from-group", ids: [u.id], groupId: mappedGroup });
    assert.equal(bulk.status, 202, bulk.text);
    await server().server.deps.bulkActions.settled(bulk.body.id);
    const run = (await api("GET", `/security/v1/users/bulk-actions/${bulk.body.id}`)).body;
    assert.deepEqual([run.status, run.changed, run.refused], ["done", 0, 1]);
    // An import row that leaves the groups out, dry run or not, fails as the single removal does.
    for (const query of ["?dryRun=true", ""]) {
      const imported = await server().api("POST", `/security/v1/users/import${query}`, { token, body: JSON.stringify({ username: name, groups: ["staff"] }), headers: { "content-type": "application/x-ndjson" } });
      const row = JSON.parse(imported.text.split("\n")[0]!);
      assert.equal(row.status, "failed", imported.text);
      assert.match(row.error.message, /comes from the directory "openldap directory": change it there/);
    }
    assert.deepEqual((await user(name)).groups, ["developers", "directory-engineers", "engineering", "staff", "users"]);
  });

  it("keeps the name and description of a group it imported the directory's: a change is a 409 naming them (the next sync would put them back)", async () => {
    const staff = (await api("GET", "/security/v1/user-groups?search=staff")).body.find((g: any) => g.name === "staff");
    const renamed = await api("PUT", `/security/v1/user-groups/${staff.id}`, { name: "everyone" });
    assert.equal(renamed.status, 409, renamed.text);
    assert.equal(renamed.body.errorMessage, 'ECMS1302-E The directory decides name of this group: change it there.');
    assert.deepEqual(JSON.parse(renamed.body.additionalInfo), { fields: ["name"], group: "staff" });
    const described = await api("PUT", `/security/v1/user-groups/${staff.id}`, { name: "staff", description: "Everyone here" });
    assert.deepEqual([described.status, JSON.parse(described.body.additionalInfo).fields], [409, ["description"]]);
    // Sending back what GET gave is no change.
    assert.equal((await api("PUT", `/security/v1/user-groups/${staff.id}`, staff)).status, 200);
  });

  it("changes nothing when nothing changed", async () => {
    const before = (await api("GET", "/security/v1/audit-events?max=1")).body;
    const run = await sync();
    assert.equal(run.state, "succeeded", run.message);
    assert.deepEqual([run.created, run.updated, run.disabled, run.unchanged, run.joined, run.left], [0, 0, 0, tree.userCount - 1, 0, 0]);
    const events = (await api("GET", "/security/v1/audit-events?max=3")).body;
    // Only the run's own events: its start and its end.
    assert.deepEqual(events.filter((e: any) => e.id > before[0].id).map((e: any) => e.action).sort(), ["directory.sync", "directory.sync-start"]);
  });

  it("counts a user whose groups alone changed as updated, not unchanged", async () => {
    const joining = tree.dn(generatedName(3000));
    const change = (operation: "add" | "delete") => ldap.modify(tree.groupDn("developers"), new Change({ operation, modification: new Attribute({ type: "member", values: [joining] }) }));
    await change("add");
    const joined = await sync();
    assert.equal(joined.state, "succeeded", joined.message);
    assert.deepEqual([joined.updated, joined.unchanged, joined.left], [1, tree.userCount - 2, 0]);
    assert.ok(joined.joined > 0);
    await change("delete");
    const left = await sync();
    assert.deepEqual([left.updated, left.unchanged, left.joined, left.left], [1, tree.userCount - 2, 0, joined.joined]);
  });

  it("keeps the newest runs only: a run forgets the finished ones past them", async () => {
    const { db } = server().server.deps.store;
    const directory = await db.selectFrom("directories").select("id").where("uuid", "=", id).executeTakeFirstOrThrow();
    const old = { directory_id: directory.id, mode: "changed", state: "succeeded", forced: 0, started_at: "2026-01-01T00:00:00.000Z", finished_at: "2026-01-01T00:00:01.000Z", heartbeat_at: "2026-01-01T00:00:01.000Z", started_by: "sysadmin" } as const;
    await db.insertInto("directory_sync_runs").values(Array.from({ length: RUNS_KEPT + 20 }, () => old)).execute();
    const run = await sync({ mode: "changed" });
    assert.equal(run.state, "succeeded", run.message);
    const runs = await db.selectFrom("directory_sync_runs").select("id").where("directory_id", "=", directory.id).orderBy("id", "desc").execute();
    assert.equal(runs.length, RUNS_KEPT);
    assert.equal(runs[0]!.id, (await db.selectFrom("directory_sync_runs").select((eb) => eb.fn.max("id").as("id")).executeTakeFirstOrThrow()).id, "the newest is kept");
  });

  it("follows renames and moves to another OU by uniqueId, and reads only what changed", async () => {
    const [renamed, hans] = [await user(generatedName(10)), await user("hmueller")];
    const newDn = `uid=${generatedName(10)}-renamed,${tree.ouDn(["Berlin"])}`;
    // As Active Directory (or OpenLDAP's refint) does, the groups follow the entries' new DNs.
    await ldap.modifyDN(tree.dn(generatedName(10)), newDn);
    await replaceMember(tree.groupDn("staff"), tree.dn(generatedName(10)), newDn);
    await ldap.modifyDN(tree.dn("hmueller"), `uid=hmueller,${tree.ouDn(["Berlin"])}`);
    await replaceMember(tree.groupDn("engineering"), tree.dn("hmueller"), tree.dn("hmueller", ["Berlin"]));
    await ldap.modify(tree.groupDn("zürich-office"), new Change({ operation: "delete", modification: new Attribute({ type: "member", values: [tree.dn("hmueller")] }) }));

    const run = await sync({ mode: "changed" });
    assert.equal(run.state, "succeeded", run.message);
    assert.deepEqual([run.seen, run.created, run.updated, run.failed, run.joined, run.left], [2, 0, 2, 0, 0, 1]);
    const after = await user(`${generatedName(10)}-renamed`);
    assert.equal(after.id, renamed.id);
    assert.equal(after.dn, newDn);
    assert.deepEqual(after.groups, renamed.groups);
    const moved = await user("hmueller");
    assert.equal(moved.id, hans.id);
    assert.equal(moved.dn, tree.dn("hmueller", ["Berlin"]));
    assert.deepEqual(moved.groups, hans.groups.filter((g: string) => g !== "zürich-office"));
    const left = (await api("GET", `/security/v1/audit-events?target=${hans.id}&action=group.member.remove`)).body;
    assert.deepEqual(left.map((e: any) => [e.actor, e.details.groups.map((g: any) => g.group)]), [["directory:openldap directory", ["zürich-office"]]]);
    assert.equal(await user(generatedName(10)), undefined);
  });

  it("a user renamed where the groups still list the old DN (no referential integrity, OpenLDAP's default) leaves them at the `changed` sync that reads it, as at a full sync", async () => {
    const name = generatedName(50);
    const before = await user(name);
    assert.ok(before.groups.includes("staff"));
    const newDn = `uid=${name}-gone,${tree.ouDn(["Berlin"])}`;
    await ldap.modifyDN(tree.dn(name), newDn);
    const changed = await sync({ mode: "changed" });
    assert.deepEqual([changed.state, changed.updated, changed.left], ["succeeded", 1, before.groups.length - 1], changed.message);
    const after = await user(`${name}-gone`);
    assert.deepEqual([after.id, after.dn, after.groups], [before.id, newDn, ["users"]]);
    // The full sync after it finds what the `changed` one did.
    const full = await sync();
    assert.deepEqual([full.state, full.joined, full.left], ["succeeded", 0, 0], full.message);
    // The groups listing the new DN (as OpenLDAP's refint writes them): a `changed` sync reads them, and the user is back.
    for (const g of GROUPS) if (await ldap.compare(tree.groupDn(g), "member", tree.dn(name))) await replaceMember(tree.groupDn(g), tree.dn(name), newDn);
    const back = await sync({ mode: "changed" });
    assert.equal(back.state, "succeeded", back.message);
    assert.deepEqual((await user(`${name}-gone`)).groups, before.groups);
    assert.deepEqual((await sync()).left, 0);
  });

  it("a `changed` sync follows a group nested into another and taken out again: its members join and leave the outer groups", async () => {
    const name = generatedName(4001);
    assert.equal((await user(name)).groups.includes("staff"), false);
    const nightOps = `cn=night-ops,${tree.groupDn("staff").split(",").slice(1).join(",")}`;
    await ldap.add(nightOps, { objectClass: ["groupOfNames"], cn: "night-ops", member: [tree.dn(name)] });
    const nest = (operation: "add" | "delete") => ldap.modify(tree.groupDn("staff"), new Change({ operation, modification: new Attribute({ type: "member", values: [nightOps] }) }));
    await nest("add");
    const joined = await sync({ mode: "changed" });
    assert.equal(joined.state, "succeeded", joined.message);
    assert.deepEqual((await user(name)).groups, ["night-ops", "staff", "users"]);
    await nest("delete");
    const left = await sync({ mode: "changed" });
    assert.deepEqual([left.state, left.left], ["succeeded", 1], left.message);
    assert.deepEqual((await user(name)).groups, ["night-ops", "users"]);
    // Nested again, an existing group: its members join again.
    await nest("add");
    const again = await sync({ mode: "changed" });
    assert.deepEqual([again.state, again.joined], ["succeeded", 1], again.message);
    assert.deepEqual((await user(name)).groups, ["night-ops", "staff", "users"]);
    await nest("delete");
    await ldap.del(nightOps);
    assert.equal((await sync({ mode: "full" })).state, "succeeded");
  });

  it("takes changed attributes and accounts disabled in the directory", async () => {
    await ldap.modify(tree.dn("ivan"), new Change({ operation: "replace", modification: new Attribute({ type: "givenName", values: ["Ваня"] }) }));
    await ldap.modify(tree.dn("zoe"), new Change({ operation: "add", modification: new Attribute({ type: "nsAccountLock", values: ["TRUE"] }) }));
    const run = await sync({ mode: "changed" });
    assert.equal(run.state, "succeeded", run.message);
    // A `changed` sync also reads the changes of the minutes before the last run (clock skew): the renamed two, unchanged now.
    assert.deepEqual([run.updated, run.disabled, run.unchanged], [1, 1, run.seen - 2]);
    const ivan = await user("ivan");
    assert.equal(ivan.firstName, "Ваня");
    assert.equal(ivan.displayName, "Иван Иванов"); // cn, unchanged
    assert.equal((await user("zoe")).enabled, false);
    const events = (await api("GET", `/security/v1/audit-events?target=${ivan.id}`)).body;
    assert.ok(events.some((e: any) => e.action === "user.update" && e.actor === "directory:openldap directory"));
  });

  it("disables nobody when the directory refers part of the search to another server (its users were not read)", async () => {
    // A subtree held elsewhere: slapd answers a continuation reference for it.
    const remote = `ou=remote,${tree.ouDn(["Berlin"])}`;
    await ldap.add(remote, { objectClass: ["referral", "extensibleObject"], ou: "remote", ref: "ldap://other.example/ou=remote,dc=example,dc=org" });
    try {
      const run = await sync();
      assert.equal(run.state, "succeeded", run.message);
      assert.equal(run.disabled, 0);
      assert.match(run.message, /^The directory referred part of the search to other servers \(ldap:\/\/other\.example\/.*\), whose users were not read: nobody was disabled as gone/);
    } finally {
      await ldap.del(remote, new Control("2.16.840.1.113730.3.4.2"));
    }
    // Active Directory names its DNS and configuration partitions below a domain's root at every search: they hold no users.
    const zones = `dc=DomainDnsZones,${tree.ouDn(["Berlin"])}`;
    await ldap.add(zones, { objectClass: ["referral", "extensibleObject"], dc: "DomainDnsZones", ref: "ldap://dc1.example/DC=DomainDnsZones,dc=example,dc=org" });
    try {
      const run = await sync();
      assert.equal(run.state, "succeeded", run.message);
      assert.ok(!/referred/.test(run.message ?? ""), run.message);
    } finally {
      await ldap.del(zones, new Control("2.16.840.1.113730.3.4.2"));
    }
  });

  it("disables users gone from the directory, never deletes them, and not past the safety share unless forced", async () => {
    await ldap.del(tree.dn(generatedName(20)));
    await ldap.del(tree.dn(generatedName(21)));
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { disableLimitPercent: 0 })).status, 200);
    const refused = await sync();
    assert.equal(refused.state, "succeeded", refused.message);
    assert.equal(refused.disabled, 0);
    assert.match(refused.message, /2 of the directory's \d+ enabled users are gone from it, more than the 0 % a full sync may disable unless forced: nobody was disabled as gone/);
    assert.equal((await user(generatedName(20))).enabled, true);

    const forced = await sync({ mode: "full", force: true });
    assert.equal(forced.state, "succeeded", forced.message);
    assert.equal(forced.disabled, 2);
    assert.equal(forced.forced, true);
    const gone = await user(generatedName(20));
    assert.equal(gone.enabled, false);
    assert.equal(gone.source.type, "directory");
    // Gone and disabled already: not gone again (the safety share counts only the users a sync would disable).
    const again = await sync();
    assert.equal(again.state, "succeeded", again.message);
    assert.deepEqual([again.disabled, again.message], [0, null]);

    // An empty answer (here: a search base with no people) disables nobody, whatever the share.
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { userSearchBase: tree.serviceDn.split(",").slice(1).join(","), disableLimitPercent: 100 })).status, 200);
    const empty = await sync();
    assert.equal(empty.disabled, 0);
    assert.match(empty.message, /answered no users: nobody was disabled as gone\. Check the search base and filter; if the directory has no users now, a full sync with force disables them\./);
    // Forced, the administrator says the directory is empty indeed: its enabled users are disabled (not deleted).
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { disableLimitPercent: 10 })).status, 200);
    const emptied = await sync({ mode: "full", force: true });
    assert.equal(emptied.state, "succeeded", emptied.message);
    assert.ok(emptied.disabled > 0, JSON.stringify(emptied));
    assert.equal((await api("GET", `/security/v1/users/count?source=directory:${id}&enabled=true`)).body, 0);
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { userSearchBase: null, disableLimitPercent: 10 })).status, 200);
    // Every user of the directory is back once it answers them again.
    const back = await sync({ mode: "full" });
    assert.equal(back.state, "succeeded", back.message);
    assert.equal((await api("GET", `/security/v1/users/count?source=directory:${id}&enabled=false`)).body, 4); // locked, zoe, and the two gone
  });

  it("reports a username or email held by another account as a problem of that entry, not a failed run", async () => {
    await createUser(server(), token, "clash");
    const { store } = server().server.deps;
    await store.db.updateTable("users").set({ email: "newcomer@example.org" }).where("username", "=", "clash").execute();
    for (const [uid, mail] of [["clash", "clash@example.org"], ["newcomer", "newcomer@example.org"], ["welcome", "welcome@example.org"]] as const) {
      await ldap.add(`uid=${uid},${tree.ouDn(["Berlin"])}`, { objectClass: ["inetOrgPerson"], uid, cn: uid, sn: uid, mail });
    }
    const run = await sync({ mode: "changed" });
    assert.equal(run.state, "succeeded", run.message);
    assert.deepEqual([run.created, run.failed], [1, 2]);
    assert.deepEqual(run.problems.map((p: any) => p.message).sort(), [
      "The email newcomer@example.org is taken by a local user.",
      'The username or login name "clash" is taken by a local user.',
    ]);
    assert.equal((await user("welcome")).source.type, "directory");
    assert.equal((await user("clash")).source.type, "local");
  });

  it("a user imported before whose entry now clashes or cannot be imported keeps what it had, and still follows a disable in the directory", async () => {
    const before = await user("welcome");
    const broken = generatedName(32);
    // welcome's new email is the local user clash's; the other's first name is past what a user may hold. Both are disabled.
    await ldap.modify(`uid=welcome,${tree.ouDn(["Berlin"])}`, [
      new Change({ operation: "replace", modification: new Attribute({ type: "mail", values: ["newcomer@example.org"] }) }),
      new Change({ operation: "add", modification: new Attribute({ type: "objectClass", values: ["lockableAccount"] }) }),
      new Change({ operation: "add", modification: new Attribute({ type: "nsAccountLock", values: ["TRUE"] }) }),
    ]);
    const brokenBefore = await user(broken);
    await ldap.modify(tree.dn(broken), [
      new Change({ operation: "replace", modification: new Attribute({ type: "givenName", values: ["x".repeat(300)] }) }),
      new Change({ operation: "add", modification: new Attribute({ type: "nsAccountLock", values: ["TRUE"] }) }),
    ]);
    const run = await sync({ mode: "changed" });
    assert.equal(run.state, "succeeded", run.message);
    const messages = run.problems.map((p: any) => p.message);
    // Not failed: the entries' users were synced (the earlier clashes, read again, are).
    assert.equal(run.failed, messages.filter((m: string) => !m.includes(" keeps ")).length, JSON.stringify(messages));
    assert.equal(run.disabled, 2);
    assert.ok(messages.includes('The email newcomer@example.org is taken by a local user. The user "welcome" keeps its username, login name and email; the entry\'s other changes are synced.'), JSON.stringify(messages));
    assert.ok(messages.some((m: string) => m.startsWith("firstName is longer than") && m.endsWith(`The user "${broken}" keeps what it had; only its DN and whether it is enabled follow the entry.`)), JSON.stringify(messages));
    const welcome = await user("welcome");
    assert.deepEqual([welcome.id, welcome.enabled, welcome.email], [before.id, false, "welcome@example.org"]);
    const kept = await user(broken);
    assert.deepEqual([kept.id, kept.enabled, kept.firstName], [brokenBefore.id, false, brokenBefore.firstName]);

    // Mended in the directory: taken as any change.
    await ldap.modify(`uid=welcome,${tree.ouDn(["Berlin"])}`, [
      new Change({ operation: "replace", modification: new Attribute({ type: "mail", values: ["welcome@example.org"] }) }),
      new Change({ operation: "delete", modification: new Attribute({ type: "nsAccountLock", values: [] }) }),
    ]);
    await ldap.modify(tree.dn(broken), [
      new Change({ operation: "replace", modification: new Attribute({ type: "givenName", values: [brokenBefore.firstName] }) }),
      new Change({ operation: "delete", modification: new Attribute({ type: "nsAccountLock", values: [] }) }),
    ]);
    assert.equal((await sync({ mode: "changed" })).state, "succeeded");
    assert.deepEqual([(await user("welcome")).enabled, (await user(broken)).enabled], [true, true]);
  });

  it("stores names in NFKC and reports one that looks like another account's or group's as a problem of that entry; a rename away from it updates the same user", async () => {
    const groups = tree.groupDn("staff").split(",").slice(1).join(",");
    const berlin = tree.ouDn(["Berlin"]);
    // Cyrillic ѕуѕа, fullwidth ｓｙｓａｄｍｉｎ (NFKC: sysadmin itself) and ｆｕｌｌｗｉｄｔｈ (NFKC: fullwidth); groups Cyrillic Аdministrators and fullwidth ｄｅｖｏｐｓ.
    // mallory and ma11ory, new in one page, look alike too.
    for (const uid of [CYRILLIC_SYSADMIN, "ｓｙｓａｄｍｉｎ", "ｆｕｌｌｗｉｄｔｈ", "mallory", "ma11ory"]) await ldap.add(`uid=${uid},${berlin}`, { objectClass: ["inetOrgPerson"], uid, cn: uid, sn: uid, userPassword: "Directory-Secret-1" });
    await ldap.add(`cn=Аdministrators,${groups}`, { objectClass: ["groupOfNames"], cn: "Аdministrators", member: [`uid=${CYRILLIC_SYSADMIN},${berlin}`] });
    await ldap.add(`cn=ｄｅｖｏｐｓ,${groups}`, { objectClass: ["groupOfNames"], cn: "ｄｅｖｏｐｓ", member: [`uid=ｆｕｌｌｗｉｄｔｈ,${berlin}`] });
    await ldap.modify(tree.groupDn("zürich-office"), new Change({ operation: "add", modification: new Attribute({ type: "member", values: [`cn=Аdministrators,${groups}`, `cn=ｄｅｖｏｐｓ,${groups}`] }) }));
    const renamed = await user(generatedName(30));
    // Renamed in the directory to a look-alike of "clash", a local user: Cyrillic с.
    const lookalikeDn = `uid=\u0441lash,${tree.ouDn(tree.person(generatedName(30)).ou)}`;
    await ldap.modifyDN(tree.dn(generatedName(30)), lookalikeDn);

    const run = await sync({ mode: "changed" });
    assert.equal(run.state, "succeeded", run.message);
    const problem = (dn: string) => run.problems.find((p: any) => p.dn === dn)?.message;
    assert.equal(problem(`uid=${CYRILLIC_SYSADMIN},${berlin}`), `The username "${CYRILLIC_SYSADMIN}" looks like that of a local user, "sysadmin".`);
    assert.equal(problem(`uid=ｓｙｓａｄｍｉｎ,${berlin}`), 'The username or login name "sysadmin" is taken by a local user.');
    assert.equal(problem(lookalikeDn), `The username "\u0441lash" looks like that of a local user, "clash". The user "${generatedName(30)}" keeps its username, login name and email; the entry's other changes are synced.`);
    assert.equal(problem(`cn=Аdministrators,${groups}`), 'The group name "Аdministrators" looks like that of a local group, "administrators".');
    assert.equal(await user(CYRILLIC_SYSADMIN), undefined);
    const [first, second] = (await user("mallory")) ? ["mallory", "ma11ory"] : ["ma11ory", "mallory"];
    assert.equal(problem(`uid=${second},${berlin}`), `The username "${second}" looks like that of another user of this directory, "${first}".`);
    assert.equal(await user(second), undefined);
    assert.equal((await user("sysadmin")).source.type, "builtin");
    assert.equal((await api("GET", `/security/v1/user-groups?search=${encodeURIComponent("Аdministrators")}`)).body.length, 0);
    const fullwidth = await user("fullwidth");
    assert.equal(fullwidth.source.type, "directory");
    assert.ok(fullwidth.groups.includes("devops"), fullwidth.groups.join(", "));
    // Its login finds its entry by the stored name: the directory matches names in their normal form too.
    for (const typed of ["fullwidth", "ｆｕｌｌｗｉｄｔｈ"]) assert.equal((await server().api("POST", "/auth/v1/providers/builtin/token", { body: { username: typed, password: "Directory-Secret-1" } })).status, 200, typed);
    const unchanged = await user(generatedName(30));
    assert.deepEqual([unchanged.id, unchanged.enabled], [renamed.id, true]);
    // The directory's names are guarded as local ones: a local user cannot look like one either.
    const local = await api("POST", "/security/v1/users", { username: "fu11width" });
    assert.equal(local.status, 409, local.text);
    assert.equal(JSON.parse(local.body.additionalInfo).existing, "fullwidth");

    await ldap.modifyDN(lookalikeDn, `uid=${generatedName(30)}-again,${tree.ouDn(tree.person(generatedName(30)).ou)}`);
    const again = await sync({ mode: "changed" });
    assert.equal(again.state, "succeeded", again.message);
    assert.equal((await user(`${generatedName(30)}-again`)).id, renamed.id);
  });

  it("gives the users and groups a sync stored without look-alike keys theirs as it passes; one that looks like another keeps none, is still synced and is reported", async () => {
    const { db } = server().server.deps.store;
    const berlin = tree.ouDn(["Berlin"]);
    // As a sync before the keys were written left them (migration 011i fills those of an upgraded store).
    await db.updateTable("users").set({ username_skeleton: null, login_skeleton: null }).where("username", "=", generatedName(31)).execute();
    await db.updateTable("groups").set({ name_skeleton: null }).where("name", "=", "staff").execute();
    // A look-alike of sysadmin that such a sync imported: the Cyrillic entry's user, made from another's row.
    const uuid = (await ldap.search(`uid=${CYRILLIC_SYSADMIN},${berlin}`, { attributes: ["entryUUID"] })).searchEntries[0]!.entryUUID as string;
    await db
      .updateTable("users")
      .set({ username: CYRILLIC_SYSADMIN, login_name: CYRILLIC_SYSADMIN, login_key: fold(CYRILLIC_SYSADMIN), username_skeleton: null, login_skeleton: null, directory_key: uuid })
      .where("username", "=", generatedName(32))
      .execute();
    const row = (username: string) => db.selectFrom("users").select(["id", "dn", "enabled", "username_skeleton", "login_skeleton"]).where("username", "=", username).executeTakeFirst();
    const lookalike = (await row(CYRILLIC_SYSADMIN))!;

    const startedAt = new Date().toISOString();
    const run = await sync();
    assert.equal(run.state, "succeeded", run.message);
    const filled = (await row(generatedName(31)))!;
    assert.deepEqual([filled.username_skeleton, filled.login_skeleton], [confusableKey(generatedName(31)), confusableKey(generatedName(31))]);
    assert.equal((await db.selectFrom("groups").select("name_skeleton").where("name", "=", "staff").executeTakeFirstOrThrow()).name_skeleton, confusableKey("staff"));
    const events = (await api("GET", `/security/v1/audit-events?target=${(await user(generatedName(31))).id}&action=user.update`)).body;
    assert.deepEqual(events.filter((e: { time: string }) => e.time >= startedAt), [], "only its keys were written");

    const problem = run.problems.find((p: any) => p.dn === `uid=${CYRILLIC_SYSADMIN},${berlin}`);
    assert.equal(problem?.message, `The username "${CYRILLIC_SYSADMIN}" looks like that of a local user, "sysadmin" (both were stored before look-alikes were checked): rename one of them.`);
    const synced = (await row(CYRILLIC_SYSADMIN))!;
    assert.deepEqual(synced, { ...lookalike, dn: `uid=${CYRILLIC_SYSADMIN},${berlin}` }, "still synced from its entry, without keys");
    // The row it was made from is its own entry's again: a new user.
    assert.equal(run.created, 1);
    assert.equal((await user(generatedName(32))).source.type, "directory");
  });

  it("fails a run whose directory goes away midway, disables nobody, and the next run picks up", async () => {
    const enabledBefore = (await api("GET", `/security/v1/users/count?source=directory:${id}&enabled=true`)).body;
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { pageSize: 20 })).status, 200);
    assert.equal((await api("POST", `/security/v1/external-user-storage/${id}/sync`, { mode: "full" })).status, 202);
    for (;;) {
      const r = (await api("GET", `/security/v1/external-user-storage/${id}/sync`)).body;
      if (r.seen > 0 || r.state !== "running") break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await slapd.stop("SIGKILL");
    const failed = await waitForSync(server(), token, id);
    assert.equal(failed.state, "failed");
    // Two sentences: what went wrong (the connection's own words end in no full stop) and what the run did.
    assert.match(failed.message, /^\S.*[^.]\. Nobody was disabled\.$/);
    assert.equal((await api("GET", `/security/v1/users/count?source=directory:${id}&enabled=true`)).body, enabledBefore);
    const health = await api("GET", "/health");
    assert.deepEqual([health.body.directories?.[0]?.name, health.body.directories?.[0]?.problem], ["openldap directory", "unreachable"]);

    await slapd.resume();
    ldap = await slapd.admin();
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { pageSize: 500 })).status, 200);
    const again = await sync();
    assert.equal(again.state, "succeeded", again.message);
    assert.deepEqual([again.created, again.updated, again.disabled], [0, 0, 0]);
    assert.equal((await api("GET", "/health")).body.directories, undefined);
  });

  it("stops a run whose directory is disabled meanwhile at its next batch, writing nothing more (a disabled directory syncs nothing)", async () => {
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { pageSize: 20 })).status, 200);
    // The directory holds its answers while the run starts and the directory is disabled: the run has read nothing yet.
    const pid = Number(readFileSync(join(slapd.dir, "slapd.pid"), "utf8"));
    process.kill(pid, "SIGSTOP");
    try {
      assert.equal((await api("POST", `/security/v1/external-user-storage/${id}/sync`, { mode: "full", force: true })).status, 202);
      assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { enabled: false })).status, 200);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    try {
      const run = await waitForSync(server(), token, id);
      assert.equal(run.state, "failed", JSON.stringify(run));
      assert.match(run.message, /The sync stopped: the directory was disabled while it ran\. Nobody was disabled\.$/);
      assert.ok(run.seen <= 20, `${run.seen} users read after the directory was disabled`);
      // Each batch asks in its own transaction: the page read after the disable wrote nothing.
      assert.deepEqual([run.created, run.updated, run.disabled], [0, 0, 0], JSON.stringify(run));
    } finally {
      assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { enabled: true, pageSize: 500 })).status, 200);
    }
  });

  it("reports two entries with the same uniqueId as a problem of the second, not a failed run", async () => {
    // A directory keyed by an attribute its administrators fill in, where a copy-paste can repeat a value.
    await ldap.add(`ou=Twins,${tree.suffix}`, { objectClass: ["organizationalUnit"], ou: "Twins" });
    for (const uid of ["twin1", "twin2"]) await ldap.add(`uid=${uid},ou=Twins,${tree.suffix}`, { objectClass: ["inetOrgPerson"], uid, cn: uid, sn: uid, employeeNumber: "E-1" });
    const twins = await api("POST", "/security/v1/external-user-storage", {
      ...directoryConfig(tree, slapd, { name: "twins", userSearchBase: `ou=Twins,${tree.suffix}`, groupEntryDnList: [] }),
      attributeMapping: { uniqueId: "employeeNumber" },
    });
    assert.equal(twins.status, 201, twins.text);
    const run = await syncAndWait(server(), token, twins.body.id, { mode: "full" });
    assert.equal(run.state, "succeeded", run.message);
    assert.deepEqual([run.seen, run.created, run.failed], [2, 1, 1]);
    assert.deepEqual(run.problems.map((p: any) => p.message), ["Another entry of this page has the same employeeNumber."]);
  });

  it("takes a user whose entry is answered without its uniqueId (unreadable to the bind account, say) for present, not gone", async () => {
    await ldap.add(`ou=Keyless,${tree.suffix}`, { objectClass: ["organizationalUnit"], ou: "Keyless" });
    for (const uid of ["kl1", "kl2", "kl3"]) await ldap.add(`uid=${uid},ou=Keyless,${tree.suffix}`, { objectClass: ["inetOrgPerson", "lockableAccount"], uid, cn: uid, sn: uid, employeeNumber: `K-${uid}` });
    const keyless = await api("POST", "/security/v1/external-user-storage", {
      ...directoryConfig(tree, slapd, { name: "keyless", userSearchBase: `ou=Keyless,${tree.suffix}`, groupEntryDnList: [] }),
      attributeMapping: { uniqueId: "employeeNumber" },
      disableLimitPercent: 100,
    });
    assert.equal(keyless.status, 201, keyless.text);
    const first = await syncAndWait(server(), token, keyless.body.id, { mode: "full" });
    assert.deepEqual([first.state, first.created], ["succeeded", 3], first.message);
    await ldap.modify(`uid=kl2,ou=Keyless,${tree.suffix}`, new Change({ operation: "delete", modification: new Attribute({ type: "employeeNumber" }) }));
    const run = await syncAndWait(server(), token, keyless.body.id, { mode: "full" });
    assert.deepEqual([run.state, run.seen, run.failed, run.disabled, run.message], ["succeeded", 3, 0, 0, null], run.message);
    const kept = 'The entry has no employeeNumber. The user "kl2" at this DN is not taken for gone: it keeps what it had, and is disabled when the entry is, but is enabled again only by the entry with its employeeNumber.';
    assert.deepEqual(run.problems.map((p: any) => p.message), [kept]);
    assert.equal((await user("kl2")).enabled, true);
    // Still without its key, locked in the directory: the user is disabled. Unlocked, it stays so — the keyless entry
    // at its DN may be a newcomer's (the user gone, and another made there) — until the entry has its key again.
    for (const operation of ["add", "delete"] as const) {
      await ldap.modify(`uid=kl2,ou=Keyless,${tree.suffix}`, new Change({ operation, modification: new Attribute({ type: "nsAccountLock", values: operation === "add" ? ["TRUE"] : [] }) }));
      const locked = await syncAndWait(server(), token, keyless.body.id, { mode: "full" });
      assert.deepEqual([locked.state, locked.problems.map((p: any) => p.message)], ["succeeded", [kept]], locked.message);
      assert.equal((await user("kl2")).enabled, false, operation);
    }
    await ldap.modify(`uid=kl2,ou=Keyless,${tree.suffix}`, new Change({ operation: "add", modification: new Attribute({ type: "employeeNumber", values: ["K-kl2"] }) }));
    const keyed = await syncAndWait(server(), token, keyless.body.id, { mode: "full" });
    assert.deepEqual([keyed.state, keyed.problems], ["succeeded", []], keyed.message);
    assert.equal((await user("kl2")).enabled, true);
    // Gone for good, it is disabled as any user gone.
    await ldap.del(`uid=kl2,ou=Keyless,${tree.suffix}`);
    const gone = await syncAndWait(server(), token, keyless.body.id, { mode: "full" });
    assert.equal(gone.disabled, 1, gone.message);
    assert.equal((await user("kl2")).enabled, false);
  });

  it("an entry deleted and created again (a new uniqueId) does not take over the user of its name: reported with what to do, and imported once that user is deleted", async () => {
    const ou = `ou=Reborn,${tree.suffix}`;
    await ldap.add(ou, { objectClass: ["organizationalUnit"], ou: "Reborn" });
    const dn = `uid=reborn1,${ou}`;
    const add = () => ldap.add(dn, { objectClass: ["inetOrgPerson"], uid: "reborn1", cn: "Reborn One", sn: "One" });
    await add();
    const d = await api("POST", "/security/v1/external-user-storage", directoryConfig(tree, slapd, { name: "reborn", userSearchBase: ou, groupEntryDnList: [], disableLimitPercent: 100 }));
    assert.equal(d.status, 201, d.text);
    assert.equal((await syncAndWait(server(), token, d.body.id, { mode: "full" })).created, 1);
    const former = await user("reborn1");
    await ldap.del(dn);
    await add();
    const run = await syncAndWait(server(), token, d.body.id, { mode: "full" });
    assert.deepEqual([run.state, run.created, run.disabled, run.failed], ["succeeded", 0, 1, 1], run.message);
    assert.deepEqual(run.problems.map((p: any) => [p.dn, p.message]), [
      [
        dn,
        'The username or login name "reborn1" is taken by another user of this directory, whose entry has another entryUUID (an entry deleted and created again has a new one): ' +
          "it is not taken over, so that the new entry gets none of its groups, keys or history. If that user's entry is gone, delete the user once a full sync has disabled it as gone, " +
          "and the next full sync imports this entry; if both entries exist, rename one of them in the directory.",
      ],
    ]);
    const disabled = await user("reborn1");
    assert.deepEqual([disabled.id, disabled.enabled], [former.id, false]);
    assert.equal((await api("DELETE", `/security/v1/users/${former.id}`)).status, 204);
    const again = await syncAndWait(server(), token, d.body.id, { mode: "full" });
    assert.deepEqual([again.state, again.created, again.problems], ["succeeded", 1, []], again.message);
    const reborn = await user("reborn1");
    assert.notEqual(reborn.id, former.id);
    assert.equal(reborn.enabled, true);
  });

  it("imports no directory group whose name the group API refuses (a /, as sent or once normalized), listed, nested or mapped: a problem of that entry", async () => {
    const ou = `ou=Slashed,${tree.suffix}`;
    await ldap.add(ou, { objectClass: ["organizationalUnit"], ou: "Slashed" });
    const person = `uid=slashed1,${ou}`;
    await ldap.add(person, { objectClass: ["inetOrgPerson"], uid: "slashed1", cn: "Slashed Person", sn: "Person" });
    // R&D/Ops – Zürich listed; Night/Shift nested in a team that is listed; Ops／On-call (fullwidth: a / once normalized) mapped.
    const listed = `cn=R&D/Ops – Zürich,${ou}`;
    const nested = `cn=Night/Shift,${ou}`;
    const mapped = `cn=Ops\uff0fOn-call,${ou}`;
    const team = `cn=slashed-team,${ou}`;
    for (const [dn, member] of [[listed, [person]], [nested, [person]], [mapped, [person]], [team, [person, nested]]] as const) {
      await ldap.add(dn, { objectClass: ["groupOfNames"], cn: dn.slice(3, dn.indexOf(",")), member: [...member] });
    }
    const local = await createGroup(server(), token, "slashed-mapped");
    const slashed = await api("POST", "/security/v1/external-user-storage", directoryConfig(tree, slapd, { name: "slashed", userSearchBase: ou, groupEntryDnList: [listed, team], groupMappings: [{ groupDn: mapped, localGroupId: local }] }));
    assert.equal(slashed.status, 201, slashed.text);
    const run = await syncAndWait(server(), token, slashed.body.id, { mode: "full" });
    assert.deepEqual([run.state, run.created], ["succeeded", 1], run.message);
    const refused = (name: string) => `The group's name "${name}" (cn) is not valid here: a group's name must not hold / or control characters, nor start or end with white space.`;
    const problems = run.problems.map((p: any) => [p.dn.toLowerCase(), p.message]);
    for (const [dn, name] of [[listed, "R&D/Ops – Zürich"], [nested, "Night/Shift"], [mapped, "Ops/On-call"]]) assert.ok(problems.some(([at, message]: string[]) => at === dn!.toLowerCase() && message === refused(name!)), JSON.stringify(run.problems));
    assert.ok(problems.some(([at, message]: [string, string]) => at === mapped.toLowerCase() && /^A group of groupMappings was not found in the directory, or not imported \(a problem of its own says why\)/.test(message)), JSON.stringify(run.problems));
    const groups = (await api("GET", "/security/v1/user-groups")).body as any[];
    assert.deepEqual(groups.filter((g) => g.name.includes("/") || g.path?.slice(1).includes("/")), []);
    assert.deepEqual((await user("slashed1")).groups, ["slashed-team", "users"]);

    // A directory named before the group-name rules: a group whose name is taken is not imported under "<name> (<directory name>)" when that breaks them.
    await createGroup(server(), token, "slashed-taken");
    const taken = `cn=slashed-taken,${ou}`;
    await ldap.add(taken, { objectClass: ["groupOfNames"], cn: "slashed-taken", member: [person] });
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${slashed.body.id}`, { groupEntryDnList: [taken] })).status, 200);
    await server().server.deps.store.db.updateTable("directories").set({ name: "slashed/legacy" }).where("uuid", "=", slashed.body.id).execute();
    const legacy = await syncAndWait(server(), token, slashed.body.id, { mode: "full" });
    assert.equal(legacy.state, "succeeded", legacy.message);
    assert.ok(legacy.problems.some((p: any) => p.message === 'The group name "slashed-taken" is taken by a local group, and "slashed-taken (slashed/legacy)" is not valid here: a group\'s name must not hold / or control characters, nor start or end with white space, nor hold an invisible character.'), JSON.stringify(legacy.problems));
    assert.deepEqual((await api("GET", `/security/v1/user-groups?search=${encodeURIComponent("(slashed")}`)).body, []);
  });

  it("keeps the name of a group imported before its name broke the group-name rule; its DN and members follow the entry (nesting and mappings find it)", async () => {
    const ou = `ou=PreRule,${tree.suffix}`;
    await ldap.add(ou, { objectClass: ["organizationalUnit"], ou: "PreRule" });
    const person = `uid=prerule1,${ou}`;
    await ldap.add(person, { objectClass: ["inetOrgPerson"], uid: "prerule1", cn: "Pre Rule", sn: "Rule" });
    const group = `cn=pre-rule,${ou}`;
    await ldap.add(group, { objectClass: ["groupOfNames"], cn: "pre-rule", member: [person] });
    const d = await api("POST", "/security/v1/external-user-storage", directoryConfig(tree, slapd, { name: "prerule", userSearchBase: ou, groupEntryDnList: [group] }));
    assert.equal(d.status, 201, d.text);
    assert.equal((await syncAndWait(server(), token, d.body.id, { mode: "full" })).state, "succeeded");
    assert.deepEqual((await user("prerule1")).groups, ["pre-rule", "users"]);
    // Renamed in the directory to a name the rule refuses (as names imported before the rule was made): the same group by its uniqueId.
    const renamed = `cn=pre/rule,${ou}`;
    await ldap.modifyDN(group, renamed);
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${d.body.id}`, { groupEntryDnList: [renamed] })).status, 200);
    const run = await syncAndWait(server(), token, d.body.id, { mode: "full" });
    assert.equal(run.state, "succeeded", run.message);
    assert.ok(run.problems.some((p: any) => p.dn.toLowerCase() === renamed.toLowerCase() && / The group imported from it keeps its name "pre-rule"; its DN, description and members follow the entry\.$/.test(p.message)), JSON.stringify(run.problems));
    assert.deepEqual((await user("prerule1")).groups, ["pre-rule", "users"]);
    const preRule = (await api("GET", "/security/v1/user-groups?search=pre-rule")).body.find((g: any) => g.name === "pre-rule");
    assert.equal(preRule.dn.toLowerCase(), renamed.toLowerCase());
    // Nested under its new DN in a group imported, mapped by its new DN, given another member: each follows.
    const person2 = `uid=prerule2,${ou}`;
    await ldap.add(person2, { objectClass: ["inetOrgPerson"], uid: "prerule2", cn: "Pre Rule Two", sn: "Rule" });
    await ldap.modify(renamed, new Change({ operation: "add", modification: new Attribute({ type: "member", values: [person2] }) }));
    const outer = `cn=pre-rule-outer,${ou}`;
    await ldap.add(outer, { objectClass: ["groupOfNames"], cn: "pre-rule-outer", member: [renamed] });
    const local = await createGroup(server(), token, "pre-rule-mapped");
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${d.body.id}`, { groupEntryDnList: [outer], groupMappings: [{ groupDn: renamed, localGroupId: local }] })).status, 200);
    const nested = await syncAndWait(server(), token, d.body.id, { mode: "full" });
    assert.equal(nested.state, "succeeded", nested.message);
    assert.ok(!nested.problems.some((p: any) => /groupMappings/.test(p.message)), JSON.stringify(nested.problems));
    for (const uid of ["prerule1", "prerule2"]) assert.deepEqual((await user(uid)).groups, ["pre-rule", "pre-rule-mapped", "pre-rule-outer", "users"], uid);
  });

  it("imports no entry of groupEntryDnList that is no group (a person's DN): reported", async () => {
    await ldap.add(`ou=Solo,${tree.suffix}`, { objectClass: ["organizationalUnit"], ou: "Solo" });
    const person = `uid=solo1,ou=Solo,${tree.suffix}`;
    await ldap.add(person, { objectClass: ["inetOrgPerson"], uid: "solo1", cn: "Solo Person", sn: "Person" });
    const solo = await api("POST", "/security/v1/external-user-storage", directoryConfig(tree, slapd, { name: "solo", userSearchBase: `ou=Solo,${tree.suffix}`, groupEntryDnList: [person] }));
    assert.equal(solo.status, 201, solo.text);
    const run = await syncAndWait(server(), token, solo.body.id, { mode: "full" });
    assert.deepEqual([run.state, run.created], ["succeeded", 1], run.message);
    assert.deepEqual(run.problems.map((p: any) => [p.dn, p.message]), [[person, "The entry is no group here: it does not match groupFilter."]]);
    assert.deepEqual((await api("GET", "/security/v1/user-groups?search=Solo")).body, []);
    // A group imported before groupFilter was narrowed past it keeps its members, and says why; so do the groups nested in it.
    const team = `cn=solo-team,ou=Solo,${tree.suffix}`;
    const nested = `cn=solo-nested,ou=Solo,${tree.suffix}`;
    await ldap.add(`uid=solo2,ou=Solo,${tree.suffix}`, { objectClass: ["inetOrgPerson"], uid: "solo2", cn: "Solo Nested", sn: "Nested" });
    await ldap.add(nested, { objectClass: ["groupOfNames"], cn: "solo-nested", member: [`uid=solo2,ou=Solo,${tree.suffix}`] });
    await ldap.add(team, { objectClass: ["groupOfNames"], cn: "solo-team", member: [person, nested] });
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${solo.body.id}`, { groupEntryDnList: [team] })).status, 200);
    assert.equal((await syncAndWait(server(), token, solo.body.id, { mode: "full" })).state, "succeeded");
    assert.deepEqual((await user("solo1")).groups, ["solo-team", "users"]);
    assert.deepEqual((await user("solo2")).groups, ["solo-nested", "solo-team", "users"]);
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${solo.body.id}`, { groupFilter: "(&(objectClass=groupOfNames)(cn=no-such-team))" })).status, 200);
    const narrowed = await syncAndWait(server(), token, solo.body.id, { mode: "full" });
    const leftAsItIs = "The entry is no group here: it does not match groupFilter; the group imported from it is left as it is.";
    assert.deepEqual(narrowed.problems.map((p: any) => [p.dn, p.message]), [[team, leftAsItIs], [nested, leftAsItIs]]);
    assert.deepEqual([narrowed.left, narrowed.updated], [0, 0]);
    assert.deepEqual((await user("solo1")).groups, ["solo-team", "users"]);
    assert.deepEqual((await user("solo2")).groups, ["solo-nested", "solo-team", "users"]);
  });

  it("lets priority decide between directories: a lower number takes the user over; a group name held elsewhere gets the directory's name", async () => {
    // twin1 is the "twins" directory's (priority 0). A second directory over the same people with
    // priority 5 loses it; once "twins" is set to 9, the second takes twin1 over.
    const local = await createGroup(server(), token, "second-engineers");
    const second = await api("POST", "/security/v1/external-user-storage", {
      // disableLimitPercent 100: a full sync would disable any of its users it did not see.
      ...directoryConfig(tree, slapd, { name: "second", priority: 5, disableLimitPercent: 100, userSearchBase: `ou=Twins,${tree.suffix}`, groupEntryDnList: [tree.groupDn("engineering")] }),
      groupMappings: [{ groupDn: tree.groupDn("engineering"), localGroupId: local }],
    });
    assert.equal(second.status, 201, second.text);
    const twin1 = await user("twin1");
    const lost = await syncAndWait(server(), token, second.body.id, { mode: "full" });
    assert.equal(lost.state, "succeeded", lost.message);
    assert.ok(lost.problems.some((p: any) => /"twin1" is taken by a user of the directory "twins"/.test(p.message)), JSON.stringify(lost.problems));
    assert.ok(!lost.problems.some((p: any) => /not imported|is taken by a group/.test(p.message)), JSON.stringify(lost.problems));
    const groups = (await api("GET", "/security/v1/user-groups?search=engineering")).body.map((g: any) => g.name);
    assert.ok(groups.includes("engineering (second)"), groups.join(", "));

    const twins = (await api("GET", "/security/v1/external-user-storage")).body.find((x: any) => x.name === "twins");
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${twins.id}`, { priority: 9 })).status, 200);
    // One email for both entries: held by "twins" (twin1), it does not stop "second", which outranks it, from taking it for twin2.
    for (const uid of ["twin1", "twin2"]) {
      await ldap.modify(`uid=${uid},ou=Twins,${tree.suffix}`, new Change({ operation: "replace", modification: new Attribute({ type: "mail", values: ["twins@example.com"] }) }));
    }
    assert.equal((await syncAndWait(server(), token, twins.id, { mode: "full" })).state, "succeeded");
    assert.equal((await user("twin1")).email, "twins@example.com");
    const won = await syncAndWait(server(), token, second.body.id, { mode: "full" });
    assert.equal(won.state, "succeeded", won.message);
    assert.ok(!won.problems.some((p: any) => /is taken/.test(p.message)), JSON.stringify(won.problems));
    assert.equal((await user("twin2")).email, "twins@example.com");
    const moved = await user("twin1");
    assert.equal(moved.id, twin1.id, "the same account");
    assert.equal(moved.source.id, second.body.id);
    assert.equal(moved.enabled, true, "seen by the sync that took it over");
    assert.deepEqual([won.disabled, won.message], [0, null]);
    const events = (await api("GET", `/security/v1/audit-events?target=${twin1.id}&action=user.update`)).body;
    assert.ok(events.some((e: any) => e.details.before.directory === "twins" && e.details.after.directory === "second"), JSON.stringify(events));
    // The directory that lost it says so, and disables nobody for it.
    const back = await syncAndWait(server(), token, twins.id, { mode: "full" });
    assert.ok(back.problems.some((p: any) => /"twin1" is taken by a user of the directory "second"/.test(p.message)), JSON.stringify(back.problems));
    assert.equal((await user("twin1")).enabled, true);
  });

  it("removes only the memberships a sync made: a user an administrator put into a mapped local group by hand stays there", async () => {
    const [left, kept, keptInBulk, listedByImport, added] = [generatedName(2002), generatedName(2003), generatedName(2004), generatedName(2005), generatedName(4000)];
    const synced = ["developers", "directory-engineers", "engineering", "staff", "users"];
    for (const name of [kept, listedByImport]) assert.deepEqual((await user(name)).groups, synced);
    // Added by hand: one the sync had not made, and two it had (from now on the administrator's), one of them by a bulk action.
    for (const name of [added, kept]) assert.equal((await api("PUT", `/security/v1/users/${(await user(name)).id}/user-groups/${mappedGroup}`)).status, 204);
    const bulk = await api("POST", "/security/v1/users/bulk-actions", { action: "add-to-group", ids: [(await user(keptInBulk)).id], groupId: mappedGroup });
    assert.equal(bulk.status, 202, bulk.text);
    await server().server.deps.bulkActions.settled(bulk.body.id);
    assert.equal((await api("GET", `/security/v1/users/bulk-actions/${bulk.body.id}`)).body.changed, 1);
    // An import's row names all of a user's groups (those left out are removed): naming the ones a sync
    // gave leaves them the sync's, or a provisioning file would stop the directory from taking access away.
    const imported = await server().api("POST", "/security/v1/users/import", { token, body: `${JSON.stringify({ username: listedByImport, groups: synced })}\n`, headers: { "content-type": "application/x-ndjson" } });
    assert.match(imported.text, /"status":"unchanged"/);
    for (const name of [left, kept, keptInBulk, listedByImport]) {
      await ldap.modify(tree.groupDn("engineering"), new Change({ operation: "delete", modification: new Attribute({ type: "member", values: [tree.dn(name)] }) }));
    }
    for (const [mode, removed] of [["changed", 14], ["full", 0]] as const) {
      const run = await sync({ mode });
      assert.equal(run.state, "succeeded", run.message);
      // Each of the four leaves engineering and the two groups engineering is nested in; two of them the local group it maps to.
      assert.deepEqual([run.joined, run.left], [0, removed], mode);
      for (const name of [left, listedByImport]) assert.deepEqual((await user(name)).groups, ["users"], `${name}, ${mode}`);
      for (const name of [kept, keptInBulk, added]) assert.deepEqual((await user(name)).groups, ["directory-engineers", "users"], `${name}, ${mode}`);
    }
  });

  it("a mapping removed takes the memberships the sync made in its local group away at the next sync, a `changed` one too; those added by hand stay", async () => {
    const members = async () => ((await api("GET", `/security/v1/user-groups/${mappedGroup}/members`)).body as any[]).map((u) => u.username).sort();
    const byHand = [generatedName(2003), generatedName(2004), generatedName(4000)].sort();
    const before = await members();
    assert.ok(before.length > byHand.length + 10, "the sync filled the mapped group");
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { groupMappings: [] })).status, 200);
    const run = await sync({ mode: "changed" });
    assert.equal(run.state, "succeeded", run.message);
    assert.equal(run.left, before.length - byHand.length);
    assert.deepEqual(await members(), byHand);
    const events = (await api("GET", `/security/v1/audit-events?action=group.member.remove&max=1000`)).body as any[];
    assert.ok(events.some((e) => e.actor === "directory:openldap directory" && e.details.groups.some((g: { groupId: string }) => g.groupId === mappedGroup)), "audited");
    // Mapped again, the next sync fills it again.
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { groupMappings: [{ groupDn: tree.groupDn("engineering"), localGroupId: mappedGroup }] })).status, 200);
    assert.equal((await sync({ mode: "full" })).state, "succeeded");
    assert.deepEqual(await members(), before);
  });

  it("two mappings into one local group: a `changed` sync follows adding and removing one; a mapping whose directory group is not found takes nobody out", async () => {
    const members = async (group: string) => ((await api("GET", `/security/v1/user-groups/${group}/members`)).body as any[]).map((u) => u.username).sort();
    const before = await members(mappedGroup);
    const office = (await api("GET", "/security/v1/user-groups?search=office")).body.find((g: any) => g.name === "zürich-office").id;
    const officeOnly = (await members(office)).filter((name) => !before.includes(name));
    assert.ok(officeOnly.length > 10, "people of the office who are no engineers");
    const mapTo = async (...dns: string[]) => assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { groupMappings: dns.map((groupDn) => ({ groupDn, localGroupId: mappedGroup })) })).status, 200);

    await mapTo(tree.groupDn("engineering"), tree.groupDn("zürich-office"));
    let run = await sync({ mode: "changed" });
    assert.equal(run.state, "succeeded", run.message);
    assert.deepEqual(await members(mappedGroup), [...new Set([...before, ...officeOnly])].sort());
    await mapTo(tree.groupDn("engineering"));
    run = await sync({ mode: "changed" });
    assert.deepEqual([run.state, run.left], ["succeeded", officeOnly.length]);
    assert.deepEqual(await members(mappedGroup), before);

    // A mistyped DN (or a group the directory did not answer): reported, and its local group left as it is.
    const typo = tree.groupDn("engineering").replace("engineering", "enginering");
    await mapTo(typo);
    run = await sync({ mode: "full" });
    assert.deepEqual([run.state, run.left], ["succeeded", 0]);
    assert.ok(run.problems.some((p: any) => p.dn === typo), JSON.stringify(run.problems));
    assert.deepEqual(await members(mappedGroup), before);
    // Beside a mapping that is found: its members, in the local group already, are unchanged, not counted as joining again.
    await mapTo(tree.groupDn("engineering"), typo);
    run = await sync({ mode: "full" });
    assert.deepEqual([run.state, run.updated, run.joined, run.left], ["succeeded", 0, 0, 0]);
    assert.deepEqual(await members(mappedGroup), before);
    await mapTo(tree.groupDn("engineering"));
    run = await sync({ mode: "full" });
    assert.deepEqual([run.state, run.joined, run.left], ["succeeded", 0, 0]);
  });

  it("a mapping added to a group never imported fills its local group at a `changed` sync; the group gone from the directory leaves it as it is until the mapping goes", async () => {
    const members = async (group: string) => ((await api("GET", `/security/v1/user-groups/${group}/members`)).body as any[]).map((u) => u.username).sort();
    const shift = [generatedName(4000), generatedName(4001), generatedName(4002)];
    const nightDn = `cn=night-shift,${tree.groupDn("staff").split(",").slice(1).join(",")}`;
    await ldap.add(nightDn, { objectClass: ["groupOfNames"], cn: "night-shift", member: shift.map((name) => tree.dn(name)) });
    const local = await createGroup(server(), token, "night-shift-local");
    const mapTo = async (mappings: [string, string][]) =>
      assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { groupMappings: mappings.map(([groupDn, localGroupId]) => ({ groupDn, localGroupId })) })).status, 200);
    await mapTo([[tree.groupDn("engineering"), mappedGroup], [nightDn, local]]);
    let run = await sync({ mode: "changed" });
    assert.equal(run.state, "succeeded", run.message);
    assert.deepEqual(await members(local), shift);

    await ldap.del(nightDn);
    run = await sync({ mode: "full" });
    // They leave the directory's own group night-shift, not the local group it fills.
    assert.deepEqual([run.state, run.left], ["succeeded", 3], JSON.stringify(run.problems));
    assert.ok(run.problems.some((p: any) => p.dn === nightDn), JSON.stringify(run.problems));
    assert.deepEqual(await members(local), shift, "left as it is");
    // A `changed` sync that reads one of its members leaves it too.
    await ldap.modify(tree.dn(shift[0]!), new Change({ operation: "replace", modification: new Attribute({ type: "givenName", values: ["Night"] }) }));
    run = await sync({ mode: "changed" });
    assert.deepEqual([run.state, run.updated, run.left], ["succeeded", 1, 0]);
    assert.deepEqual(await members(local), shift);
    // The mapping removed: the memberships it made go.
    await mapTo([[tree.groupDn("engineering"), mappedGroup]]);
    run = await sync({ mode: "changed" });
    assert.deepEqual([run.state, run.left], ["succeeded", 3]);
    assert.deepEqual(await members(local), []);
  });

  it("imports a posixGroup, whose memberUid names members by login name (any case): full and `changed` syncs, its mapping too", async () => {
    const members = async (group: string) => ((await api("GET", `/security/v1/user-groups/${group}/members`)).body as any[]).map((u) => u.username).sort();
    const [a, b, c] = [generatedName(4000), generatedName(4001), generatedName(4002)];
    const unixDn = `cn=unix-admins,${tree.groupDn("staff").split(",").slice(1).join(",")}`;
    await ldap.add(unixDn, { objectClass: ["posixGroup"], cn: "unix-admins", gidNumber: "5000", memberUid: [a, b.toUpperCase()] });
    const local = await createGroup(server(), token, "unix-admins-local");
    const configured = async (groupEntryDnList: string[], groupMappings: { groupDn: string; localGroupId: string }[]) =>
      assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { groupEntryDnList, groupMappings })).status, 200);
    const initial = (await api("GET", `/security/v1/external-user-storage/${id}`)).body;
    await configured([...initial.groupEntryDnList, unixDn], [...initial.groupMappings, { groupDn: unixDn, localGroupId: local }]);
    let run = await sync();
    assert.equal(run.state, "succeeded", run.message);
    assert.deepEqual(run.problems.filter((p: any) => p.dn === unixDn), []);
    assert.deepEqual(await members(local), [a, b]);
    assert.ok((await user(a)).groups.includes("unix-admins"));
    assert.equal((await user(c)).groups.includes("unix-admins"), false);

    // One in, one out: a `changed` sync reads the group and checks the memberships of both.
    await ldap.modify(unixDn, [
      new Change({ operation: "delete", modification: new Attribute({ type: "memberUid", values: [a] }) }),
      new Change({ operation: "add", modification: new Attribute({ type: "memberUid", values: [c] }) }),
    ]);
    run = await sync({ mode: "changed" });
    assert.deepEqual([run.state, run.joined, run.left], ["succeeded", 2, 2], run.message);
    assert.deepEqual(await members(local), [b, c]);
    assert.deepEqual([(await user(a)).groups.includes("unix-admins"), (await user(c)).groups.includes("unix-admins")], [false, true]);

    await configured(initial.groupEntryDnList, initial.groupMappings);
    await ldap.del(unixDn);
    run = await sync();
    assert.equal(run.state, "succeeded", run.message);
    assert.deepEqual(await members(local), []);
  });
});

/** Replaces one member DN of a group by another. */
async function replaceMember(group: string, from: string, to: string): Promise<void> {
  await ldap.modify(group, [
    new Change({ operation: "delete", modification: new Attribute({ type: "member", values: [from] }) }),
    new Change({ operation: "add", modification: new Attribute({ type: "member", values: [to] }) }),
  ]);
}
