import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Attribute, Change, type Client } from "ldapts";
import { directoryConfig, domainController, startDirectory, syncAndWait } from "../test-support/directories.js";
import { generatedName, type DirectoryTree } from "../test-support/directory-trees.js";
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
