import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { createServer as tlsServer } from "node:tls";
import { after, before, it } from "node:test";
import { createGroup, createSecurityAdministrator, createUser, groupId, USER_PASSWORD } from "../../test-support/accounts.js";
import { directoryConfig, startDirectory, syncAndWait, waitForSync } from "../../test-support/directories.js";
import type { DirectoryTree } from "../../test-support/directory-trees.js";
import { describeEachStore } from "../../test-support/server.js";
import { AD_SCHEMA, Slapd } from "../../test-support/slapd.js";

const PATH = "/security/v1/external-user-storage";

/**
 * The configuration API of external user storage: Ops Center's fields with vendor defaults, the
 * write-only sealed bind password, validation in the error shape, audit, permissions; connection
 * tests in words against a real slapd; syncs refused while one runs; removal with its users.
 */
describeEachStore("external user storage configuration", (server) => {
  let tree: DirectoryTree;
  let slapd: Slapd;
  let token: string;
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => server().api(method, path, { token, body, headers });

  before(async () => {
    ({ tree, slapd } = await startDirectory("ad", 200));
    token = await server().login();
  });
  after(async () => {
    await slapd.remove();
  });

  it("creates a directory with the vendor's defaults; the bind password is write-only, sealed, and in no answer or audit event", async () => {
    const r = await api("POST", PATH, { name: "corp", vendor: "ACTIVE_DIRECTORY", connectionUrl: "ldaps://dc1.corp.example ldaps://dc2.corp.example:3269", baseDn: "DC=corp,DC=example", bindDn: "CN=Reader,DC=corp,DC=example", bindPassword: "S3cret-Bind-Pass" });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get("location"), `${server().baseUrl.replace(/^https?:\/\/[^/]+/, "")}${PATH}/${r.body.id}`);
    assert.equal(r.headers.get("etag"), '"1"');
    assert.equal(r.body.bindPassword, null);
    assert.equal(r.body.attributeMapping.uniqueId, "objectGUID");
    assert.equal(r.body.attributeMapping.username, "sAMAccountName");
    assert.equal(r.body.userFilter, "(&(objectCategory=person)(objectClass=user))");
    assert.deepEqual([r.body.disableLimitPercent, r.body.pageSize, r.body.startTls, r.body.allowUnencryptedPasswords, r.body.enabled], [10, 500, false, false, true]);
    assert.deepEqual(r.body.syncPeriodSeconds, { full: 0, changed: 0 });

    const stored = await server().server.deps.store.db.selectFrom("directories").select("config").where("uuid", "=", r.body.id).executeTakeFirstOrThrow();
    assert.ok(!stored.config.includes("S3cret-Bind-Pass"), "sealed at rest");
    const listed = (await api("GET", PATH)).body.find((d: any) => d.id === r.body.id);
    assert.equal(listed.bindPassword, null);

    // Switching the vendor switches the defaults that were not set by hand.
    const other = await api("PUT", `${PATH}/${r.body.id}`, { vendor: "OTHER", attributeMapping: { email: "userPrincipalName" } });
    assert.equal(other.status, 200, other.text);
    assert.equal(other.body.attributeMapping.uniqueId, "entryUUID");
    assert.equal(other.body.attributeMapping.email, "userPrincipalName");
    assert.equal(other.body.userFilter, "(objectClass=inetOrgPerson)");
    // Left out keeps an attribute; null sets the vendor's default again.
    const reset = await api("PUT", `${PATH}/${r.body.id}`, { attributeMapping: { email: null, displayName: "displayName" } });
    assert.equal(reset.status, 200, reset.text);
    assert.deepEqual([reset.body.attributeMapping.email, reset.body.attributeMapping.displayName, reset.body.attributeMapping.uniqueId], ["mail", "displayName", "entryUUID"]);
    // A bare filter, as LDAP tools take it, is kept as the one term that logins and changed syncs combine with theirs.
    const bare = await api("PUT", `${PATH}/${r.body.id}`, { userFilter: " objectClass=person ", groupFilter: "objectClass=groupOfNames" });
    assert.deepEqual([bare.body.userFilter, bare.body.groupFilter], ["(objectClass=person)", "(objectClass=groupOfNames)"]);
    // Left out keeps a filter; null sets the vendor's default again.
    const kept = await api("PUT", `${PATH}/${r.body.id}`, { groupFilter: null });
    assert.deepEqual([kept.body.userFilter, kept.body.groupFilter], ["(objectClass=person)", "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))"]);
    const events = (await api("GET", `/security/v1/audit-events?target=${r.body.id}`)).body;
    assert.deepEqual(events.map((e: any) => e.action).sort(), ["directory.create", "directory.update", "directory.update", "directory.update", "directory.update"]);
    assert.ok(!JSON.stringify(events).includes("S3cret-Bind-Pass"));
    assert.equal(events.find((e: any) => e.action === "directory.create").details.after.bindPasswordSet, true);
    assert.equal((await api("DELETE", `${PATH}/${r.body.id}`)).status, 204);
  });

  it("sends the stored bind password only where, and as safely as, it was given for", async () => {
    const r = await api("POST", PATH, { name: "moving", connectionUrl: "ldaps://dc1.corp.example", baseDn: "dc=corp,dc=example", bindDn: "cn=reader,dc=corp,dc=example", bindPassword: "S3cret-Bind-Pass", startTls: false });
    assert.equal(r.status, 201, r.text);
    const url = `${PATH}/${r.body.id}`;
    for (const change of [{ connectionUrl: "ldaps://attacker.example" }, { connectionUrl: "ldaps://dc1.corp.example ldaps://attacker.example" }, { allowUnencryptedPasswords: true }, { bindDn: "cn=someone-else,dc=corp,dc=example" }]) {
      const refused = await api("PUT", url, change);
      assert.equal(refused.status, 400, `${JSON.stringify(change)}: ${refused.text}`);
      assert.equal(JSON.parse(refused.body.additionalInfo).field, "bindPassword");
      assert.equal((await api("PUT", url, { ...change, bindPassword: "S3cret-Bind-Pass" })).status, 200, "with the password sent again");
    }
    assert.equal((await api("PUT", url, { connectionUrl: "ldaps://dc1.corp.example", baseDn: "dc=other,dc=example" })).status, 200, "a known server, other settings: kept");
    // The same server spelled otherwise: a trailing slash, capitals, the default port.
    for (const same of ["ldaps://dc1.corp.example/", "ldaps://DC1.Corp.Example:636", "ldaps://dc1.corp.example:636/"]) {
      const r = await api("PUT", url, { connectionUrl: same });
      assert.equal(r.status, 200, `${same}: ${r.text}`);
    }
    assert.equal((await api("PUT", url, { connectionUrl: "ldaps://dc1.corp.example:3269" })).status, 400, "another port is another server");
    assert.equal((await api("DELETE", url)).status, 204);
  });

  it("asks for the bind password again for a weaker connection, not a stronger one, and says the rule it applies", async () => {
    const account = { baseDn: "dc=corp,dc=example", bindDn: "cn=reader,dc=corp,dc=example", bindPassword: "S3cret-Bind-Pass" };
    const r = await api("POST", PATH, { name: "weaker", connectionUrl: "ldap://dc1.corp.example", startTls: false, allowUnencryptedPasswords: true, ...account });
    assert.equal(r.status, 201, r.text);
    const url = `${PATH}/${r.body.id}`;
    // Safer: the stored password goes over an encrypted connection only, or not at all.
    for (const safer of [{ startTls: true }, { allowUnencryptedPasswords: false }]) {
      const kept = await api("PUT", url, safer);
      assert.equal(kept.status, 200, `${JSON.stringify(safer)}: ${kept.text}`);
    }
    const rule = "The stored password is sent only for the account, to the servers and as safely as it was given for: bindPassword must be sent again when bindDn changes, connectionUrl names a server (or scheme) not among the current ones, caCertificate changes, startTls is turned off for an ldap:// server or allowUnencryptedPasswords turned on.";
    for (const [weaker, what] of [[{ startTls: false }, "startTls is turned off for an ldap:// server"], [{ allowUnencryptedPasswords: true }, "allowUnencryptedPasswords is turned on"], [{ caCertificate: slapd.caPem }, "caCertificate changes"]] as const) {
      const refused = await api("PUT", url, weaker);
      assert.equal(refused.status, 400, `${JSON.stringify(weaker)}: ${refused.text}`);
      assert.equal(JSON.parse(refused.body.additionalInfo).field, "bindPassword");
      assert.match(refused.body.errorMessage, new RegExp(`^ECMS\\d{4}-E bindPassword must be sent again: ${what}\\. `));
      assert.ok(refused.body.errorMessage.endsWith(rule), refused.body.errorMessage);
    }
    assert.equal((await api("DELETE", url)).status, 204);
    // To ldaps:// servers alone the password crosses TLS with StartTLS or without it: turning it off asks for nothing.
    const tls = await api("POST", PATH, { name: "ldaps only", connectionUrl: "ldaps://dc1.corp.example ldaps://dc2.corp.example:3269", startTls: true, ...account });
    assert.equal(tls.status, 201, tls.text);
    const off = await api("PUT", `${PATH}/${tls.body.id}`, { startTls: false });
    assert.equal(off.status, 200, off.text);
    assert.equal((await api("DELETE", `${PATH}/${tls.body.id}`)).status, 204);
  });

  it("refuses a bindDn without a bindPassword: a DN with no password is an unauthenticated bind (RFC 4513 5.1.2)", async () => {
    const base = { connectionUrl: "ldaps://dc1.corp.example", baseDn: "dc=corp,dc=example", bindDn: "cn=reader,dc=corp,dc=example" };
    const refusal = /^ECMS\d{4}-E bindDn cn=reader,dc=corp,dc=example needs its bindPassword: a bind with a DN and no password is an unauthenticated bind \(RFC 4513 5\.1\.2\), which some directories take as anonymous\. Send bindPassword, or remove bindDn to read anonymously\.$/;
    for (const body of [{ name: "no password", ...base }, { name: "empty password", ...base, bindPassword: "" }]) {
      const refused = await api("POST", PATH, body);
      assert.equal(refused.status, 400, refused.text);
      assert.equal(JSON.parse(refused.body.additionalInfo).field, "bindPassword");
      assert.match(refused.body.errorMessage, refusal);
      const tested = await api("POST", `${PATH}/test`, body);
      assert.equal(tested.status, 400, tested.text);
      assert.match(tested.body.errorMessage, refusal);
    }
    const r = await api("POST", PATH, { name: "with password", ...base, bindPassword: "S3cret-Bind-Pass" });
    assert.equal(r.status, 201, r.text);
    const url = `${PATH}/${r.body.id}`;
    // Removing the password keeps no bindDn without it; removing both reads anonymously.
    const removed = await api("PUT", url, { bindPassword: "" });
    assert.equal(removed.status, 400, removed.text);
    assert.match(removed.body.errorMessage, refusal);
    const anonymous = await api("PUT", url, { bindDn: null, bindPassword: "" });
    assert.deepEqual([anonymous.status, anonymous.body.bindDn], [200, null], anonymous.text);
    const again = await api("PUT", url, { bindDn: "cn=reader,dc=corp,dc=example" });
    assert.equal(again.status, 400, again.text);
    assert.match(again.body.errorMessage, refusal);
    assert.equal((await api("DELETE", url)).status, 204);
  });

  it("leaves to system administrators the directories through which accounts hold the system-administrator role", async () => {
    const { token: securityAdmin } = await createSecurityAdministrator(server(), token, "dir-secadmin");
    const asSecurityAdmin = (method: string, path: string, body?: unknown) => server().api(method, path, { token: securityAdmin, body });
    const administrators = await groupId(server(), token, "administrators");
    const refused = await asSecurityAdmin("POST", PATH, directoryConfig(tree, slapd, { name: "fills admins", groupMappings: [{ groupDn: tree.groupDn("staff"), localGroupId: administrators }] }));
    assert.equal(refused.status, 403, refused.text);
    const own = await asSecurityAdmin("POST", PATH, directoryConfig(tree, slapd, { name: "secadmin's" }));
    assert.equal(own.status, 201, own.text);
    const id = own.body.id;
    assert.equal((await syncAndWait(server(), securityAdmin, id, { force: true })).forced, true, "its own directory: forced too");
    assert.equal((await asSecurityAdmin("PUT", `${PATH}/${id}`, { priority: 7 })).status, 200);
    // A system administrator makes one of its users a system administrator: the directory is theirs now.
    const imported = (await api("GET", `/security/v1/users?source=directory:${id}&max=1`)).body[0];
    assert.equal((await api("PUT", `/security/v1/users/${imported.id}/user-groups/${administrators}`)).status, 204);
    for (const [method, body] of [["PUT", { connectionUrl: slapd.ldapsUrl, bindPassword: "theirs" }], ["DELETE", undefined]] as const) {
      const r = await asSecurityAdmin(method, `${PATH}/${id}`, body);
      assert.equal(r.status, 403, `${method}: ${r.text}`);
      assert.match(r.body.errorMessage, /Only a system administrator/);
    }
    // Forced, a sync disables past the directory's limit: as much as changing it. Unforced, it stays open.
    const forced = await asSecurityAdmin("POST", `${PATH}/${id}/sync`, { force: true });
    assert.equal(forced.status, 403, forced.text);
    assert.match(forced.body.errorMessage, /^ECMS\d{4}-E Only a system administrator may force a sync of this directory past its limit on disabled users: accounts hold the system-administrator role through it/);
    assert.equal((await syncAndWait(server(), securityAdmin, id, { force: false })).forced, false);
    assert.equal((await syncAndWait(server(), token, id, { force: true })).forced, true, "a system administrator may force it");
    assert.equal((await api("DELETE", `${PATH}/${id}?users=delete`)).status, 204, "a system administrator may");
  });

  it("leaves to system administrators the removal, with its groups, of a directory one of whose groups a system administrator was put into", async () => {
    const { token: securityAdmin } = await createSecurityAdministrator(server(), token, "dir-secadmin2");
    const own = await server().api("POST", PATH, { token: securityAdmin, body: directoryConfig(tree, slapd, { name: "secadmin's second" }) });
    assert.equal(own.status, 201, own.text);
    await syncAndWait(server(), securityAdmin, own.body.id, { force: true });
    const groups = await server().server.deps.store.db
      .selectFrom("groups")
      .innerJoin("directories", "directories.id", "groups.directory_id")
      .select("groups.uuid")
      .where("directories.uuid", "=", own.body.id)
      .execute();
    const group = groups[0]!;
    const me = (await api("GET", "/security/v1/me")).body.id;
    assert.equal((await api("PUT", `/security/v1/users/${me}/user-groups/${group.uuid}`)).status, 204);
    const refused = await server().api("DELETE", `${PATH}/${own.body.id}?users=delete`, { token: securityAdmin });
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.body.errorMessage, /Only a system administrator may remove this directory with its groups/);
    // Removed with users=disable, its groups stay (local now), the system administrator in them.
    assert.equal((await server().api("DELETE", `${PATH}/${own.body.id}?users=disable`, { token: securityAdmin })).status, 204);
    assert.equal((await api("GET", `/security/v1/user-groups/${group.uuid}`)).status, 200);
    for (const g of groups) assert.equal((await api("DELETE", `/security/v1/user-groups/${g.uuid}`)).status, 204, "a system administrator may");
  });

  it("refuses bad input with a 4xx in the error shape", async () => {
    const base = { name: "bad", connectionUrl: "ldap://localhost", baseDn: "dc=x" };
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...base, colour: "blue" }, 400, "colour"],
      [{ ...base, connectionUrl: "http://localhost" }, 400, "connectionUrl"],
      [{ ...base, connectionUrl: "ldap://localhost/dc=x?cn" }, 400, "connectionUrl"],
      [{ ...base, connectionUrl: "ldap://localhost:0" }, 400, "connectionUrl"],
      [{ ...base, connectionUrl: "ldap://localhost#frag" }, 400, "connectionUrl"],
      [{ ...base, connectionUrl: `ldap://${"h".repeat(254)}` }, 400, "connectionUrl"],
      [{ ...base, userFilter: "(uid=a" }, 400, "userFilter"],
      [{ ...base, userFilter: "(cn=a\\ff*)" }, 400, "userFilter"],
      [{ ...base, groupFilter: "(cn=\udc80)" }, 400, "groupFilter"],
      [{ ...base, caCertificate: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----" }, 400, "caCertificate"],
      [{ ...base, groupMappings: [{ groupDn: "cn=g,dc=x", localGroupId: "00000000-0000-4000-8000-000000000000" }] }, 400, "groupMappings"],
      [{ ...base, baseDn: "not a dn" }, 400, "baseDn"],
      [{ ...base, baseDn: "dc=ex\\" }, 400, "baseDn"],
      [{ ...base, userSearchBase: "people" }, 400, "userSearchBase"],
      [{ ...base, userSearchBase: "ou=people,dc=y" }, 400, "userSearchBase"],
      [{ ...base, userSearchBase: "ou=people\\,dc=x" }, 400, "userSearchBase"],
      [{ ...base, groupEntryDnList: ["dc=x", "staff"] }, 400, "groupEntryDnList"],
      [{ ...base, groupMappings: [{ groupDn: "admins", localGroupId: "00000000-0000-4000-8000-000000000000" }] }, 400, "groupMappings"],
      [{ ...base, vendor: "NOVELL" }, 400, "vendor"],
      [{ ...base, pageSize: 5000 }, 400, "pageSize"],
      [{ ...base, bindPassword: "x" }, 400, "bindDn"],
      [{ name: "bad", baseDn: "dc=x" }, 400, "connectionUrl"],
      [{ ...base, name: "a/b" }, 400, "name"],
      [{ ...base, name: " bad " }, 400, "name"],
      [{ ...base, name: "a\nb" }, 400, "name"],
      [{ ...base, name: "a\u200bb" }, 400, "name"],
      [{ ...base, name: "\u202eevil" }, 400, "name"],
    ];
    for (const [body, status, field] of cases) {
      const r = await api("POST", PATH, body);
      assert.equal(r.status, status, `${field}: ${r.text}`);
      assert.match(r.body.errorMessage, /^ECMS\d{4}-E /);
      assert.ok(r.text.includes(field), `${field} named: ${r.text}`);
    }
    const twice = await api("POST", PATH, { ...base, groupEntryDnList: ["cn=a,dc=x", "cn=b,dc=x", "cn=a,dc=x"] });
    assert.deepEqual([twice.status, twice.body.errorMessage], [400, 'ECMS1001-E groupEntryDnList lists "cn=a,dc=x" twice (items 1 and 3).']);
    // One group in two spellings (a DN's case and the spaces after its commas name no other entry): refused as the same twice.
    const spelled = await api("POST", PATH, { ...base, groupEntryDnList: ["cn=a,dc=x", "cn=b,dc=x", "CN=A, DC=x"] });
    assert.deepEqual([spelled.status, spelled.body.errorMessage], [400, 'ECMS1001-E groupEntryDnList lists "cn=a,dc=x" twice (items 1 and 3, spelled "CN=A, DC=x"): a DN\'s case and the spaces after its commas name no other entry.']);
    assert.equal(JSON.parse(spelled.body.additionalInfo).field, "groupEntryDnList");
    const local = "00000000-0000-4000-8000-000000000000";
    const same = await api("POST", PATH, { ...base, groupMappings: [{ groupDn: "cn=a,dc=x", localGroupId: local }, { groupDn: "cn=a,dc=x", localGroupId: local }] });
    assert.deepEqual([same.status, same.body.errorMessage], [400, 'ECMS1001-E groupMappings lists "cn=a,dc=x" → 00000000-0000-4000-8000-000000000000 twice (items 1 and 2).']);
    const mapped = await api("POST", PATH, { ...base, groupMappings: [{ groupDn: "cn=a,dc=x", localGroupId: local }, { groupDn: "cn=a, dc=X", localGroupId: local.toUpperCase() }] });
    assert.deepEqual([mapped.status, mapped.body.errorMessage], [400, 'ECMS1001-E groupMappings lists "cn=a,dc=x" → 00000000-0000-4000-8000-000000000000 twice (items 1 and 2, spelled "cn=a, dc=X"): a DN\'s case and the spaces after its commas name no other entry.']);
    assert.equal((await api("POST", PATH, base)).status, 201);
    const taken = await api("POST", PATH, base);
    assert.equal(taken.status, 409);
    const alike = await api("POST", PATH, { ...base, name: "BAD" });
    assert.deepEqual([alike.status, alike.body.errorMessage], [409, "ECMS1301-E A directory with this name already exists: bad (names are told apart without regard to case)."]);
    // A name saved before these rules stops no other change: the directory's GET sent back goes through.
    const { db } = server().server.deps.store;
    await db.updateTable("directories").set({ name: "bad/old " }).where("name", "=", "bad").execute();
    const legacy = (await api("GET", PATH)).body.find((d: any) => d.name === "bad/old ");
    assert.equal((await api("PUT", `${PATH}/${legacy.id}`, { ...legacy, enabled: false })).status, 200);
    await db.updateTable("directories").set({ name: "bad" }).where("name", "=", "bad/old ").execute();
    // userSearchBase stays under baseDn, however either is spelled, when either changes; a pair saved before that rule stops no other change.
    const nested = await api("POST", PATH, { ...base, name: "nested", userSearchBase: "OU=People, DC=X" });
    assert.equal(nested.status, 201, nested.text);
    const moved = await api("PUT", `${PATH}/${nested.body.id}`, { baseDn: "dc=y" });
    assert.equal(moved.status, 400, moved.text);
    assert.match(moved.body.errorMessage, /userSearchBase: "OU=People, DC=X" is not under baseDn \(dc=y\)/);
    const row = await db.selectFrom("directories").select("config").where("uuid", "=", nested.body.id).executeTakeFirstOrThrow();
    await db.updateTable("directories").set({ config: JSON.stringify({ ...JSON.parse(row.config), userSearchBase: "ou=people,dc=y" }) }).where("uuid", "=", nested.body.id).execute();
    assert.equal((await api("PUT", `${PATH}/${nested.body.id}`, { enabled: false })).status, 200);
    assert.equal((await api("PUT", `${PATH}/${nested.body.id}`, { userSearchBase: "ou=staff,dc=y" })).status, 400);
    assert.equal((await api("DELETE", `${PATH}/${nested.body.id}`)).status, 204);
    const { id } = (await api("GET", PATH)).body.find((d: any) => d.name === "bad");
    // Read-only, and it moves with the syncs (it may have since the GET): only its type is checked, as a user's lockedOutUntil.
    for (const wrong of [42, "yesterday", { at: null }]) {
      const r = await api("PUT", `${PATH}/${id}`, { lastSyncStartedAt: wrong });
      assert.equal(r.status, 400, `${JSON.stringify(wrong)}: ${r.text}`);
      assert.match(r.text, /lastSyncStartedAt/);
    }
    assert.equal((await api("PUT", `${PATH}/${id}`, { lastSyncStartedAt: null })).status, 200);
    assert.equal((await api("PUT", `${PATH}/${id}`, { name: "bad" }, { "if-match": '"7"' })).status, 412);
    // A delete is guarded as a change is: based on another version, it is refused and the directory stays.
    assert.equal((await api("DELETE", `${PATH}/${id}`, undefined, { "if-match": '"7"' })).status, 412);
    assert.equal((await api("GET", `${PATH}/${id}`)).status, 200);
    assert.equal((await api("GET", `${PATH}/not-a-uuid`)).status, 404);
    assert.equal((await api("DELETE", `${PATH}/${id}?users=keep`)).status, 400);
    // Only a full sync disables users gone: a forced `changed` one would be audited as forced, and refused a security administrator, for nothing.
    const forcedChange = await api("POST", `${PATH}/${id}/sync`, { mode: "changed", force: true });
    assert.deepEqual([forcedChange.status, forcedChange.body.errorMessage, JSON.parse(forcedChange.body.additionalInfo ?? "{}").field], [400, "ECMS1001-E force applies to a full sync: a `changed` sync disables nobody.", "force"]);
    assert.equal((await api("DELETE", `${PATH}/${id}`)).status, 204);
  });

  it("refuses a user name or password in connectionUrl, without saying it back: it would be kept, shown and audited in the clear", async () => {
    const base = { name: "userinfo", baseDn: "dc=x" };
    for (const connectionUrl of ["ldap://:S3cret-In-Url@localhost", "ldap://reader:S3cret-In-Url@localhost", "ldaps://dc1.example ldaps://:S3cret-In-Url@dc2.example", "ldap://reader:S3cret-In-Url@dc1.example:99999", "ldap://reader:S3cret-In-Url@dc 1.example", "ldap://reader:S3cret/In-Url@dc1.example", "ldaps://dc1.example S3cret-In-Url@dc2.example", "ldap://reader:S3cret In-Url@dc1.example", "ldap://reader:S3cret@In-Url@dc1.example"]) {
      const r = await api("POST", PATH, { ...base, connectionUrl });
      assert.equal(r.status, 400, `${connectionUrl}: ${r.text}`);
      assert.equal(JSON.parse(r.body.additionalInfo).field, "connectionUrl");
      assert.ok(!/S3cret|In-Url/.test(r.text), r.text);
    }
    // A port past 65535 is said as such (the URL parser refuses it as it refuses garbage).
    const port = await api("POST", PATH, { ...base, connectionUrl: "ldap://dc1.example:99999" });
    assert.equal(port.body.errorMessage, 'ECMS1001-E connectionUrl: "ldap://dc1.example:99999" has port 99999: a port is 1 to 65535.');
    const made = await api("POST", PATH, { ...base, connectionUrl: "ldap://localhost" });
    assert.equal(made.status, 201, made.text);
    const changed = await api("PUT", `${PATH}/${made.body.id}`, { connectionUrl: "ldap://:S3cret-In-Url@localhost" });
    assert.equal(changed.status, 400, changed.text);
    assert.equal((await api("GET", `${PATH}/${made.body.id}`)).body.connectionUrl, "ldap://localhost");
    assert.ok(!JSON.stringify((await api("GET", "/security/v1/audit-events?action=directory.create")).body).includes("S3cret-In-Url"));
    assert.equal((await api("DELETE", `${PATH}/${made.body.id}`)).status, 204);
  });

  it("is for system and security administrators only", async () => {
    await createUser(server(), token, "plain_user");
    const userToken = await server().login("plain_user", USER_PASSWORD);
    for (const [method, path] of [["GET", PATH], ["POST", PATH], ["POST", `${PATH}/test`], ["GET", `${PATH}/00000000-0000-4000-8000-000000000000/sync`]] as const) {
      assert.equal((await server().api(method, path)).status, 401, path);
      assert.equal((await server().api(method, path, { token: userToken, ...(method === "POST" ? { body: {} } : {}) })).status, 403, path);
    }
  });

  it("tests a configuration and says what happened in words", async () => {
    const good = directoryConfig(tree, slapd);
    const test = async (changes: Record<string, unknown>) => (await api("POST", `${PATH}/test`, { ...good, ...changes })).body;

    const ok = await test({});
    assert.equal(ok.ok, true, ok.message);
    // Nothing is saved: a configuration not yet named is tested all the same.
    const { name: _, ...unnamed } = good;
    const anonymousTest = await api("POST", `${PATH}/test`, unnamed);
    assert.deepEqual([anonymousTest.status, anonymousTest.body.ok], [200, true], anonymousTest.text);
    assert.deepEqual(ok.steps.map((s: any) => s.step), ["connect", "bind", "base", "search"]);
    assert.match(ok.steps[0].message, /StartTLS/);
    assert.equal(ok.usersFound, tree.userCount);
    // What a sync would refuse is said before any sync: the tree's entry whose username is not valid here.
    assert.match(ok.message, new RegExp(`^The directory answers: ${tree.userCount - 1} users would be imported\\. 1 entry found would not be, as it is; the first: .+: The username "bad user" `));
    assert.match(ok.message, / Names are not checked against existing accounts here: .+ the sync's report lists them \(the first 100\)\.$/);
    assert.equal(ok.sample.length, 3);
    assert.match(ok.sample[0].uniqueId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // The bitwise matching rule of Active Directory: only enabled accounts.
    const enabledOnly = await test({ userFilter: `(&${tree.userFilter}(!(userAccountControl:1.2.840.113556.1.4.803:=2)))` });
    assert.equal(enabledOnly.usersFound, tree.userCount - 1);
    // A filter that finds nobody (a typo) works as a search: said, with where to look.
    const nobody = await test({ userFilter: "(&(objectClass=user)(sAMAccountName=nobody-by-that-name))" });
    assert.deepEqual([nobody.ok, nobody.usersFound], [true, 0]);
    assert.equal(nobody.message, `The directory answers: 0 users would be imported. The user filter finds no entry under ${tree.suffix}: check userFilter and userSearchBase.`);
    // A character beyond ASCII written as its escaped UTF-8 bytes (RFC 4515) finds what the character finds.
    const raw = await test({ userFilter: "(&(objectClass=user)(sn=Müller))" });
    assert.ok(raw.usersFound > 0, raw.message);
    assert.equal((await test({ userFilter: "(&(objectClass=user)(sn=M\\c3\\bcller))" })).usersFound, raw.usersFound);

    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ connectionUrl: "ldap://127.0.0.1:1" }, "connect", /^Cannot connect to 127\.0\.0\.1:1: the server refused the connection \(nothing listens on that port\) \(ECONNREFUSED\)/],
      [{ connectionUrl: "ldap://no-such-host.invalid" }, "connect", /^Cannot connect to no-such-host\.invalid: no server is known by the name no-such-host\.invalid \(DNS\)/],
      [{ caCertificate: null }, "tls", /^TLS with 127\.0\.0\.1:\d+ failed: its certificate is signed by a CA this server does not trust: put that CA's certificate \(PEM\) in caCertificate \(SELF_SIGNED_CERT_IN_CHAIN\)$/],
      [{ connectionUrl: slapd.ldapsUrl, startTls: false, caCertificate: null }, "tls", /^TLS with 127\.0\.0\.1:\d+ failed: its certificate is signed by a CA this server does not trust/],
      [{ connectionUrl: slapd.ldapsUrl.replace(/^ldaps:/, "ldap:") }, "tls", /^127\.0\.0\.1:\d+ answers TLS, not plain LDAP: if it is the directory's LDAPS port, use ldaps:\/\/127\.0\.0\.1:\d+; else the server's plain LDAP port \(389\)\.$/],
      [{ bindPassword: "wrong" }, "bind", /refused the bind as CN=Reader/],
      [{ baseDn: "DC=elsewhere,DC=example" }, "base", /does not exist/],
      [{ startTls: false }, "insecure", /not encrypted/],
    ];
    for (const [changes, step, message] of cases) {
      const r = await test(changes);
      assert.equal(r.ok, false, JSON.stringify(changes));
      assert.equal(r.steps.at(-1).step, step, JSON.stringify(r.steps));
      assert.match(r.message, message);
    }
    // A server without TLS set up answers StartTLS with a refusal: reached, its TLS is what fails.
    const { slapd: plain } = await Slapd.start({ suffix: tree.suffix, schemas: [AD_SCHEMA], ldif: tree.ldif() });
    try {
      const refused = await test({ connectionUrl: plain.url });
      assert.equal(refused.ok, false);
      assert.equal(refused.steps.at(-1).step, "tls", JSON.stringify(refused.steps));
      assert.match(refused.message, /^127\.0\.0\.1:\d+ refused StartTLS \(LDAP result 2: unsupported extended operation\): set up TLS at the server, or use its ldaps:\/\/ URL\.$/);
    } finally {
      await plain.remove();
    }
    // A server that answers StartTLS, then stalls in the TLS handshake: a TLS failure within timeoutSeconds, not a wait for good.
    const stalling = createServer((client) => {
      const upstream = connect(Number(new URL(slapd.url).port), "127.0.0.1");
      let answered = false;
      for (const socket of [client, upstream]) socket.on("error", () => {});
      client.pipe(upstream);
      upstream.on("data", (chunk: Buffer) => answered || ((answered = true), client.write(chunk)));
      client.on("close", () => upstream.destroy());
    });
    await new Promise<void>((resolve) => stalling.listen(0, "127.0.0.1", resolve));
    try {
      const stalled = await test({ connectionUrl: `ldap://127.0.0.1:${(stalling.address() as AddressInfo).port}`, timeoutSeconds: 1 });
      assert.equal(stalled.steps.at(-1).step, "tls", JSON.stringify(stalled.steps));
      assert.match(stalled.message, /^TLS with 127\.0\.0\.1:\d+ failed: no answer in time \(ETIMEDOUT\)/);
    } finally {
      stalling.close();
    }
    // A certificate the CA signed for other names: said in words, with the names it holds.
    const certificate = (name: string, san = `DNS:${name}`) => {
      const file = (f: string) => join(slapd.dir, `${name}-${f}`);
      execFileSync("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", `/CN=${name}`, "-keyout", file("key"), "-out", file("csr")], { stdio: "ignore" });
      writeFileSync(file("ext"), `subjectAltName=${san}\n`);
      execFileSync("openssl", ["x509", "-req", "-in", file("csr"), "-CA", join(slapd.dir, "ca.pem"), "-CAkey", join(slapd.dir, "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", file("ext"), "-out", file("pem")], { stdio: "ignore" });
      return { key: readFileSync(file("key")), cert: readFileSync(file("pem")) };
    };
    const elsewhere = tlsServer(certificate("ldap.elsewhere.example"), (socket) => socket.on("error", () => {}));
    await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.1", resolve));
    try {
      const mismatch = await test({ connectionUrl: `ldaps://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`, startTls: false });
      assert.equal(mismatch.steps.at(-1).step, "tls", JSON.stringify(mismatch.steps));
      assert.match(mismatch.message, /^TLS with 127\.0\.0\.1:\d+ failed: its certificate is for DNS:ldap\.elsewhere\.example, not 127\.0\.0\.1: connect by a name the certificate holds, or give the server a certificate for this one \(ERR_TLS_CERT_ALTNAME_INVALID\)$/);
    } finally {
      elsewhere.close();
    }
    // ldaps:// to slapd's plain port, which drops the handshake: said in words, not OpenSSL's own lines.
    const port = new URL(slapd.url).port;
    const noTls = await test({ connectionUrl: `ldaps://127.0.0.1:${port}`, startTls: false });
    assert.equal(noTls.steps.at(-1).step, "tls", JSON.stringify(noTls.steps));
    assert.match(noTls.message, new RegExp(`^TLS with 127\\.0\\.0\\.1:${port} failed: the server does not answer TLS on this port, which speaks plain LDAP — use ldap://127\\.0\\.0\\.1:${port} with StartTLS, or the server's LDAPS port \\(636\\) \\((ECONNRESET|ERR_SSL_WRONG_VERSION_NUMBER)\\)$`));
    assert.doesNotMatch(noTls.message, /SSL routines|openssl/);
    // ldap:// to a port where no LDAP answers: what answers there is said, LDAPS suggested only where TLS answers.
    const http = createHttpServer((_, response) => response.end("not LDAP"));
    const silent = createServer((socket) => socket.on("error", () => {}).once("data", () => socket.destroy()));
    const https = tlsServer(certificate("web.example"), (socket) => socket.on("error", () => {}));
    for (const s of [http, silent, https]) await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    const at = (s: { address(): unknown }) => `127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      for (const startTls of [false, true]) {
        const web = await test({ connectionUrl: `ldap://${at(http)}`, startTls, allowUnencryptedPasswords: true });
        assert.equal(web.steps.at(-1).step, "connect", JSON.stringify(web.steps));
        assert.equal(web.message, `${at(http)} does not answer LDAP: it answered "HTTP/1.1 400 Bad Request" — check the port (LDAP's is 389, LDAPS's 636).`);
        const mute = await test({ connectionUrl: `ldap://${at(silent)}`, startTls, allowUnencryptedPasswords: true });
        assert.equal(mute.steps.at(-1).step, "connect", JSON.stringify(mute.steps));
        assert.equal(mute.message, `${at(silent)} closed the connection without answering LDAP, and answers no TLS either: check the port (LDAP's is 389, LDAPS's 636).`);
        const tlsPort = await test({ connectionUrl: `ldap://${at(https)}`, startTls, allowUnencryptedPasswords: true });
        assert.equal(tlsPort.steps.at(-1).step, "tls", JSON.stringify(tlsPort.steps));
        assert.equal(tlsPort.message, `${at(https)} answers TLS, not plain LDAP: if it is the directory's LDAPS port, use ldaps://${at(https)}; else the server's plain LDAP port (389).`);
      }
      // And ldaps:// there: plain LDAP is suggested only where LDAP answers.
      const web = await test({ connectionUrl: `ldaps://${at(http)}`, startTls: false });
      assert.equal(web.steps.at(-1).step, "tls", JSON.stringify(web.steps));
      assert.equal(web.message, `TLS with ${at(http)} failed: the server does not answer TLS on this port, nor LDAP: it answered "HTTP/1.1 400 Bad Request" — check the port (LDAPS's is 636, LDAP's 389) (ERR_SSL_WRONG_VERSION_NUMBER)`);
      const mute = await test({ connectionUrl: `ldaps://${at(silent)}`, startTls: false });
      assert.match(mute.message, new RegExp(`^TLS with ${at(silent).replace(/\./g, "\\.")} failed: the server does not answer TLS on this port, nor LDAP: check the port \\(LDAPS's is 636, LDAP's 389\\) \\((ECONNRESET|ERR_SSL_WRONG_VERSION_NUMBER)\\)$`));
    } finally {
      for (const s of [http, silent, https]) s.close();
    }
    // A server named by its IPv6 address, its certificate for that address (LDAPS in front of slapd).
    const v6 = tlsServer(certificate("v6", "IP:::1"), (socket) => {
      const upstream = connect(Number(new URL(slapd.url).port), "127.0.0.1");
      for (const s of [socket, upstream]) s.on("error", () => {});
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => v6.listen(0, "::1", resolve));
    try {
      const byAddress = await test({ connectionUrl: `ldaps://[::1]:${(v6.address() as AddressInfo).port}`, startTls: false });
      assert.equal(byAddress.ok, true, byAddress.message);
    } finally {
      v6.close();
    }
    // A server of TLS 1.0 and 1.1 only (an old domain controller): said so, not in OpenSSL's lines.
    const { key, cert } = certificate("localhost");
    const oldTls = tlsServer({ key, cert, minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" }, (socket) => socket.on("error", () => {}));
    oldTls.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => oldTls.listen(0, "127.0.0.1", resolve));
    try {
      const old = await test({ connectionUrl: `ldaps://127.0.0.1:${(oldTls.address() as AddressInfo).port}`, startTls: false });
      assert.equal(old.steps.at(-1).step, "tls", JSON.stringify(old.steps));
      assert.match(old.message, /^TLS with 127\.0\.0\.1:\d+ failed: the server and this one share no TLS version: this one speaks TLS 1\.2 and later, enable them at the server \(ERR_SSL_[A-Z0-9_]+\)$/);
    } finally {
      oldTls.close();
    }
    // LDAPS with the test's CA.
    const ldaps = await test({ connectionUrl: slapd.ldapsUrl, startTls: false });
    assert.equal(ldaps.ok, true, ldaps.message);
    assert.match(ldaps.steps[0].message, /\(LDAPS\)/);
    // Failing over: the first URL does not answer, the second does; the steps show both.
    const failover = await test({ connectionUrl: `ldap://127.0.0.1:1 ${slapd.url}` });
    assert.equal(failover.ok, true, failover.message);
    assert.deepEqual(failover.steps.map((s: any) => [s.step, s.ok]), [["connect", false], ["connect", true], ["bind", true], ["base", true], ["search", true]]);
    assert.match(failover.steps[0].message, /Cannot connect to 127\.0\.0\.1:1:/);
    assert.match(failover.steps[1].message, new RegExp(`Connected to 127\\.0\\.0\\.1:${new URL(slapd.url).port} \\(StartTLS\\)`));
    // None answers: each says why, once.
    const none = await test({ connectionUrl: "ldap://127.0.0.1:1 ldap://127.0.0.1:2" });
    assert.equal(none.ok, false);
    assert.deepEqual(none.steps.map((s: any) => s.message.match(/^Cannot connect to (\S+):/)?.[1]), ["127.0.0.1:1", "127.0.0.1:2"]);
  });

  it("finds an entry by a binary value escaped in the user filter (an objectGUID's bytes, not UTF-8), as the directory's own tools do", async () => {
    const guid = tree.guid(tree.dn("hmueller"));
    assert.throws(() => new TextDecoder("utf-8", { fatal: true }).decode(guid), "bytes that are not UTF-8");
    const escaped = [...guid].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");
    const r = await api("POST", `${PATH}/test`, directoryConfig(tree, slapd, { userFilter: `(&(objectClass=user)(objectGUID=${escaped}))` }));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.body.ok, r.body.usersFound, r.body.sample.map((u: any) => u.username)], [true, 1, ["hmueller"]], r.body.message);
  });

  it("closes a run its node left when it stopped, once its lease has run out: interrupted, with a message and the run's audit event", async () => {
    const created = await api("POST", PATH, { name: "left running", connectionUrl: "ldaps://127.0.0.1:1", baseDn: "dc=x" });
    assert.equal(created.status, 201, created.text);
    const { store, directories } = server().server.deps;
    const { db } = store;
    const directory = await db.selectFrom("directories").select("id").where("uuid", "=", created.body.id).executeTakeFirstOrThrow();
    // A node that died mid-run: the run still "running", its heartbeat an hour old, the lease its own.
    const hourAgo = new Date(Date.now() - 3600_000).toISOString();
    const lease = (until: string) => db.updateTable("directory_sync_state").set({ lease_owner: "a-node-that-died", lease_until: until }).where("directory_id", "=", directory.id).execute();
    await lease(new Date(Date.now() + 60_000).toISOString());
    const run = await db.insertInto("directory_sync_runs").values({ directory_id: directory.id, mode: "full", state: "running", started_at: hourAgo, heartbeat_at: hourAgo, started_by: "sysadmin", seen: 40, created: 40 }).returning("id").executeTakeFirstOrThrow();
    const row = () => db.selectFrom("directory_sync_runs").select(["state", "message", "finished_at"]).where("id", "=", run.id).executeTakeFirstOrThrow();
    const events = async () => (await api("GET", `/security/v1/audit-events?target=${created.body.id}&action=directory.sync`)).body;

    // Every node shows it interrupted, in words, at once.
    const shown = (await api("GET", `${PATH}/${created.body.id}/sync`)).body;
    assert.deepEqual([shown.state, shown.finishedAt], ["interrupted", null]);
    assert.match(shown.message, /interrupted: the node running it stopped before it ended\. What it wrote stays/);
    // While the lease holds, the store's run is left alone; once it has run out, the scheduler's next look closes it.
    await directories.runDueSyncs();
    assert.equal((await row()).state, "running");
    assert.deepEqual(await events(), []);
    await lease(hourAgo);
    await directories.runDueSyncs();
    const closed = await row();
    assert.equal(closed.state, "interrupted");
    assert.match(closed.message ?? "", /interrupted/);
    assert.ok(closed.finished_at);
    await directories.runDueSyncs();
    const [event, ...more] = await events();
    assert.deepEqual(more, [], "audited once");
    assert.deepEqual([event.actor, event.outcome, event.details.runId, event.details.seen, event.details.interrupted], ["sysadmin", "failure", run.id, 40, true]);
    assert.match(event.details.message, /interrupted/);
    const state = await db.selectFrom("directory_sync_state").select("lease_owner").where("directory_id", "=", directory.id).executeTakeFirstOrThrow();
    assert.equal(state.lease_owner, null, "the lease is free again");
    assert.equal((await api("DELETE", `${PATH}/${created.body.id}`)).status, 204);
  });

  it("tries a periodic sync that failed again after the scheduler's interval, doubled with each failure up to the period: not at every look (each a failed run and its audit event while the directory was down)", async () => {
    const created = await api("POST", PATH, { name: "down for long", connectionUrl: "ldaps://127.0.0.1:1", baseDn: "dc=x", syncPeriodSeconds: { full: 3600, changed: 100 } });
    assert.equal(created.status, 201, created.text);
    const { store, directories, config } = server().server.deps;
    const interval = config.directories.schedulerSeconds;
    assert.equal(interval, 30, "ECM_DIRECTORY_SCHEDULER_SECONDS' default");
    const { db } = store;
    const directory = await db.selectFrom("directories").select("id").where("uuid", "=", created.body.id).executeTakeFirstOrThrow();
    const runs = async () => (await db.selectFrom("directory_sync_runs").select(["mode", "state", "started_by"]).where("directory_id", "=", directory.id).orderBy("id").execute()).map((r) => r.mode);
    const look = async () => {
      await directories.runDueSyncs();
      await directories.idle();
    };
    /** As if `seconds` had passed since every run began. */
    const moveBack = async (seconds: number) => {
      for (const r of await db.selectFrom("directory_sync_runs").select(["id", "started_at"]).where("directory_id", "=", directory.id).execute()) {
        await db.updateTable("directory_sync_runs").set({ started_at: new Date(Date.parse(r.started_at) - seconds * 1000).toISOString() }).where("id", "=", r.id).execute();
      }
    };
    await look();
    await look();
    assert.deepEqual(await runs(), ["full"], "a failed run waits the scheduler's interval (a full try is a try of the changes too)");
    await moveBack(interval + 1);
    await look();
    await look();
    assert.deepEqual(await runs(), ["full", "full"]);
    await moveBack(interval + 1);
    await look();
    assert.deepEqual(await runs(), ["full", "full"], "after two failures, twice the interval");
    await moveBack(interval);
    await look();
    assert.deepEqual(await runs(), ["full", "full", "full"]);
    // Never longer than the period: the changes' try (100 s) comes before the full one's fourth (4 intervals: 120 s).
    await moveBack(101);
    await look();
    assert.deepEqual(await runs(), ["full", "full", "full", "changed"]);
    assert.equal((await api("GET", `/security/v1/audit-events?target=${created.body.id}&action=directory.sync`)).body.length, 4);
    // By hand, at any time.
    assert.equal((await api("POST", `${PATH}/${created.body.id}/sync`, { mode: "full" })).status, 202);
    await directories.idle();
    assert.equal((await api("DELETE", `${PATH}/${created.body.id}`)).status, 204);
  });

  it("a node that lost its lease (paused past it, another took over) writes no group and no batch of users of the run it had", async () => {
    const created = await api("POST", PATH, directoryConfig(tree, slapd, { name: "lease lost" }));
    assert.equal(created.status, 201, created.text);
    const { db } = server().server.deps.store;
    const directory = await db.selectFrom("directories").select("id").where("uuid", "=", created.body.id).executeTakeFirstOrThrow();
    assert.equal((await api("POST", `${PATH}/${created.body.id}/sync`, { mode: "full" })).status, 202);
    // Taken over before its first batch (the run reads the groups first): as another node would once the lease ran out.
    await db.updateTable("directory_sync_state").set({ lease_owner: "another-node", lease_until: new Date(Date.now() + 60_000).toISOString() }).where("directory_id", "=", directory.id).execute();
    const run = await waitForSync(server(), token, created.body.id);
    assert.deepEqual([run.state, run.created], ["failed", 0], JSON.stringify(run));
    assert.match(run.message, /another node took over this directory's sync/);
    assert.equal((await api("GET", `/security/v1/users/count?source=directory:${created.body.id}`)).body, 0);
    // Nor any group: the groups are written first, each checking the lease as each batch of users does.
    assert.deepEqual(await db.selectFrom("groups").select("name").where("directory_id", "=", directory.id).execute(), []);
    await db.updateTable("directory_sync_state").set({ lease_owner: null, lease_until: null }).where("directory_id", "=", directory.id).execute();
    assert.equal((await api("DELETE", `${PATH}/${created.body.id}`)).status, 204);
  });

  it("syncs one at a time, keeps the key of imported users, and removes a directory with its users disabled or deleted", async () => {
    const group = await createGroup(server(), token, "mapped-local");
    const created = await api("POST", PATH, directoryConfig(tree, slapd, { name: "to remove", groupMappings: [{ groupDn: tree.groupDn("staff"), localGroupId: group }] }));
    assert.equal(created.status, 201, created.text);
    const { id } = created.body;
    const mappedGroup = await api("DELETE", `/security/v1/user-groups/${group}`);
    assert.equal(mappedGroup.status, 409, "a group the directory's groupMappings name stays");
    assert.match(mappedGroup.body.errorMessage, /is named by directory "to remove" \(groupMappings\): take it out there first\.$/);
    assert.equal((await api("GET", `${PATH}/${id}/sync`)).status, 404);
    const stored = await api("POST", `${PATH}/${id}/test`);
    assert.equal(stored.body.ok, true, stored.body.message);

    // Another node holds the lease: a start here is refused.
    const { db } = server().server.deps.store;
    const directory = await db.selectFrom("directories").select("id").where("uuid", "=", id).executeTakeFirstOrThrow();
    await db.updateTable("directory_sync_state").set({ lease_owner: "another-node", lease_until: new Date(Date.now() + 60_000).toISOString() }).where("directory_id", "=", directory.id).execute();
    // Sent without a body (a full sync, the default): refused for the lease, not for the missing body.
    const busy = await api("POST", `${PATH}/${id}/sync`);
    assert.equal(busy.status, 409, busy.text);
    await db.updateTable("directory_sync_state").set({ lease_owner: null, lease_until: null }).where("directory_id", "=", directory.id).execute();
    assert.equal(created.body.lastSyncStartedAt, null, "never synced");
    const run = await syncAndWait(server(), token, id);
    assert.equal(run.state, "succeeded", run.message);
    const read = await api("GET", `${PATH}/${id}`);
    assert.equal(read.body.lastSyncStartedAt, run.startedAt);
    assert.equal((await api("GET", PATH)).body.find((d: any) => d.id === id).lastSyncStartedAt, run.startedAt);
    assert.equal((await api("PUT", `${PATH}/${id}`, read.body)).status, 200, "a GET's body sent back, its read-only fields too");

    const changeKey = await api("PUT", `${PATH}/${id}`, { attributeMapping: { uniqueId: "sAMAccountName" } });
    assert.equal(changeKey.status, 409);
    assert.match(changeKey.body.errorMessage, /uniqueId/);
    // Through the vendor's default: the refusal says so, and how to change the vendor keeping the key.
    const changeVendor = await api("PUT", `${PATH}/${id}`, { vendor: "OTHER" });
    assert.equal(changeVendor.status, 409);
    assert.match(changeVendor.body.errorMessage, /vendor OTHER keys users by entryUUID by default, .* send "attributeMapping": \{"uniqueId": "objectGUID"\} with it\.$/);
    assert.equal((await api("PUT", `${PATH}/${id}`, { bindPassword: null, name: "to remove, renamed" })).status, 200);
    assert.equal((await api("POST", `${PATH}/${id}/test`)).body.ok, true, "a PUT without the password keeps it");
    const renamed = (await api("GET", `/security/v1/users?extendedInfo=true&source=directory:${id}&max=1`)).body[0];
    assert.equal(renamed.source.name, "to remove, renamed");

    const count = tree.userCount - 1;
    const zoeBefore = (await api("GET", "/security/v1/users?extendedInfo=true&search=zoe")).body.find((u: any) => u.username === "zoe");
    assert.ok(zoeBefore.groups.includes("staff"), zoeBefore.groups.join(", "));
    const key = await api("POST", `/security/v1/users/${zoeBefore.id}/api-keys`, { name: "nightly" });
    assert.equal(key.status, 201, key.text);
    // Sent twice at once: removed once (the other waits for nothing: the removal holds the directory's lease).
    const removals = await Promise.all([api("DELETE", `${PATH}/${id}?users=disable`), api("DELETE", `${PATH}/${id}?users=disable`)]);
    assert.deepEqual(removals.map((r) => r.status).filter((status) => status === 204), [204], removals.map((r) => r.text).join("\n"));
    assert.ok(removals.every((r) => [204, 404, 409].includes(r.status)));
    // The directory is gone (a filter naming it is a 404) and so is every user's tie to it: its users are local now.
    assert.equal((await api("GET", `/security/v1/users/count?source=directory:${id}`)).status, 404);
    assert.deepEqual(await db.selectFrom("users").select("id").where("directory_id", "=", directory.id).execute(), []);
    const kept = (await api("GET", `/security/v1/users?extendedInfo=true&search=${encodeURIComponent(renamed.username)}`)).body.find((u: any) => u.username === renamed.username);
    assert.deepEqual([kept.enabled, kept.source.type, kept.dn], [false, "local", renamed.dn]);
    // Nothing the directory vouched for outlives it: the memberships its sync made, and the keys.
    const zoeAfter = (await api("GET", "/security/v1/users?extendedInfo=true&search=zoe")).body.find((u: any) => u.username === "zoe");
    assert.deepEqual(zoeAfter.groups, ["users"]);
    assert.deepEqual((await api("GET", `/security/v1/users/${zoeBefore.id}/api-keys`)).body, []);
    const staff = (await api("GET", "/security/v1/user-groups?search=staff")).body.find((g: any) => g.name === "staff");
    assert.equal(staff.external, false);
    const events = (await api("GET", `/security/v1/audit-events?target=${id}&action=directory.delete`)).body;
    assert.equal(events.length, 1);
    assert.equal(events[0].details.usersAffected, count);

    // Kept, not stranded: a directory that brings them again takes them over (the same accounts, enabled as it says),
    // except one an administrator has given a password of its own meanwhile (an ordinary local user now).
    const find = async (username: string) => (await api("GET", `/security/v1/users?extendedInfo=true&search=${username}`)).body.find((u: any) => u.username === username);
    const [zoe, hans] = [await find("zoe"), await find("hmueller")];
    assert.deepEqual([zoe.enabled, zoe.source.type, hans.source.type], [false, "local", "local"]);
    assert.equal((await api("PUT", `/security/v1/users/${hans.id}/reset-password`, { type: "password", value: "A-Local-Password-1" })).status, 204);
    await db.deleteFrom("groups").where("name", "in", ["staff", "engineering", "developers", "zürich-office"]).execute();
    // Another directory's entry of the same name is not the same person (its uniqueId differs): a clash
    // in its report, never a way into the kept account.
    const stranger = (await api("POST", PATH, directoryConfig(tree, slapd, { name: "stranger", attributeMapping: { uniqueId: "mail" }, groupEntryDnList: [tree.groupDn("developers")] }))).body;
    const strangerRun = await syncAndWait(server(), token, stranger.id);
    assert.equal(strangerRun.state, "succeeded", strangerRun.message);
    assert.equal(strangerRun.created, 0);
    assert.ok(strangerRun.problems.some((p: any) => p.message === 'The username or login name "zoe" is taken by a local user.'), JSON.stringify(strangerRun.problems));
    assert.deepEqual([(await find("zoe")).enabled, (await find("zoe")).source.type], [false, "local"]);
    assert.equal((await api("DELETE", `${PATH}/${stranger.id}?users=delete`)).status, 204);
    const again = (await api("POST", PATH, directoryConfig(tree, slapd, { name: "to delete", groupEntryDnList: [tree.groupDn("developers")] }))).body;
    const back = await syncAndWait(server(), token, again.id);
    assert.equal(back.state, "succeeded", back.message);
    assert.deepEqual([back.created, back.updated, back.failed], [0, count - 1, 2]);
    assert.ok(back.problems.some((p: any) => p.message === 'The username or login name "hmueller" is taken by a local user.'), JSON.stringify(back.problems));
    const zoeBack = await find("zoe");
    assert.deepEqual([zoeBack.id, zoeBack.enabled, zoeBack.source.id], [zoe.id, true, again.id]);
    const takeover = (await api("GET", `/security/v1/audit-events?target=${zoe.id}&action=user.update`)).body[0];
    assert.deepEqual([takeover.details.before.directory, takeover.details.after.directory, takeover.details.after.enabled], [null, "to delete", true]);

    // Deleting: users and groups go; not while other settings name one of the groups (they would name a group that is gone).
    const developers = (await api("GET", "/security/v1/user-groups?search=developers")).body.find((g: any) => g.name === "developers");
    const endpoints = { issuer: "https://idp.example", authorizationUrl: "https://idp.example/auth", tokenUrl: "https://idp.example/token", jwksUrl: "https://idp.example/jwks" };
    const idp = await api("POST", "/idp/v1/external-identity-provider", { alias: "names-developers", clientId: "c", clientSecret: "s", config: endpoints, defaultGroupList: [developers.id] });
    assert.equal(idp.status, 201, idp.text);
    const named = await api("DELETE", `${PATH}/${again.id}?users=delete`);
    assert.equal(named.status, 409, named.text);
    assert.match(named.body.errorMessage, /group "developers" is named by identity provider "names-developers" \(defaultGroupList\).*users=disable/);
    assert.equal((await api("GET", "/security/v1/users/count?search=zoe")).body, 1, "nothing was removed");
    assert.equal((await api("DELETE", "/idp/v1/external-identity-provider/names-developers")).status, 204);
    assert.equal((await api("DELETE", `${PATH}/${again.id}?users=delete`)).status, 204);
    assert.equal((await api("GET", "/security/v1/users/count?search=zoe")).body, 0);
    assert.equal((await api("GET", "/security/v1/users/count?search=hmueller")).body, 1, "the local user stays");
    assert.equal((await api("GET", "/security/v1/user-groups?search=developers")).body.length, 0);
  });

  it("a directory removed with its users kept and added again takes its groups back as it takes its users back: the same groups, under their names — but never one granting the system-administrator role", async () => {
    const named = async (name: string) => ((await api("GET", `/security/v1/user-groups?search=${name}`)).body as any[]).filter((g) => g.name.startsWith(name));
    const staffOf = () => named("staff");
    const first = (await api("POST", PATH, directoryConfig(tree, slapd, { name: "comeback" }))).body;
    assert.equal((await syncAndWait(server(), token, first.id)).state, "succeeded");
    const [staff] = await staffOf();
    assert.deepEqual([staff.name, staff.external], ["staff", true]);
    // Kept by the removal: a member an administrator added by hand stays in it.
    await createUser(server(), token, "comeback-local");
    const local = (await api("GET", "/security/v1/users?search=comeback-local")).body[0];
    assert.equal((await api("PUT", `/security/v1/users/${local.id}/user-groups/${staff.id}`)).status, 204);
    assert.equal((await api("DELETE", `${PATH}/${first.id}?users=disable`)).status, 204);
    assert.deepEqual((await staffOf()).map((g) => [g.id, g.name, g.external]), [[staff.id, "staff", false]]);
    // A kept group made to grant the system-administrator role is not taken back: the directory that
    // brings its entry may be a security administrator's (as a kept user holding the role is not taken over).
    const [engineering] = await named("engineering");
    assert.equal((await api("PUT", `/security/v1/user-groups/${engineering.id}/role-mappings/portal/system-administrator`)).status, 204);

    const again = (await api("POST", PATH, directoryConfig(tree, slapd, { name: "comeback" }))).body;
    const run = await syncAndWait(server(), token, again.id);
    assert.equal(run.state, "succeeded", run.message);
    assert.deepEqual(run.problems.filter((p: any) => /staff/.test(p.message)), []);
    assert.deepEqual((await staffOf()).map((g) => [g.id, g.name, g.external]), [[staff.id, "staff", true]]);
    const members = (await api("GET", `/security/v1/user-groups/${staff.id}/members?max=1000`)).body as any[];
    assert.ok(members.some((m) => m.username === "zoe"), "its members from the directory");
    assert.ok(members.some((m) => m.username === "comeback-local"), "its member by hand");
    assert.deepEqual((await named("engineering")).map((g) => [g.id === engineering.id, g.name, g.external]), [[true, "engineering", false], [false, "engineering (comeback)", true]]);
    assert.equal((await api("DELETE", `${PATH}/${again.id}?users=delete`)).status, 204);
    assert.equal((await api("DELETE", `/security/v1/user-groups/${engineering.id}`)).status, 204);
  });
});
