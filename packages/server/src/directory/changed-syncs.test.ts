import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Attribute, Change, type Client } from "ldapts";
import { directoryConfig, domainController, startDirectory, syncAndWait } from "../test-support/directories.js";
import { DIRECTORY_USER_PASSWORD, generatedName, type DirectoryTree } from "../test-support/directory-trees.js";
import { createGroup } from "../test-support/accounts.js";
import { describeEachStore } from "../test-support/server.js";
import type { Slapd } from "../test-support/slapd.js";
import { dnKey } from "./dn.js";

/**
 * `changed` syncs of the Active-Directory-like tree in a real slapd, whose change marks (uSNChanged)
 * move only where a test writes them, as a domain controller's: a group that did not change is not
 * read again. Its root DSE names the controller, as Active Directory's does.
 */
describeEachStore("changed syncs (Active Directory)", (server) => {
  let tree: DirectoryTree;
  let slapd: Slapd;
  let ldap: Client;
  let token: string;
  let id: string;
  /** A change to a user's entry, with the next change number. */
  const touch = async (n: number) =>
    ldap.modify(tree.dn(generatedName(n)), [
      new Change({ operation: "replace", modification: new Attribute({ type: "givenName", values: [`Changed${n}`] }) }),
      new Change({ operation: "replace", modification: new Attribute({ type: "uSNChanged", values: [String(++tree.usn)] }) }),
    ]);

  before(async () => {
    ({ tree, slapd } = await startDirectory("ad", 200));
    ldap = await slapd.admin();
    token = await server().login();
    const created = await server().api("POST", "/security/v1/external-user-storage", { token, body: directoryConfig(tree, slapd) });
    assert.equal(created.status, 201, created.text);
    id = created.body.id;
    assert.equal((await syncAndWait(server(), token, id)).state, "succeeded");
  });
  after(async () => {
    await ldap?.unbind().catch(() => {});
    await slapd?.setRootDse(domainController(tree, "DC1"));
    await slapd?.remove();
  });

  it("keeps enabled a user its entry disables while no other account could act as system administrator", async () => {
    const s = server();
    const name = generatedName(80);
    const root = await createGroup(s, token, "directory-root", ["system-administrator"]);
    const admin = ((await s.api("GET", `/security/v1/users?search=${name}`, { token })).body as any[]).find((u) => u.username === name);
    assert.equal((await s.api("PUT", `/security/v1/users/${admin.id}/user-groups/${root}`, { token })).status, 204);
    const own = (await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: name, password: DIRECTORY_USER_PASSWORD } })).body.access_token;
    const { db } = s.server.deps.store;
    // sysadmin cannot log in for now: the directory's user is the one system administrator left.
    await db.updateTable("users").set({ enabled: 0 }).where("username", "=", "sysadmin").execute();
    const disable = (control: number) =>
      ldap.modify(tree.dn(name), [
        new Change({ operation: "replace", modification: new Attribute({ type: "userAccountControl", values: [String(control)] }) }),
        new Change({ operation: "replace", modification: new Attribute({ type: "uSNChanged", values: [String(++tree.usn)] }) }),
      ]);
    try {
      await disable(514);
      const run = await syncAndWait(s, own, id, { mode: "changed" });
      assert.equal(run.state, "succeeded", run.message);
      assert.equal(run.disabled, 0);
      assert.ok(run.problems.some((p: any) => p.dn.includes(name) && /no account could act as system administrator/.test(p.message)), JSON.stringify(run.problems));
      assert.equal((await s.api("GET", `/security/v1/users/${admin.id}`, { token: own })).body.enabled, true);
    } finally {
      await db.updateTable("users").set({ enabled: 1 }).where("username", "=", "sysadmin").execute();
    }
    // With sysadmin back, the next full sync follows the entry.
    assert.equal((await syncAndWait(s, token, id)).state, "succeeded");
    assert.equal((await s.api("GET", `/security/v1/users/${admin.id}`, { token })).body.enabled, false);
    await disable(512);
  });

  it("keeps the groups of a user renamed or moved, which Active Directory lists under the new DN in groups whose uSNChanged stays", async () => {
    const s = server();
    const name = generatedName(90);
    const user = async () => ((await s.api("GET", `/security/v1/users?extendedInfo=true&search=${name}`, { token })).body as any[]).find((u) => u.username === name);
    const before = (await user()).groups as string[];
    assert.ok(before.includes("staff"), before.join(", "));
    const newDn = tree.dn(name, ["Berlin"]);
    await ldap.modifyDN(tree.dn(name), newDn);
    await ldap.modify(newDn, new Change({ operation: "replace", modification: new Attribute({ type: "uSNChanged", values: [String(++tree.usn)] }) }));
    // As a domain controller does: the member value follows, the group's uSNChanged does not move.
    await ldap.modify(tree.groupDn("staff"), [
      new Change({ operation: "delete", modification: new Attribute({ type: "member", values: [tree.dn(name)] }) }),
      new Change({ operation: "add", modification: new Attribute({ type: "member", values: [newDn] }) }),
    ]);
    const changed = await syncAndWait(s, token, id, { mode: "changed" });
    assert.deepEqual([changed.state, changed.left], ["succeeded", 0], changed.message);
    const after = await user();
    assert.deepEqual([dnKey(after.dn), after.groups], [dnKey(newDn), before]);
    const full = await syncAndWait(s, token, id);
    assert.deepEqual([full.state, full.joined, full.left], ["succeeded", 0, 0], full.message);
  });

  it("shows in the users list what a `changed` sync changed: a user's own fields alone (its document rewritten in place), or with a group it joined", async () => {
    const s = server();
    const [alone, joining] = [generatedName(91), generatedName(92)];
    const user = async (name: string) => ((await s.api("GET", `/security/v1/users?extendedInfo=true&search=${name}`, { token })).body as any[]).find((u) => u.username === name);
    const [aloneBefore, joiningBefore] = [await user(alone), await user(joining)];
    assert.ok(!joiningBefore.groups.includes("developers"), joiningBefore.groups.join(", "));
    await touch(91);
    await touch(92);
    await ldap.modify(tree.groupDn("developers"), [
      new Change({ operation: "add", modification: new Attribute({ type: "member", values: [tree.dn(joining)] }) }),
      new Change({ operation: "replace", modification: new Attribute({ type: "uSNChanged", values: [String(++tree.usn)] }) }),
    ]);
    const changed = await syncAndWait(s, token, id, { mode: "changed" });
    assert.equal(changed.state, "succeeded", changed.message);
    const [aloneAfter, joiningAfter] = [await user(alone), await user(joining)];
    assert.deepEqual([aloneAfter.firstName, aloneAfter.groups, aloneAfter.dn], ["Changed91", aloneBefore.groups, aloneBefore.dn]);
    assert.equal(joiningAfter.firstName, "Changed92");
    assert.deepEqual(joiningAfter.groups, [...new Set([...joiningBefore.groups, "developers", "engineering"])].sort());
  });

  it("reads again a group whose member list a run left half-written", async () => {
    const { db } = server().server.deps.store;
    const staff = await db.selectFrom("groups").select("id").where("name", "=", "staff").where("directory_id", "is not", null).executeTakeFirstOrThrow();
    // As a run stopped while rewriting it leaves it: no hash, and only part of its members.
    await db.updateTable("groups").set({ member_hash: null }).where("id", "=", staff.id).execute();
    await db.deleteFrom("directory_members").where("group_id", "=", staff.id).where("member_key", "=", dnKey(tree.dn(generatedName(60)))).execute();
    await touch(60);
    const run = await syncAndWait(server(), token, id, { mode: "changed" });
    assert.deepEqual([run.state, run.left], ["succeeded", 0], run.message);
    const user = ((await server().api("GET", `/security/v1/users?extendedInfo=true&search=${generatedName(60)}`, { token })).body as any[]).find((u) => u.username === generatedName(60));
    assert.ok(user.groups.includes("staff"), user.groups.join(", "));
  });

  it("reads every user at the first `changed` sync after how users are read changed (attributeMapping, userFilter, userSearchBase), then only what changed", async () => {
    const s = server();
    const directory = `/security/v1/external-user-storage/${id}`;
    const firstName = async (name: string) => ((await s.api("GET", `/security/v1/users?search=${encodeURIComponent(name)}`, { token })).body as any[]).find((u) => u.username === name).firstName;
    // No entry changes: the mapping alone gives every user another first name.
    assert.equal((await s.api("PUT", directory, { token, body: { attributeMapping: { firstName: "sn" } } })).status, 200);
    try {
      const run = await syncAndWait(s, token, id, { mode: "changed" });
      assert.equal(run.state, "succeeded", run.message);
      assert.equal(run.message, "How users are read changed since the last sync (attributeMapping): every user was read (removals are found by full syncs).");
      assert.equal(run.seen, tree.userCount);
      assert.equal(await firstName("hmueller"), "Müller");
      // A change of anything else (the sync periods) does not make it read everything again.
      assert.equal((await s.api("PUT", directory, { token, body: { syncPeriodSeconds: { changed: 0 } } })).status, 200);
      const next = await syncAndWait(s, token, id, { mode: "changed" });
      assert.deepEqual([next.state, next.message], ["succeeded", null]);
      assert.ok(next.seen < 5, `${next.seen} read`);
    } finally {
      assert.equal((await s.api("PUT", directory, { token, body: { attributeMapping: { firstName: "givenName" } } })).status, 200);
    }
    // Set back: read again, every user.
    const back = await syncAndWait(s, token, id, { mode: "changed" });
    assert.equal(back.seen, tree.userCount, back.message);
    assert.equal(await firstName("hmueller"), "Hans");
    assert.equal((await s.api("PUT", directory, { token, body: { userSearchBase: tree.ouDn(["Zürich"]) } })).status, 200);
    try {
      const narrowed = await syncAndWait(s, token, id, { mode: "changed" });
      assert.match(narrowed.message, /^How users are read changed since the last sync \(userSearchBase\): every user was read/);
    } finally {
      assert.equal((await s.api("PUT", directory, { token, body: { userSearchBase: null } })).status, 200);
    }
    assert.equal((await syncAndWait(s, token, id, { mode: "changed" })).seen, tree.userCount);
  });

  it("reads only what changed at the same controller, and everything at another one behind the same address", async () => {
    await touch(1);
    const same = await syncAndWait(server(), token, id, { mode: "changed" });
    assert.deepEqual([same.state, same.message], ["succeeded", null]);
    assert.ok(same.seen < 5, `${same.seen} read at the same controller`);

    // The domain's name leads to another controller from now on.
    await ldap.unbind();
    try {
      await slapd.setRootDse(domainController(tree, "DC2"));
      const other = await syncAndWait(server(), token, id, { mode: "changed" });
      assert.equal(other.state, "succeeded", other.message);
      assert.match(other.message, /^CN=NTDS Settings,CN=DC2,.* answered, not the server the last mark came from \(marks are per server\): every user was read\.$/);
      assert.equal(other.seen, tree.userCount);
      // From then on, that controller's marks.
      const again = await syncAndWait(server(), token, id, { mode: "changed" });
      assert.deepEqual([again.state, again.message], ["succeeded", null]);
    } finally {
      ldap = await slapd.admin();
    }
  });
});
