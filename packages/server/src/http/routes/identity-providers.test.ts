import assert from "node:assert/strict";
import { sql } from "kysely";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, it } from "node:test";
import { createGroup, createSecurityAdministrator, createUser, groupId, USER_PASSWORD } from "../../test-support/accounts.js";
import { startTestProvider, type TestProvider } from "../../test-support/oidc-provider.js";
import { CLIENT_ID, CLIENT_SECRET, clientFor } from "../../test-support/provider-login.js";
import { describeEachStore } from "../../test-support/server.js";

const PATH = "/idp/v1/external-identity-provider";

describeEachStore("identity provider configuration", (server) => {
  let admin: string;
  let provider: TestProvider;
  before(async () => {
    admin = await server().login();
    provider = await startTestProvider([clientFor(server(), "sso")]);
  });
  after(async () => {
    await provider?.close();
  });

  const create = (body: Record<string, unknown>, token = admin) => server().api("POST", PATH, { token, body });

  it("creates a provider from its discovery document, with Ops Center's fields and the secret masked", async () => {
    const s = server();
    const group = await createGroup(s, admin, "sso-default");
    const r = await create({ alias: "sso", displayName: "Company SSO", fromUrl: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, defaultGroupList: [group], guiOrder: 2 });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get("location"), `/portal${PATH}/sso`);
    assert.equal(r.body.providerType, "oidc");
    assert.equal(r.body.clientSecret, "**********");
    assert.deepEqual(r.body.defaultGroupList, [group]);
    assert.deepEqual(r.body.config, {
      issuer: provider.issuer,
      authorizationUrl: `${provider.issuer}/auth`,
      tokenUrl: `${provider.issuer}/token`,
      userInfoUrl: `${provider.issuer}/me`,
      jwksUrl: `${provider.issuer}/jwks`,
      scopes: ["openid", "profile", "email"],
      clientAuthMethod: "client_secret_basic",
      usernameClaim: "preferred_username",
      emailClaim: "email",
      firstNameClaim: "given_name",
      lastNameClaim: "family_name",
      groupsClaim: "groups",
      trustEmail: false,
      redirectUri: `${s.baseUrl}/auth/v1/providers/sso/callback`,
    });
    const read = await s.api("GET", `${PATH}/sso`, { token: admin });
    assert.deepEqual(read.body, r.body);
    assert.deepEqual((await s.api("GET", PATH, { token: admin })).body.map((p: any) => p.alias), ["sso"]);
    assert.deepEqual((await s.api("GET", "/auth/v1/providers")).body, [{ alias: "sso", displayName: "Company SSO", guiOrder: 2 }]);
    const [event] = (await s.api("GET", "/security/v1/audit-events?action=identity-provider.create", { token: admin })).body;
    assert.equal(event.targetName, "sso");
    assert.equal(event.details.after.clientSecretSet, true);
    assert.ok(!JSON.stringify(event).includes(CLIENT_SECRET));
  });

  it("updates partially: the mask keeps the secret, a GET body can be sent back, the alias stays", async () => {
    const s = server();
    const linked = await createUser(s, admin, "sso-linked");
    assert.equal((await s.api("PUT", `/security/v1/users/${linked.uuid}/federated-identities/sso`, { token: admin, body: { subject: "s-1" } })).status, 204);
    const before = (await s.api("GET", `${PATH}/sso`, { token: admin })).body;
    const sealed = async () => JSON.parse((await s.server.deps.store.db.selectFrom("identity_providers").select("config").where("alias", "=", "sso").executeTakeFirstOrThrow()).config).sealedSecret;
    const secretBefore = await sealed();
    const r = await s.api("PUT", `${PATH}/sso`, { token: admin, body: { ...before, displayName: "Renamed SSO", config: { ...before.config, trustEmail: true, scopes: ["openid", "email"] } } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.displayName, "Renamed SSO");
    assert.equal(r.body.config.trustEmail, true);
    assert.equal(r.body.config.tokenUrl, before.config.tokenUrl);
    assert.equal(await sealed(), secretBefore, "the mask kept the stored secret");
    const listed = (await s.api("GET", "/security/v1/users?search=sso-linked", { token: admin })).body;
    assert.deepEqual(listed[0].federatedIdentities, [{ alias: "sso", displayName: "Renamed SSO" }], "the kept user documents follow the rename");
    assert.equal((await s.api("PUT", `${PATH}/sso`, { token: admin, body: { clientSecret: "a-new-secret" } })).status, 200);
    assert.notEqual(await sealed(), secretBefore);
    const [event] = (await s.api("GET", "/security/v1/audit-events?action=identity-provider.update", { token: admin })).body;
    assert.equal(event.details.clientSecretChanged, true);
    assert.ok(!JSON.stringify(event).includes("a-new-secret"));
    // Sent back as GET gave it (or with nothing to change), it is no change: not written, not audited, the same ETag.
    const updates = async () => (await s.api("GET", "/security/v1/audit-events?action=identity-provider.update", { token: admin })).body.length;
    const now = await s.api("GET", `${PATH}/sso`, { token: admin });
    const counted = await updates();
    for (const body of [now.body, {}, { displayName: "Renamed SSO", config: { trustEmail: true } }, { clientSecret: "**********" }]) {
      const same = await s.api("PUT", `${PATH}/sso`, { token: admin, headers: { "if-match": now.headers.get("etag")! }, body });
      assert.equal(same.status, 200, same.text);
      assert.deepEqual(same.body, now.body);
      assert.equal(same.headers.get("etag"), now.headers.get("etag"));
    }
    assert.equal(await updates(), counted);
    assert.ok(!JSON.parse((await s.server.deps.store.db.selectFrom("identity_providers").select("config").where("alias", "=", "sso").executeTakeFirstOrThrow()).config).config.redirectUri, "the shown redirect URI is not kept");
    assert.equal((await s.api("PUT", `${PATH}/sso`, { token: admin, body: { alias: "other" } })).status, 400);
    // Another redirect URI is refused, not taken and silently dropped: it is the service's to say.
    const other = await s.api("PUT", `${PATH}/sso`, { token: admin, body: { config: { redirectUri: "https://elsewhere.example/" } } });
    assert.equal(other.status, 400);
    assert.match(other.body.errorMessage, new RegExp(`config\\.redirectUri cannot be set: this provider's is ${s.baseUrl}/auth/v1/providers/sso/callback`));
    assert.equal(JSON.parse(other.body.additionalInfo).field, "config.redirectUri");
    const copy = (redirectUri: string) => ({ alias: "sso-copy", displayName: "Copy", fromUrl: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, config: { redirectUri } });
    const refused = await s.api("POST", PATH, { token: admin, body: copy("https://elsewhere.example/") });
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.body.errorMessage, /config\.redirectUri cannot be set/);
    const created = await s.api("POST", PATH, { token: admin, body: copy(`${s.baseUrl}/auth/v1/providers/sso-copy/callback`) });
    assert.equal(created.status, 201, created.text);
    assert.equal((await s.api("DELETE", `${PATH}/sso-copy`, { token: admin })).status, 204);
  });

  it("keeps a group a provider names from being deleted; a change of anything else goes through a name left from before", async () => {
    const s = server();
    const joined = await createGroup(s, admin, "gdel-default");
    const mapped = await createGroup(s, admin, "gdel-mapped");
    const r = await create({ alias: "gdel", fromUrl: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, defaultGroupList: [joined], customGroupList: [{ idpGroupName: "x", localGroupId: mapped }] });
    assert.equal(r.status, 201, r.text);
    for (const [group, field] of [[joined, "defaultGroupList"], [mapped, "customGroupList"]]) {
      const refused = await s.api("DELETE", `/security/v1/user-groups/${group}`, { token: admin });
      assert.equal(refused.status, 409, refused.text);
      assert.match(refused.body.errorMessage, new RegExp(`is named by identity provider "gdel" \\(${field}\\): take it out there first\\.$`));
    }
    // A group deleted before this rule (or by a directory's sync) may still be named: it stops no other change.
    const gone = "00000000-0000-4000-8000-00000000dead";
    const { db } = s.server.deps.store;
    const row = await db.selectFrom("identity_providers").select("config").where("alias", "=", "gdel").executeTakeFirstOrThrow();
    await db.updateTable("identity_providers").set({ config: row.config.replace(mapped, gone) }).where("alias", "=", "gdel").execute();
    // So may a display name saved before its rules: the provider's GET sent back goes through.
    await db.updateTable("identity_providers").set({ display_name: "G Del " }).where("alias", "=", "gdel").execute();
    const got = await s.api("GET", `${PATH}/gdel`, { token: admin });
    const sentBack = await s.api("PUT", `${PATH}/gdel`, { token: admin, body: { ...got.body, enabled: false } });
    assert.equal(sentBack.status, 200, sentBack.text);
    const renamed = await s.api("PUT", `${PATH}/gdel`, { token: admin, body: { displayName: "G Del", enabled: false } });
    assert.equal(renamed.status, 200, renamed.text);
    const named = await s.api("PUT", `${PATH}/gdel`, { token: admin, body: { defaultGroupList: [joined, "00000000-0000-4000-8000-00000000beef"] } });
    assert.equal(named.status, 400);
    assert.equal(named.body.errorMessage, "ECMS1001-E defaultGroupList names a group that does not exist: 00000000-0000-4000-8000-00000000beef.");
    assert.equal((await s.api("DELETE", `${PATH}/gdel`, { token: admin })).status, 204);
    for (const group of [joined, mapped]) assert.equal((await s.api("DELETE", `/security/v1/user-groups/${group}`, { token: admin })).status, 204);
  });

  it("a group delete that waits for a provider change naming the group is refused after it: no name is left dangling (PostgreSQL)", async (t) => {
    const s = server();
    if (s.kind !== "postgres") return t.skip("SQLite has one writer: no two changes overlap");
    const group = await createGroup(s, admin, "gdel-race");
    assert.equal((await create({ alias: "gdel-race", fromUrl: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })).status, 201);
    const { db, dialect } = s.server.deps.store;
    let deleted: Promise<{ status: number; text: string }> | undefined;
    // The provider change, as its PUT makes it: the group it names read and locked, then its settings written.
    await db.transaction().execute(async (trx) => {
      await dialect.lockedAgainstDelete(trx.selectFrom("groups").select("uuid").where("uuid", "=", group)).execute();
      deleted = s.api("DELETE", `/security/v1/user-groups/${group}`, { token: admin });
      // The delete waits for this transaction's lock before the change goes on (else the race is not run).
      const waiting = async () => Number((await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`.execute(db)).rows[0]!.n);
      for (let i = 0; i < 100 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok((await waiting()) > 0, "the delete waits for the lock");
      const row = await trx.selectFrom("identity_providers").select("config").where("alias", "=", "gdel-race").executeTakeFirstOrThrow();
      const config = JSON.parse(row.config);
      config.defaultGroupList = [group];
      await trx.updateTable("identity_providers").set({ config: JSON.stringify(config) }).where("alias", "=", "gdel-race").execute();
    });
    const refused = await deleted!;
    assert.equal(refused.status, 409, refused.text);
    assert.match(JSON.parse(refused.text).errorMessage, /is named by identity provider "gdel-race"/);
    assert.equal((await s.api("DELETE", `${PATH}/gdel-race`, { token: admin })).status, 204);
    assert.equal((await s.api("DELETE", `/security/v1/user-groups/${group}`, { token: admin })).status, 204);
  });

  it("tests a provider: its keys, and its token endpoint taking the client credentials (a wrong secret shows here)", async () => {
    const s = server();
    const test = async () => {
      const r = await s.api("POST", `${PATH}/sso/test`, { token: admin });
      assert.equal(r.status, 200, r.text);
      assert.ok(!r.text.includes(CLIENT_SECRET) && !r.text.includes("a-wrong-secret"));
      return r.body;
    };
    // The secret the provider has for this client (the test before set another).
    assert.equal((await s.api("PUT", `${PATH}/sso`, { token: admin, body: { clientSecret: CLIENT_SECRET } })).status, 200);
    const etag = async () => (await s.api("GET", `${PATH}/sso`, { token: admin })).headers.get("etag");
    const version = await etag();
    const good = await test();
    assert.equal(await etag(), version, "a test changes nothing");
    assert.deepEqual(good, {
      ok: true,
      message: "The provider's keys and its token endpoint work with this configuration.",
      steps: [
        { step: "keys", ok: true, message: "The provider publishes 1 signing key." },
        { step: "client", ok: true, message: "The token endpoint accepts this service's client credentials." },
      ],
    });
    assert.equal((await s.api("PUT", `${PATH}/sso`, { token: admin, body: { clientSecret: "a-wrong-secret" } })).status, 200);
    try {
      const wrong = await test();
      assert.equal(wrong.ok, false);
      assert.match(wrong.message, /^The token endpoint refuses this service's client credentials: check clientId, clientSecret/);
      assert.deepEqual(wrong.steps.map((step: any) => [step.step, step.ok]), [["keys", true], ["client", false]]);
    } finally {
      assert.equal((await s.api("PUT", `${PATH}/sso`, { token: admin, body: { clientSecret: CLIENT_SECRET } })).status, 200);
    }
    // A token endpoint failing itself (5xx) is the provider's trouble for now, as a login says (a 503 to try again), not a refusal of this client.
    provider.failing = { path: "/token", status: 500 };
    try {
      const failing = await test();
      assert.deepEqual(failing.steps.map((step: any) => [step.step, step.ok, step.message]), [
        ["keys", true, "The provider publishes 1 signing key."],
        ["client", false, "The token endpoint (config.tokenUrl) answers HTTP 500: the provider is failing now; test again later."],
      ]);
    } finally {
      provider.failing = null;
    }
    await provider.stop();
    try {
      const down = await test();
      assert.deepEqual(down.steps.map((step: any) => step.message), ["The provider's keys (config.jwksUrl) cannot be reached.", "The token endpoint (config.tokenUrl) cannot be reached."]);
    } finally {
      await provider.start();
    }
    assert.equal((await s.api("POST", `${PATH}/nope/test`, { token: admin })).status, 404);
    await createUser(s, admin, "idp-tester");
    assert.equal((await s.api("POST", `${PATH}/sso/test`, { token: await s.login("idp-tester", USER_PASSWORD) })).status, 403);
  });

  it("refuses bad input with a 400 that names it, and a taken alias with a 409", async () => {
    const base = { alias: "bad", clientId: "c", clientSecret: "s", fromUrl: provider.issuer };
    const cases: [string, Record<string, unknown>][] = [
      ["unknown field", { ...base, validateSignature: false }],
      ["unknown config field", { ...base, config: { useJwksUrl: false } }],
      ["alias not URL-safe", { ...base, alias: "a b" }],
      ["alias builtin", { ...base, alias: "builtin" }],
      ["alias Builtin", { ...base, alias: "BuiltIn" }],
      ["display name turned around", { ...base, displayName: "a\u202eb" }],
      ["display name on two lines", { ...base, displayName: "a\nb" }],
      ["display name blank", { ...base, displayName: "   " }],
      ["no client id", { alias: "bad", fromUrl: provider.issuer }],
      ["plain http off loopback", { ...base, fromUrl: "http://idp.example.com" }],
      ["unreachable discovery", { ...base, fromUrl: "http://127.0.0.1:1" }],
      ["no endpoints at all", { alias: "bad", clientId: "c", clientSecret: "s" }],
      ["no openid scope", { ...base, config: { scopes: ["email"] } }],
      ["no secret for a secret method", { alias: "bad", clientId: "c", fromUrl: provider.issuer }],
      ["unknown group", { ...base, defaultGroupList: ["00000000-0000-4000-8000-000000000000"] }],
      ["bad auth method", { ...base, config: { clientAuthMethod: "private_key_jwt" } }],
    ];
    for (const [name, body] of cases) {
      const r = await create(body);
      assert.equal(r.status, 400, `${name}: ${r.text}`);
      assert.match(r.body.errorMessage, /^ECMS1001-E /, name);
    }
    // A value given twice is named, in words.
    const twice = await create({ ...base, config: { scopes: ["openid", "email", "openid"] } });
    assert.equal(twice.status, 400, twice.text);
    assert.equal(twice.body.errorMessage, 'ECMS1001-E config/scopes lists "openid" twice (items 1 and 3).');
    // A groups claim value with white space around it, pasted so, is a mapping no login would use.
    const spaced = await create({ ...base, customGroupList: [{ idpGroupName: "eng ", localGroupId: "00000000-0000-4000-8000-000000000000" }] });
    assert.equal(spaced.status, 400, spaced.text);
    assert.equal(spaced.body.errorMessage, "ECMS1001-E customGroupList/0/idpGroupName must not start or end with white space: give the value of the groups claim as it is.");
    // A mapping given twice too, its fields in any order (it would be stored and shown twice).
    const group = "00000000-0000-4000-8000-000000000000";
    const mappedTwice = await create({ ...base, customGroupList: [{ idpGroupName: "eng", localGroupId: group }, { idpGroupName: "ops", localGroupId: group }, { localGroupId: group, idpGroupName: "eng" }] });
    assert.equal(mappedTwice.status, 400, mappedTwice.text);
    assert.match(mappedTwice.body.errorMessage, /^ECMS1001-E customGroupList lists \{"localGroupId":"00000000-.+ twice \(items 1 and 3\)\.$/);
    // Why discovery failed, in people's words.
    for (const [fromUrl, why] of [
      ["http://127.0.0.1:1", "nothing answers at that address"],
      ["https://no-such-host.invalid", "its host name is not known"],
      [`${provider.issuer}/no-such-document`, "it answered HTTP 404, not the document"],
    ]) {
      const r = await create({ ...base, fromUrl });
      assert.equal(r.body.errorMessage, `ECMS1001-E The discovery document at fromUrl could not be read: ${why}.`, fromUrl);
    }
    // An answer of any size is not read whole: past 1 MiB (said or streamed), reading stops.
    const huge = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"issuer":"x","padding":"');
      const piece = "a".repeat(64 * 1024);
      let sent = 0;
      const more = () => {
        while (sent < 64 && response.write(piece)) sent++;
        if (sent < 64) response.once("drain", more);
        else response.end('"}');
      };
      more();
    });
    await new Promise<void>((resolve) => huge.listen(0, "127.0.0.1", resolve));
    try {
      const r = await create({ ...base, fromUrl: `http://127.0.0.1:${(huge.address() as AddressInfo).port}` });
      assert.equal(r.body.errorMessage, "ECMS1001-E The discovery document at fromUrl could not be read: its answer is larger than 1 MiB.");
    } finally {
      huge.closeAllConnections();
      await new Promise((resolve) => huge.close(resolve));
    }
    // A discovery document's values are held to the limits and rules of the values an administrator sends, and a refusal says where the value came from.
    let tokenEndpoint = (issuer: string) => `${issuer}/${"t".repeat(3000)}`;
    const long = createServer((_request, response) => {
      const issuer = `http://127.0.0.1:${(long.address() as AddressInfo).port}`;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: tokenEndpoint(issuer), jwks_uri: `${issuer}/jwks`, response_types_supported: ["code"] }));
    });
    await new Promise<void>((resolve) => long.listen(0, "127.0.0.1", resolve));
    try {
      const fromUrl = `http://127.0.0.1:${(long.address() as AddressInfo).port}`;
      assert.equal((await create({ ...base, fromUrl })).body.errorMessage, "ECMS1001-E config.tokenUrl, as read from the discovery document, must be text of at most 2048 characters.");
      tokenEndpoint = () => "http://idp.example.com/token";
      const plain = await create({ ...base, fromUrl });
      assert.equal(plain.body.errorMessage, "ECMS1001-E config.tokenUrl, as read from the discovery document, must be an https URL (plain http only on loopback).");
      assert.equal(JSON.parse(plain.body.additionalInfo).field, "config.tokenUrl");
      // One sent in its place is the administrator's own.
      const sent = await create({ ...base, fromUrl, config: { tokenUrl: "http://idp.example.com/token" } });
      assert.equal(sent.body.errorMessage, "ECMS1001-E config.tokenUrl must be an https URL (plain http only on loopback).");
    } finally {
      await new Promise((resolve) => long.close(resolve));
    }
    // A secret sent for a public client is refused, not dropped: the administrator meant one of the two.
    const secretForPublic = await create({ alias: "open", clientId: "c", clientSecret: "public-secret", fromUrl: provider.issuer, config: { clientAuthMethod: "none" } });
    assert.equal(secretForPublic.status, 400, secretForPublic.text);
    assert.equal(secretForPublic.body.errorMessage, "ECMS1001-E clientSecret cannot be kept with clientAuthMethod none (a public client sends no secret): leave it out, or choose client_secret_basic or client_secret_post.");
    assert.equal(JSON.parse(secretForPublic.body.additionalInfo).field, "clientSecret");
    assert.equal((await create({ alias: "open", clientId: "c", clientSecret: null, fromUrl: provider.issuer, config: { clientAuthMethod: "none" } })).status, 201, "a public client needs no secret");
    const secretLater = await server().api("PUT", `${PATH}/open`, { token: admin, body: { clientSecret: "public-secret" } });
    assert.equal(secretLater.status, 400, secretLater.text);
    assert.equal(JSON.parse(secretLater.body.additionalInfo).field, "clientSecret");
    const shown = (await server().api("GET", `${PATH}/open`, { token: admin })).body;
    assert.equal(shown.clientSecret, null);
    assert.equal((await server().api("PUT", `${PATH}/open`, { token: admin, body: shown })).status, 200, "its GET sent back");
    assert.equal((await create({ ...base, alias: "sso" })).status, 409);
    const alike = await create({ ...base, alias: "SSO" });
    assert.deepEqual([alike.status, alike.body.errorMessage], [409, "ECMS1301-E An identity provider with this alias already exists: sso (aliases are told apart without regard to case)."]);
    // Two creates at once that differ in case only: one is made, the other a 409, also when both passed the check before their inserts.
    const racing = await Promise.all(["Race", "race"].map((alias) => create({ ...base, alias })));
    assert.deepEqual(racing.map((r) => r.status).sort(), [201, 409], racing.map((r) => r.text).join("\n"));
    const now = "2026-01-01T00:00:00.000Z";
    const row = (alias: string) => ({ uuid: crypto.randomUUID(), alias, display_name: alias, config: "{}", by_system_administrator: 1, created_at: now, updated_at: now });
    await assert.rejects(server().server.deps.store.db.insertInto("identity_providers").values(row("RACE")).execute(), "the store itself tells aliases apart without regard to case");
    for (const alias of ["Race", "race"]) await server().api("DELETE", `${PATH}/${alias}`, { token: admin });
    assert.equal((await server().api("DELETE", `${PATH}/open`, { token: admin })).status, 204);
    assert.equal((await server().api("DELETE", `${PATH}/open`, { token: admin })).status, 404);
  });

  it("refuses a user name or password in any of its URLs, without saying it back: it would be kept, shown, audited and sent to every browser", async () => {
    const s = server();
    const base = { alias: "userinfo", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };
    const withUser = (url: string, userinfo: string) => url.replace("://", `://${userinfo}@`);
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, fromUrl: withUser(provider.issuer, "admin:S3cret-In-Url") }, "fromUrl"],
      [{ ...base, fromUrl: provider.issuer, config: { authorizationUrl: withUser(`${provider.issuer}/auth`, ":S3cret-In-Url") } }, "config.authorizationUrl"],
      [{ ...base, fromUrl: provider.issuer, config: { tokenUrl: withUser(`${provider.issuer}/token`, "client:S3cret-In-Url") } }, "config.tokenUrl"],
      [{ ...base, fromUrl: provider.issuer, config: { jwksUrl: withUser(`${provider.issuer}/jwks`, "S3cret-In-Url") } }, "config.jwksUrl"],
      [{ ...base, fromUrl: provider.issuer, config: { userInfoUrl: withUser(`${provider.issuer}/me`, ":S3cret-In-Url") } }, "config.userInfoUrl"],
    ];
    for (const [body, field] of cases) {
      const r = await create(body);
      assert.equal(r.status, 400, `${field}: ${r.text}`);
      assert.equal(JSON.parse(r.body.additionalInfo).field, field);
      assert.ok(!r.text.includes("S3cret-In-Url"), r.text);
    }
    assert.equal((await s.api("GET", `${PATH}/userinfo`, { token: admin })).status, 404, "nothing was made");
    // Nor by a change: the stored endpoint stays, and the login's redirect carries none to a browser.
    assert.equal((await create({ ...base, fromUrl: provider.issuer })).status, 201);
    const changed = await s.api("PUT", `${PATH}/userinfo`, { token: admin, body: { config: { authorizationUrl: withUser(`${provider.issuer}/auth`, ":S3cret-In-Url") } } });
    assert.equal(changed.status, 400, changed.text);
    const login = await fetch(`${s.baseUrl}/auth/v1/providers/userinfo/login`, { redirect: "manual" });
    assert.equal(login.status, 302);
    assert.ok(login.headers.get("location")!.startsWith(`${provider.issuer}/auth?`), login.headers.get("location")!);
    assert.equal((await s.api("DELETE", `${PATH}/userinfo`, { token: admin })).status, 204);
  });

  it("sends the stored secret only to the token endpoint it was given for; a stale If-Match is a 412", async () => {
    const s = server();
    const current = await s.api("GET", `${PATH}/sso`, { token: admin });
    const moved = { config: { tokenUrl: "https://attacker.example/token" } };
    const r = await s.api("PUT", `${PATH}/sso`, { token: admin, body: moved });
    assert.equal(r.status, 400, r.text);
    assert.equal(JSON.parse(r.body.additionalInfo).field, "clientSecret");
    assert.equal((await s.api("PUT", `${PATH}/sso`, { token: admin, body: { ...moved, clientSecret: "**********" } })).status, 400, "the mask is not the secret");
    assert.equal((await s.api("GET", `${PATH}/sso`, { token: admin })).body.config.tokenUrl, current.body.config.tokenUrl);
    // Nor in two steps: a public client keeps no secret, so going back to a secret method needs one.
    assert.equal((await s.api("PUT", `${PATH}/sso`, { token: admin, body: { config: { ...moved.config, clientAuthMethod: "none" } } })).status, 200);
    const back = await s.api("PUT", `${PATH}/sso`, { token: admin, body: { config: { clientAuthMethod: "client_secret_post" } } });
    assert.equal(back.status, 400, back.text);
    assert.equal(JSON.parse(back.body.additionalInfo).field, "clientSecret");
    const restored = await s.api("PUT", `${PATH}/sso`, { token: admin, body: { clientSecret: CLIENT_SECRET, config: { clientAuthMethod: "client_secret_basic", tokenUrl: current.body.config.tokenUrl } } });
    assert.equal(restored.status, 200, restored.text);
    const now = await s.api("GET", `${PATH}/sso`, { token: admin });
    const stale = await s.api("PUT", `${PATH}/sso`, { token: admin, headers: { "if-match": '"999"' }, body: { guiOrder: 3 } });
    assert.equal(stale.status, 412, stale.text);
    assert.equal(JSON.parse(stale.body.additionalInfo).currentETag, now.headers.get("etag"));
    assert.equal((await s.api("DELETE", `${PATH}/sso`, { token: admin, headers: { "if-match": '"999"' } })).status, 412);
    const fresh = await s.api("PUT", `${PATH}/sso`, { token: admin, headers: { "if-match": now.headers.get("etag")! }, body: { guiOrder: 3 } });
    assert.equal(fresh.status, 200, fresh.text);
  });

  it("a GET body sent back with a new fromUrl takes the new provider's endpoints; one changed by hand stays", async () => {
    const s = server();
    const other = await startTestProvider([clientFor(s, "sso-moved")]);
    try {
      assert.equal((await create({ alias: "sso-moved", fromUrl: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })).status, 201);
      const read = (await s.api("GET", `${PATH}/sso-moved`, { token: admin })).body;
      const moved = await s.api("PUT", `${PATH}/sso-moved`, { token: admin, body: { ...read, fromUrl: other.issuer, clientSecret: CLIENT_SECRET } });
      assert.equal(moved.status, 200, moved.text);
      const { issuer, authorizationUrl, tokenUrl, userInfoUrl, jwksUrl } = moved.body.config;
      assert.deepEqual({ issuer, authorizationUrl, tokenUrl, userInfoUrl, jwksUrl }, { issuer: other.issuer, authorizationUrl: `${other.issuer}/auth`, tokenUrl: `${other.issuer}/token`, userInfoUrl: `${other.issuer}/me`, jwksUrl: `${other.issuer}/jwks` });
      // An endpoint the request changes is the administrator's override, whatever the discovery says.
      const back = (await s.api("GET", `${PATH}/sso-moved`, { token: admin })).body;
      const own = await s.api("PUT", `${PATH}/sso-moved`, { token: admin, body: { ...back, fromUrl: provider.issuer, clientSecret: CLIENT_SECRET, config: { ...back.config, userInfoUrl: `${provider.issuer}/userinfo-here` } } });
      assert.equal(own.status, 200, own.text);
      assert.equal(own.body.config.issuer, provider.issuer);
      assert.equal(own.body.config.tokenUrl, `${provider.issuer}/token`);
      assert.equal(own.body.config.userInfoUrl, `${provider.issuer}/userinfo-here`);
      assert.equal((await s.api("DELETE", `${PATH}/sso-moved`, { token: admin })).status, 204);
    } finally {
      await other.close();
    }
  });

  it("leaves to system administrators the providers through which accounts hold the system-administrator role", async () => {
    const s = server();
    const { token: securityAdmin } = await createSecurityAdministrator(s, admin, "idp-secadmin-2");
    const administrators = await groupId(s, admin, "administrators");
    // A new provider filling a group that grants the role: refused, nothing stored.
    for (const fill of [{ defaultGroupList: [administrators] }, { customGroupList: [{ idpGroupName: "admins", localGroupId: administrators }] }]) {
      const r = await create({ alias: "sa-fill", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fromUrl: provider.issuer, ...fill }, securityAdmin);
      assert.equal(r.status, 403, r.text);
      assert.match(r.body.errorMessage, /Only a system administrator/);
    }
    assert.equal((await s.api("GET", `${PATH}/sa-fill`, { token: admin })).status, 404);
    // A provider the security administrator may run, until a system administrator logs in through it.
    assert.equal((await create({ alias: "sa-own", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fromUrl: provider.issuer }, securityAdmin)).status, 201);
    assert.equal((await s.api("PUT", `${PATH}/sa-own`, { token: securityAdmin, body: { guiOrder: 5 } })).status, 200);
    assert.equal((await s.api("PUT", `${PATH}/sa-own`, { token: securityAdmin, body: { defaultGroupList: [administrators] } })).status, 403);
    const boss = await createUser(s, admin, "idp-boss");
    assert.equal((await s.api("PUT", `/security/v1/users/${boss.uuid}/user-groups/${administrators}`, { token: admin })).status, 204);
    assert.equal((await s.api("PUT", `/security/v1/users/${boss.uuid}/federated-identities/sa-own`, { token: admin, body: { subject: "boss-sub" } })).status, 204);
    for (const [method, body] of [["PUT", { fromUrl: provider.issuer, clientSecret: "theirs", config: { trustEmail: true } }], ["DELETE", undefined]] as const) {
      const r = await s.api(method, `${PATH}/sa-own`, { token: securityAdmin, body });
      assert.equal(r.status, 403, `${method}: ${r.text}`);
    }
    assert.equal((await s.api("PUT", `${PATH}/sa-own`, { token: admin, body: { guiOrder: 6 } })).status, 200, "a system administrator may");
    assert.equal((await s.api("DELETE", `${PATH}/sa-own`, { token: admin })).status, 204);
    // A link by hand through a provider whose groups grant the role would give it to an account whose
    // password the security administrator may know: a system administrator's to make.
    assert.equal((await create({ alias: "sa-mapped", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fromUrl: provider.issuer, customGroupList: [{ idpGroupName: "admins", localGroupId: administrators }] }, admin)).status, 201);
    const mine = await createUser(s, admin, "idp-mine");
    const link = await s.api("PUT", `/security/v1/users/${mine.uuid}/federated-identities/sa-mapped`, { token: securityAdmin, body: { subject: "someone-sub" } });
    assert.equal(link.status, 403, link.text);
    assert.equal((await s.api("PUT", `/security/v1/users/${mine.uuid}/federated-identities/sa-mapped`, { token: admin, body: { subject: "someone-sub" } })).status, 204, "a system administrator may");
    assert.equal((await s.api("DELETE", `${PATH}/sa-mapped`, { token: admin })).status, 204);
  });

  it("is for system and security administrators only", async () => {
    const s = server();
    const { token: securityAdmin } = await createSecurityAdministrator(s, admin, "idp-secadmin");
    assert.equal((await s.api("GET", PATH, { token: securityAdmin })).status, 200);
    await createUser(s, admin, "idp-plain");
    const user = await s.login("idp-plain", USER_PASSWORD);
    for (const [method, path] of [["GET", PATH], ["GET", `${PATH}/sso`], ["POST", PATH], ["PUT", `${PATH}/sso`], ["DELETE", `${PATH}/sso`]] as const) {
      assert.equal((await s.api(method, path, { token: user, body: method === "POST" || method === "PUT" ? {} : undefined })).status, 403, `${method} ${path}`);
      assert.equal((await s.api(method, path)).status, 401, `${method} ${path}`);
    }
  });
});
