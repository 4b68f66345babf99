import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { RefusalTimes } from "../auth/login.js";
import type { TestProvider } from "../test-support/oidc-provider.js";
import { exchangeCode, followCallback, providerFor, toCallback } from "../test-support/provider-login.js";
import { createUser, USER_PASSWORD } from "../test-support/accounts.js";
import { describeEachStore, startTestServer, storeSkip, type TestServer } from "../test-support/server.js";

/**
 * The suites' setup, made before a suite and closed after it: an administrator's token, the test provider
 * "corp" and a second node on the same store; and the audit events a query finds.
 */
function twoNodesWithProvider(server: () => TestServer) {
  const setup = {} as { admin: string; corp: TestProvider; other: TestServer };
  before(async () => {
    const s = server();
    setup.admin = await s.login();
    setup.corp = await providerFor(s, setup.admin, "corp");
    setup.other = await startTestServer(s.kind, { ...s.server.deps.config, port: 0 });
  });
  after(async () => {
    await setup.other?.close();
    await setup.corp?.close();
  });
  const audit = async (query: string) => (await server().api("GET", `/security/v1/audit-events?${query}`, { token: setup.admin })).body as any[];
  return { setup, audit };
}

/**
 * What anonymous callers can make the server store is bounded overall, not only per address: the
 * identity-provider logins in progress, and the audit rows of their refusals.
 */
describeEachStore(
  "bounds on what anonymous callers make the server store, all addresses and nodes together",
  (server) => {
    const { setup, audit } = twoNodesWithProvider(server);

    const start = (s: TestServer, from: string) => s.api("GET", `/auth/v1/providers/corp/login?returnTo=${encodeURIComponent("/portal/console/")}`, { from });

    it("keeps at most the cap of provider logins in progress on every node: past it the oldest are pushed out, and a person's new login still starts and finishes", async () => {
      const s = server();
      // A person is at the provider when the store is filled from many addresses, on both nodes: the oldest login is pushed out.
      setup.corp.accounts.set("dana-sub", { preferred_username: "dana" });
      const early = await toCallback(s, "corp", "dana-sub");
      for (const [node, from] of [[setup.other, "127.0.0.3"], [s, "127.0.0.4"], [setup.other, "127.0.0.5"]] as const) {
        assert.equal((await start(node, from)).status, 302);
      }
      assert.equal(await inProgress(s), 3, "the oldest was pushed out");
      const lost = await followCallback(early.browser, early.callback);
      assert.equal(lost.status, 400);
      assert.match(lost.body.errorMessage, /no login in progress/);

      // Logging in again works while the store stays full: the new login pushes out the oldest, not itself.
      const person = await toCallback(s, "corp", "dana-sub");
      assert.equal(await inProgress(s), 3);
      const back = await followCallback(person.browser, person.callback);
      assert.equal(back.status, 303, JSON.stringify(back.body));
      assert.equal((await exchangeCode(s, person.browser, "corp", back.code!)).status, 200);

      // Administrators see the floods: one event a minute for the provider, however many addresses.
      await s.server.deps.auditTally.flush();
      await setup.other.server.deps.auditTally.flush();
      const pushed = (await audit("action=auth.provider-login&outcome=failure")).filter((e) => e.details.reason === "too-many-in-progress");
      assert.equal(pushed.reduce((n, e) => n + e.count, 0), 2, JSON.stringify(pushed));
      assert.ok(pushed.every((e) => e.sourceAddress === null && e.targetName === "corp"), JSON.stringify(pushed));
    });
  },
  { providerLoginsInProgressMax: 3 },
);

describeEachStore(
  "the audit rows of anonymous refusals: a number a minute on every node together, the rest counted per kind",
  (server) => {
    const { setup, audit } = twoNodesWithProvider(server);

    const guess = (s: TestServer, from: string, username: string) => s.api("POST", "/auth/v1/providers/builtin/token", { from, body: { username, password: "a-guess" } });
    const flush = async () => {
      await server().server.deps.auditTally.flush();
      await setup.other.server.deps.auditTally.flush();
    };

    it("writes at most the cap of new rows a minute, counts the rest in one audit.not-recorded event per kind; repeats add to their rows", async () => {
      const s = server();
      await awayFromMinuteEnd();
      // Four names on one node, one of them twice: four rows.
      for (const name of ["n0", "n1", "n2", "n3", "n0"]) assert.equal((await guess(s, "127.0.0.2", name)).status, 401);
      await s.server.deps.auditTally.flush();
      // The other node shares the minute's five rows: one more login name; the rest are counted.
      for (const name of ["m0", "m1", "m2", "m3"]) assert.equal((await guess(setup.other, "127.0.0.3", name)).status, 401);
      for (let i = 0; i < 3; i++) assert.equal((await setup.other.api("GET", "/auth/v1/providers/corp/callback?code=x&state=y", { from: "127.0.0.4" })).status, 400);
      await setup.other.server.deps.auditTally.flush();
      // A name written before still counts in its row; a new one is counted only.
      assert.equal((await guess(s, "127.0.0.2", "n1")).status, 401);
      assert.equal((await guess(s, "127.0.0.2", "n4")).status, 401);
      await flush();

      const names = await audit("action=auth.login&targetType=login-name");
      assert.equal(names.length, 5, JSON.stringify(names));
      assert.equal(names.reduce((n, e) => n + e.count, 0), 7);
      assert.equal(names.filter((e) => e.sourceAddress === "127.0.0.2").reduce((n, e) => n + e.count, 0), 6, "n0 and n1 twice each");
      assert.deepEqual((await audit("action=auth.provider-login&outcome=failure")).length, 0, "the callbacks came past the cap");
      const notRecorded = await audit("action=audit.not-recorded");
      const counted = Object.fromEntries(notRecorded.map((e) => [e.details.action, e.count]));
      assert.deepEqual(counted, { "auth.login": 4, "auth.provider-login": 3 });
      for (const e of notRecorded) {
        assert.equal(e.outcome, "failure");
        assert.equal(e.actor, null);
        assert.equal(e.sourceAddress, null);
        assert.equal(e.details.rowsPerMinute, 5);
      }
    });

    it("holds an unknown name's refusal, after its dummy hash, as long as an existing account's lately took after its hash (counting the failure), though it writes nothing: its time does not say no account has the name", async () => {
      const login = server().server.deps.login as unknown as { hashedRefusals: RefusalTimes; afterHashRefusals: RefusalTimes };
      login.hashedRefusals = new RefusalTimes();
      login.hashedRefusals.record(30);
      login.afterHashRefusals = new RefusalTimes();
      login.afterHashRefusals.record(400);
      const started = performance.now();
      assert.equal((await guess(server(), "127.0.0.9", "nobody-by-this-name")).status, 401);
      assert.ok(performance.now() - started >= 390, `answered after ${performance.now() - started} ms`);
      const kept = (times: RefusalTimes) => [times.size, times.pick()];
      assert.deepEqual([kept(login.hashedRefusals), kept(login.afterHashRefusals)], [[1, 30], [1, 400]], "an unknown name's time is no measure of an account's refusals");
    });
  },
  { auditAnonymousEventsPerMinute: 5 },
);

async function inProgress(s: TestServer): Promise<number> {
  return (await s.server.deps.store.db.selectFrom("provider_logins").select("id").execute()).length;
}

/** Waits out the end of a minute when it is close: the counts under test are a minute's. */
async function awayFromMinuteEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 10_000) await sleep(left + 100);
}

/**
 * The public reads anyone may send without end (a load balancer's health check, a login page's list of
 * providers, the token keys) read the store: a flood of them must not take every connection of a
 * server's pool, which the logged-in users' requests need. Shown on PostgreSQL, whose table locks hold
 * a read (and the connection it runs on) for as long as the test likes.
 */
describe("anonymous reads of the store, a flood of them at once [postgres]", { skip: storeSkip("postgres") }, () => {
  let s: TestServer;
  let admin: string;
  before(async () => {
    // No periodic directory syncs: their reads would wait on the locks below too.
    s = await startTestServer("postgres", { directories: { leaseSeconds: 60, schedulerSeconds: 0 } });
    admin = await s.login();
  });
  after(async () => await s?.close());

  for (const [path, table] of [["/health", "directory_sync_state"], ["/auth/v1/providers", "identity_providers"], ["/auth/v1/certs", "signing_keys"]] as const) {
    it(`${path}: the requests that come while one reads share its read (one connection), and an administrator is still answered`, async () => {
      const store = s.server.deps.config.store as { url: string; poolSize: number };
      // One connection holds the lock; another watches (a transaction sees pg_stat_activity as at its first look).
      const [locker, watcher] = [new pg.Client({ connectionString: store.url }), new pg.Client({ connectionString: store.url })];
      await Promise.all([locker.connect(), watcher.connect()]);
      const waiting = async () =>
        Number((await watcher.query("select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query not like 'lock table%'")).rows[0].n);
      try {
        await locker.query(`begin; lock table ${table} in access exclusive mode`);
        const reads = Array.from({ length: 4 * store.poolSize }, () => s.api("GET", path));
        for (let i = 0; i < 100 && (await waiting()) === 0; i++) await sleep(20);
        await sleep(300);
        assert.equal(await waiting(), 1, "store connections held by the reads");
        // Another request needs a connection of the same pool (not the locked table).
        assert.equal((await s.api("GET", "/security/v1/roles", { token: admin })).status, 200);
        await locker.query("commit");
        assert.deepEqual([...new Set((await Promise.all(reads)).map((r) => r.status))], [200]);
      } finally {
        await Promise.all([locker.end(), watcher.end()]);
      }
    });
  }
});

type OpenSchema = { type?: string; properties?: Record<string, OpenSchema>; maxLength?: number; pattern?: string };

/**
 * A body is read whole and parsed before anything else of its request is looked at: a JSON object or a
 * form of tens of thousands of names costs a worker 0.1–0.2 s of CPU (measured at 870 KB), in which it
 * answers no one else — eight connections sending such bodies without a token held `/portal/health` at
 * 0.8–3 s (p50). A route anyone may call, or any logged-in account whatever its roles, takes no more
 * than the largest body its fields allow, each character sent as its longest escape; more is refused unread.
 */
describeEachStore("bodies sent without a token, or with any account's", (server) => {
  it("every route open to anyone or to any account refuses a body larger than its fields can hold, unread (413), and takes the largest they can", async () => {
    const s = server();
    await createUser(s, await s.login(), "body_sender");
    const token = await s.login("body_sender", USER_PASSWORD);
    const doc = (await s.api("GET", "/openapi.json")).body as {
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown>; requestBody?: { content: Record<string, { schema: OpenSchema }> } }>>;
    };
    // Open to anyone (no security), or to any account (no 403: no role wanted).
    const open = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.requestBody && !op.responses["403"])
        .map(([method, op]) => ({ method: method.toUpperCase(), path: path.replace("{alias}", "corp"), schema: Object.values(op.requestBody!.content)[0]!.schema, token: op.security?.length ? token : undefined })),
    );
    assert.ok(open.some((r) => r.path === "/auth/v1/providers/builtin/token"), "the token endpoint is open");
    assert.ok(open.some((r) => r.path === "/security/v1/me/password"), "so is an account's own password");

    // The longest escape of a character a field takes: an emoji as a JSON surrogate pair or as percent-encoded UTF-8 (12 bytes),
    // a character of an ASCII-only pattern as \u0061 or %61.
    const longestValue = (field: OpenSchema) => (field.pattern ? "a" : "😀").repeat(field.maxLength ?? 1);
    const escaped = (value: string) => Array.from({ length: value.length }, (_, i) => `\\u${value.charCodeAt(i).toString(16).padStart(4, "0")}`).join("");
    const json = (values: Record<string, string>) => `{\n${Object.entries(values).map(([name, value]) => `  "${name}": "${escaped(value)}"`).join(",\n")}\n}`;
    const form = (values: Record<string, string>) => Object.entries(values).map(([k, v]) => `${k}=${[...Buffer.from(v)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("")}`).join("&");
    const encodings = [
      { type: "application/json", encode: json, many: (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":1`).join(",")}}` },
      { type: "application/x-www-form-urlencoded", encode: form, many: (n: number) => Array.from({ length: n }, (_, i) => `k${i}=1`).join("&") },
    ];
    let takenSomewhere = 0;
    for (const route of open) {
      const largest = Object.fromEntries(Object.entries(route.schema.properties ?? {}).map(([name, field]) => [name, longestValue(field)]));
      for (const { type, encode, many } of encodings) {
        const what = `${route.method} ${route.path} as ${type}`;
        const manyNames = await s.api(route.method, route.path, { token: route.token, body: many(25_000), headers: { "content-type": type }, from: "127.0.0.61" });
        assert.ok([413, 415].includes(manyNames.status), `${what}: 25 000 names refused unread, not ${manyNames.status} ${JSON.stringify(manyNames.body)}`);
        const full = await s.api(route.method, route.path, { token: route.token, body: encode(largest), headers: { "content-type": type }, from: "127.0.0.62" });
        assert.ok(full.status < 500 && full.status !== 413, `${what}: the largest body its fields allow is taken, not ${full.status} ${JSON.stringify(full.body)}`);
        if (full.status !== 415) {
          takenSomewhere++;
          assert.equal(manyNames.status, 413, what);
          assert.match(manyNames.body.errorMessage, /^ECMS1003-E The body is larger than the \d+ bytes this operation takes\.$/, what);
        }
      }
    }
    assert.ok(takenSomewhere >= 5, "the token, exchange, own password and back-channel logout (JSON and form) routes were tried");
  });
});
