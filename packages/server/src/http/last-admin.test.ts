import assert from "node:assert/strict";
import { before, it } from "node:test";
import { createGroup, createUser, groupId, USER_PASSWORD } from "../test-support/accounts.js";
import { insertUser } from "../test-support/fixtures.js";
import { whileLocked } from "../test-support/pg-session.js";
import { describeEachStore, type ApiResponse, type TestServer } from "../test-support/server.js";

const PAST = "2001-01-01T00:00:00.000Z";
const FUTURE = "2999-01-01T00:00:00.000Z";

function refusedAsLastAdmin(r: ApiResponse, what: string): void {
  assert.equal(r.status, 409, `${what}: ${r.text}`);
  assert.match(r.body.errorMessage, /^ECMS1302-E The last system administrator/, what);
}

/**
 * No change may leave nobody who can log in now with the system-administrator role.
 * Every path that can take the role away is tried on the one account left, while holders that cannot
 * log in stand beside it — disabled, past validTo, before validFrom, inheriting from a disabled
 * profile: were any of them counted, the change would pass and the test fail.
 */
describeEachStore("the last system administrator", (server) => {
  let s: TestServer;
  let root: string;
  let admins: string;
  const users: Record<string, string> = {};
  const tokens: Record<string, string> = {};

  const put = (token: string, path: string, body?: unknown) => s.api("PUT", `/security/v1${path}`, { token, body });
  const del = (token: string, path: string) => s.api("DELETE", `/security/v1${path}`, { token });
  /** An import answers 200 and a result per row: a row refused with ECMS1302 (409 on the single-user routes) is answered as that 409. */
  const importLine = async (token: string, row: object): Promise<ApiResponse> => {
    const r = await s.api("POST", "/security/v1/users/import", { token, body: `${JSON.stringify(row)}\n`, headers: { "content-type": "application/x-ndjson" } });
    assert.equal(r.status, 200, r.text);
    const { error } = JSON.parse(r.text.split("\n")[0]!) as { error?: { code: string; message: string } };
    return { ...r, status: error?.code === "ECMS1302" ? 409 : 200, body: { errorMessage: error && `${error.code}-E ${error.message}` } };
  };
  const userRow = (name: string) => s.server.deps.store.db.selectFrom("users").selectAll().where("username", "=", name).executeTakeFirstOrThrow();

  before(async () => {
    s = server();
    const admin = await s.login();
    tokens.sysadmin = admin;
    users.sysadmin = (await userRow("sysadmin")).uuid;
    admins = await groupId(s, admin, "administrators");
    root = await createGroup(s, admin, "Root", ["system-administrator"]);
    const disabledProfile = await createUser(s, admin, "disabled.profile", { profile_id: 0, enabled: 0 });
    // Logs in only through its assigned users: the profile itself is past its validTo.
    const adminProfile = await createUser(s, admin, "admin.profile", { profile_id: 0, valid_to: PAST });
    const holders = [
      await createUser(s, admin, "disabled.admin", { enabled: 0 }),
      await createUser(s, admin, "expired.admin", { valid_to: PAST }),
      await createUser(s, admin, "future.admin", { valid_from: FUTURE }),
      disabledProfile,
      adminProfile,
    ];
    // Enabled and valid, but with no way in: no password, a service account without keys.
    // And one whose key is stopped by a password change it cannot make here (it has no password).
    for (const body of [{ username: "no.password" }, { username: "keyless.service", serviceAccount: true }, { username: "keyed.due", changePassword: true }]) {
      const r = await s.api<{ id: string }>("POST", "/security/v1/users", { token: admin, body });
      assert.equal(r.status, 201, r.text);
      holders.push(await userRow(body.username));
    }
    const dueKey = await s.api("POST", `/security/v1/users/${(await userRow("keyed.due")).uuid}/api-keys`, { token: admin, body: { name: "due" } });
    assert.equal(dueKey.status, 201, dueKey.text);
    for (const user of holders) assert.equal((await put(admin, `/users/${user.uuid}/user-groups/${root}`)).status, 204, user.username);
    await createUser(s, admin, "inherits.disabled", { profile_id: disabledProfile.id });
    for (const user of [...holders, await createUser(s, admin, "last.admin"), await createUser(s, admin, "via.profile")]) users[user.username] = user.uuid;
  });

  it("sysadmin cannot move its own validTo into the past while the other holders cannot log in", async () => {
    refusedAsLastAdmin(await put(tokens.sysadmin!, `/users/${users.sysadmin}`, { validTo: PAST }), "validTo");
    assert.equal((await userRow("sysadmin")).valid_to, null, "rolled back");
    assert.equal((await s.api("GET", "/security/v1/me", { token: tokens.sysadmin })).status, 200);
  });

  it("sysadmin may leave administrators once another account that can log in holds the role", async () => {
    assert.equal((await put(tokens.sysadmin!, `/users/${users["last.admin"]}/user-groups/${root}`)).status, 204);
    tokens.last = await s.login("last.admin", USER_PASSWORD);
    assert.equal((await del(tokens.last, `/users/${users.sysadmin}/user-groups/${admins}`)).status, 204);
  });

  // last.admin is now the one account that can log in as system administrator.
  for (const [what, request] of [
    ["disabling it", (t: string) => put(t, `/users/${users["last.admin"]}`, { enabled: false })],
    ["moving its validTo into the past", (t: string) => put(t, `/users/${users["last.admin"]}`, { validTo: PAST })],
    ["moving its validFrom into the future", (t: string) => put(t, `/users/${users["last.admin"]}`, { validFrom: FUTURE })],
    ["deleting it", (t: string) => del(t, `/users/${users["last.admin"]}`)],
    ["removing it from its group", (t: string) => del(t, `/users/${users["last.admin"]}/user-groups/${root}`)],
    ["removing it from all groups", (t: string) => del(t, `/users/${users["last.admin"]}/user-groups`)],
    ["deleting its group", (t: string) => del(t, `/user-groups/${root}`)],
    ["revoking the role from its group", (t: string) => del(t, `/user-groups/${root}/role-mappings/portal/system-administrator`)],
    ["importing it with a validTo in the past", (t: string) => importLine(t, { username: "last.admin", validTo: PAST })],
    ["importing it disabled", (t: string) => importLine(t, { username: "last.admin", enabled: false })],
    ["importing it without its group", (t: string) => importLine(t, { username: "last.admin", groups: [] })],
  ] as const) {
    it(`refuses ${what}, and changes nothing`, async () => {
      refusedAsLastAdmin(await request(tokens.last!), what);
      const row = await userRow("last.admin");
      assert.deepEqual([row.enabled, row.valid_from, row.valid_to], [1, null, null]);
      const groups = await s.api<{ name: string }[]>("GET", `/security/v1/users/${users["last.admin"]}/user-groups`, { token: tokens.last });
      assert.deepEqual(groups.body.map((g) => g.name), ["Root", "users"]);
      const roles = await s.api<{ name: string }[]>("GET", `/security/v1/user-groups/${root}/role-mappings/portal`, { token: tokens.last });
      assert.deepEqual(roles.body.map((r) => r.name), ["system-administrator"]);
    });
  }

  it("lets the change pass once another holder can log in: re-enabled, its window moved, its profile enabled", async () => {
    const last = tokens.last!;
    for (const [holder, fix, undo] of [
      ["disabled.admin", { enabled: true }, { enabled: false }],
      ["expired.admin", { validTo: null }, { validTo: PAST }],
      ["future.admin", { validFrom: null }, { validFrom: FUTURE }],
      ["disabled.profile", { enabled: true }, { enabled: false }],
    ] as const) {
      assert.equal((await put(last, `/users/${users[holder]}`, fix)).status, 200, holder);
      assert.equal((await put(last, `/users/${users["last.admin"]}`, { validTo: FUTURE })).status, 200, `with ${holder} able to log in`);
      assert.equal((await put(last, `/users/${users["last.admin"]}`, { validTo: null })).status, 200);
      assert.equal((await put(last, `/users/${users[holder]}`, undo)).status, 200, `${holder} back: last.admin still holds the role`);
      refusedAsLastAdmin(await put(last, `/users/${users["last.admin"]}`, { enabled: false }), `after ${holder} went back`);
    }
  });

  it("through a profile: refuses re-profiling the last administrator, disabling its profile, or removing the profile from the group", async () => {
    // via.profile takes the role from admin.profile; then last.admin may go.
    assert.equal((await put(tokens.last!, `/users/${users["via.profile"]}`, { profileId: (await userRow("admin.profile")).id })).status, 200);
    const via = await s.login("via.profile", USER_PASSWORD);
    assert.equal((await put(via, `/users/${users["last.admin"]}`, { enabled: false })).status, 200);
    refusedAsLastAdmin(await put(via, `/users/${users["via.profile"]}`, { profileId: -1 }), "re-profiling");
    refusedAsLastAdmin(await put(via, `/users/${users["admin.profile"]}`, { enabled: false }), "disabling the profile");
    refusedAsLastAdmin(await del(via, `/users/${users["admin.profile"]}/user-groups/${root}`), "removing the profile from the group");
    assert.equal((await userRow("via.profile")).profile_id, (await userRow("admin.profile")).id);
    assert.equal((await userRow("admin.profile")).enabled, 1);
    // With last.admin back, each of those passes.
    assert.equal((await put(via, `/users/${users["last.admin"]}`, { enabled: true })).status, 200);
    assert.equal((await put(via, `/users/${users["admin.profile"]}`, { enabled: false })).status, 200);
  });

  it("counts a service account while it has a key: its last key cannot be revoked while it is the last administrator", async () => {
    // Disabled and enabled again above: its earlier token went with it.
    tokens.last = await s.login("last.admin", USER_PASSWORD);
    const robot = await s.api<{ id: string }>("POST", "/security/v1/users", { token: tokens.last, body: { username: "keyed.service", serviceAccount: true } });
    assert.equal((await put(tokens.last!, `/users/${robot.body.id}/user-groups/${root}`)).status, 204);
    const key = await s.api<{ id: string; secret: string }>("POST", `/security/v1/users/${robot.body.id}/api-keys`, { token: tokens.last, body: { name: "ops" } });
    assert.equal(key.status, 201, key.text);
    const robotKey = key.body.secret;
    assert.equal((await put(robotKey, `/users/${users["last.admin"]}`, { enabled: false })).status, 200, "the keyed service account holds the role");
    refusedAsLastAdmin(await del(robotKey, `/users/${robot.body.id}/api-keys/${key.body.id}`), "revoking its last key");
    assert.equal((await put(robotKey, `/users/${users["last.admin"]}`, { enabled: true })).status, 200);
    tokens.last = await s.login("last.admin", USER_PASSWORD);
    assert.equal((await del(tokens.last, `/users/${robot.body.id}/api-keys/${key.body.id}`)).status, 204, "with last.admin back");
  });

  it("counts a user whose way in is an identity provider: unlinking it, disabling or deleting the provider, or removing its links at a new issuer, is refused while it is the last administrator", async () => {
    const endpoints = { issuer: "https://idp.example", authorizationUrl: "https://idp.example/auth", tokenUrl: "https://idp.example/token", jwksUrl: "https://idp.example/jwks" };
    const created = await s.api("POST", "/idp/v1/external-identity-provider", { token: tokens.last, body: { alias: "lastidp", providerType: "oidc", displayName: "Last IdP", clientId: "ecm", clientSecret: "s3cret-value", config: endpoints } });
    assert.equal(created.status, 201, created.text);
    const idpUser = await s.api<{ id: string }>("POST", "/security/v1/users", { token: tokens.last, body: { username: "idp.admin" } });
    assert.equal((await put(tokens.last!, `/users/${idpUser.body.id}/user-groups/${root}`)).status, 204);
    assert.equal((await put(tokens.last!, `/users/${idpUser.body.id}/federated-identities/lastidp`, { subject: "idp-admin-sub" })).status, 204);
    // Its link is its way in: last.admin may go.
    assert.equal((await put(tokens.last!, `/users/${users["last.admin"]}`, { enabled: false })).status, 200);
    // No one is left to send these over HTTP but through the provider: asked of the services themselves.
    const { linking, providers } = s.server.deps;
    const actor = { id: null, name: "test", sourceIp: null, roles: ["system-administrator"] };
    const refused = (what: string) => (e: unknown) => (e as { kind?: string }).kind === "refused" && /last system administrator/.test((e as Error).message) ? true : assert.fail(`${what}: ${String(e)}`);
    await assert.rejects(linking.unlink(actor, idpUser.body.id, await providers.load("lastidp"), undefined, undefined), refused("unlinking it"));
    await assert.rejects(providers.update(actor, "lastidp", { enabled: false }, undefined), refused("disabling its provider"));
    await assert.rejects(providers.remove(actor, "lastidp", undefined), refused("deleting its provider"));
    await assert.rejects(providers.update(actor, "lastidp", { config: { issuer: "https://idp2.example" } }, undefined, "remove"), refused("removing its links at a new issuer"));
    assert.equal((await providers.load("lastidp")).enabled, true, "rolled back");
    assert.equal((await providers.load("lastidp")).config.issuer, "https://idp.example", "rolled back");
    // With last.admin back, each passes.
    await s.server.deps.store.db.updateTable("users").set({ enabled: 1 }).where("uuid", "=", users["last.admin"]!).execute();
    await providers.remove(actor, "lastidp", undefined);
  });

  it("counts a directory's user while its directory is enabled: disabling or removing the directory is refused while it is the last administrator", async () => {
    tokens.last = await s.login("last.admin", USER_PASSWORD);
    const created = await s.api<{ id: string }>("POST", "/security/v1/external-user-storage", { token: tokens.last, body: { name: "last-dir", connectionUrl: "ldap://127.0.0.1:9", baseDn: "dc=last,dc=example" } });
    assert.equal(created.status, 201, created.text);
    const { directories, store } = s.server.deps;
    const directory = await directories.load(created.body.id);
    const dirAdmin = await insertUser(store, { username: "dir.admin", directory_id: directory.id, dn: "uid=dir.admin,dc=last,dc=example" });
    assert.equal((await put(tokens.last, `/users/${dirAdmin.uuid}/user-groups/${root}`)).status, 204);
    // A key is no way in either once its directory is disabled: it does not count then.
    assert.equal((await s.api("POST", `/security/v1/users/${dirAdmin.uuid}/api-keys`, { token: tokens.last, body: { name: "nightly" } })).status, 201);
    assert.equal((await put(tokens.last, `/users/${users["last.admin"]}`, { enabled: false })).status, 200, "the directory's user holds the role");
    const actor = { id: null, name: "test", sourceIp: null, roles: ["system-administrator"] };
    const refused = (what: string) => (e: unknown) => (e as { kind?: string }).kind === "refused" && /last system administrator/.test((e as Error).message) ? true : assert.fail(`${what}: ${String(e)}`);
    await assert.rejects(directories.update(actor, created.body.id, { enabled: false }, undefined), refused("disabling its directory"));
    await assert.rejects(directories.remove(actor, created.body.id, "disable", undefined), refused("removing its directory"));
    assert.equal((await userRow("dir.admin")).directory_id, directory.id, "nothing removed");
    await store.db.updateTable("users").set({ enabled: 1 }).where("uuid", "=", users["last.admin"]!).execute();
    await directories.remove(actor, created.body.id, "delete", undefined);
  });
});

/**
 * Two changes that each take away one of the last two administrators, both made before either
 * checks: the rule's lock on the role row must make the second see the first. SQLite runs one write
 * transaction at a time, so only PostgreSQL can interleave them.
 */
describeEachStore("the last system administrator under concurrent changes", (server, kind) => {
  it("of two removals of the last two administrators, made at once, exactly one succeeds", { skip: kind === "sqlite" && "needs two open write transactions (PostgreSQL)" }, async () => {
    const s = server();
    const token = await s.login();
    const root = await createGroup(s, token, "Race root", ["system-administrator"]);
    const second = await createUser(s, token, "second.admin");
    assert.equal((await s.api("PUT", `/security/v1/users/${second.uuid}/user-groups/${root}`, { token })).status, 204);
    const sysadmin = (await s.api("GET", "/security/v1/me", { token })).body.id as string;
    const admins = await groupId(s, token, "administrators");
    // Both remove their membership, then wait to check: had they not locked the role row, they would not wait.
    const removals = await whileLocked(s, "select 1 from roles where name = 'system-administrator' for update", [], 2, () => [
      s.api("DELETE", `/security/v1/users/${sysadmin}/user-groups/${admins}`, { token }),
      s.api("DELETE", `/security/v1/users/${second.uuid}/user-groups/${root}`, { token }),
    ]);
    const statuses = removals.map((r) => r.status);
    assert.deepEqual(statuses.sort(), [204, 409]);
  });
});
