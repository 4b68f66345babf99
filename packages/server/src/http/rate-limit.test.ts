import assert from "node:assert/strict";
import { before, it } from "node:test";
import { ADMIN_PASSWORD, describeEachStore, startTestServer, type ApiResponse, type TestServer } from "../test-support/server.js";

const TOKEN_PATH = "/auth/v1/providers/builtin/token";
const PASSWORD = "Rated-Account-Pass-1";
const LIMITS = { rateLimit: { windowSeconds: 60, perAddress: 4, perAccount: 3, providerLoginsPerAddress: 2, refusedApiKeysPerAddress: 4, refusalDelayMs: 0 }, lockout: { maxFailures: 100, accountMaxFailures: 100, familiarDays: 30, baseSeconds: 60, maxSeconds: 60 } };

const loginFrom = (s: TestServer, from: string, username: string, password: string) => s.api("POST", TOKEN_PATH, { from, body: { username, password } });

function assertTooMany(r: ApiResponse) {
  assert.equal(r.status, 429, r.text);
  assert.match(r.body.errorMessage, /^ECMS1401-E Too many /);
  const retryAfter = Number(r.headers.get("retry-after"));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${r.headers.get("retry-after")}`);
  assert.equal(JSON.parse(r.body.additionalInfo).retryAfterSeconds, retryAfter);
}

describeEachStore(
  "rate limits on logins and password changes (429 with Retry-After)",
  (server) => {
    let token: string;
    before(async () => {
      token = await server().login();
    });

    it("limits attempts per client address, whatever the account", async () => {
      const s = server();
      for (let i = 0; i < 4; i++) assert.equal((await loginFrom(s, "127.0.0.2", `someone-${i}`, "wrong-guess")).status, 401);
      assertTooMany(await loginFrom(s, "127.0.0.2", "someone-else", "wrong-guess"));
      assert.equal((await loginFrom(s, "127.0.0.3", "someone-else", "wrong-guess")).status, 401, "another address has its own count");
    });

    it("limits attempts per account from unfamiliar addresses; the owner's familiar address is not stopped", async () => {
      const s = server();
      assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "rated.user", password: PASSWORD } })).status, 201);
      // Its first login from .4 counts too: the address was not familiar yet.
      assert.equal((await loginFrom(s, "127.0.0.4", "rated.user", PASSWORD)).status, 200, "the owner logs in from .4 once");
      for (const from of ["127.0.0.5", "127.0.0.6"]) assert.equal((await loginFrom(s, from, "RATED.USER", "wrong-guess")).status, 401);
      assertTooMany(await loginFrom(s, "127.0.0.7", "rated.user", PASSWORD));
      assert.equal((await loginFrom(s, "127.0.0.4", "rated.user", PASSWORD)).status, 200);
      // The counters name the account by a keyed hash: a password typed in the name field is not kept.
      assert.equal((await loginFrom(s, "127.0.0.8", "Typed-Password-In-Name-1", "x")).status, 401);
      const keys = (await s.server.deps.store.db.selectFrom("rate_limits").select("key").execute()).map((r) => r.key);
      assert.ok(keys.some((k) => k.startsWith("login|account|")), keys.join(" "));
      assert.ok(!keys.some((k) => /rated\.user|typed-password/i.test(k)), keys.join(" "));
    });

    it("counts an account's attempts whatever Unicode form its name is typed in", async () => {
      const s = server();
      assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "formed.user", password: PASSWORD } })).status, 201);
      const forms = ["ｆｏｒｍｅｄ.ｕｓｅｒ", "ＦＯＲＭＥＤ.user", "formed.ｕｓｅｒ"];
      for (const [i, typed] of forms.entries()) assert.equal((await loginFrom(s, `127.0.0.${11 + i}`, typed, "wrong-guess")).status, 401, typed);
      assertTooMany(await loginFrom(s, "127.0.0.14", "formed.user", PASSWORD));
    });

    it("limits own password changes per address", async () => {
      const s = server();
      assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "changer", password: PASSWORD } })).status, 201);
      const own = (await loginFrom(s, "127.0.0.9", "changer", PASSWORD)).body.access_token;
      const change = () => s.api("PUT", "/security/v1/me/password", { from: "127.0.0.9", token: own, body: { currentPassword: "wrong-guess", newPassword: "Never-Set-This-1" } });
      for (let i = 0; i < 4; i++) assert.equal((await change()).status, 400);
      assertTooMany(await change());
      await s.server.deps.auditTally.flush();
      const refused = (await s.api("GET", "/security/v1/audit-events?action=auth.reauthenticate&actor=changer", { token })).body.filter((e: any) => e.details?.reason === "rate-limited");
      assert.deepEqual(refused.map((e: any) => [e.targetName, e.sourceAddress, e.details.limit, e.count]), [["changer", "127.0.0.9", "address", 1]]);
    });

    it("limits identity-provider logins started and codes exchanged per client address", async () => {
      const s = server();
      // Counted before the provider is looked up: an unknown alias costs the caller as a real one does.
      const start = (from: string) => s.api("GET", "/auth/v1/providers/nowhere/login", { from });
      const exchange = (from: string) => s.api("POST", "/auth/v1/providers/nowhere/exchange", { from, body: { code: "guessed-code" } });
      assert.equal((await start("127.0.0.11")).status, 404);
      assert.notEqual((await exchange("127.0.0.11")).status, 429);
      assertTooMany(await start("127.0.0.11"));
      assertTooMany(await exchange("127.0.0.11"));
      assert.equal((await start("127.0.0.12")).status, 404);
    });

    it("limits the users CSV download links opened per client address (each a write to the store, by anyone)", async () => {
      const s = server();
      const open = (from: string, link: string) => s.api("GET", `/security/v1/users/csv-links/${link}`, { from });
      for (let i = 0; i < 2; i++) assert.equal((await open("127.0.0.31", `guessed-link-${i}`)).status, 404);
      assertTooMany(await open("127.0.0.31", "guessed-link-more"));
      assert.equal((await open("127.0.0.32", "guessed-link")).status, 404, "another address has its own count");
      // An administrator's own link, from an address under the limit, is what it was.
      const made = await s.api("POST", "/security/v1/users/csv-links", { token, from: "127.0.0.33" });
      assert.equal(made.status, 201, made.text);
      const csv = await fetch(`${s.baseUrl.replace(/\/portal$/, "")}${made.body.url}`);
      assert.equal(csv.status, 200, await csv.clone().text());
      assert.match(await csv.text(), /^\ufeff?id,/);
    });

    it("limits API keys refused per address (each costs a lookup); tokens, and other addresses, are not stopped", async () => {
      const s = server();
      const guess = (from: string, key: string) => s.api("GET", "/security/v1/users/count", { from, token: key });
      for (let i = 0; i < 4; i++) assert.equal((await guess("127.0.0.22", `ecm_guess${i}${"x".repeat(30)}`)).status, 401);
      assertTooMany(await guess("127.0.0.22", `ecm_guess-more${"x".repeat(30)}`));
      assert.equal((await guess("127.0.0.22", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln")).status, 401, "a token is only a signature check: not limited");
      assert.equal((await guess("127.0.0.23", `ecm_guess${"x".repeat(30)}`)).status, 401, "another address has its own count");
      assert.equal((await s.api("GET", "/security/v1/users/count", { from: "127.0.0.22", token })).status, 200, "a session token from that address still works");
    });

    it("lets a key that worked lately go on working from an address past the limit (a good script behind the guesser's NAT); others wait", async () => {
      const s = server();
      const robot = await s.api("POST", "/security/v1/users", { token, body: { username: "nat-robot", serviceAccount: true } });
      assert.equal(robot.status, 201, robot.text);
      const keyOf = async (name: string) => (await s.api("POST", `/security/v1/users/${robot.body.id}/api-keys`, { token, body: { name } })).body.secret as string;
      const [used, unused] = [await keyOf("used"), await keyOf("unused")];
      const call = (key: string) => s.api("GET", "/security/v1/me", { from: "127.0.0.26", token: key });
      assert.equal((await call(used)).status, 200);
      for (let i = 0; i < 4; i++) assert.equal((await call(`ecm_guess${i}${"y".repeat(30)}`)).status, 401);
      assertTooMany(await call(`ecm_guess-more${"y".repeat(30)}`));
      assert.equal((await call(used)).status, 200, "the key that worked from there lately");
      assertTooMany(await call(unused));
      assert.equal((await s.api("DELETE", `/security/v1/users/${robot.body.id}`, { token })).status, 204);
    });

    it("limits refused back-channel logout tokens per address, audited in aggregate; an unknown alias is not logged", async () => {
      const s = server();
      const endpoints = { issuer: "https://idp.example", authorizationUrl: "https://idp.example/auth", tokenUrl: "https://idp.example/token", jwksUrl: "https://idp.example/jwks" };
      const created = await s.api("POST", "/idp/v1/external-identity-provider", { token, body: { alias: "limited-idp", clientId: "ecm", clientSecret: "s3cret-value", config: endpoints } });
      assert.equal(created.status, 201, created.text);
      const logout = (from: string) =>
        s.api("POST", "/auth/v1/providers/limited-idp/backchannel-logout", { from, body: "logout_token=not-a-token", headers: { "content-type": "application/x-www-form-urlencoded" } });
      for (let i = 0; i < 2; i++) assert.equal((await logout("127.0.0.13")).status, 400);
      assertTooMany(await logout("127.0.0.13"));
      assert.equal((await logout("127.0.0.14")).status, 400, "another address has its own count");
      // Posts to aliases that name no enabled provider read the store too: counted alike.
      const unknown = () => s.api("POST", "/auth/v1/providers/no-such-idp/backchannel-logout", { from: "127.0.0.15", body: "logout_token=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
      for (let i = 0; i < 2; i++) assert.equal((await unknown()).status, 404);
      assertTooMany(await unknown());
      await s.server.deps.auditTally.flush();
      const refused = (await s.api("GET", "/security/v1/audit-events?action=auth.backchannel-logout&outcome=failure", { token })).body.filter((e: any) => e.sourceAddress === "127.0.0.13");
      assert.deepEqual(refused.map((e: any) => e.count), [3], "one event whose count grows");
      // The caller's text in place of an alias is not written as an actor's name.
      assert.equal((await s.api("POST", "/auth/v1/providers/Caller-Chosen-Text/exchange", { from: "127.0.0.20", body: { code: "x" } })).status, 401);
      // Callbacks that follow no login (anyone can send them): limited per address, one event whose count grows.
      for (const alias of ["limited-idp", "limited-idp", "no-such-idp"]) {
        const stray = await s.api("GET", `/auth/v1/providers/${alias}/callback?state=x&code=y`, { from: "127.0.0.24" });
        if (alias === "no-such-idp") assertTooMany(stray);
        else assert.equal(stray.status, 400, stray.text);
      }
      await s.server.deps.auditTally.flush();
      const strays = (await s.api("GET", "/security/v1/audit-events?action=auth.provider-login&outcome=failure", { token })).body.filter((e: any) => e.sourceAddress === "127.0.0.24");
      assert.deepEqual(strays.map((e: any) => [e.details.reason, e.count]), [["no-pending-login", 2]], "the one past the limit was refused before any work");
      const exchanges = (await s.api("GET", "/security/v1/audit-events?action=auth.provider-login&outcome=failure", { token })).body;
      assert.ok(exchanges.length > 0 && exchanges.every((e: any) => !JSON.stringify(e).includes("Caller-Chosen-Text")));
    });

    it("audits refused attempts in aggregate: anonymous, from the address, one event a minute whose count grows", async () => {
      const s = server();
      // Past the address's limit: ever new names add to one event that names no target (and stores no name).
      for (let i = 0; i < 4; i++) assert.equal((await loginFrom(s, "127.0.0.15", `flood-${i}`, "wrong-guess")).status, 401);
      for (let i = 0; i < 6; i++) assertTooMany(await loginFrom(s, "127.0.0.15", `flood-more-${i}`, "wrong-guess"));
      // Past the account's limit: the account is the target.
      assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "limited.user", password: PASSWORD } })).status, 201);
      for (const from of ["127.0.0.16", "127.0.0.17", "127.0.0.18"]) assert.equal((await loginFrom(s, from, "limited.user", "wrong-guess")).status, 401);
      for (let i = 0; i < 2; i++) assertTooMany(await loginFrom(s, "127.0.0.19", "limited.user", PASSWORD));
      // Refusals past a limit are counted in memory (written each second) and cost the counter no write.
      const counter = await s.server.deps.store.db.selectFrom("rate_limits").select("hits").where("key", "=", "login|address|127.0.0.15").executeTakeFirstOrThrow();
      assert.equal(counter.hits, 5, "the store counted up to the first refusal only");
      await s.server.deps.auditTally.flush();

      const events = (await s.api("GET", "/security/v1/audit-events?action=auth.login&outcome=failure", { token })).body.filter((e: any) => e.details?.reason === "rate-limited");
      const from = (address: string) => events.filter((e: any) => e.sourceAddress === address);
      const total = (list: any[]) => list.reduce((n, e) => n + e.count, 0);
      assert.equal(total(from("127.0.0.15")), 6);
      assert.ok(from("127.0.0.15").length < 6, "aggregated: not a row per refused request");
      for (const e of from("127.0.0.15")) assert.deepEqual([e.actor, e.actorNumericId, e.targetType, e.targetId, e.details.limit], [null, null, null, null, "address"]);
      assert.ok(!JSON.stringify(events).includes("flood-more"), "no typed name is kept");
      assert.equal(total(from("127.0.0.19")), 2);
      for (const e of from("127.0.0.19")) assert.deepEqual([e.actor, e.targetType, e.targetName, e.details.limit], [null, "user", "limited.user", "account"]);
    });
  },
  LIMITS,
);

describeEachStore("rate limits count in the store, across server processes", (server) => {
  it("attempts on two nodes of one store add up", async () => {
    // Closed here, not in an after hook: the suite's own hook drops the store first, and this
    // node still has refusals to write when it closes.
    const second = await startTestServer(server().kind, { ...LIMITS, store: server().server.deps.config.store });
    try {
      const nodes = [server(), second, server(), second];
      for (const [i, node] of nodes.entries()) assert.equal((await loginFrom(node, "127.0.0.10", `nobody-${i}`, "wrong-guess")).status, 401);
      assertTooMany(await loginFrom(server(), "127.0.0.10", "nobody-4", "wrong-guess"));
      assertTooMany(await loginFrom(second, "127.0.0.10", "nobody-5", "wrong-guess"));
    } finally {
      await second.close();
    }
  });

  it("a key that worked lately through one node works past the address's limit through the other too", async () => {
    const second = await startTestServer(server().kind, { ...LIMITS, store: server().server.deps.config.store });
    try {
      const token = await server().login();
      const robot = await server().api("POST", "/security/v1/users", { token, body: { username: "two-node-robot", serviceAccount: true } });
      const key = (await server().api("POST", `/security/v1/users/${robot.body.id}/api-keys`, { token, body: { name: "worker" } })).body.secret as string;
      const call = (node: TestServer, key: string) => node.api("GET", "/security/v1/me", { from: "127.0.0.27", token: key });
      assert.equal((await call(server(), key)).status, 200);
      for (let i = 0; i < 4; i++) assert.equal((await call(second, `ecm_guess${i}${"z".repeat(30)}`)).status, 401);
      assertTooMany(await call(second, `ecm_guess-more${"z".repeat(30)}`));
      assert.equal((await call(second, key)).status, 200, "let in by the other node lately");
      assert.equal((await call(server(), key)).status, 200);
    } finally {
      await second.close();
    }
  });
}, LIMITS);

describeEachStore(
  "a refusal is held before it is answered (ECM_RATE_LIMIT_REFUSAL_DELAY_MS)",
  (server) => {
    it("holds a guesser's 429 while a login from another address is answered at once", async () => {
      const s = server();
      assert.equal((await loginFrom(s, "127.0.0.21", "nobody", "wrong-guess")).status, 401);
      const startedAt = Date.now();
      const refused = loginFrom(s, "127.0.0.21", "nobody", "wrong-guess").then((r) => ({ r, at: Date.now() }));
      const owner = await loginFrom(s, "127.0.0.22", "sysadmin", ADMIN_PASSWORD);
      const ownerAt = Date.now();
      const { r, at } = await refused;
      assert.equal(owner.status, 200);
      assertTooMany(r);
      assert.ok(at - startedAt >= 1500, `the refusal was held (answered after ${at - startedAt} ms)`);
      assert.ok(ownerAt < at, "the owner's login did not wait behind the held refusal");
    });
  },
  { ...LIMITS, rateLimit: { ...LIMITS.rateLimit, perAddress: 1, refusalDelayMs: 1500 } },
);

describeEachStore(
  "an IPv6 client is counted by its /64 (behind a proxy that says who it is)",
  (server) => {
    it("limits attempts from one /64 whichever of its addresses they come from; another /64 has its own count", async () => {
      const s = server();
      const from = (address: string, username: string) => s.api("POST", TOKEN_PATH, { headers: { "x-forwarded-for": address }, body: { username, password: "wrong-guess" } });
      for (let i = 1; i <= 4; i++) assert.equal((await from(`2001:db8:1:2::a${i}`, `someone-${i}`)).status, 401);
      assertTooMany(await from("2001:db8:1:2:ffff:ffff:ffff:9", "someone-else"));
      assert.equal((await from("2001:db8:1:3::1", "someone-else")).status, 401, "another /64 has its own count");
    });
  },
  { ...LIMITS, trustProxy: ["loopback"] },
);
