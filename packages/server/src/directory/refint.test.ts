import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { Client } from "ldapts";
import { directoryConfig, startDirectory, syncAndWait } from "../test-support/directories.js";
import { generatedName, type DirectoryTree } from "../test-support/directory-trees.js";
import { describeEachStore } from "../test-support/server.js";
import type { Slapd } from "../test-support/slapd.js";

/**
 * OpenLDAP with its referential integrity overlay (refint), which rewrites a renamed member's DN in
 * the groups' `member` values — a change of those groups, which a `changed` sync reads. A real slapd.
 */
describeEachStore("renamed members, OpenLDAP with refint", (server) => {
  let tree: DirectoryTree;
  let slapd: Slapd;
  let ldap: Client;
  let token: string;

  before(async () => {
    ({ tree, slapd } = await startDirectory("openldap", 20, { refint: true }));
    ldap = await slapd.admin();
    token = await server().login();
  });
  after(async () => {
    await ldap?.unbind().catch(() => {});
    await slapd?.remove();
  });

  it("keeps a renamed user's groups at the `changed` sync after the rename, as the full sync after it does", async () => {
    const s = server();
    const created = await s.api("POST", "/security/v1/external-user-storage", { token, body: directoryConfig(tree, slapd) });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    assert.equal((await syncAndWait(s, token, id)).state, "succeeded");
    const name = generatedName(5);
    const groupsOf = async (username: string) => ((await s.api("GET", `/security/v1/users?extendedInfo=true&search=${username}`, { token })).body as any[]).find((u) => u.username === username)?.groups as string[];
    const before = await groupsOf(name);
    assert.ok(before.includes("staff"), before.join(", "));

    const newDn = `uid=${name}-renamed,${tree.ouDn(["Berlin"])}`;
    await ldap.modifyDN(tree.dn(name), newDn);
    // refint rewrites the member values after answering the rename.
    for (let i = 0; !(await ldap.compare(tree.groupDn("staff"), "member", newDn)); i++) {
      assert.ok(i < 100, "refint did not rewrite staff's member value");
      await new Promise((r) => setTimeout(r, 50));
    }
    const changed = await syncAndWait(s, token, id, { mode: "changed" });
    assert.deepEqual([changed.state, changed.left, changed.joined], ["succeeded", 0, 0], changed.message);
    assert.deepEqual(await groupsOf(`${name}-renamed`), before);
    const full = await syncAndWait(s, token, id);
    assert.deepEqual([full.state, full.left, full.joined], ["succeeded", 0, 0], full.message);
  });
});
