import assert from "node:assert/strict";
import { get } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeJwt, type JWK } from "jose";
import { createGroup, createSecurityAdministrator, createUser, groupId, USER_PASSWORD } from "../../test-support/accounts.js";
import { insertUser } from "../../test-support/fixtures.js";
import { whileLocked } from "../../test-support/pg-session.js";
import { startMain } from "../../test-support/main-process.js";
import { Browser, newSigningKey, resign, startTestProvider, type TestProvider } from "../../test-support/oidc-provider.js";
import { CLIENT_ID, CLIENT_SECRET, clientFor, exchangeCode, followCallback, providerFor, providerLogin, toCallback } from "../../test-support/provider-login.js";
import { ADMIN_PASSWORD, describeEachStore, startTestServer } from "../../test-support/server.js";

const COOLDOWN_SECONDS = 3;

describeEachStore("provider login (OpenID Connect, against a real provider)", (server) => {
  let admin: string;
  let corp: TestProvider;
  let trusted: TestProvider;
  let engGroup: string;
  let opsGroup: string;
  let defaultGroup: string;

  before(async () => {
    const s = server();
    admin = await s.login();
    engGroup = await createGroup(s, admin, "engineering");
    opsGroup = await createGroup(s, admin, "operations");
    defaultGroup = await createGroup(s, admin, "corp-staff");
    corp = await providerFor(s, admin, "corp", {
      defaultGroupList: [defaultGroup],
      customGroupList: [{ idpGroupName: "eng", localGroupId: engGroup }, { idpGroupName: "ops", localGroupId: opsGroup }],
      config: { scopes: ["openid", "profile", "email", "groups"] },
    });
    trusted = await providerFor(s, admin, "trusted", { config: { trustEmail: true } });
  });
  after(async () => {
    await corp?.close();
    await trusted?.close();
  });

  const me = async (token: string) => (await server().api("GET", "/security/v1/me", { token })).body;
  const audit = async (action: string) => (await server().api("GET", `/security/v1/audit-events?action=${action}`, { token: admin })).body as any[];
  const userCount = async () => (await server().api("GET", "/security/v1/users/count", { token: admin })).body as number;

  it("first login creates the user (claims, users + default + mapped groups, link); the second finds it", async () => {
    const s = server();
    corp.accounts.set("alice-sub", { preferred_username: "alice", email: "alice@corp.example", email_verified: true, given_name: "Alice", family_name: "Archer", groups: ["eng"] });
    const first = await me(await providerLogin(s, "corp", "alice-sub"));
    assert.equal(first.username, "alice");
    assert.equal(first.email, "alice@corp.example");
    assert.equal(first.displayName, "Alice Archer");
    assert.deepEqual(first.federatedIdentities, [{ alias: "corp", displayName: "corp SSO" }]);
    assert.deepEqual(first.groups, ["corp-staff", "engineering", "users"]);
    const extended = (await s.api("GET", `/security/v1/users/${first.id}?extendedInfo=true`, { token: admin })).body;
    assert.deepEqual(extended.source, { type: "identity-provider", id: "corp", name: "corp SSO" });
    assert.ok((await s.api("GET", "/security/v1/users?source=identity-provider:corp", { token: admin })).body.some((u: any) => u.id === first.id));
    const second = await me(await providerLogin(s, "corp", "alice-sub"));
    assert.equal(second.id, first.id);
    const listed = (await s.api("GET", `/security/v1/users?search=alice`, { token: admin })).body;
    assert.deepEqual(listed.find((u: any) => u.id === first.id).federatedIdentities, [{ alias: "corp", displayName: "corp SSO" }]);
    const logins = (await audit("auth.provider-login")).filter((e) => e.targetId === first.id && e.outcome === "success");
    assert.equal(logins.length, 2);
    assert.ok((await audit("user.create")).some((e) => e.targetId === first.id && e.actor === "identity-provider:corp"));
  });

  it("stores no email claim that is not an e-mail address: the login works, the user keeps its email, the event says why", async () => {
    const s = server();
    corp.accounts.set("mona-sub", { preferred_username: "mona", email: "mona at corp.example", email_verified: true });
    const mona = await me(await providerLogin(s, "corp", "mona-sub"));
    assert.equal(mona.username, "mona");
    assert.equal(mona.email, null);
    const said = (await audit("auth.provider-login")).find((e) => e.targetId === mona.id && e.outcome === "success");
    assert.equal(said.details.emailNotStored, "The provider's email claim is not an e-mail address; it was not stored on the user.");
    assert.equal((await audit("user.create")).find((e) => e.targetId === mona.id).details.after.email, null);
    // A valid one is stored when the user is made; a malformed one later leaves it as it is.
    corp.accounts.set("nico-sub", { preferred_username: "nico", email: "nico@corp.example" });
    const nico = await me(await providerLogin(s, "corp", "nico-sub"));
    assert.equal(nico.email, "nico@corp.example");
    for (const email of ["nico@@corp.example", "nico@corp", "  ", "nico @corp.example", `${"n".repeat(250)}@corp.example`]) {
      corp.accounts.set("nico-sub", { preferred_username: "nico", email });
      assert.equal((await me(await providerLogin(s, "corp", "nico-sub"))).email, "nico@corp.example", email);
    }
    const events = (await audit("auth.provider-login")).filter((e) => e.targetId === nico.id && e.outcome === "success");
    assert.equal(events.filter((e) => e.details.emailNotStored).length, 4, "a blank claim is no claim");
    // The user API refuses the same text with the same check.
    assert.equal((await s.api("PUT", `/security/v1/users/${nico.id}`, { token: admin, body: { email: "nico@@corp.example" } })).status, 400);
  });

  it("mapped groups follow the groups claim at every login; groups not mapped stay", async () => {
    const s = server();
    corp.accounts.set("gina-sub", { preferred_username: "gina", groups: ["eng"] });
    const token = await providerLogin(s, "corp", "gina-sub");
    assert.deepEqual((await me(token)).groups, ["corp-staff", "engineering", "users"]);
    corp.accounts.set("gina-sub", { preferred_username: "gina", groups: ["ops", "unmapped"] });
    assert.deepEqual((await me(await providerLogin(s, "corp", "gina-sub"))).groups, ["corp-staff", "operations", "users"]);
    corp.accounts.set("gina-sub", { preferred_username: "gina" });
    assert.deepEqual((await me(await providerLogin(s, "corp", "gina-sub"))).groups, ["corp-staff", "operations", "users"], "no groups claim: left as they are");
    assert.ok((await audit("user.groups-mapped")).some((e) => e.targetName === "gina" && e.details.removed?.includes("engineering")));
  });

  it("a login removes only the memberships its mapping made: one by hand stays, a mapping dropped since takes its own", async () => {
    const s = server();
    corp.accounts.set("hana-sub", { preferred_username: "hana", groups: ["eng"] });
    const hana = await me(await providerLogin(s, "corp", "hana-sub"));
    const join = async (group: string) => assert.equal((await s.api("PUT", `/security/v1/users/${hana.id}/user-groups/${group}`, { token: admin })).status, 204);
    // A user's groups say which the mapping made.
    const mappedBy = async () => Object.fromEntries(((await s.api("GET", `/security/v1/users/${hana.id}/user-groups`, { token: admin })).body as any[]).map((g) => [g.name, g.mappedBy ?? null]));
    assert.deepEqual(await mappedBy(), { "corp-staff": null, engineering: "corp", users: null });
    // Put into a mapped group by hand that the claim does not name: the next login leaves it.
    await join(opsGroup);
    assert.deepEqual((await me(await providerLogin(s, "corp", "hana-sub"))).groups, ["corp-staff", "engineering", "operations", "users"]);
    // Added by hand where the mapping had put her: hers by hand from now on, whatever the claim says.
    await join(engGroup);
    assert.equal((await mappedBy()).engineering, null);
    corp.accounts.set("hana-sub", { preferred_username: "hana", groups: [] });
    assert.deepEqual((await me(await providerLogin(s, "corp", "hana-sub"))).groups, ["corp-staff", "engineering", "operations", "users"]);
    assert.ok(!(await audit("user.groups-mapped")).some((e) => e.targetName === "hana" && e.details.removed.length > 0), "nothing removed");

    // A mapping removed from the provider: the memberships it made go at the user's next login.
    const shift = await providerFor(s, admin, "shift", { customGroupList: [{ idpGroupName: "night", localGroupId: engGroup }], config: { scopes: ["openid", "profile", "groups"] } });
    try {
      shift.accounts.set("omar-sub", { preferred_username: "omar", groups: ["night"] });
      const omar = await me(await providerLogin(s, "shift", "omar-sub"));
      assert.deepEqual(omar.groups, ["engineering", "users"]);
      assert.equal((await s.api("PUT", "/idp/v1/external-identity-provider/shift", { token: admin, body: { customGroupList: [] } })).status, 200);
      assert.deepEqual((await me(await providerLogin(s, "shift", "omar-sub"))).groups, ["users"]);
      assert.ok((await audit("user.groups-mapped")).some((e) => e.targetId === omar.id && e.details.removed?.includes("engineering")));
    } finally {
      await shift.close();
      await s.api("DELETE", "/idp/v1/external-identity-provider/shift", { token: admin });
    }
  });

  it("an unlinked user leaves the groups the provider's mapping gave it, and one the provider made becomes a local user", async () => {
    const s = server();
    corp.accounts.set("ulla-sub", { preferred_username: "ulla", groups: ["eng", "ops"] });
    const ulla = await me(await providerLogin(s, "corp", "ulla-sub"));
    // operations by hand as well: it stays.
    assert.equal((await s.api("PUT", `/security/v1/users/${ulla.id}/user-groups/${opsGroup}`, { token: admin })).status, 204);
    // Both filters say what holds now: made by the provider and linked to it, then neither.
    const among = async (filter: string) => ((await s.api("GET", `/security/v1/users?search=ulla&${filter}`, { token: admin })).body as any[]).some((u) => u.id === ulla.id);
    assert.deepEqual([await among("linkedTo=corp"), await among("source=identity-provider:corp")], [true, true]);
    assert.equal((await s.api("DELETE", `/security/v1/users/${ulla.id}/federated-identities/corp`, { token: admin })).status, 204);
    assert.deepEqual([await among("linkedTo=corp"), await among("source=identity-provider:corp"), await among("source=local")], [false, false, true]);
    const after = (await s.api("GET", `/security/v1/users/${ulla.id}?extendedInfo=true`, { token: admin })).body;
    assert.deepEqual(after.groups, ["corp-staff", "operations", "users"]);
    assert.deepEqual(after.source, { type: "local", id: null, name: null });
    assert.deepEqual((await s.api("GET", "/security/v1/users?search=ulla&extendedInfo=true", { token: admin })).body[0].source, after.source);
    const [event] = (await audit("user.unlink")).filter((e) => e.targetId === ulla.id);
    assert.deepEqual(event.details.groupsLeft, ["engineering"]);
  });

  it("a username that is taken gets the clash rule's name, not an error", async () => {
    const s = server();
    await createUser(s, admin, "bob");
    corp.accounts.set("bob-sub-1", { preferred_username: "bob" });
    corp.accounts.set("bob-sub-2", { preferred_username: "BOB" });
    corp.accounts.set("bob-sub-3", { preferred_username: "bob" });
    assert.equal((await me(await providerLogin(s, "corp", "bob-sub-1"))).username, "bob-corp");
    assert.equal((await me(await providerLogin(s, "corp", "bob-sub-2"))).username, "BOB-corp-2");
    assert.equal((await me(await providerLogin(s, "corp", "bob-sub-3"))).username, "bob-corp-3");
    corp.accounts.set("odd-sub", { preferred_username: "name with spaces/and:colons" });
    assert.equal((await me(await providerLogin(s, "corp", "odd-sub"))).username, "name_with_spaces_and_colons");
  });

  it("first logins at once that all want the same username each get a user of their own, none an error", async () => {
    const s = server();
    const subjects = Array.from({ length: 6 }, (_, i) => `same-sub-${i}`);
    for (const sub of subjects) corp.accounts.set(sub, { preferred_username: "samename" });
    const callbacks: Awaited<ReturnType<typeof toCallback>>[] = [];
    for (const sub of subjects) callbacks.push(await toCallback(s, "corp", sub));
    const done = await Promise.all(callbacks.map(({ browser, callback }) => followCallback(browser, callback)));
    assert.deepEqual(done.map((d) => d.status), Array(6).fill(303), JSON.stringify(done.map((d) => d.body)));
    const names = await Promise.all(done.map(async (d, i) => (await me((await exchangeCode(s, callbacks[i]!.browser, "corp", d.code!)).body.access_token)).username));
    assert.equal(new Set(names).size, 6, names.join());
    assert.ok(names.every((n) => n.startsWith("samename")), names.join());
  });

  it("a look-alike of a taken name is a clash too, and the users it creates are guarded like any", async () => {
    const s = server();
    corp.accounts.set("eve-sub-1", { preferred_username: "ｓｙｓａｄｍｉｎ" });
    corp.accounts.set("eve-sub-2", { preferred_username: "\u0455\u0443\u0455\u0430dmin" });
    assert.equal((await me(await providerLogin(s, "corp", "eve-sub-1"))).username, "sysadmin-corp", "stored in NFKC, and sysadmin is taken");
    assert.equal((await me(await providerLogin(s, "corp", "eve-sub-2"))).username, "\u0455\u0443\u0455\u0430dmin-corp-2", "Cyrillic: looks like sysadmin, then like sysadmin-corp");
    const local = await s.api("POST", "/security/v1/users", { token: admin, body: { username: "sysadmin-corp-2" } });
    assert.equal(local.status, 409, local.text);
    assert.equal(JSON.parse(local.body.additionalInfo).existing, "\u0455\u0443\u0455\u0430dmin-corp-2");
    // Invisible characters (a Hangul filler is even a letter) become _ as any other character a username may not hold: the login works.
    corp.accounts.set("eve-sub-3", { preferred_username: "root\u3164" });
    corp.accounts.set("eve-sub-4", { preferred_username: "ro\u200bot" });
    assert.equal((await me(await providerLogin(s, "corp", "eve-sub-3"))).username, "root_");
    assert.equal((await me(await providerLogin(s, "corp", "eve-sub-4"))).username, "ro_ot");
  });

  it("links an existing user by email only when the provider is trusted, says verified, and one user has it", async () => {
    const s = server();
    const local = await insertUser(s.server.deps.store, { username: "carol", email: "Carol@Example.com" }, { hasher: s.server.deps.hasher, value: USER_PASSWORD });
    // Not trusted: a verified email does not link.
    corp.accounts.set("carol-corp", { preferred_username: "carol.c", email: "carol@example.com", email_verified: true });
    assert.notEqual((await me(await providerLogin(s, "corp", "carol-corp"))).id, local.uuid);
    // Trusted, but not verified (or not said at all): no link.
    trusted.accounts.set("carol-unverified", { preferred_username: "carol.u", email: "carol@example.com", email_verified: false });
    trusted.accounts.set("carol-silent", { preferred_username: "carol.s", email: "carol@example.com" });
    assert.notEqual((await me(await providerLogin(s, "trusted", "carol-unverified"))).id, local.uuid);
    assert.notEqual((await me(await providerLogin(s, "trusted", "carol-silent"))).id, local.uuid);
    // The users those logins made took the address too, as their provider's users claimed it: they do not
    // count, or anyone who can log in somewhere could stop an address's owner from ever being linked.
    trusted.accounts.set("carol-verified", { preferred_username: "carol.v", email: "carol@example.com", email_verified: true });
    assert.equal((await me(await providerLogin(s, "trusted", "carol-verified"))).id, local.uuid);

    const dave = await insertUser(s.server.deps.store, { username: "dave", email: "dave@example.com" }, { hasher: s.server.deps.hasher, value: USER_PASSWORD });
    trusted.accounts.set("dave-verified", { preferred_username: "dave.v", email: "DAVE@example.com", email_verified: true });
    const linked = await me(await providerLogin(s, "trusted", "dave-verified"));
    assert.equal(linked.id, dave.uuid);
    assert.deepEqual(linked.federatedIdentities, [{ alias: "trusted", displayName: "trusted SSO" }]);
    assert.ok((await audit("user.link")).some((e) => e.targetId === dave.uuid && e.details.by === "verified-email"));
    // A local user with a password keeps it.
    assert.match(await s.login("dave", USER_PASSWORD), /^eyJ/);
    // Emails compare with case folded beyond ASCII, on every store (SQLite's lower() folds ASCII only).
    const elodie = await s.api("POST", "/security/v1/users", { token: admin, body: { username: "elodie", email: "élodie@exemple.fr", password: USER_PASSWORD } });
    assert.equal(elodie.status, 201, elodie.text);
    trusted.accounts.set("elodie-verified", { preferred_username: "elodie.v", email: "ÉLODIE@Exemple.fr", email_verified: true });
    assert.equal((await me(await providerLogin(s, "trusted", "elodie-verified"))).id, elodie.body.id);
    // But another mailbox is not the same address however alike it reads (names fold these to ASCII): a
    // verified fullwidth `ｆｒａｎ@…` is not fran's account, nor a ligature `ﬀ@…` that of ff@….
    for (const [local, verified] of [["fran@example.com", "ｆｒａｎ@example.com"], ["ff@example.com", "ﬀ@example.com"]] as const) {
      const owner = await insertUser(s.server.deps.store, { username: local.split("@")[0]!, email: local }, { hasher: s.server.deps.hasher, value: USER_PASSWORD });
      trusted.accounts.set(verified, { preferred_username: `look.${owner.username}`, email: verified, email_verified: true });
      assert.notEqual((await me(await providerLogin(s, "trusted", verified))).id, owner.uuid, verified);
    }
    // Never an account no person logs in to: a service account (keys only) or a profile (a template), nor a directory's user.
    const store = s.server.deps.store;
    const robot = await insertUser(store, { username: "robot", email: "robot@example.com", service_account: 1 });
    const template = await insertUser(store, { username: "template", email: "template@example.com", profile_id: 0 });
    for (const [who, row] of [["robot", robot], ["template", template]] as const) {
      trusted.accounts.set(`${who}-verified`, { preferred_username: `${who}.v`, email: `${who}@example.com`, email_verified: true });
      assert.notEqual((await me(await providerLogin(s, "trusted", `${who}-verified`))).id, row.uuid, who);
    }
    // email_verified vouches for its own answer's address: an ID token naming erin's email without it,
    // beside userinfo that verifies another address, links nobody.
    const erin = await insertUser(s.server.deps.store, { username: "erin", email: "erin@example.com" }, { hasher: s.server.deps.hasher, value: USER_PASSWORD });
    trusted.accounts.set("mallory-sub", { preferred_username: "mallory", email: "mallory@evil.example", email_verified: true });
    trusted.tamper = (idToken) => resign(trusted, idToken, { email: "erin@example.com", email_verified: undefined });
    try {
      assert.notEqual((await me(await providerLogin(s, "trusted", "mallory-sub"))).id, erin.uuid);
    } finally {
      trusted.tamper = null;
    }
    // Never an account another provider's login made (its email is what that provider's user claimed): a
    // squatter who logged in first claiming quinn's address does not receive quinn's verified login.
    corp.accounts.set("squatter-sub", { preferred_username: "squatter", email: "quinn@example.com", email_verified: false });
    const squatter = await me(await providerLogin(s, "corp", "squatter-sub"));
    trusted.accounts.set("quinn-verified", { preferred_username: "quinn.v", email: "quinn@example.com", email_verified: true });
    assert.notEqual((await me(await providerLogin(s, "trusted", "quinn-verified"))).id, squatter.id);
    // Never a system administrator: a security administrator may configure a trusting provider.
    const boss = await insertUser(s.server.deps.store, { username: "boss", email: "boss@example.com" }, { hasher: s.server.deps.hasher, value: USER_PASSWORD });
    assert.equal((await s.api("PUT", `/security/v1/users/${boss.uuid}/user-groups/${await groupId(s, admin, "administrators")}`, { token: admin })).status, 204);
    trusted.accounts.set("boss-verified", { preferred_username: "boss.v", email: "boss@example.com", email_verified: true });
    const notBoss = await me(await providerLogin(s, "trusted", "boss-verified"));
    assert.notEqual(notBoss.id, boss.uuid);
    assert.equal(notBoss.username, "boss.v");
  });

  it("an account a provider's login made never receives a verified email's link, also once that provider is removed", async () => {
    const s = server();
    const temp = await providerFor(s, admin, "temp");
    try {
      temp.accounts.set("zed-squatter", { preferred_username: "zed.squatter", email: "zed@example.com", email_verified: false });
      const squatter = await me(await providerLogin(s, "temp", "zed-squatter"));
      assert.equal((await s.api("DELETE", "/idp/v1/external-identity-provider/temp", { token: admin })).status, 204);
      assert.equal((await s.api("GET", `/security/v1/users/${squatter.id}`, { token: admin })).body.source?.type ?? "local", "local", "left without its provider");
      trusted.accounts.set("zed-verified", { preferred_username: "zed.v", email: "zed@example.com", email_verified: true });
      const zed = await me(await providerLogin(s, "trusted", "zed-verified"));
      assert.notEqual(zed.id, squatter.id);
      assert.equal(zed.username, "zed.v");
    } finally {
      await temp.close();
    }
  });

  it("a directory's user whose directory is disabled is let in by no provider either", async () => {
    const s = server();
    const created = await s.api("POST", "/security/v1/external-user-storage", { token: admin, body: { name: "switched-off ldap", connectionUrl: "ldap://127.0.0.1:9", baseDn: "dc=off,dc=example", enabled: false } });
    assert.equal(created.status, 201, created.text);
    const directory = await s.server.deps.store.db.selectFrom("directories").select("id").where("uuid", "=", created.body.id).executeTakeFirstOrThrow();
    const dora = await insertUser(s.server.deps.store, { username: "dora.off", directory_id: directory.id, dn: "uid=dora.off,dc=off,dc=example" });
    assert.equal((await s.api("PUT", `/security/v1/users/${dora.uuid}/federated-identities/corp`, { token: admin, body: { subject: "dora-off-sub" } })).status, 204);
    corp.accounts.set("dora-off-sub", { preferred_username: "dora.off" });
    await assert.rejects(providerLogin(s, "corp", "dora-off-sub"), /callback answered/);
    assert.ok((await audit("auth.provider-login")).some((e) => e.outcome === "failure" && e.targetId === dora.uuid && e.details.reason === "directory-disabled"));
    assert.ok(!(await audit("auth.provider-login")).some((e) => e.outcome === "success" && e.targetId === dora.uuid), "no login said to have succeeded");
  });

  it("the newer login's answer, arriving while an older tab's answer is refused, still finishes (a refused answer leaves the login as it was)", async () => {
    const s = server();
    corp.accounts.set("tabs-sub", { preferred_username: "tabs" });
    const failures: string[] = [];
    for (let i = 0; i < 20; i++) {
      const browser = new Browser();
      const older = await toCallback(s, "corp", "tabs-sub", browser);
      const newer = await toCallback(s, "corp", "tabs-sub", browser);
      const [refused, done] = await Promise.all([followCallback(browser, older.callback), followCallback(browser, newer.callback)]);
      assert.equal(refused.status, 400);
      if (done.status !== 303) failures.push(`${i}: ${done.status} ${done.body?.additionalInfo}`);
    }
    assert.deepEqual(failures, []);
  });

  it("refuses a callback whose state, browser, issuer or nonce does not match, and a replayed one", async () => {
    const s = server();
    corp.accounts.set("eve-sub", { preferred_username: "eve" });
    const before = await userCount();

    const wrongState = await toCallback(s, "corp", "eve-sub");
    wrongState.callback.searchParams.set("state", "forged");
    assert.equal((await followCallback(wrongState.browser, wrongState.callback)).body.additionalInfo, JSON.stringify({ reason: "state-mismatch" }));

    const otherBrowser = await toCallback(s, "corp", "eve-sub");
    const stranger = await followCallback(new Browser(), otherBrowser.callback);
    assert.equal(stranger.status, 400);
    assert.match(stranger.body.errorMessage, /^ECMS1001-E .*no login in progress/);

    const mixUp = await toCallback(s, "corp", "eve-sub");
    assert.equal(mixUp.callback.searchParams.get("iss"), corp.issuer, "the provider sends RFC 9207 iss");
    mixUp.callback.searchParams.set("iss", trusted.issuer);
    assert.equal(JSON.parse((await followCallback(mixUp.browser, mixUp.callback)).body.additionalInfo).reason, "issuer-mismatch");
    // Its discovery document says it sends iss: an answer without it is refused (RFC 9207 2.4).
    const noIss = await toCallback(s, "corp", "eve-sub");
    noIss.callback.searchParams.delete("iss");
    assert.equal(JSON.parse((await followCallback(noIss.browser, noIss.callback)).body.additionalInfo).reason, "issuer-missing");

    corp.tamper = (idToken) => resign(corp, idToken, { nonce: "another-nonce" });
    try {
      const nonce = await toCallback(s, "corp", "eve-sub");
      const r = await followCallback(nonce.browser, nonce.callback);
      assert.equal(r.status, 400);
      assert.equal(JSON.parse(r.body.additionalInfo).reason, "id-token-nonce");
    } finally {
      corp.tamper = null;
    }

    const noCode = await toCallback(s, "corp", "eve-sub");
    noCode.callback.searchParams.delete("code");
    assert.equal(JSON.parse((await followCallback(noCode.browser, noCode.callback)).body.additionalInfo).reason, "code-missing");

    const replay = await toCallback(s, "corp", "eve-sub");
    assert.equal((await followCallback(replay.browser, replay.callback)).status, 303);
    const again = await followCallback(replay.browser, replay.callback);
    assert.equal(again.status, 400, "the pending login is used up");
    // The same code with a fresh login's state: the provider refuses the used code.
    const fresh = await toCallback(s, "corp", "eve-sub", replay.browser);
    fresh.callback.searchParams.set("code", replay.callback.searchParams.get("code")!);
    const reused = await followCallback(fresh.browser, fresh.callback);
    assert.equal(reused.status, 400, "a failed check, not a refused account");
    assert.match(reused.body.errorMessage, /did not take the login's code/);
    assert.ok((await audit("auth.provider-login")).some((e) => e.outcome === "failure" && e.details.reason === "code-refused"));
    // The provider refuses the client itself (a wrong secret): the provider is misconfigured here, the person is not refused.
    assert.equal((await s.api("PUT", "/idp/v1/external-identity-provider/corp", { token: admin, body: { clientSecret: "not-the-secret" } })).status, 200);
    try {
      const wrong = await toCallback(s, "corp", "eve-sub");
      const refused = await followCallback(wrong.browser, wrong.callback);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.retryAfter, "300", "an administrator must mend it");
      assert.match(refused.body.errorMessage, /^ECMS1901-E This identity provider is misconfigured here: it does not accept this service's client id and secret\. Please tell an administrator\.$/);
      const page = await toCallback(s, "corp", "eve-sub");
      const back = await page.browser.request(page.callback.href, { accept: "text/html" });
      assert.equal(back.status, 303);
      assert.match(decodeURIComponent(new URL(back.headers.get("location")!).hash), /^#error=This identity provider is misconfigured here/);
      const events = (await audit("auth.provider-login")).filter((e) => e.outcome === "failure" && e.details.reason === "invalid-client-credentials");
      assert.equal(events.length, 2);
      assert.ok(!JSON.stringify(events).includes("not-the-secret") && !JSON.stringify(refused.body).includes("not-the-secret"));
    } finally {
      assert.equal((await s.api("PUT", "/idp/v1/external-identity-provider/corp", { token: admin, body: { clientSecret: CLIENT_SECRET } })).status, 200);
    }

    assert.equal(await userCount(), before + 1, "only the one good login created a user");
    // A callback without a login in progress is counted a minute per address, written a second later.
    await s.server.deps.auditTally.flush();
    for (const reason of ["state-mismatch", "no-pending-login", "issuer-mismatch", "issuer-missing", "id-token-nonce"]) {
      assert.ok((await audit("auth.provider-login")).some((e) => e.outcome === "failure" && e.details.reason === reason), reason);
    }
  });

  it("refuses an ID token that fails a check, saying which in people's words (not the libraries')", async () => {
    const s = server();
    corp.accounts.set("frank-sub", { preferred_username: "frank" });
    const foreign = await newSigningKey();
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, (t: string) => Promise<string>, RegExp][] = [
      ["id-token-iss", (t) => resign(corp, t, { iss: trusted.issuer }), /comes from another issuer than this provider \(wrong issuer\)/],
      ["id-token-aud", (t) => resign(corp, t, { aud: "another-client" }), /was issued to another application \(wrong audience/],
      ["id-token-exp", (t) => resign(corp, t, { iat: now - 7200, exp: now - 3600 }), /has expired/],
      ["id-token-nonce", (t) => resign(corp, t, { nonce: "another-nonce" }), /belongs to another login \(nonce mismatch\)/],
      ["id-token-signature", (t) => resign(corp, t, {}, { ...foreign, kid: corp.signingKey().kid }), /signature is not valid/],
      ["id-token-unknown-key", (t) => resign(corp, t, {}, foreign), /signed with a key the provider does not publish/],
      ["id-token-iat", (t) => resign(corp, t, { iat: now + 3600, exp: now + 7200 }), /time of issue is too far in the past or in the future/],
      ["id-token-iat", (t) => resign(corp, t, { iat: 1, exp: now + 3600 }), /time of issue is too far in the past or in the future/],
      ["id-token-sub-missing", (t) => resign(corp, t, { sub: undefined }), /has no sub claim/],
      ["id-token-type", (t) => resign(corp, t, {}, undefined, "logout+jwt"), /is typed "logout\+jwt", another kind of token/],
      // Without its groups claim too, so that userinfo would be asked about that subject.
      ["id-token-sub", (t) => resign(corp, t, { sub: "", groups: undefined }), /names no user \(its sub claim is empty/],
      ["id-token-sub", (t) => resign(corp, t, { sub: "s".repeat(256) }), /names no user/],
      // Without its groups claim the ID token is completed from userinfo, which names the user the provider logged in.
      ["userinfo-subject-mismatch", (t) => resign(corp, t, { sub: "another-sub", groups: undefined }), /the ID token and the provider's user information are of two different users/],
    ];
    const refusals = async () => (await audit("auth.provider-login")).filter((e) => e.outcome === "failure" && cases.some(([reason]) => e.details.reason === reason)).length;
    const before = await refusals();
    for (const [reason, tamper, words] of cases) {
      corp.tamper = tamper;
      try {
        const { browser, callback } = await toCallback(s, "corp", "frank-sub");
        const r = await followCallback(browser, callback);
        assert.equal(r.status, 400, reason);
        assert.equal(JSON.parse(r.body.additionalInfo).reason, reason);
        assert.match(r.body.errorMessage, /^ECMS1001-E The identity provider's answer failed a check: the ID token/, reason);
        assert.match(r.body.errorMessage, words, reason);
        assert.doesNotMatch(r.body.errorMessage, /invalid response|encountered|ERR_|OAUTH_|JWT/, reason);
      } finally {
        corp.tamper = null;
      }
    }
    assert.equal(await refusals(), before + cases.length);
    assert.equal((await s.api("GET", "/security/v1/users?search=frank", { token: admin })).body.length, 0);
  });

  it("follows a key rotation at the provider: an unknown kid reads the keys again; made-up ones once within the cooldown", async () => {
    const s = server();
    corp.accounts.set("rita-sub", { preferred_username: "rita" });
    corp.accounts.set("mallory-sub", { preferred_username: "mallory" });
    await providerLogin(s, "corp", "rita-sub");
    await corp.rotateKeys();
    // The browsers get the provider's redirect back first, so that their callbacks take little time.
    const rita = await toCallback(s, "corp", "rita-sub");
    const mallory = await Promise.all([1, 2, 3].map(() => toCallback(s, "corp", "mallory-sub")));
    const unknown = await newSigningKey();
    corp.tamper = async (t) => (decodeJwt(t).sub === "mallory-sub" ? resign(corp, t, {}, unknown) : t);
    await sleep(COOLDOWN_SECONDS * 1000 + 200); // the cooldown since the keys were last read for an unknown key is over
    const fetches = corp.jwksRequests;
    try {
      // The read for rita's new key is over before the made-up key ids come; it found a new key, so the
      // first of them reads once more, finding nothing new: the others are held by that read's cooldown.
      const good = await followCallback(rita.browser, rita.callback);
      const forged = await Promise.all(mallory.map((c) => followCallback(c.browser, c.callback)));
      assert.equal(good.status, 303, "the new key was found");
      for (const r of forged) assert.equal(r.status, 400, "a made-up key id is refused");
    } finally {
      corp.tamper = null;
    }
    assert.equal(corp.jwksRequests, fetches + 2, "the keys were read for rita's key, and once for the made-up ones");
  });

  it("follows a key rotation right after the keys were read (within the cooldown): the new key is read for once, made-up ones once in all", async () => {
    const s = server();
    const rotating = await providerFor(s, admin, "rotating");
    try {
      rotating.accounts.set("rotated-sub", { preferred_username: "rotated.user" });
      // At the provider already: their ID tokens are signed when the callbacks exchange the codes, and
      // only the forged one's callback runs within the cooldown of the rotated key's read.
      const pending = await toCallback(s, "rotating", "rotated-sub");
      const forged = [await toCallback(s, "rotating", "rotated-sub"), await toCallback(s, "rotating", "rotated-sub")];
      await providerLogin(s, "rotating", "rotated-sub"); // the first read of its keys, which starts no cooldown
      await rotating.rotateKeys();
      const reads = rotating.jwksRequests;
      const rotated = await followCallback(pending.browser, pending.callback);
      assert.equal(rotated.status, 303, JSON.stringify(rotated.body));
      assert.equal(rotating.jwksRequests, reads + 1, "read again for the new key");
      // That read found a new key, so it starts no cooldown: a key id nobody published reads once, finding
      // nothing new, and another within that read's cooldown reads nothing more.
      for (const [i, key] of [await newSigningKey(), await newSigningKey()].entries()) {
        rotating.tamper = async (t) => resign(rotating, t, {}, key);
        assert.equal((await followCallback(forged[i]!.browser, forged[i]!.callback)).status, 400);
        assert.equal(rotating.jwksRequests, reads + 2, "read once for the made-up key ids");
      }
    } finally {
      rotating.tamper = null;
      await rotating.close();
    }
  });

  it("follows a second key rotation at the provider within the cooldown of the first one's read", async () => {
    const s = server();
    const twice = await providerFor(s, admin, "twice");
    try {
      twice.accounts.set("twice-sub", { preferred_username: "twice.user" });
      // At the provider already: their ID tokens are signed when the callbacks exchange the codes.
      const pending = [await toCallback(s, "twice", "twice-sub"), await toCallback(s, "twice", "twice-sub")];
      const first = await me(await providerLogin(s, "twice", "twice-sub")); // the first read of its keys
      for (const { browser, callback } of pending) {
        await twice.rotateKeys();
        const reads = twice.jwksRequests;
        const r = await followCallback(browser, callback);
        assert.equal(r.status, 303, JSON.stringify(r.body));
        assert.equal(twice.jwksRequests, reads + 1, "read for the new key");
        assert.equal((await me((await exchangeCode(s, browser, "twice", r.code!)).body.access_token)).id, first.id);
      }
    } finally {
      await twice.close();
      await s.api("DELETE", "/idp/v1/external-identity-provider/twice", { token: admin });
    }
  });

  it("takes an ID token without a key id while the provider publishes several keys, when one of them verifies it (as jose's documentation does), also right after a rotation", async () => {
    const s = server();
    const keyless = await providerFor(s, admin, "keyless");
    try {
      keyless.accounts.set("kid-less-sub", { preferred_username: "kid.less" });
      keyless.tamper = async (t) => resign(keyless, t, {}, { ...keyless.signingKey(), kid: undefined });
      await providerLogin(s, "keyless", "kid-less-sub"); // its one key read
      // Rotated: two keys, the token signed with the new one, which the keys read lack: read again, once.
      await keyless.rotateKeys();
      const reads = keyless.jwksRequests;
      const withoutKid = (key: JWK) => async (t: string) => resign(keyless, t, {}, { ...key, kid: undefined });
      const cases = [[keyless.signingKey(), 303], [keyless.signingKey(), 303], [await newSigningKey(), 400]] as const;
      // At the provider already (the ID tokens are signed at the callbacks): the callbacks after the
      // first run within its cooldown, the pages at the provider before it.
      const pending = await Promise.all(cases.map(() => toCallback(s, "keyless", "kid-less-sub")));
      for (const [i, [key, status]] of cases.entries()) {
        keyless.tamper = withoutKid(key);
        const { browser, callback } = pending[i]!;
        const r = await followCallback(browser, callback);
        assert.equal(r.status, status, JSON.stringify(r.body));
        if (status === 400) assert.match(r.body.errorMessage, /signature is not valid/);
      }
      // Read for the new key, then once for the foreign one (the read for the new key found it: no cooldown).
      assert.equal(keyless.jwksRequests, reads + 2, "read again once for each");
    } finally {
      keyless.tamper = null;
      await keyless.close();
    }
  });

  it("answers 503 when the provider is down at the callback, and works when it is back", async () => {
    const s = server();
    corp.accounts.set("dora-sub", { preferred_username: "dora" });
    const { browser, callback } = await toCallback(s, "corp", "dora-sub");
    await corp.stop();
    try {
      const r = await followCallback(browser, callback);
      assert.equal(r.status, 503);
      assert.match(r.body.errorMessage, /^ECMS1901-E /);
      assert.equal(r.retryAfter, "30");
    } finally {
      await corp.start();
    }
    assert.equal((await me(await providerLogin(s, "corp", "dora-sub"))).username, "dora");
  });

  it("answers 503 within the provider timeout (ECM_OIDC_TIMEOUT_SECONDS) when its token or user information endpoint takes the request and never answers", { timeout: 60_000 }, async () => {
    // The callback taken by a node whose timeout is 2 s, not the default 10: the same rule, waited for twice in less time.
    const timeoutSeconds = 2;
    const node = await startTestServer(server().kind, { store: server().server.deps.config.store, oidcTimeoutSeconds: timeoutSeconds });
    try {
      corp.accounts.set("hugo-sub", { preferred_username: "hugo" });
      for (const path of ["/token", "/me"]) {
        const { browser, callback } = await toCallback(server(), "corp", "hugo-sub");
        corp.stalled = path;
        corp.stalledAt = null;
        try {
          // As a load balancer would hand it to that node: same path, query and cookies.
          const onNode = new URL(callback.pathname + callback.search, node.baseUrl.replace(/\/portal$/, ""));
          const r = await fetch(onNode, { redirect: "manual", headers: { cookie: browser.cookieHeader(callback.href)! } });
          assert.equal(r.status, 503, path);
          assert.match(((await r.json()) as { errorMessage: string }).errorMessage, /^ECMS1901-E The identity provider cannot be reached/);
        } finally {
          corp.stalled = null;
        }
        // Counted from the request the provider holds, not from the callback: the steps before it (the
        // code's exchange before /me) take their own time on a loaded machine.
        assert.ok(corp.stalledAt !== null, `${path} was not asked`);
        const seconds = (Date.now() - corp.stalledAt) / 1000;
        assert.ok(seconds >= timeoutSeconds - 0.5 && seconds < timeoutSeconds + 5, `${path}: answered ${seconds} s after it was asked`);
      }
    } finally {
      await node.close();
    }
  });

  it("says which of the provider's endpoints failed: a failing one (5xx) is a 503 to try again, a user information endpoint refusing is named", async () => {
    const s = server();
    corp.accounts.set("ugo-sub", { preferred_username: "ugo" });
    // Without its groups claim the ID token is completed from userinfo (/me).
    const cases: [{ path: string; status: number }, number, string][] = [
      [{ path: "/token", status: 500 }, 503, "provider-unavailable"],
      [{ path: "/me", status: 502 }, 503, "provider-unavailable"],
      [{ path: "/me", status: 401 }, 400, "userinfo-response-invalid"],
    ];
    for (const [failing, status, reason] of cases) {
      const { browser, callback } = await toCallback(s, "corp", "ugo-sub");
      corp.failing = failing;
      corp.tamper = (t) => resign(corp, t, { groups: undefined });
      try {
        const r = await followCallback(browser, callback);
        assert.equal(r.status, status, `${failing.path} ${failing.status}: ${JSON.stringify(r.body)}`);
        assert.equal(JSON.parse(r.body.additionalInfo).reason, reason);
        if (reason === "userinfo-response-invalid") assert.match(r.body.errorMessage, /user information endpoint \(config\.userInfoUrl\)/);
        else assert.equal(r.retryAfter, "30");
      } finally {
        corp.failing = null;
        corp.tamper = null;
      }
    }
  });

  it("tells a provider that refuses the login request as sent (a setting to mend here), or is in trouble for now, from a person refused", async () => {
    const s = server();
    // A client the provider lets ask for these scopes only: the configured "groups" is refused (invalid_scope).
    const narrow = await startTestProvider([{ ...clientFor(s, "narrow"), scope: "openid profile email" }]);
    try {
      const created = await s.api("POST", "/idp/v1/external-identity-provider", {
        token: admin,
        body: { alias: "narrow", fromUrl: narrow.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, config: { scopes: ["openid", "profile", "email", "groups"] } },
      });
      assert.equal(created.status, 201, created.text);
      const { browser, callback } = await toCallback(s, "narrow", "nina-sub");
      assert.equal(callback.searchParams.get("error"), "invalid_scope");
      const r = await followCallback(browser, callback);
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.match(r.body.errorMessage, /^ECMS1901-E .*misconfigured.*administrator/);
      assert.equal(JSON.parse(r.body.additionalInfo).reason, "provider-error:invalid_scope");
    } finally {
      await narrow.close();
      await s.api("DELETE", "/idp/v1/external-identity-provider/narrow", { token: admin });
    }
    // The provider's answer to a login it cannot serve now (RFC 6749 4.1.2.1), and to one the person declined.
    for (const [error, status, message] of [
      ["temporarily_unavailable", 503, /^ECMS1901-E .*try again later/],
      ["server_error", 503, /^ECMS1901-E .*try again later/],
      ["access_denied", 401, /^ECMS1102-E The login through the identity provider was refused\.$/],
    ] as const) {
      const { browser, callback } = await toCallback(s, "corp", "nina-sub");
      callback.searchParams.delete("code");
      callback.searchParams.set("error", error);
      const r = await followCallback(browser, callback);
      assert.equal(r.status, status, `${error}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.errorMessage, message);
      if (status === 503) assert.equal(r.retryAfter, "30");
    }
  });

  it("exchanges a one-time code once, within its time, at its provider only", async () => {
    const s = server();
    corp.accounts.set("olga-sub", { preferred_username: "olga" });
    const exchange = (alias: string, { browser, code }: { browser: Browser; code: string }) => exchangeCode(s, browser, alias, code);
    const codeOf = async () => {
      const { browser, callback } = await toCallback(s, "corp", "olga-sub");
      const done = await followCallback(browser, callback);
      assert.equal(done.status, 303);
      assert.equal(new URL(done.location!).pathname, "/portal/console/");
      assert.ok(!new URL(done.location!).search.includes(done.code!), "the code is in the fragment only");
      return { browser, code: done.code! };
    };
    const code = await codeOf();
    // The code carried elsewhere (a fragment that a redirect took along): refused, and still its browser's.
    assert.equal((await exchange("corp", { ...code, browser: new Browser() })).status, 401, "from another browser");
    assert.equal((await exchange("trusted", code)).status, 401, "another provider's exchange");
    assert.equal((await exchange("corp", code)).status, 200, "which did not use it up");
    const late = await codeOf();
    const once = await codeOf();
    const first = await exchange("corp", once);
    assert.equal(first.status, 200);
    assert.deepEqual(Object.keys(first.body).sort(), ["access_token", "expires_in", "token_type"]);
    assert.equal((await exchange("corp", once)).status, 401, "used");
    // A browser's cookie goes with its exchange: a browser without one is told the code may have been used, not only that it came from elsewhere.
    const withoutCookie = await exchange("corp", { ...once, browser: new Browser() });
    assert.match(withoutCookie.body.errorMessage, /no login code to exchange \(it was used or has expired, or the login ran in another browser\)/);
    await s.server.deps.auditTally.flush();
    assert.ok((await audit("auth.provider-login")).some((e) => e.outcome === "failure" && e.details.reason === "no-code-cookie"));
    await s.server.deps.store.db.updateTable("login_codes").set({ expires_at: new Date(Date.now() - 1000).toISOString() }).execute();
    assert.equal((await exchange("corp", late)).status, 401, "late");
    assert.equal((await s.api("POST", "/auth/v1/providers/corp/exchange", { body: { code: "x", extra: 1 } })).status, 400);
    // JSON only: a form is what any page can post cross-site (the back-channel logout alone takes one).
    const form = await s.api("POST", "/auth/v1/providers/corp/exchange", { body: "code=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.equal(form.status, 415, form.text);
    // Unlinked from the provider between the callback and the exchange: no session of that link.
    const unlinked = await codeOf();
    const olga = (await s.api("GET", "/security/v1/users?search=olga", { token: admin })).body.find((u: { username: string }) => u.username === "olga");
    assert.equal((await s.api("DELETE", `/security/v1/users/${olga.id}/federated-identities/corp`, { token: admin })).status, 204);
    assert.equal((await exchange("corp", unlinked)).status, 401);
    const refused = (await s.api("GET", `/security/v1/audit-events?action=auth.provider-login&target=${olga.id}&max=5`, { token: admin })).body;
    assert.equal(refused[0].details.reason, "unlinked-during-login");
  });

  it("an unlink that commits while a code is exchanged either refuses it or ends its session", async (t) => {
    const s = server();
    if (s.server.deps.config.store.kind !== "postgres") return t.skip("needs two open write transactions (PostgreSQL)");
    corp.accounts.set("pia-sub", { preferred_username: "pia" });
    await providerLogin(s, "corp", "pia-sub");
    const { browser, callback } = await toCallback(s, "corp", "pia-sub");
    const done = await followCallback(browser, callback);
    // The unlink's delete holds the link's row while the exchange reaches it: the exchange waits, then finds it gone.
    const [exchanged] = await whileLocked(s, "delete from federated_identities where subject = $1", ["pia-sub"], 1, () => [exchangeCode(s, browser, "corp", done.code!)]);
    assert.equal(exchanged!.status, 401, exchanged!.text);
  });

  it("keeps returnTo on this service and takes no unknown parameters", async () => {
    const s = server();
    // Nor a route of this API (another provider's login would carry the code's fragment on to that provider).
    for (const returnTo of ["https://evil.example/", "//evil.example/x", "/\\evil.example/x", "http://127.0.0.1:1/portal/", "//", "http://[", "/portal/auth/v1/providers/trusted/login", "/portal/console/../auth/v1/providers/trusted/login", "/portal/security/v1/users", "/portal",
      // Percent-encoded as the router decodes it, and dot segments the decoding makes.
      "/%70ortal/auth/v1/providers/trusted/login", "/portal%2Fauth/v1/providers/trusted/login", "/portal/console/%2E%2E/auth/v1/providers/trusted/login", "/portal/console%2F..%2Fauth/v1/providers/trusted/login", "/portal/%E0%A4%A",
      // This service's origin behind a user name or password: the address bar would read as another site's (evil.example/@…).
      `http://evil.example%2F@${new URL(s.baseUrl).host}/portal/console/`, `http://admin:secret@${new URL(s.baseUrl).host}/portal/console/`]) {
      const r = await s.api("GET", `/auth/v1/providers/corp/login?returnTo=${encodeURIComponent(returnTo)}`);
      assert.equal(r.status, 400, returnTo);
      assert.match(r.body.errorMessage, /^ECMS1001-E returnTo/);
    }
    // The console's address typed without its closing slash (where the server sends it on) is the console.
    corp.accounts.set("quinn-sub", { preferred_username: "quinn" });
    const typed = await toCallback(s, "corp", "quinn-sub", undefined, "/portal/console?tab=1");
    const back = await followCallback(typed.browser, typed.callback);
    assert.equal(back.status, 303, JSON.stringify(back.body));
    assert.match(back.location!, new RegExp(`^${new URL(s.baseUrl).origin}/portal/console/\\?tab=1#code=`));
    // An anonymous request's Host header chooses neither the redirect URI nor where returnTo may go.
    const shown = (await s.api("GET", "/idp/v1/external-identity-provider/corp", { token: admin })).body.config.redirectUri;
    const forged = await new Promise<{ status: number; location: string }>((resolve, reject) => {
      const url = new URL(`${s.baseUrl}/auth/v1/providers/corp/login?returnTo=${encodeURIComponent("http://evil.example/portal/console/")}`);
      get(url, { headers: { host: "evil.example" } }, (res) => (res.resume(), resolve({ status: res.statusCode!, location: res.headers.location ?? "" }))).on("error", reject);
    });
    assert.equal(forged.status, 400, "returnTo on the forged host is not this service");
    const withHost = await new Promise<string>((resolve, reject) => {
      get(new URL(`${s.baseUrl}/auth/v1/providers/corp/login`), { headers: { host: "evil.example" } }, (res) => (res.resume(), resolve(res.headers.location ?? ""))).on("error", reject);
    });
    assert.equal(new URL(withHost).searchParams.get("redirect_uri"), shown);
    assert.equal((await s.api("GET", "/auth/v1/providers/corp/login?other=1")).status, 400);
    assert.equal((await s.api("GET", "/auth/v1/providers/nope/login")).status, 404);
    const r = await fetch(`${s.baseUrl}/auth/v1/providers/corp/login?returnTo=${encodeURIComponent("/portal/console/#users")}`, { redirect: "manual" });
    assert.equal(r.status, 302);
    const cookie = r.headers.getSetCookie()[0]!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.match(cookie, /Path=\/portal\/auth\/v1\/providers\/corp\//);
    assert.doesNotMatch(cookie, /Secure/, "plain http on loopback");
    // Behind a TLS proxy the server is not told to trust, the public URL says https: the cookie is Secure all the same.
    const config = s.server.deps.config;
    const publicUrl = config.publicUrl;
    config.publicUrl = "https://ecm.example.test";
    try {
      const behind = await fetch(`${s.baseUrl}/auth/v1/providers/corp/login`, { redirect: "manual" });
      assert.match(behind.headers.getSetCookie()[0]!, /; Secure/);
    } finally {
      config.publicUrl = publicUrl;
    }
    const authorization = new URL(r.headers.get("location")!);
    assert.equal(authorization.searchParams.get("code_challenge_method"), "S256");
    for (const p of ["state", "nonce", "code_challenge"]) assert.ok(authorization.searchParams.get(p), p);
    assert.ok(!cookie.includes(authorization.searchParams.get("state")!), "the cookie names the login, it does not carry its state");
  });

  it("sends a browser whose login is refused back to its page with the reason, and the console when its login is unknown", async () => {
    const s = server();
    corp.accounts.set("gina-sub", { preferred_username: "gina" });
    const page = "text/html,application/xhtml+xml,*/*;q=0.8";
    const forged = await toCallback(s, "corp", "gina-sub", undefined, "/portal/console/#/users");
    forged.callback.searchParams.set("state", "forged");
    const back = await forged.browser.request(forged.callback.href, { accept: page });
    assert.equal(back.status, 303);
    const to = new URL(back.headers.get("location")!);
    assert.equal(`${to.origin}${to.pathname}`, `${new URL(s.baseUrl).origin}/portal/console/`);
    assert.match(decodeURIComponent(to.hash), /^#error=The identity provider's answer failed a check: state does not match/);
    assert.equal(back.headers.get("referrer-policy"), "no-referrer");

    const stranger = await toCallback(s, "corp", "gina-sub");
    const lost = await new Browser().request(stranger.callback.href, { accept: page });
    assert.equal(lost.status, 303);
    // Its page is unknown: the console, by path (the Host header names no origin it is sent to).
    assert.match(lost.headers.get("location")!, /^\/portal\/console\/#error=/);
    assert.match(decodeURIComponent(new URL(lost.headers.get("location")!, stranger.callback).hash), /^#error=.*no login in progress/);

    // A login at a provider removed since: the console says so, not a JSON page; opened directly (a bookmark,
    // a portal's link), the console is told the provider, as for any login opened so (it then words the refusal itself).
    const removed = await new Browser().request(`${s.baseUrl}/auth/v1/providers/removed-sso/login?returnTo=${encodeURIComponent("/portal/console/")}`, { accept: page });
    assert.equal(removed.status, 303);
    assert.match(removed.headers.get("location")!, /^\/portal\/console\/#error=/);
    assert.match(decodeURIComponent(removed.headers.get("location")!), /#error=The specified identity provider does not exist\.$/);
    const bookmarked = await new Browser().request(`${s.baseUrl}/auth/v1/providers/removed-sso/login`, { accept: page });
    assert.equal(bookmarked.status, 303);
    assert.match(bookmarked.headers.get("location")!, /^\/portal\/console\/\?provider=removed-sso#error=/);
  });

  it("lets the newer of two logins started in one browser finish after the older one's answer came back", async () => {
    const s = server();
    corp.accounts.set("tabs-sub", { preferred_username: "tabs" });
    const browser = new Browser();
    // Two tabs: the second login's cookie replaces the first's.
    const older = await toCallback(s, "corp", "tabs-sub", browser);
    const newer = await toCallback(s, "corp", "tabs-sub", browser);
    const refused = await followCallback(browser, older.callback);
    assert.equal(refused.status, 400);
    assert.equal(JSON.parse(refused.body.additionalInfo).reason, "state-mismatch");
    // Said so that a person with two tabs knows what to do.
    assert.match(refused.body.errorMessage, /state does not match the login in progress \(an answer to a login begun earlier, in another tab perhaps: finish the latest login, or log in again\)\.$/);
    const done = await followCallback(browser, newer.callback);
    assert.equal(done.status, 303);
    assert.equal((await exchangeCode(s, browser, "corp", done.code!)).status, 200);
    // Its own answer used it up: sent again, it finds no login.
    assert.equal((await followCallback(browser, newer.callback)).status, 400);
  });

  it("refuses users who may not log in now, and lets no one in through a disabled provider", async () => {
    const s = server();
    corp.accounts.set("ivan-sub", { preferred_username: "ivan" });
    const ivan = await me(await providerLogin(s, "corp", "ivan-sub"));
    assert.equal((await s.api("PUT", `/security/v1/users/${ivan.id}`, { token: admin, body: { enabled: false } })).status, 200);
    const { browser, callback } = await toCallback(s, "corp", "ivan-sub");
    const refused = await followCallback(browser, callback);
    assert.equal(refused.status, 401);
    assert.ok((await audit("auth.provider-login")).some((e) => e.targetId === ivan.id && e.outcome === "failure" && e.details.reason === "disabled"));
    await s.api("PUT", `/security/v1/users/${ivan.id}`, { token: admin, body: { enabled: true, validTo: "2001-01-01" } });
    const expired = await toCallback(s, "corp", "ivan-sub");
    assert.equal((await followCallback(expired.browser, expired.callback)).status, 401);
    await s.api("PUT", `/security/v1/users/${ivan.id}`, { token: admin, body: { validTo: null } });
    await s.server.deps.store.db.updateTable("users").set({ locked_out_until: new Date(Date.now() + 600_000).toISOString() }).where("uuid", "=", ivan.id).execute();
    const locked = await toCallback(s, "corp", "ivan-sub");
    assert.equal((await followCallback(locked.browser, locked.callback)).status, 401);
    await s.api("DELETE", `/security/v1/users/${ivan.id}/lockout`, { token: admin });
    // The account locked out at one address (wrong passwords sent from there): its provider logins from that address are refused too, not from others.
    const ivanRow = await s.server.deps.store.db.selectFrom("users").select("id").where("uuid", "=", ivan.id).executeTakeFirstOrThrow();
    await s.server.deps.store.db.insertInto("login_sources").values({ user_id: ivanRow.id, source: "127.0.0.7", locked_out_until: new Date(Date.now() + 600_000).toISOString(), last_success_at: null, updated_at: new Date().toISOString() }).execute();
    const exchangeFrom = async (from: string) => {
      const { browser, callback } = await toCallback(s, "corp", "ivan-sub");
      return (await exchangeCode(s, browser, "corp", (await followCallback(browser, callback)).code!, from)).status;
    };
    assert.equal(await exchangeFrom("127.0.0.7"), 401);
    assert.ok((await audit("auth.provider-login")).some((e) => e.targetId === ivan.id && e.details.reason === "locked-out" && e.sourceAddress === "127.0.0.7"));
    assert.equal(await exchangeFrom("127.0.0.8"), 200);
    // From the locked address itself the callback refuses it, before the login is written down as a success.
    const lockedUntil = new Date(Date.now() + 600_000).toISOString();
    await s.server.deps.store.db.insertInto("login_sources").values({ user_id: ivanRow.id, source: "127.0.0.1", locked_out_until: lockedUntil, last_success_at: null, updated_at: new Date().toISOString() })
      .onConflict((oc) => oc.columns(["user_id", "source"]).doUpdateSet({ locked_out_until: lockedUntil })).execute();
    const successes = async () => (await audit("auth.provider-login")).filter((e) => e.targetId === ivan.id && e.outcome === "success").length;
    const before = await successes();
    const atLockedAddress = await toCallback(s, "corp", "ivan-sub");
    assert.equal((await followCallback(atLockedAddress.browser, atLockedAddress.callback)).status, 401);
    assert.equal(await successes(), before);
    await s.api("DELETE", `/security/v1/users/${ivan.id}/lockout`, { token: admin });

    // Disabling the provider ends its sessions, and its logins (pending ones too) are refused.
    const token = await providerLogin(s, "corp", "ivan-sub");
    const pending = await toCallback(s, "corp", "ivan-sub");
    assert.equal((await s.api("PUT", "/idp/v1/external-identity-provider/corp", { token: admin, body: { enabled: false } })).status, 200);
    try {
      assert.equal((await s.api("GET", "/security/v1/me", { token })).status, 401);
      assert.equal((await followCallback(pending.browser, pending.callback)).status, 404);
      assert.equal((await s.api("GET", "/auth/v1/providers/corp/login")).status, 404);
      assert.ok(!(await s.api("GET", "/auth/v1/providers")).body.some((p: any) => p.alias === "corp"));
      // Both refusals are audited in the provider's name (a login started: counted a minute at a time per address, as anyone may ask).
      await s.server.deps.auditTally.flush();
      const refusals = (await audit("auth.provider-login")).filter((e) => e.outcome === "failure" && e.details.reason === "disabled-provider");
      assert.equal(refusals.length, 2);
      for (const e of refusals) assert.deepEqual([e.actor, e.targetName, e.details.alias], ["identity-provider:corp", "corp", "corp"]);
      // A browser goes back to its page (a page of this service only) with the reason, as for other refusals.
      const page = "text/html,application/xhtml+xml,*/*;q=0.8";
      const login = (returnTo: string) => new Browser().request(`${s.baseUrl}/auth/v1/providers/corp/login?returnTo=${encodeURIComponent(returnTo)}`, { accept: page });
      const back = await login("/portal/console/#/users");
      assert.equal(back.status, 303);
      const to = new URL(back.headers.get("location")!);
      assert.equal(`${to.origin}${to.pathname}`, `${new URL(s.baseUrl).origin}/portal/console/`);
      assert.match(decodeURIComponent(to.hash), /^#error=Logging in through this identity provider is turned off/);
      assert.equal(back.headers.get("referrer-policy"), "no-referrer");
      assert.equal(back.headers.getSetCookie().length, 0, "no login was started");
      assert.equal((await login("https://evil.example/")).status, 400);
      const late = await new Browser().request(pending.callback.href, { accept: page });
      assert.equal(late.status, 303, "a callback without its cookie goes to the console");
      await s.server.deps.auditTally.flush();
      const all = (await audit("auth.provider-login")).filter((e) => e.details.reason === "disabled-provider" && e.actor === "identity-provider:corp");
      assert.equal(all.reduce((n, e) => n + (e.count ?? 1), 0), 4, "two logins started (one row counting both, within a minute), two callbacks");
    } finally {
      assert.equal((await s.api("PUT", "/idp/v1/external-identity-provider/corp", { token: admin, body: { enabled: true } })).status, 200);
    }
  });

  it("a login started on one node comes back to another (no sticky sessions), and its code is exchanged on the first", async () => {
    const s = server();
    const other = await startTestServer(s.kind, { store: s.server.deps.config.store });
    try {
      corp.accounts.set("hugo-sub", { preferred_username: "hugo" });
      const { browser, callback } = await toCallback(s, "corp", "hugo-sub");
      // The same request a load balancer would hand to the other node: same path, query and cookies.
      const onOther = new URL(callback.pathname + callback.search, other.baseUrl.replace(/\/portal$/, ""));
      const back = await fetch(onOther, { redirect: "manual", headers: { cookie: browser.cookieHeader(callback.href)! } });
      assert.equal(back.status, 303, await back.text());
      const code = decodeURIComponent(new URL(back.headers.get("location")!).hash.replace(/^#code=/, ""));
      const codeCookie = back.headers.getSetCookie().find((c) => c.startsWith("ecm_provider_code="))!.split(";")[0]!;
      const exchanged = await s.api("POST", "/auth/v1/providers/corp/exchange", { body: { code }, headers: { cookie: codeCookie } });
      assert.equal(exchanged.status, 200, exchanged.text);
      assert.equal((await other.api("GET", "/security/v1/me", { token: exchanged.body.access_token })).body.username, "hugo");
    } finally {
      await other.close();
    }
  });

  it("a change of the provider on one node is what the next login on another uses", async () => {
    const s = server();
    const other = await startTestServer(s.kind, { store: s.server.deps.config.store });
    const setCorp = async (body: object) => assert.equal((await s.api("PUT", "/idp/v1/external-identity-provider/corp", { token: admin, body })).status, 200);
    const scopeAtLogin = async () => {
      const r = await new Browser().request(`${other.baseUrl}/auth/v1/providers/corp/login`);
      return r.status === 302 ? new URL(r.headers.get("location")!).searchParams.get("scope") : r.status;
    };
    try {
      // Each node has read the provider: `other` starting a login, this one with a login in progress.
      assert.equal(await scopeAtLogin(), "openid profile email groups");
      corp.accounts.set("nina-sub", { preferred_username: "nina" });
      const started = await toCallback(s, "corp", "nina-sub");
      await setCorp({ enabled: false });
      assert.equal(await scopeAtLogin(), 404);
      assert.equal((await followCallback(started.browser, started.callback)).status, 404, "a login begun before the change");
      await setCorp({ enabled: true, config: { scopes: ["openid", "profile", "email"] } });
      assert.equal(await scopeAtLogin(), "openid profile email");
    } finally {
      await setCorp({ enabled: true, config: { scopes: ["openid", "profile", "email", "groups"] } });
      await other.close();
    }
  });

  it("gives provider-only users no token with a password and no password to reset; linked local users keep theirs", async () => {
    const s = server();
    corp.accounts.set("paul-sub", { preferred_username: "paul" });
    const paul = await me(await providerLogin(s, "corp", "paul-sub"));
    // Its own view says it has no password here (a page offers no password change); a password user's says it has.
    assert.equal(paul.hasPassword, false);
    assert.equal((await me(admin)).hasPassword, true);
    const password = await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "paul", password: "anything-at-all-1" } });
    const unknown = await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "nobody-at-all", password: "anything-at-all-1" } });
    assert.equal(password.status, 401);
    assert.deepEqual(password.body, unknown.body, "the one 401");
    const reset = await s.api("PUT", `/security/v1/users/${paul.id}/reset-password`, { token: admin, body: { type: "password", value: "A-New-Password-1" } });
    assert.equal(reset.status, 409);
    assert.match(reset.body.errorMessage, /^ECMS1302-E /);
    // Nor through an import row.
    const imported = await s.api("POST", "/security/v1/users/import", { token: admin, body: '{"username":"paul","password":"Imported-Str0ng-Pass!"}\n', headers: { "content-type": "application/x-ndjson" } });
    assert.match(imported.text.split("\n")[0]!, /"status":"failed".*identity providers only/);
    assert.equal((await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "paul", password: "Imported-Str0ng-Pass!" } })).status, 401);
    // No API key either: neither for the user the provider made, nor for a local one without a password linked by hand.
    const minnie = await s.api<{ id: string }>("POST", "/security/v1/users", { token: admin, body: { username: "minnie" } });
    assert.equal((await s.api("PUT", `/security/v1/users/${minnie.body.id}/federated-identities/corp`, { token: admin, body: { subject: "minnie-sub" } })).status, 204);
    for (const id of [paul.id, minnie.body.id]) {
      const key = await s.api("POST", `/security/v1/users/${id}/api-keys`, { token: admin, body: { name: "script" } });
      assert.equal(key.status, 409, key.text);
      assert.match(key.body.errorMessage, /cannot have API keys/);
    }
  });

  it("a link, or a provider's settings, that a security administrator made do not open an account promoted since", async () => {
    const s = server();
    const sec = (await createSecurityAdministrator(s, admin, "link.secadmin")).token;
    const administrators = await groupId(s, admin, "administrators");
    const promote = async (id: string) => assert.equal((await s.api("PUT", `/security/v1/users/${id}/user-groups/${administrators}`, { token: admin })).status, 204);
    const refusedAs = async (alias: string, subject: string) => {
      const { browser, callback } = await toCallback(s, alias, subject);
      assert.equal((await followCallback(browser, callback)).status, 401);
      return (await audit("auth.provider-login")).some((e) => e.outcome === "failure" && e.details.reason === "not-made-by-system-administrator");
    };

    const ivy = await createUser(s, admin, "ivy");
    corp.accounts.set("ivy-at-corp", { preferred_username: "ivy" });
    assert.equal((await s.api("PUT", `/security/v1/users/${ivy.uuid}/federated-identities/corp`, { token: sec, body: { subject: "ivy-at-corp" } })).status, 204);
    const before = await providerLogin(s, "corp", "ivy-at-corp");
    await promote(ivy.uuid);
    assert.ok(await refusedAs("corp", "ivy-at-corp"));
    assert.equal((await s.api("GET", "/security/v1/signing-keys", { token: before })).status, 401, "nor does a session it opened before");
    // The same link made again by a system administrator opens it.
    assert.equal((await s.api("PUT", `/security/v1/users/${ivy.uuid}/federated-identities/corp`, { token: admin, body: { subject: "ivy-at-corp" } })).status, 204);
    assert.equal((await s.api("GET", "/security/v1/signing-keys", { token: await providerLogin(s, "corp", "ivy-at-corp") })).status, 200);

    // A link by verified email to an account whose email a security administrator may have set is not a system administrator's.
    const kim = await createUser(s, admin, "kim");
    assert.equal((await s.api("PUT", `/security/v1/users/${kim.uuid}`, { token: sec, body: { email: "sec-controlled@example.com" } })).status, 200);
    trusted.accounts.set("sec-own-sub", { preferred_username: "sec.own", email: "sec-controlled@example.com", email_verified: true });
    assert.equal((await me(await providerLogin(s, "trusted", "sec-own-sub"))).id, kim.uuid, "linked by the verified email");
    await promote(kim.uuid);
    assert.ok(await refusedAs("trusted", "sec-own-sub"));
    assert.equal((await s.api("DELETE", `/security/v1/users/${kim.uuid}/user-groups/${administrators}`, { token: admin })).status, 204);

    // A provider a security administrator changed last: its users (links its logins made too) do not hold the role through it.
    assert.equal((await s.api("PUT", "/idp/v1/external-identity-provider/trusted", { token: sec, body: { displayName: "Trusted (edited)" } })).status, 200);
    trusted.accounts.set("jill-sub", { preferred_username: "jill" });
    const jill = await me(await providerLogin(s, "trusted", "jill-sub"));
    await promote(jill.id);
    assert.ok(await refusedAs("trusted", "jill-sub"));
    // Sent back unchanged by a system administrator, it is theirs again; the links its logins made meanwhile stay untrusted until one makes them again.
    assert.equal((await s.api("PUT", "/idp/v1/external-identity-provider/trusted", { token: admin, body: { displayName: "Trusted (edited)" } })).status, 200);
    assert.ok(await refusedAs("trusted", "jill-sub"));
    assert.equal((await s.api("PUT", `/security/v1/users/${jill.id}/federated-identities/trusted`, { token: admin, body: { subject: "jill-sub" } })).status, 204);
    assert.equal((await s.api("GET", "/security/v1/signing-keys", { token: await providerLogin(s, "trusted", "jill-sub") })).status, 200);
    for (const id of [ivy.uuid, jill.id]) assert.equal((await s.api("DELETE", `/security/v1/users/${id}/user-groups/${administrators}`, { token: admin })).status, 204);
  });

  it("back-channel logout from the provider ends that session on every node; forged logout tokens are refused", async () => {
    const s = server();
    const other = await startTestServer(s.kind, { store: s.server.deps.config.store });
    try {
      corp.accounts.set("lara-sub", { preferred_username: "lara" });
      const browser = new Browser();
      const token = await providerLogin(s, "corp", "lara-sub", browser);
      const kept = await providerLogin(s, "corp", "lara-sub");
      assert.equal((await other.api("GET", "/security/v1/me", { token })).status, 200);
      // The user signs out at the provider, in the browser that logged in.
      await browser.navigate(`${corp.issuer}/session/end`, "lara-sub", (url) => url.pathname.endsWith("/session/end/success"), { logout: "yes" });
      assert.equal((await other.api("GET", "/security/v1/me", { token })).status, 401);
      assert.equal((await s.api("GET", "/security/v1/me", { token: kept })).status, 200, "another provider session of the same subject stays");
      assert.ok((await audit("auth.backchannel-logout")).some((e) => e.outcome === "success" && e.details.sessionsEnded === 1));

      const logout = (logout_token: string) => s.api("POST", "/auth/v1/providers/corp/backchannel-logout", { body: new URLSearchParams({ logout_token }).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });
      const claims = { iss: corp.issuer, aud: "ecm-security", iat: Math.floor(Date.now() / 1000), jti: "j1", sub: "lara-sub", events: { "http://schemas.openid.net/event/backchannel-logout": {} } };
      // Each refused in words of ours, not the library's.
      for (const [token, words] of [
        [await corp.sign(claims, await newSigningKey()), "it is signed with a key the provider does not publish"],
        [await corp.sign({ ...claims, events: {} }), "it carries no back-channel logout event"],
        [await corp.sign({ ...claims, nonce: "n" }), "it carries a nonce"],
        [await corp.sign({ ...claims, iss: trusted.issuer }), "it comes from another issuer than this provider"],
        [await corp.sign({ ...claims, aud: "another-app" }), "it was issued to another application (check the client id)"],
        ["not-a-jwt", "it is not a signed JWT"],
      ] as const) {
        const r = await logout(token);
        assert.equal(r.status, 400, words);
        assert.equal(r.body.errorMessage, `ECMS1001-E The logout_token is not valid: ${words}.`);
      }
      assert.equal((await s.api("GET", "/security/v1/me", { token: kept })).status, 200);
      // A logout by subject ends all of that subject's sessions.
      const bySubject = await corp.sign(claims, undefined, "logout+jwt");
      const r = await logout(bySubject);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("cache-control"), "no-store");
      assert.equal((await other.api("GET", "/security/v1/me", { token: kept })).status, 401);
      // The same token again, on either node, would end the sessions opened since: refused.
      const again = await providerLogin(s, "corp", "lara-sub");
      const replay = await other.api("POST", "/auth/v1/providers/corp/backchannel-logout", { body: new URLSearchParams({ logout_token: bySubject }).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });
      assert.equal(replay.status, 400);
      assert.match(replay.text, /used before/);
      assert.equal((await s.api("GET", "/security/v1/me", { token: again })).status, 200);
    } finally {
      await other.close();
    }
  });

  it("deleting a provider removes its links and the memberships its mapping made, ends its sessions and says who is left without a way in", async () => {
    const s = server();
    const temp = await providerFor(s, admin, "temp", { customGroupList: [{ idpGroupName: "eng", localGroupId: engGroup }], config: { scopes: ["openid", "profile", "groups"] } });
    try {
      temp.accounts.set("only-sub", { preferred_username: "temp-only", groups: ["eng"] });
      const token = await providerLogin(s, "temp", "only-sub");
      assert.deepEqual((await me(token)).groups, ["engineering", "users"]);
      const withPassword = await createUser(s, admin, "temp-local");
      await s.api("PUT", `/security/v1/users/${withPassword.uuid}/federated-identities/temp`, { token: admin, body: { subject: "local-sub" } });
      // An API key is a way in too (a script's): not listed as left without one.
      const keyed = await s.api<{ id: string }>("POST", "/security/v1/users", { token: admin, body: { username: "temp-keyed" } });
      assert.equal((await s.api("POST", `/security/v1/users/${keyed.body.id}/api-keys`, { token: admin, body: { name: "script" } })).status, 201);
      await s.api("PUT", `/security/v1/users/${keyed.body.id}/federated-identities/temp`, { token: admin, body: { subject: "keyed-sub" } });
      assert.equal((await s.api("DELETE", "/idp/v1/external-identity-provider/temp", { token: admin })).status, 204);
      assert.equal((await s.api("GET", "/security/v1/me", { token })).status, 401);
      const [event] = await audit("identity-provider.delete");
      assert.deepEqual(event.details.usersWithoutLogin.map((u: any) => u.username), ["temp-only"]);
      assert.equal(event.details.linksRemoved, 3);
      // The membership its mapping made went with it.
      assert.equal(event.details.mappedMembershipsRemoved, 1);
      assert.equal((await s.api("GET", `/security/v1/users/${withPassword.uuid}`, { token: admin })).body.federatedIdentities, null);
      // The user it made is a local user now, in every view (the list and the export read kept documents).
      const only = (await s.api("GET", "/security/v1/users?search=temp-only&extendedInfo=true", { token: admin })).body[0];
      assert.deepEqual(only.source, { type: "local", id: null, name: null });
      assert.deepEqual(only.groups, ["users"]);
      // A removal cut short after its commit (a stop, a store error) is finished at the next start.
      // (The removal's transaction marked the release; the users still name the provider.)
      const cut = await insertUser(s.server.deps.store, { username: "temp-cut", identity_provider_id: 999_999, provider_made: 1 });
      await s.server.deps.store.db.insertInto("provider_releases").values({ provider_id: 999_999 }).execute();
      await s.server.deps.providers.releaseMadeUsers();
      assert.deepEqual((await s.api("GET", `/security/v1/users/${cut.uuid}?extendedInfo=true`, { token: admin })).body.source, { type: "local", id: null, name: null });
      assert.deepEqual((await s.api("GET", `/security/v1/users/${only.id}?extendedInfo=true`, { token: admin })).body.source, only.source);
    } finally {
      await temp.close();
    }
  });

  it("a change of issuer or client id keeps no link unless the administrator says what becomes of them: a subject of the new issuer never opens an old link's account", async () => {
    const s = server();
    const before = await providerFor(s, admin, "moving", { defaultGroupList: [defaultGroup], customGroupList: [{ idpGroupName: "eng", localGroupId: engGroup }], config: { scopes: ["openid", "profile", "groups"] } });
    // Another issuer whose subjects are its own: "same-sub" there is someone else.
    const other = await startTestProvider([clientFor(s, "moving")]);
    const third = await startTestProvider([clientFor(s, "moving")]);
    try {
      before.accounts.set("same-sub", { preferred_username: "old.owner", groups: ["eng"] });
      const owner = await me(await providerLogin(s, "moving", "same-sub"));
      assert.deepEqual(owner.groups, ["corp-staff", "engineering", "users"]);
      const path = "/idp/v1/external-identity-provider/moving";
      for (const body of [{ fromUrl: other.issuer, clientSecret: CLIENT_SECRET }, { config: { issuer: other.issuer } }, { clientId: "another-client" }]) {
        const r = await s.api("PUT", path, { token: admin, body });
        assert.equal(r.status, 409, JSON.stringify(body) + r.text);
        assert.match(r.body.errorMessage, /links=keep.*links=remove/);
        assert.equal(JSON.parse(r.body.additionalInfo).links, 1);
      }
      assert.equal((await s.api("PUT", `${path}?links=sometimes`, { token: admin, body: { fromUrl: other.issuer, clientSecret: CLIENT_SECRET } })).status, 400);
      const unchanged = (await s.api("GET", path, { token: admin })).body;
      assert.equal(unchanged.config.issuer, before.issuer, "nothing changed");
      // Another change, the issuer the same, needs no answer.
      assert.equal((await s.api("PUT", path, { token: admin, body: { displayName: "Moving SSO", fromUrl: before.issuer } })).status, 200);

      const moved = await s.api("PUT", `${path}?links=remove`, { token: admin, body: { fromUrl: other.issuer, clientSecret: CLIENT_SECRET } });
      assert.equal(moved.status, 200, moved.text);
      assert.equal(moved.body.config.issuer, other.issuer);
      const ownerNow = (await s.api("GET", `/security/v1/users/${owner.id}`, { token: admin })).body;
      assert.equal(ownerNow.federatedIdentities, null, "the link went");
      const groupsNow = (await s.api("GET", `/security/v1/users/${owner.id}/user-groups`, { token: admin })).body.map((g: any) => g.name).sort();
      assert.deepEqual(groupsNow, ["corp-staff", "users"], "with the memberships its mapping made");
      const event = (await audit("identity-provider.update")).find((e) => e.targetName === "moving" && e.details.linksRemoved !== undefined);
      assert.equal(event.details.linksRemoved, 1);
      assert.deepEqual(event.details.usersWithoutLogin, [{ id: owner.id, username: "old.owner" }]);
      // The user it made is a local one, as at a removal of the provider.
      const sourceOf = async (id: string) => (await s.api("GET", `/security/v1/users/${id}?extendedInfo=true`, { token: admin })).body.source;
      assert.deepEqual(await sourceOf(owner.id), { type: "local", id: null, name: null });
      // Made local after the change's commit, in batches: a stop between the two leaves the user its provider's
      // source, no link to it, and the release marked by the change's transaction. The next start finishes it.
      const { db } = s.server.deps.store;
      const { id: movingId } = await db.selectFrom("identity_providers").select("id").where("alias", "=", "moving").executeTakeFirstOrThrow();
      await db.updateTable("users").set({ identity_provider_id: movingId }).where("uuid", "=", owner.id).execute();
      await db.insertInto("provider_releases").values({ provider_id: movingId }).execute();
      assert.equal((await sourceOf(owner.id)).type, "identity-provider");
      await s.server.deps.providers.releaseMadeUsers();
      assert.deepEqual(await sourceOf(owner.id), { type: "local", id: null, name: null });
      // The new issuer's "same-sub" is a user of its own.
      other.accounts.set("same-sub", { preferred_username: "new.person" });
      const stranger = await me(await providerLogin(s, "moving", "same-sub"));
      assert.notEqual(stranger.id, owner.id);
      assert.equal(stranger.username, "new.person");

      // The issuer moved, its subjects the same (the administrator says so): the links stay.
      third.accounts.set("same-sub", { preferred_username: "new.person" });
      const kept = await s.api("PUT", `${path}?links=keep`, { token: admin, body: { fromUrl: third.issuer, clientSecret: CLIENT_SECRET } });
      assert.equal(kept.status, 200, kept.text);
      assert.equal((await me(await providerLogin(s, "moving", "same-sub"))).id, stranger.id);
      assert.ok((await audit("identity-provider.update")).some((e) => e.targetName === "moving" && e.details.linksKept === 1));
    } finally {
      await before.close();
      await other.close();
      await third.close();
      await s.api("DELETE", "/idp/v1/external-identity-provider/moving", { token: admin });
    }
  });

  it("a first login finishing while the provider's issuer changes is refused, not linked under a subject of the old issuer", async () => {
    const s = server();
    const racing = await providerFor(s, admin, "racing");
    try {
      racing.accounts.set("racer-sub", { preferred_username: "racer" });
      const { browser, callback } = await toCallback(s, "racing", "racer-sub");
      // The administrator's change commits while the provider answers the code exchange: the login has checked nothing yet against the new settings.
      racing.tamper = async (t) => {
        const moved = await s.api("PUT", "/idp/v1/external-identity-provider/racing?links=remove", { token: admin, body: { config: { issuer: "https://elsewhere.example" } } });
        assert.equal(moved.status, 200, moved.text);
        return t;
      };
      const r = await followCallback(browser, callback);
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.match(r.body.errorMessage, /changed while this login was finishing; log in again/);
      assert.equal((await s.api("GET", "/security/v1/users/count?linkedTo=racing", { token: admin })).body, 0, "no link under the old issuer's subject");
      assert.equal((await s.api("GET", "/security/v1/users?search=racer", { token: admin })).body.length, 0, "nor a user");
    } finally {
      racing.tamper = null;
      await racing.close();
      await s.api("DELETE", "/idp/v1/external-identity-provider/racing", { token: admin });
    }
  });

  it("a linked user's login finishing while a change of issuer removes the links is refused, not given a code the change never saw", async (t) => {
    const s = server();
    if (s.server.deps.config.store.kind !== "postgres") return t.skip("needs two open write transactions (PostgreSQL)");
    const moving = await providerFor(s, admin, "moving-linked");
    try {
      moving.accounts.set("held-sub", { preferred_username: "held" });
      await providerLogin(s, "moving-linked", "held-sub");
      const { browser, callback } = await toCallback(s, "moving-linked", "held-sub");
      // The change as links=remove makes it: the provider's row written first, its links, sessions and codes
      // removed after, one commit. A login that checked the issuer before the commit (its user already linked,
      // it writes no link) would write a code after the removal read the codes.
      const [r] = await whileLocked(
        s,
        "update identity_providers set config = replace(config, $1, 'https://elsewhere.example'), version = version + 1 where alias = 'moving-linked'",
        [JSON.stringify(moving.issuer).slice(1, -1)],
        1,
        () => [followCallback(browser, callback)],
        async (holder) => {
          const [{ id }] = (await holder.query<{ id: number }>("select id from identity_providers where alias = 'moving-linked'")) as [{ id: number }];
          await holder.query("update sessions set revoked_at = $2 where provider_id = $1 and revoked_at is null", [id, new Date().toISOString()]);
          await holder.query("delete from login_codes where provider_id = $1", [id]);
          await holder.query("delete from federated_identities where provider_id = $1", [id]);
        },
      );
      assert.equal(r!.status, 503, JSON.stringify(r!.body));
      assert.match(r!.body.errorMessage, /changed while this login was finishing; log in again/);
    } finally {
      await moving.close();
      await s.api("DELETE", "/idp/v1/external-identity-provider/moving-linked", { token: admin });
    }
  });

  it("never shows the client secret or a code in an answer or the audit log", async () => {
    const s = server();
    const answers = [
      await s.api("GET", "/idp/v1/external-identity-provider", { token: admin }),
      await s.api("GET", "/idp/v1/external-identity-provider/corp", { token: admin }),
      await s.api("GET", "/security/v1/audit-events", { token: admin }),
      await s.api("GET", "/auth/v1/providers"),
    ];
    for (const r of answers) assert.ok(!r.text.includes("provider-client-secret"), r.text.slice(0, 200));
    const stored = await s.server.deps.store.db.selectFrom("identity_providers").select("config").execute();
    assert.ok(stored.every((row) => !row.config.includes("provider-client-secret")));
    const { browser, callback } = await toCallback(s, "corp", "alice-sub");
    const done = await followCallback(browser, callback);
    const all = (await s.api("GET", "/security/v1/audit-events", { token: admin })).text;
    assert.ok(!all.includes(done.code!) && !all.includes(callback.searchParams.get("code")!));
    assert.equal(decodeJwt((await exchangeCode(s, browser, "corp", done.code!)).body.access_token).iss, "ecm-security");
  });
}, { oidcJwksCooldownSeconds: COOLDOWN_SECONDS });

describe("a provider login at debug log level", () => {
  it("writes no client secret, code, cookie or token to the server's log", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ecm-oidc-log-"));
    const server = await startMain({ ECM_DATA_DIR: dir, ECM_ADMIN_PASSWORD: ADMIN_PASSWORD, LOG_LEVEL: "debug" });
    const provider = await startTestProvider([clientFor(server, "logged")]);
    try {
      const json = async (path: string, init: { method?: string; body?: unknown; token?: string; cookie?: string }) => {
        const r = await fetch(server.baseUrl + path, { method: init.method ?? "POST", headers: { "content-type": "application/json", ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.cookie ? { cookie: init.cookie } : {}) }, body: JSON.stringify(init.body) });
        return (await r.json()) as any;
      };
      const admin = (await json("/auth/v1/providers/builtin/token", { body: { username: "sysadmin", password: ADMIN_PASSWORD } })).access_token;
      await json("/idp/v1/external-identity-provider", { token: admin, body: { alias: "logged", fromUrl: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
      provider.accounts.set("logged-sub", { preferred_username: "logged" });
      const { browser, callback } = await toCallback(server, "logged", "logged-sub");
      const cookie = browser.cookie(new URL(server.baseUrl).origin, "ecm_provider_login")!;
      const done = await followCallback(browser, callback);
      const token = (await json("/auth/v1/providers/logged/exchange", { body: { code: done.code }, cookie: browser.cookieHeader(`${server.baseUrl}/auth/v1/providers/logged/exchange`) })).access_token;
      assert.match(token, /^eyJ/);
      // A refused ID token: the operator reads the library's words and the claim's value, never the token.
      let refusedToken = "";
      provider.tamper = async (t) => (refusedToken = await resign(provider, t, { aud: "another-client" }));
      const refused = await toCallback(server, "logged", "logged-sub");
      assert.equal((await followCallback(refused.browser, refused.callback)).status, 400);
      await server.stop();
      const log = server.output();
      assert.match(log, /providers\/logged\/callback/);
      assert.match(log, /"reason":"id-token-aud".*OAUTH_JWT_CLAIM_COMPARISON_FAILED.*the token's aud is \\"another-client\\"/);
      for (const secret of [CLIENT_SECRET, callback.searchParams.get("code")!, callback.searchParams.get("state")!, done.code!, decodeURIComponent(cookie), token.split(".")[2]!, refusedToken.split(".")[2]!, refused.callback.searchParams.get("code")!]) {
        assert.ok(!log.includes(secret), `a secret reached the log: ${secret.slice(0, 6)}…`);
      }
    } finally {
      await provider.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
