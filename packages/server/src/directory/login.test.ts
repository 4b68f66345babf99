import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { after, before, it } from "node:test";
import { Attribute, Change, Client } from "ldapts";
import { RefusalTimes } from "../auth/login.js";
import { createSecurityAdministrator, groupId } from "../test-support/accounts.js";
import { directoryConfig, startDirectory, syncAndWait } from "../test-support/directories.js";
import { DIRECTORY_SERVICE_PASSWORD, DIRECTORY_USER_PASSWORD, generatedName, type DirectoryTree } from "../test-support/directory-trees.js";
import { describeEachStore } from "../test-support/server.js";
import { Slapd, SLAPD_ROOT_PASSWORD } from "../test-support/slapd.js";

/**
 * Logins of imported users by directory bind, over LDAPS with the test's CA: right and wrong
 * passwords, accounts disabled in the directory since the last sync, a directory that stops (before
 * and during logins), passwords that would cross an unencrypted connection; and what stays local.
 */
describeEachStore("login by directory bind", (server) => {
  let tree: DirectoryTree;
  let slapd: Slapd;
  let ldap: Client;
  let token: string;
  let id: string;
  const api = (method: string, path: string, body?: unknown) => server().api(method, path, { token, body });
  const login = (username: string, password: string) => server().api("POST", "/auth/v1/providers/builtin/token", { body: { username, password } });
  const user = async (username: string) => ((await api("GET", `/security/v1/users?extendedInfo=true&search=${encodeURIComponent(username)}`)).body as any[]).find((u) => u.username === username);

  before(async () => {
    ({ tree, slapd } = await startDirectory("openldap", 500));
    ldap = await slapd.admin();
    token = await server().login();
    const r = await api("POST", "/security/v1/external-user-storage", directoryConfig(tree, slapd, { connectionUrl: slapd.ldapsUrl, startTls: false }));
    assert.equal(r.status, 201, r.text);
    id = r.body.id;
    const run = await syncAndWait(server(), token, id);
    assert.equal(run.state, "succeeded", run.message);
  });
  after(async () => {
    await ldap.unbind().catch(() => {});
    await slapd.remove();
  });

  it("logs an imported user in with the directory's password, and refuses a wrong one with the one 401", async () => {
    const ok = await login("ivan", DIRECTORY_USER_PASSWORD);
    assert.equal(ok.status, 200, ok.text);
    const me = await server().api("GET", "/security/v1/me", { token: ok.body.access_token });
    assert.equal(me.body.source.type, "directory");
    const wrong = await login("ivan", "not-the-password");
    const unknown = await login("nobody-at-all", "not-the-password");
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, unknown.body);
    // The login name is matched without regard to case, as for local users.
    assert.equal((await login("IVAN", DIRECTORY_USER_PASSWORD)).status, 200);
  });

  it("refuses the system-administrator role through a directory a system administrator did not configure last", async () => {
    const { token: securityAdmin } = await createSecurityAdministrator(server(), token, "bind-secadmin");
    const promoted = generatedName(11);
    assert.equal((await server().api("PUT", `/security/v1/external-user-storage/${id}`, { token: securityAdmin, body: { priority: 3 } })).status, 200);
    const administrators = await groupId(server(), token, "administrators");
    assert.equal((await api("PUT", `/security/v1/users/${(await user(promoted)).id}/user-groups/${administrators}`)).status, 204);
    assert.equal((await login(promoted, DIRECTORY_USER_PASSWORD)).status, 401, "a security administrator's directory opens no system administrator's account");
    assert.equal((await login(generatedName(12), DIRECTORY_USER_PASSWORD)).status, 200, "its other users log in");
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { priority: 1 })).status, 200);
    assert.equal((await login(promoted, DIRECTORY_USER_PASSWORD)).status, 200, "configured by a system administrator since");
    assert.equal((await api("DELETE", `/security/v1/users/${(await user(promoted)).id}/user-groups/${administrators}`)).status, 204);
  });

  it("logs in more users at once than it keeps bind connections for: the rest wait for one", async () => {
    const names = Array.from({ length: 40 }, (_, i) => generatedName(200 + i));
    const statuses = await Promise.all(names.map((n) => login(n, DIRECTORY_USER_PASSWORD).then((r) => r.status)));
    assert.deepEqual(new Set(statuses), new Set([200]), statuses.join(","));
  });

  it("refuses at once an account disabled in the directory since the last sync", async () => {
    assert.equal((await login(generatedName(7), DIRECTORY_USER_PASSWORD)).status, 200);
    await ldap.modify(tree.dn(generatedName(7)), new Change({ operation: "add", modification: new Attribute({ type: "nsAccountLock", values: ["TRUE"] }) }));
    assert.equal((await login(generatedName(7), DIRECTORY_USER_PASSWORD)).status, 401);
    assert.equal((await login("locked", DIRECTORY_USER_PASSWORD)).status, 401);
    // The audit log says why; no password was tried, so none counts toward a lockout.
    const reasonOf = async (username: string) => (await api("GET", `/security/v1/audit-events?action=auth.login&max=20`)).body.find((e: any) => e.targetName === username)?.details.reason;
    assert.equal(await reasonOf(generatedName(7)), "disabled-in-directory");
    assert.equal((await api("GET", `/security/v1/users/${(await user(generatedName(7))).id}/lockout`)).body.failedLogins, 0);
    // A directory disabled here lets none of its users in, nor acts for them through a session or key they hold.
    const session = (await login(generatedName(8), DIRECTORY_USER_PASSWORD)).body.access_token;
    const key = (await api("POST", `/security/v1/users/${(await user(generatedName(8))).id}/api-keys`, { name: "disabled directory" })).body.secret;
    const whoAmI = (bearer: string) => server().api("GET", "/security/v1/me", { token: bearer }).then((r) => r.status);
    assert.deepEqual([await whoAmI(session), await whoAmI(key)], [200, 200]);
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { enabled: false })).status, 200);
    try {
      assert.equal((await login(generatedName(8), DIRECTORY_USER_PASSWORD)).status, 401);
      assert.equal(await reasonOf(generatedName(8)), "directory-disabled");
      assert.deepEqual([await whoAmI(session), await whoAmI(key)], [401, 401]);
    } finally {
      assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { enabled: true })).status, 200);
    }
    assert.equal((await login(generatedName(8), DIRECTORY_USER_PASSWORD)).status, 200);
    assert.equal(await whoAmI(key), 200, "enabled again, its keys work again (as an account's after it is enabled)");
  });

  it("keeps the directory's fields read-only and the password the directory's; local fields stay editable", async () => {
    const ivan = await user("ivan");
    const refused = await api("PUT", `/security/v1/users/${ivan.id}`, { firstName: "Someone", email: "else@example.org", description: "kept here" });
    assert.equal(refused.status, 409);
    // Only the fields sent are named (the display name, which would follow the first name, was not).
    assert.deepEqual(JSON.parse(refused.body.additionalInfo).fields, ["firstName", "email"]);
    assert.match(refused.body.errorMessage, /The directory decides firstName, email of this user/);
    const named = await api("PUT", `/security/v1/users/${ivan.id}`, { displayName: "Someone Else" });
    assert.deepEqual([named.status, JSON.parse(named.body.additionalInfo).fields], [409, ["displayName"]]);
    assert.match(named.body.errorMessage, /The directory decides displayName of this user: change it there\.$/);
    // Sending back what GET gave is no change.
    const same = await api("PUT", `/security/v1/users/${ivan.id}`, { ...ivan, description: "kept here", validTo: "2099-01-01" });
    assert.equal(same.status, 200, same.text);
    assert.equal(same.body.description, "kept here");
    const reset = await api("PUT", `/security/v1/users/${ivan.id}/reset-password`, { type: "password", value: "A-Local-Password-1" });
    assert.equal(reset.status, 409);
  });

  it("answers the one 401 while the directory is down, counts no wrong password, shows it in /health, and logs in again once it is back", async () => {
    await slapd.stop();
    for (let i = 0; i < 8; i++) assert.equal((await login("hmueller", DIRECTORY_USER_PASSWORD)).status, 401);
    // Refused as slowly as a name that checked a password hash lately: its time does not say "a directory's user".
    const times = new RefusalTimes();
    times.record(400);
    (server().server.deps.login as unknown as { hashedRefusals: RefusalTimes }).hashedRefusals = times;
    const started = performance.now();
    assert.equal((await login("hmueller", DIRECTORY_USER_PASSWORD)).status, 401);
    assert.ok(performance.now() - started >= 390, `answered after ${performance.now() - started} ms`);
    const health = await server().api("GET", "/health");
    assert.equal(health.status, 200);
    assert.deepEqual(health.body.directories.map((d: any) => [d.id, d.problem]), [[id, "unreachable"]]);
    // Hans's own: the minute's tally of unknown names refused earlier may be written after these logins.
    const events = (await api("GET", "/security/v1/audit-events?action=auth.login&target=hmueller&max=1")).body;
    assert.equal(events[0].details.reason, "directory-unavailable");
    const hans = await user("hmueller");
    assert.equal(hans.enabled, true);
    assert.equal(hans.lockedOutUntil, null);
    // Disabled, its users are refused by that choice, not by the outage: /health no longer lists it (an
    // operator who turns a dead directory off silences the alarm), until it is enabled again.
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { enabled: false })).status, 200);
    assert.equal((await server().api("GET", "/health")).body.directories, undefined);
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { enabled: true })).status, 200);
    assert.deepEqual((await server().api("GET", "/health")).body.directories.map((d: any) => [d.id, d.problem]), [[id, "unreachable"]]);

    await slapd.resume();
    ldap = await slapd.admin();
    assert.equal((await login("hmueller", DIRECTORY_USER_PASSWORD)).status, 200);
    assert.equal((await server().api("GET", "/health")).body.directories, undefined);
  });

  it("survives the directory stopping in the middle of logins: each is answered 200 or 401, nobody is disabled", async () => {
    const names = Array.from({ length: 24 }, (_, i) => generatedName(100 + i));
    const answers = names.map((n) => login(n, DIRECTORY_USER_PASSWORD).then((r) => r.status));
    await new Promise((r) => setTimeout(r, 5));
    await slapd.stop("SIGKILL");
    const statuses = await Promise.all(answers);
    assert.ok(statuses.every((s) => s === 200 || s === 401), statuses.join(","));
    await slapd.resume();
    ldap = await slapd.admin();
    assert.equal((await api("GET", `/security/v1/users/count?source=directory:${id}&enabled=false`)).body, 1); // "locked", as synced
    assert.equal((await login(names[0]!, DIRECTORY_USER_PASSWORD)).status, 200);
  });

  it("sends no password over an unencrypted connection unless the directory allows it", async () => {
    const began = new Date().toISOString();
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { connectionUrl: slapd.url, bindPassword: DIRECTORY_SERVICE_PASSWORD })).status, 200);
    assert.equal((await login("zoe", DIRECTORY_USER_PASSWORD)).status, 401);
    // Not an outage: the configuration refuses the connection, and /health and the audit log say so.
    const listed = (await server().api("GET", "/health")).body.directories;
    assert.deepEqual(listed?.map((d: any) => [d.id, d.problem]), [[id, "insecure"]]);
    // unreachableSince: since when it has had this problem (named for the first kind of problem).
    assert.ok(listed[0].unreachableSince >= began, listed[0].unreachableSince);
    const refused = (await api("GET", "/security/v1/audit-events?action=auth.login&target=zoe&max=1")).body[0];
    assert.deepEqual([refused.targetName, refused.details.reason], ["zoe", "directory-insecure"]);
    // A sync says so too (it reaches the directory, but its users' passwords may not cross to it), and in its message.
    const run = await syncAndWait(server(), token, id);
    assert.equal(run.state, "failed");
    assert.match(run.message, /is not encrypted \(no LDAPS, no StartTLS\): passwords are not sent over it unless allowUnencryptedPasswords is set/);
    assert.deepEqual((await server().api("GET", "/health")).body.directories?.map((d: any) => [d.problem, d.unreachableSince]), [["insecure", listed[0].unreachableSince]], "the same problem: the same since");
    assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { allowUnencryptedPasswords: true, bindPassword: DIRECTORY_SERVICE_PASSWORD })).status, 200);
    assert.equal((await login("zoe", DIRECTORY_USER_PASSWORD)).status, 200);
    assert.equal((await server().api("GET", "/health")).body.directories, undefined);
  });

  it("asks a directory that does not answer once a login, not again on a new connection (a hung server is no dropped connection)", async () => {
    // A server that takes connections and never answers: a directory hung, or stopped in a debugger.
    const held: Socket[] = [];
    const hung = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    const hungUrl = `ldap://127.0.0.1:${(hung.address() as AddressInfo).port}`;
    try {
      assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { connectionUrl: hungUrl, timeoutSeconds: 1, bindPassword: DIRECTORY_SERVICE_PASSWORD })).status, 200);
      assert.equal((await login("zoe", DIRECTORY_USER_PASSWORD)).status, 401);
      assert.equal(held.length, 1, "one connection");
      const refused = (await api("GET", "/security/v1/audit-events?action=auth.login&target=zoe&max=1")).body[0];
      assert.deepEqual([refused.targetName, refused.details.reason], ["zoe", "directory-unavailable"]);
    } finally {
      for (const socket of held) socket.destroy();
      hung.close();
      assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { connectionUrl: slapd.url, timeoutSeconds: 10, bindPassword: DIRECTORY_SERVICE_PASSWORD })).status, 200);
    }
    assert.equal((await login("zoe", DIRECTORY_USER_PASSWORD)).status, 200);
  });

  it("tries a server that did not answer after the others for a while: a first server down costs one connection's timeout, not every new connection's", async () => {
    const held: Socket[] = [];
    const hung = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    const before = (await api("GET", `/security/v1/external-user-storage/${id}`)).body;
    try {
      const urls = `ldap://127.0.0.1:${(hung.address() as AddressInfo).port} ${slapd.ldapsUrl}`;
      assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { connectionUrl: urls, timeoutSeconds: 1, bindPassword: DIRECTORY_SERVICE_PASSWORD })).status, 200);
      // The service connection, then a bind connection for each of the logins at once.
      const names = [generatedName(301), generatedName(302), generatedName(303)];
      assert.equal((await login(names[0]!, DIRECTORY_USER_PASSWORD)).status, 200);
      assert.deepEqual(await Promise.all(names.map((n) => login(n, DIRECTORY_USER_PASSWORD).then((r) => r.status))), [200, 200, 200]);
      assert.equal((await syncAndWait(server(), token, id)).state, "succeeded");
      assert.equal(held.length, 1, "the server that did not answer was asked once");
      // A connection test says what each server does, in their order.
      const tested = (await api("POST", `/security/v1/external-user-storage/${id}/test`)).body;
      assert.deepEqual(tested.steps.slice(0, 2).map((s: any) => [s.step, s.ok]), [["connect", false], ["connect", true]]);
    } finally {
      for (const socket of held) socket.destroy();
      hung.close();
      assert.equal((await api("PUT", `/security/v1/external-user-storage/${id}`, { connectionUrl: before.connectionUrl, timeoutSeconds: before.timeoutSeconds, bindPassword: DIRECTORY_SERVICE_PASSWORD })).status, 200);
    }
  });

  it("a service account whose bind the directory refuses: the one 401, audited and shown in /health as bind-refused (not unreachable), by a login and by a sync, until a bind succeeds", async () => {
    const directory = `/security/v1/external-user-storage/${id}`;
    const problems = async () => ((await server().api("GET", "/health")).body.directories ?? []).map((d: any) => [d.id, d.problem, d.unreachableSince]);
    const began = new Date().toISOString();
    assert.equal((await api("PUT", directory, { bindPassword: "not-the-service-password" })).status, 200);
    assert.equal((await login("hmueller", DIRECTORY_USER_PASSWORD)).status, 401);
    const [listed] = await problems();
    assert.deepEqual(listed?.slice(0, 2), [id, "bind-refused"]);
    assert.ok(listed[2] >= began, listed[2]);
    const refused = (await api("GET", "/security/v1/audit-events?action=auth.login&target=hmueller&max=1")).body[0];
    assert.deepEqual([refused.targetName, refused.details.reason], ["hmueller", "directory-bind-refused"]);
    assert.equal((await api("GET", `/security/v1/users/${(await user("hmueller")).id}/lockout`)).body.failedLogins, 0);
    // A sync whose bind is refused says the same: the same problem, the same since.
    const run = await syncAndWait(server(), token, id);
    assert.equal(run.state, "failed");
    assert.match(run.message, /^The directory refused the bind as .*: check bindDn and bindPassword\. Nobody was disabled\.$/);
    assert.deepEqual(await problems(), [listed]);
    // The next bind that succeeds clears it: a sync's…
    assert.equal((await api("PUT", directory, { bindPassword: DIRECTORY_SERVICE_PASSWORD })).status, 200);
    assert.equal((await syncAndWait(server(), token, id)).state, "succeeded");
    assert.deepEqual(await problems(), []);
    // …or a login's, after a sync alone found the bind refused.
    assert.equal((await api("PUT", directory, { bindPassword: "not-the-service-password" })).status, 200);
    assert.equal((await syncAndWait(server(), token, id)).state, "failed");
    assert.deepEqual((await problems()).map((p: string[]) => p.slice(0, 2)), [[id, "bind-refused"]]);
    assert.equal((await api("PUT", directory, { bindPassword: DIRECTORY_SERVICE_PASSWORD })).status, 200);
    assert.equal((await login("hmueller", DIRECTORY_USER_PASSWORD)).status, 200);
    assert.deepEqual(await problems(), []);
  });

  it("logs a user in with the login name it holds after the attribute mapping changed, until a sync gives it the new one", async () => {
    const directory = `/security/v1/external-user-storage/${id}`;
    const name = generatedName(30);
    assert.equal((await api("PUT", directory, { attributeMapping: { loginName: "mail" } })).status, 200);
    try {
      // The entry is found by its uniqueId: the login name held is the old attribute's.
      assert.equal((await login(name, DIRECTORY_USER_PASSWORD)).status, 200);
      assert.equal((await login(name, "not-the-password")).status, 401);
      assert.equal((await syncAndWait(server(), token, id)).state, "succeeded");
      assert.equal((await login(`${name}@example.org`, DIRECTORY_USER_PASSWORD)).status, 200);
    } finally {
      assert.equal((await api("PUT", directory, { attributeMapping: { loginName: "uid" } })).status, 200);
    }
    assert.equal((await login(`${name}@example.org`, DIRECTORY_USER_PASSWORD)).status, 200, "until the next sync");
    assert.equal((await syncAndWait(server(), token, id)).state, "succeeded");
    assert.equal((await login(name, DIRECTORY_USER_PASSWORD)).status, 200);
  });

  it("finds the entry by its objectGUID (binary) after the attribute mapping changed, on Active Directory", async () => {
    const { tree: adTree, slapd: ad } = await startDirectory("ad", 20);
    try {
      // Its people are the OpenLDAP tree's by name: imported by their userPrincipalName instead.
      const principal = { username: "userPrincipalName", loginName: "userPrincipalName", email: "userPrincipalName" };
      const created = await api("POST", "/security/v1/external-user-storage", directoryConfig(adTree, ad, { name: "ad login", userSearchBase: adTree.ouDn(["Zürich"]), attributeMapping: principal }));
      assert.equal(created.status, 201, created.text);
      assert.equal((await syncAndWait(server(), token, created.body.id)).state, "succeeded");
      const adUser = (await api("GET", `/security/v1/users?source=directory:${created.body.id}&max=1`)).body[0];
      assert.equal((await api("PUT", `/security/v1/external-user-storage/${created.body.id}`, { attributeMapping: { ...principal, loginName: "sAMAccountName" } })).status, 200);
      assert.equal((await login(adUser.loginName, DIRECTORY_USER_PASSWORD)).status, 200);
    } finally {
      await ad.remove();
    }
  });

  it("tells apart users keyed by a binary uniqueId other than objectGUID (mS-DS-ConsistencyGuid), whatever its bytes, and finds each by it at login", async () => {
    const { tree: adTree, slapd: ad } = await startDirectory("ad", 20);
    const admin = await ad.admin();
    try {
      // Two anchors that differ in a byte that is not UTF-8 (0xff, 0xfe): read as text, both were the same replacement
      // character. Two whose bytes are UTF-8 and differ in letter case alone: read as text, both were lower-cased to one.
      const people = [["zoe", Buffer.from([0xff, ...Array.from({ length: 15 }, (_, i) => i + 1)])], ["ivan", Buffer.from([0xfe, ...Array.from({ length: 15 }, (_, i) => i + 1)])],
        ["u00001", Buffer.from("ABCDEFGHIJKLMNOP")], ["mustchange", Buffer.from("abcdefghijklmnop")]] as const;
      for (const [name, anchor] of people) {
        await admin.modify(adTree.dn(name), new Change({ operation: "add", modification: new Attribute({ type: "mS-DS-ConsistencyGuid", values: [anchor] }) }));
      }
      // Its people are the OpenLDAP tree's by name: imported by their userPrincipalName instead.
      const principal = { username: "userPrincipalName", loginName: "userPrincipalName", email: "userPrincipalName", uniqueId: "mS-DS-ConsistencyGuid" };
      const created = await api("POST", "/security/v1/external-user-storage", directoryConfig(adTree, ad, { name: "ad anchors", userFilter: `(&${adTree.userFilter}(mS-DS-ConsistencyGuid=*))`, attributeMapping: principal }));
      assert.equal(created.status, 201, created.text);
      const run = await syncAndWait(server(), token, created.body.id);
      assert.deepEqual([run.state, run.created, run.failed], ["succeeded", 4, 0], JSON.stringify(run.problems));
      // The login name held is no sAMAccountName: each entry is found by its anchor's bytes.
      assert.equal((await api("PUT", `/security/v1/external-user-storage/${created.body.id}`, { attributeMapping: { ...principal, loginName: "sAMAccountName" } })).status, 200);
      for (const [name] of people) assert.equal((await login(`${name}@corp.example`, DIRECTORY_USER_PASSWORD)).status, 200, name);
    } finally {
      await admin.unbind();
      await ad.remove();
    }
  });

  /**
   * A slapd of its own, `dc=<name>,dc=example`, with a password policy and these people (their password
   * DIRECTORY_USER_PASSWORD), configured here as directory `name` and synced; removed after `body`.
   */
  async function withPolicedDirectory(name: string, uids: string[], ppolicy: { maxFailure: number; lockoutSeconds: number }, body: (slapd: Slapd, suffix: string, id: string) => Promise<void>): Promise<void> {
    const suffix = `dc=${name},dc=example`;
    const person = (uid: string) => `dn: uid=${uid},${suffix}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nuserPassword: ${DIRECTORY_USER_PASSWORD}\n`;
    const ldif = [`dn: ${suffix}\nobjectClass: dcObject\nobjectClass: organization\no: ${name}\ndc: ${name}\n`, ...uids.map(person)].join("\n");
    const { slapd } = await Slapd.start({ suffix, ldif: [ldif], ppolicy });
    try {
      const created = await api("POST", "/security/v1/external-user-storage", { name, vendor: "OTHER", connectionUrl: slapd.url, allowUnencryptedPasswords: true, baseDn: suffix, bindDn: slapd.rootDn, bindPassword: SLAPD_ROOT_PASSWORD });
      assert.equal(created.status, 201, created.text);
      assert.equal((await syncAndWait(server(), token, created.body.id)).created, uids.length);
      await body(slapd, suffix, created.body.id);
    } finally {
      await slapd.remove();
    }
  }

  it("takes an account locked out by wrong passwords in the directory (ppolicy) for enabled: the directory's bind decides, and lets it in once the lockout ran out; one locked for good is disabled", async () => {
    await withPolicedDirectory("policed", ["pp-lockedout", "pp-lockedforgood"], { maxFailure: 2, lockoutSeconds: 2 }, async (policed, suffix, id) => {
      // Wrong passwords at the directory itself lock pp-lockedout out there (pwdAccountLockedTime: when).
      for (let i = 0; i < 2; i++) {
        const client = new Client({ url: policed.url });
        await assert.rejects(client.bind(`uid=pp-lockedout,${suffix}`, "not-the-password"));
        await client.unbind();
      }
      const admin = await policed.admin();
      await admin.modify(`uid=pp-lockedforgood,${suffix}`, new Change({ operation: "replace", modification: new Attribute({ type: "pwdAccountLockedTime", values: ["000001010000Z"] }) }));
      await admin.unbind();
      const run = await syncAndWait(server(), token, id);
      assert.deepEqual([run.state, run.disabled], ["succeeded", 1], run.message);
      assert.deepEqual([(await user("pp-lockedout")).enabled, (await user("pp-lockedforgood")).enabled], [true, false]);
      // Once the lockout ran out, the directory's bind lets it in (and ends the lockout there).
      await new Promise((r) => setTimeout(r, 2100));
      assert.equal((await login("pp-lockedout", DIRECTORY_USER_PASSWORD)).status, 200);
      assert.equal((await login("pp-lockedforgood", DIRECTORY_USER_PASSWORD)).status, 401);
    });
  });

  it("sends no password of a login refused here (its address locked out, out of validity) to the directory: guesses stopped here do not lock the account out there", async () => {
    // The directory locks an account out after 8 wrong binds; this server locks an address out after 5 (the default).
    await withPolicedDirectory("guarded", ["gd-guessed", "gd-expired"], { maxFailure: 8, lockoutSeconds: 600 }, async (guarded, suffix) => {
      /** The wrong binds the directory has counted for an entry (ppolicy's pwdFailureTime, one value each). */
      const failuresThere = async (uid: string) => {
        const admin = await guarded.admin();
        try {
          const { searchEntries } = await admin.search(`uid=${uid},${suffix}`, { scope: "base", attributes: ["pwdFailureTime", "pwdAccountLockedTime"] });
          // (ldapts lists an attribute asked for and absent as empty.)
          const values = (attribute: string) => [searchEntries[0]![attribute] ?? []].flat().length;
          return { failures: values("pwdFailureTime"), locked: values("pwdAccountLockedTime") > 0 };
        } finally {
          await admin.unbind();
        }
      };
      for (let i = 0; i < 10; i++) assert.equal((await login("gd-guessed", "not-the-password")).status, 401);
      assert.deepEqual(await failuresThere("gd-guessed"), { failures: 5, locked: false }, "the guesses past this address's lockout stayed here");
      const expired = await user("gd-expired");
      assert.equal((await api("PUT", `/security/v1/users/${expired.id}`, { validTo: "2020-01-01" })).status, 200);
      assert.equal((await login("gd-expired", "not-the-password")).status, 401);
      assert.equal((await login("gd-expired", DIRECTORY_USER_PASSWORD)).status, 401);
      assert.deepEqual(await failuresThere("gd-expired"), { failures: 0, locked: false });
      // Both refusals audited as what they were (one event a minute: two when a minute ended between them).
      const events = (await api("GET", "/security/v1/audit-events?action=auth.login&target=gd-expired")).body;
      assert.deepEqual([...new Set(events.map((e: any) => `${e.outcome} ${e.details.reason}`))], ["failure expired"]);
      assert.equal(events.reduce((n: number, e: any) => n + (e.count ?? e.details.count), 0), 2);
    });
  });

  it("follows at login whether the directory wants the password changed first, not only at the next sync, and says where to change it", async () => {
    const suffix = "dc=reset,dc=example";
    const ldif = `dn: ${suffix}\nobjectClass: dcObject\nobjectClass: organization\no: reset\ndc: reset\n\ndn: uid=pp-mustchange,${suffix}\nobjectClass: inetOrgPerson\nuid: pp-mustchange\ncn: x\nsn: x\nuserPassword: ${DIRECTORY_USER_PASSWORD}\n`;
    const { slapd: policed } = await Slapd.start({ suffix, ldif: [ldif], ppolicy: { maxFailure: 5, lockoutSeconds: 60 } });
    const admin = await policed.admin();
    const reset = (operation: "replace" | "delete") => admin.modify(`uid=pp-mustchange,${suffix}`, new Change({ operation, modification: new Attribute({ type: "pwdReset", values: operation === "replace" ? ["TRUE"] : [] }) }));
    const acts = async () => {
      const session = await login("pp-mustchange", DIRECTORY_USER_PASSWORD);
      assert.equal(session.status, 200, session.text);
      return server().api("GET", "/security/v1/users?max=1", { token: session.body.access_token });
    };
    try {
      const created = await api("POST", "/security/v1/external-user-storage", { name: "reset", vendor: "OTHER", connectionUrl: policed.url, allowUnencryptedPasswords: true, baseDn: suffix, bindDn: policed.rootDn, bindPassword: SLAPD_ROOT_PASSWORD });
      assert.equal(created.status, 201, created.text);
      assert.equal((await syncAndWait(server(), token, created.body.id)).created, 1);
      // An administrator there wants it changed: the next login follows, before any sync.
      await reset("replace");
      const first = await acts();
      assert.deepEqual([first.status, JSON.parse(first.body.additionalInfo)], [403, { passwordChangeRequired: true, passwordChangeIn: "directory" }]);
      assert.match(first.body.errorMessage, /The password must be changed first, in the directory this account comes from; then log in again\.$/);
      assert.equal((await user("pp-mustchange")).changePassword, true);
      // Changed there: the next login lets it act again (as a plain user: 403 for the users list, without a change due).
      await reset("delete");
      const again = await acts();
      assert.deepEqual([again.status, JSON.parse(again.body.additionalInfo).passwordChangeRequired], [403, undefined]);
      assert.equal((await user("pp-mustchange")).changePassword, false);
      const audited = (await api("GET", "/security/v1/audit-events?action=user.update&max=1")).body[0];
      assert.deepEqual([audited.targetName, audited.details.before, audited.details.after], ["pp-mustchange", { changePassword: true }, { changePassword: false }]);
    } finally {
      await admin.unbind();
      await policed.remove();
    }
  });
});
