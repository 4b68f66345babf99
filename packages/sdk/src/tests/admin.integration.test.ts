/** `ecm.admin` (REST shapes, ETags, cursors, bulk actions, CSV) against the real server, through the browser entry. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startServerThread, type ThreadServer } from "../../test/server-thread.js";
import { ECM, ECMConflictError, ECMPreconditionError, ECMPermissionError } from "../browser.js";

let server: ThreadServer;
let ecm: ECM;

before(async () => {
  server = await startServerThread();
  const login = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  // The browser keeps only the token, never the password.
  ecm = new ECM({ baseUrl: server.baseUrl, token: (await login.login()).accessToken });
});

after(async () => {
  await server.close();
});

test("users: create, pages by cursor, count, ETag conflict, roles with their groups", async () => {
  for (const name of ["adm.a", "adm.b", "adm.c"]) await ecm.admin.createUser({ username: name, firstName: name.toUpperCase() });
  const first = await ecm.admin.users({ search: "adm." }, { max: 2 });
  assert.deepEqual(first.items.map((u) => u.username), ["adm.a", "adm.b"]);
  assert.equal(first.items[0]!.firstName, "ADM.A");
  const second = await ecm.admin.users({ search: "adm." }, { max: 2, cursor: first.next });
  assert.deepEqual([second.items.map((u) => u.username), second.next], [["adm.c"], null]);
  assert.equal(await ecm.admin.countUsers({ search: "adm." }), 3);
  const { value: user, etag } = await ecm.admin.user(first.items[0]!.id);
  assert.match(etag ?? "", /^"\d+"$/);
  const changed = await ecm.admin.updateUser(user.id, { description: "first" }, etag);
  assert.notEqual(changed.etag, etag);
  await assert.rejects(ecm.admin.updateUser(user.id, { description: "second" }, etag), ECMPreconditionError);
  const roles = await ecm.admin.effectiveRoles(user.id);
  assert.deepEqual(roles.map((r) => [r.name, r.grantedBy.map((g) => g.group)]), [["user", ["users"]]]);
  const position = await ecm.admin.userPosition(0);
  assert.deepEqual([position.position, position.cursor], [0, null]);
});

test("a directory and an identity provider: read with their ETag, changed with it, and a stale one refused (412)", async () => {
  const directory = await ecm.security.createDirectory({ name: "adm ldap", connectionUrl: "ldap://127.0.0.1:1", baseDn: "dc=example,dc=org", enabled: false });
  const { value, etag } = await ecm.admin.directory(directory.id);
  assert.deepEqual([value.name, etag], ["adm ldap", etag?.match(/^"\d+"$/)?.[0]]);
  const changed = await ecm.admin.updateDirectory(directory.id, { userSearchBase: "ou=people,dc=example,dc=org" }, etag);
  assert.deepEqual([changed.value.userSearchBase, changed.etag === etag], ["ou=people,dc=example,dc=org", false]);
  await assert.rejects(ecm.admin.updateDirectory(directory.id, { userSearchBase: null }, etag), ECMPreconditionError);
  // A misspelt field is refused before anything is sent, as by ecm.security's calls.
  await assert.rejects(ecm.admin.updateDirectory(directory.id, { userSearchBse: null } as never, changed.etag), /unknown directory field "userSearchBse"/);
  // A delete is guarded alike: one based on a version changed since is refused, and the directory stays.
  await assert.rejects(ecm.admin.deleteDirectory(directory.id, etag, { users: "delete" }), ECMPreconditionError);
  assert.equal((await ecm.admin.directory(directory.id)).value.name, "adm ldap");
  await ecm.admin.deleteDirectory(directory.id, changed.etag, { users: "delete" });
  assert.deepEqual(await ecm.security.directories(), []);

  const endpoints = { issuer: "https://adm.example.com", authorizationUrl: "https://adm.example.com/authorize", tokenUrl: "https://adm.example.com/token", jwksUrl: "https://adm.example.com/keys" };
  await ecm.security.createIdentityProvider("adm-idp", { displayName: "Adm", fromUrl: null, clientId: "ecm", clientSecret: "adm-secret-1", config: endpoints });
  const provider = await ecm.admin.identityProvider("adm-idp");
  assert.equal(provider.value.clientSecret, "**********");
  const renamed = await ecm.admin.updateIdentityProvider("adm-idp", { displayName: "Adm SSO" }, provider.etag);
  assert.deepEqual([renamed.value.displayName, renamed.etag === provider.etag], ["Adm SSO", false]);
  await assert.rejects(ecm.admin.updateIdentityProvider("adm-idp", { displayName: "Adm" }, provider.etag), ECMPreconditionError);
  await assert.rejects(ecm.admin.updateIdentityProvider("adm-idp", { display_name: "Adm" } as never, renamed.etag), /unknown identity provider field "display_name"; use displayName/);
  // A linked subject at a new issuer: the links go when the caller says so.
  const linked = await ecm.security.createUser("adm-idp-linked");
  await ecm.security.linkUser(linked, "adm-idp", "subject-1");
  await assert.rejects(ecm.admin.updateIdentityProvider("adm-idp", { config: { issuer: "https://adm2.example.com" } }, renamed.etag), ECMConflictError);
  const moved = await ecm.admin.updateIdentityProvider("adm-idp", { config: { issuer: "https://adm2.example.com" } }, renamed.etag, { links: "remove" });
  assert.deepEqual([moved.value.config.issuer, await ecm.security.userLinks(linked)], ["https://adm2.example.com", []]);
  await ecm.security.deleteUser(linked.guid);
  await assert.rejects(ecm.admin.deleteIdentityProvider("adm-idp", provider.etag), ECMPreconditionError);
  await ecm.admin.deleteIdentityProvider("adm-idp", moved.etag);
  assert.deepEqual(await ecm.security.identityProviders(), []);
});

test("groups: the first matches with max, the next page by cursor; without max, all of them", async () => {
  for (const name of ["Adm pick b", "Adm pick a", "Adm pick c"]) await ecm.admin.createGroup({ name });
  const first = await ecm.admin.groups("ADM PICK", { max: 2 });
  assert.deepEqual(first.items.map((g) => g.name), ["Adm pick a", "Adm pick b"]);
  const second = await ecm.admin.groups("adm pick", { max: 2, cursor: first.next });
  assert.deepEqual([second.items.map((g) => g.name), second.next], [["Adm pick c"], null]);
  assert.deepEqual((await ecm.admin.groups("adm pick")).map((g) => g.name), ["Adm pick a", "Adm pick b", "Adm pick c"]);
  // One group's view says whether a system administrator is in it; a list's does not.
  assert.equal((await ecm.admin.group(first.items[0]!.id)).value.systemAdministratorMember, false);
  const [administrators] = await ecm.admin.groups("administrators");
  assert.equal(administrators!.systemAdministratorMember, undefined);
  assert.equal((await ecm.admin.group(administrators!.id)).value.systemAdministratorMember, true);
  // A delete with the version read: refused once the group has changed since.
  const { value: c, etag } = await ecm.admin.group(second.items[0]!.id);
  const renamed = await ecm.admin.updateGroup(c.id, { description: "changed meanwhile" }, etag);
  await assert.rejects(ecm.admin.deleteGroup(c.id, etag), ECMPreconditionError);
  await ecm.admin.deleteGroup(c.id, renamed.etag);
  assert.deepEqual((await ecm.admin.groups("adm pick")).map((g) => g.name), ["Adm pick a", "Adm pick b"]);
});

test("bulk actions and the CSV of a filter", async () => {
  const run = await ecm.admin.startBulkAction({ action: "disable", filter: { search: "adm." } });
  let state = run;
  while (state.status === "running") state = await ecm.admin.bulkAction(run.id);
  assert.deepEqual([state.status, state.changed], ["done", 3]);
  assert.ok((await ecm.admin.bulkActions()).some((r) => r.id === run.id));
  // A run that has ended is not cancelled: the server's 409 as the SDK's conflict error.
  await assert.rejects(ecm.admin.cancelBulkAction(run.id), (e: unknown) => e instanceof ECMConflictError && /has ended already \(done\)/.test(e.message));
  const chunks: Uint8Array[] = [];
  for await (const chunk of ecm.admin.usersCsv({ search: "adm.", enabled: false })) chunks.push(chunk);
  const lines = new TextDecoder().decode(Buffer.concat(chunks)).trim().split("\r\n");
  assert.deepEqual(lines.slice(1).map((l) => l.split(",")[2]), ["adm.a", "adm.b", "adm.c"]);
  // A browser's download, which it saves as it comes, sends no token: a one-time link to the same CSV.
  const link = await ecm.admin.usersCsvLink({ search: "adm.", enabled: false });
  const saved = await fetch(new URL(link.url, server.baseUrl));
  assert.deepEqual((await saved.text()).trim().split("\r\n").slice(1).map((l) => l.split(",")[2]), ["adm.a", "adm.b", "adm.c"]);
});

test("a forced password change: the token opens only the own account until it is done", async () => {
  await ecm.admin.createUser({ username: "adm.new", password: "Initial-Pass-123", changePassword: true });
  const token = (await new ECM({ baseUrl: server.baseUrl, username: "adm.new", password: "Initial-Pass-123" }).login()).accessToken;
  const own = new ECM({ baseUrl: server.baseUrl, token });
  assert.equal((await own.admin.me()).changePassword, true);
  await assert.rejects(own.admin.users({}, { max: 1 }), ECMPermissionError);
  await own.admin.changeMyPassword("Initial-Pass-123", "Changed-Pass-456");
  assert.equal((await own.admin.me()).changePassword, false);
});
