import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { directoryConfig, startDirectory, syncAndWait } from "../test-support/directories.js";
import { generatedName, type DirectoryTree } from "../test-support/directory-trees.js";
import { RangeProxy } from "../test-support/range-proxy.js";
import { describeEachStore } from "../test-support/server.js";
import type { Slapd } from "../test-support/slapd.js";

/**
 * Group members read in ranges, as Active Directory answers a group of more than 1 500 members
 * (`member;range=0-1499`, then `member;range=1500-*` …): the Active-Directory-like tree in a real
 * slapd, behind a relay that splits `member` into ranges of 500 (slapd cannot split them itself).
 */
describeEachStore("group members in ranges (Active Directory)", (server) => {
  let tree: DirectoryTree;
  let slapd: Slapd;
  let proxy: RangeProxy;

  before(async () => {
    ({ tree, slapd } = await startDirectory("ad", 2600));
    proxy = await RangeProxy.start({ host: "127.0.0.1", port: slapd.port }, 500);
  });
  after(async () => {
    await proxy?.stop();
    await slapd?.remove();
  });

  it("reads every range of a group's members: the last member of the 2 000 in staff is in staff", async () => {
    const token = await server().login();
    const api = (method: string, path: string, body?: unknown) => server().api(method, path, { token, body });
    const created = await api("POST", "/security/v1/external-user-storage", directoryConfig(tree, slapd, { connectionUrl: proxy.url, startTls: false, caCertificate: null, allowUnencryptedPasswords: true }));
    assert.equal(created.status, 201, created.text);
    const run = await syncAndWait(server(), token, created.body.id);
    assert.equal(run.state, "succeeded", run.message);
    // staff: 2 000 direct members and a group, so ranges 0-499 … 1500-* (and zürich-office fits in one).
    assert.ok(proxy.rangedReads >= 4, `${proxy.rangedReads} further ranges read`);
    const groupsOf = async (name: string) => ((await api("GET", `/security/v1/users?extendedInfo=true&search=${name}`)).body as any[]).find((u) => u.username === name)?.groups;
    for (const name of [generatedName(1), generatedName(777), generatedName(1999), generatedName(2000)]) assert.ok((await groupsOf(name))?.includes("staff"), `${name} in staff`);
    // Through the nested engineering group (its own 500 direct members are one range).
    assert.ok((await groupsOf(generatedName(2300)))?.includes("staff"));
    assert.equal((await groupsOf(generatedName(2601)))?.includes("staff") ?? false, false);
  });
});
