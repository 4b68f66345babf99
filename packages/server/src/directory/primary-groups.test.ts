import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Attribute, Change, type Client } from "ldapts";
import { createGroup } from "../test-support/accounts.js";
import { directoryConfig, startDirectory, syncAndWait } from "../test-support/directories.js";
import { generatedName, type DirectoryTree } from "../test-support/directory-trees.js";
import { describeEachStore } from "../test-support/server.js";
import type { Slapd } from "../test-support/slapd.js";

/**
 * Active Directory's primary groups: a user's `primaryGroupID` (513, Domain Users, as a rule) makes it a
 * member of the group of its domain whose `objectSid` ends in that RID, and that group's `member`
 * does not list it. The Active-Directory-like tree in a real slapd, with a Domain Users group of its own.
 */
describeEachStore("primary groups (Active Directory)", (server) => {
  let tree: DirectoryTree;
  let slapd: Slapd;
  let ldap: Client;
  let token: string;
  const api = (method: string, path: string, body?: unknown) => server().api(method, path, { token, body });
  const groupsOf = async (username: string) => ((await api("GET", `/security/v1/users?extendedInfo=true&search=${encodeURIComponent(username)}`)).body as any[]).find((u) => u.username === username)?.groups as string[];
  /** A SID of the tree's domain, as its bytes: S-1-5-21-1-2-3-<rid>. */
  const sid = (rid: number) => {
    const bytes = Buffer.alloc(28);
    bytes.writeUInt8(1, 0);
    bytes.writeUInt8(5, 1);
    bytes.writeUIntBE(5, 2, 6);
    [21, 1, 2, 3, rid].forEach((n, i) => bytes.writeUInt32LE(n, 8 + 4 * i));
    return bytes;
  };
  const set = (dn: string, type: string, value: string | Buffer) => ldap.modify(dn, [new Change({ operation: "replace", modification: new Attribute({ type, values: [value as string] }) }), new Change({ operation: "replace", modification: new Attribute({ type: "uSNChanged", values: [String(++tree.usn)] }) })]);

  before(async () => {
    ({ tree, slapd } = await startDirectory("ad", 20));
    ldap = await slapd.admin();
    token = await server().login();
  });
  after(async () => {
    await ldap?.unbind().catch(() => {});
    await slapd?.remove();
  });

  it("counts the users whose primary group a group is among its members, as Active Directory lists them nowhere: mapped, they join its local group", async () => {
    const domainUsers = `CN=Domain Users,OU=Groups,${tree.suffix}`;
    // groupOfNames wants a member: ivan, listed as a member of another primary group would be.
    await ldap.add(domainUsers, { objectClass: ["groupOfNames", "group"], cn: "Domain Users", member: tree.dn("ivan"), objectSid: sid(513), objectGUID: tree.guid(domainUsers), uSNChanged: String(++tree.usn) } as never);
    await set(tree.groupDn("staff"), "objectSid", sid(1105));
    for (const name of ["hmueller", "zoe"]) await set(tree.dn(name), "primaryGroupID", "513");
    // Primary group 1105 (staff): listed in staff's member already, it is no member of Domain Users.
    await set(tree.dn(generatedName(1)), "primaryGroupID", "1105");
    const everyone = await createGroup(server(), token, "everyone");
    const created = await api("POST", "/security/v1/external-user-storage", directoryConfig(tree, slapd, { groupEntryDnList: [domainUsers, tree.groupDn("staff")], groupMappings: [{ groupDn: domainUsers, localGroupId: everyone }] }));
    assert.equal(created.status, 201, created.text);
    const run = await syncAndWait(server(), token, created.body.id);
    assert.equal(run.state, "succeeded", run.message);
    for (const name of ["hmueller", "zoe", "ivan"]) {
      const groups = await groupsOf(name);
      assert.ok(groups.includes("Domain Users") && groups.includes("everyone"), `${name}: ${groups}`);
    }
    assert.deepEqual((await groupsOf(generatedName(1))).filter((g) => g === "Domain Users" || g === "everyone" || g === "staff"), ["staff"]);
    // Another primary group: out of Domain Users at the next full sync.
    await set(tree.dn("zoe"), "primaryGroupID", "1105");
    assert.equal((await syncAndWait(server(), token, created.body.id)).state, "succeeded");
    assert.ok(!(await groupsOf("zoe")).includes("everyone"));
  });

  it("follows a primaryGroupID changed or new at a `changed` sync, which reads the users that changed and no group that did not", async () => {
    const id = ((await api("GET", "/security/v1/external-user-storage")).body as any[])[0].id;
    const inDomainUsers = async (name: string) => (await groupsOf(name)).filter((g) => g === "Domain Users" || g === "everyone");
    // zoe back in Domain Users, hmueller out: only their entries changed (a test's change, as a tool writing primaryGroupID alone makes it).
    await set(tree.dn("zoe"), "primaryGroupID", "513");
    await set(tree.dn("hmueller"), "primaryGroupID", "1105");
    const changed = await syncAndWait(server(), token, id, { mode: "changed" });
    assert.deepEqual([changed.state, changed.message], ["succeeded", null]);
    assert.ok(changed.seen < 5, `${changed.seen} read`);
    assert.deepEqual(await inDomainUsers("zoe"), ["Domain Users", "everyone"]);
    assert.deepEqual(await inDomainUsers("hmueller"), []);
    // A user of the domain made since: a member at the next `changed` sync.
    const dn = `CN=Nora Neu (nnew),OU=People,${tree.suffix}`;
    await ldap.add(dn, { objectClass: ["inetOrgPerson", "user"], cn: "Nora Neu (nnew)", sn: "Neu", givenName: "Nora", sAMAccountName: "nnew", objectGUID: tree.guid(dn), objectCategory: `CN=Person,CN=Schema,CN=Configuration,${tree.suffix}`, userAccountControl: "512", primaryGroupID: "513", uSNChanged: String(++tree.usn) } as never);
    assert.equal((await syncAndWait(server(), token, id, { mode: "changed" })).state, "succeeded");
    assert.deepEqual(await inDomainUsers("nnew"), ["Domain Users", "everyone"]);
    // Domain Users changed (its description): read again, its primary members not, and they stay.
    await set(`CN=Domain Users,OU=Groups,${tree.suffix}`, "description", "Everyone of the domain");
    const regrouped = await syncAndWait(server(), token, id, { mode: "changed" });
    assert.deepEqual([regrouped.state, regrouped.left], ["succeeded", 0], regrouped.message);
    for (const name of ["zoe", "nnew", "ivan"]) assert.deepEqual(await inDomainUsers(name), ["Domain Users", "everyone"], name);
    // Its member list changed: ivan out, hmueller in; its primary members stay.
    await set(`CN=Domain Users,OU=Groups,${tree.suffix}`, "member", tree.dn("hmueller"));
    const listed = await syncAndWait(server(), token, id, { mode: "changed" });
    assert.deepEqual([listed.state, listed.left, listed.joined], ["succeeded", 2, 2], listed.message);
    for (const name of ["zoe", "nnew", "hmueller"]) assert.deepEqual(await inDomainUsers(name), ["Domain Users", "everyone"], name);
    assert.deepEqual(await inDomainUsers("ivan"), []);
    // Nested: Domain Users made a member of staff, its primary members are staff's members too.
    assert.ok(!(await groupsOf("nnew")).includes("staff"));
    await ldap.modify(tree.groupDn("staff"), [new Change({ operation: "add", modification: new Attribute({ type: "member", values: [`CN=Domain Users,OU=Groups,${tree.suffix}`] }) }), new Change({ operation: "replace", modification: new Attribute({ type: "uSNChanged", values: [String(++tree.usn)] }) })]);
    assert.equal((await syncAndWait(server(), token, id, { mode: "changed" })).state, "succeeded");
    for (const name of ["zoe", "nnew", "hmueller"]) assert.ok((await groupsOf(name)).includes("staff"), name);
    // And a full sync agrees.
    const full = await syncAndWait(server(), token, id);
    assert.deepEqual([full.state, full.joined, full.left], ["succeeded", 0, 0], full.message);
  });
});
