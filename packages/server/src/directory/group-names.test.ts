import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { createGroup } from "../test-support/accounts.js";
import { directoryConfig, startDirectory, syncAndWait } from "../test-support/directories.js";
import type { DirectoryTree } from "../test-support/directory-trees.js";
import { describeEachStore } from "../test-support/server.js";
import type { Slapd } from "../test-support/slapd.js";

/**
 * The names of imported groups: "<name> (<directory>)" while another group holds the directory's
 * name, and the directory's own name back at a sync once it is free. A small OpenLDAP tree in a real slapd.
 */
describeEachStore("imported group names", (server) => {
  let tree: DirectoryTree;
  let slapd: Slapd;
  let token: string;
  const api = (method: string, path: string, body?: unknown) => server().api(method, path, { token, body });
  /** A run's state and the problems of the staff group (its users are problems too, for the second directory: clashes). */
  const outcome = (run: any) => [run.state, run.problems.filter((p: any) => p.dn === tree.groupDn("staff"))];
  const groupNamed = async (name: string) => ((await api("GET", `/security/v1/user-groups?search=${encodeURIComponent(name)}`)).body as any[]).find((g) => g.name === name);

  before(async () => {
    ({ tree, slapd } = await startDirectory("openldap", 20));
    token = await server().login();
  });
  after(async () => {
    await slapd?.remove();
  });

  it("gives a group imported as \"staff (<directory>)\" its own name back once no other group holds it, never one another group holds", async () => {
    const local = await createGroup(server(), token, "staff");
    const create = async (name: string) => {
      const r = await api("POST", "/security/v1/external-user-storage", directoryConfig(tree, slapd, { name, groupEntryDnList: [tree.groupDn("staff")] }));
      assert.equal(r.status, 201, r.text);
      assert.equal((await syncAndWait(server(), token, r.body.id)).state, "succeeded");
      return r.body.id as string;
    };
    const [north, south] = [await create("north"), await create("south")];
    const imported = await groupNamed("staff (north)");
    assert.equal(imported.dn, tree.groupDn("staff"));
    assert.ok(await groupNamed("staff (south)"));
    // Held by the local group still: the names stay, and are no problem.
    const again = await syncAndWait(server(), token, north);
    assert.deepEqual(outcome(again), ["succeeded", []]);
    assert.ok(await groupNamed("staff (north)"));

    assert.equal((await api("DELETE", `/security/v1/user-groups/${local}`)).status, 204);
    const freed = await syncAndWait(server(), token, north);
    assert.deepEqual(outcome(freed), ["succeeded", []]);
    const renamed = await groupNamed("staff");
    assert.equal(renamed.id, imported.id);
    assert.equal(await groupNamed("staff (north)"), undefined);
    const events = (await api("GET", `/security/v1/audit-events?target=${imported.id}&action=group.update`)).body as any[];
    assert.deepEqual(
      events.map((e) => [e.actor, e.details.before.name, e.details.after.name]),
      [["directory:north", "staff (north)", "staff"]],
    );
    // South's stays qualified: north's group holds "staff" now.
    const held = await syncAndWait(server(), token, south);
    assert.deepEqual(outcome(held), ["succeeded", []]);
    assert.ok(await groupNamed("staff (south)"));
    assert.equal((await groupNamed("staff")).id, imported.id);
  });
});
