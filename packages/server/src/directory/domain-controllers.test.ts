import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Attribute, Change } from "ldapts";
import { directoryConfig, domainController, startDirectory, syncAndWait } from "../test-support/directories.js";
import { generatedName, type DirectoryTree } from "../test-support/directory-trees.js";
import { describeEachStore } from "../test-support/server.js";
import type { Slapd } from "../test-support/slapd.js";

/**
 * Active Directory's change marks (uSNChanged) are each domain controller's own: one address (the
 * domain's name, a load balancer) may reach another controller, whose numbers mean nothing to the
 * mark. The Active-Directory-like tree in a real slapd, which names itself in its root DSE as a
 * controller does, restarted on the same address as another one.
 */
describeEachStore("changed syncs across domain controllers (Active Directory)", (server) => {
  let tree: DirectoryTree;
  let slapd: Slapd;

  before(async () => {
    ({ tree, slapd } = await startDirectory("ad", 200));
  });
  after(async () => {
    await slapd?.setRootDse(domainController(tree, "DC1"));
    await slapd?.remove();
  });

  it("a `changed` sync reads only what changed at the same controller, and everything at another one behind the same address", async () => {
    const token = await server().login();
    const created = await server().api("POST", "/security/v1/external-user-storage", { token, body: directoryConfig(tree, slapd) });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    assert.equal((await syncAndWait(server(), token, id)).state, "succeeded");
    const ldap = await slapd.admin();
    const touch = async (n: number) =>
      ldap.modify(tree.dn(generatedName(n)), [
        new Change({ operation: "replace", modification: new Attribute({ type: "givenName", values: [`Changed${n}`] }) }),
        new Change({ operation: "replace", modification: new Attribute({ type: "uSNChanged", values: [String(++tree.usn)] }) }),
      ]);
    try {
      await touch(1);
      const same = await syncAndWait(server(), token, id, { mode: "changed" });
      assert.deepEqual([same.state, same.message], ["succeeded", null]);
      assert.ok(same.seen < 5, `${same.seen} read at the same controller`);

      await ldap.unbind();
      await slapd.setRootDse(domainController(tree, "DC2"));
      const other = await syncAndWait(server(), token, id, { mode: "changed" });
      assert.equal(other.state, "succeeded", other.message);
      assert.match(other.message, /^CN=NTDS Settings,CN=DC2,.* answered, not the server the last mark came from \(marks are per server\): every user was read\.$/);
      assert.equal(other.seen, tree.userCount);
      // From then on, that controller's marks.
      const again = await syncAndWait(server(), token, id, { mode: "changed" });
      assert.deepEqual([again.state, again.message], ["succeeded", null]);
    } finally {
      await ldap.unbind().catch(() => {});
    }
  });
});
