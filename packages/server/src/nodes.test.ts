import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startCluster, type Cluster } from "./test-support/cluster.js";
import { haproxySkip } from "./test-support/haproxy.js";
import { createTemporaryDatabase, storeSkip } from "./test-support/server.js";

const PASSWORD = "Nodes-Admin-Pass-41";
const USER_PASSWORD = "Nodes-User-Pass-41";
/** The bound: a change made through one node holds on every node within a second. */
const BOUND_MS = 1000;

interface Answer {
  status: number;
  body: any;
}

async function call(baseUrl: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
  const response = await fetch(baseUrl + path, {
    method,
    headers: { ...(options.token && { authorization: `Bearer ${options.token}` }), ...(options.body !== undefined && { "content-type": "application/json" }) },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const login = (baseUrl: string, username: string, password: string) => call(baseUrl, "POST", "/auth/v1/providers/builtin/token", { body: { username, password } });

/**
 * Asks `ask` until `holds` says its answer shows the change, and fails if no ask started within
 * BOUND_MS of `since` saw it. `breach` ends it at once: an answer the change should have prevented.
 */
async function heldWithinBound(what: string, since: number, ask: () => Promise<Answer>, holds: (a: Answer) => boolean, breach: (a: Answer) => boolean = () => false) {
  for (;;) {
    const started = Date.now();
    const answer = await ask();
    if (holds(answer)) return;
    assert.ok(!breach(answer), `${what}: answered ${answer.status} ${JSON.stringify(answer.body)}`);
    assert.ok(started - since < BOUND_MS, `${what}: still ${answer.status} ${BOUND_MS} ms after the change`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("three nodes behind HAProxy on one PostgreSQL database", { skip: haproxySkip() || storeSkip("postgres") }, () => {
  let cluster: Cluster;
  let drop: () => Promise<void>;
  let admin: string;

  before(async () => {
    const database = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!);
    drop = database.drop;
    cluster = await startCluster(database.url, 3, { ECM_ADMIN_PASSWORD: PASSWORD, ECM_LOCKOUT_MAX_FAILURES: "3", ECM_RATE_LIMIT_PER_ADDRESS: "0", ECM_DB_POOL_SIZE: "3", LOG_LEVEL: "debug" });
    admin = (await login(cluster.baseUrl, "sysadmin", PASSWORD)).body.access_token;
  });
  after(async () => {
    await cluster?.stop();
    await drop?.();
  });

  async function createUser(username: string): Promise<string> {
    const created = await call(cluster.baseUrl, "POST", "/security/v1/users", { token: admin, body: { username, password: USER_PASSWORD } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.id;
  }

  it("the proxy hands requests to every node in turn, and a token from one works on all", async () => {
    const token = (await login(cluster.baseUrl, "sysadmin", PASSWORD)).body.access_token;
    for (const node of cluster.nodes) assert.equal((await call(node.baseUrl, "GET", "/security/v1/me", { token })).status, 200);
    // Each node logs the requests it serves (at debug level).
    const served = cluster.nodes.map((n) => n.output().split("incoming request").length);
    for (let i = 0; i < 6; i++) assert.equal((await call(cluster.baseUrl, "GET", "/security/v1/me", { token })).status, 200);
    cluster.nodes.forEach((n, i) => assert.ok(n.output().split("incoming request").length > served[i]!, `node ${i} got none of the proxied requests`));
  });

  it("a logout through the proxy ends the token on every node within 1 s", async () => {
    await createUser("n_logout");
    const token = (await login(cluster.baseUrl, "n_logout", USER_PASSWORD)).body.access_token;
    for (const node of cluster.nodes) assert.equal((await call(node.baseUrl, "GET", "/security/v1/me", { token })).status, 200);
    assert.equal((await call(cluster.baseUrl, "POST", "/auth/v1/logout", { token })).status, 204);
    const since = Date.now();
    for (const [i, node] of cluster.nodes.entries()) {
      await heldWithinBound(`node ${i} after the logout`, since, () => call(node.baseUrl, "GET", "/security/v1/me", { token }), (a) => a.status === 401);
    }
  });

  it("disabling a user through the proxy ends its tokens and logins on every node within 1 s", async () => {
    const id = await createUser("n_disabled");
    const token = (await login(cluster.baseUrl, "n_disabled", USER_PASSWORD)).body.access_token;
    assert.equal((await call(cluster.baseUrl, "PUT", `/security/v1/users/${id}`, { token: admin, body: { enabled: false } })).status, 200);
    const since = Date.now();
    for (const [i, node] of cluster.nodes.entries()) {
      await heldWithinBound(`node ${i}: the disabled user's token`, since, () => call(node.baseUrl, "GET", "/security/v1/me", { token }), (a) => a.status === 401);
      await heldWithinBound(`node ${i}: the disabled user's login`, since, () => login(node.baseUrl, "n_disabled", USER_PASSWORD), (a) => a.status === 401);
    }
  });

  it("a lockout after failed logins through the proxy holds on every node within 1 s", async () => {
    await createUser("n_locked");
    for (let i = 0; i < 3; i++) assert.equal((await login(cluster.baseUrl, "n_locked", `Wrong-Guess-${i}-xyz`)).status, 401);
    const since = Date.now();
    for (const [i, node] of cluster.nodes.entries()) {
      // The right password from the locked-out address: a 200 would be the lockout not holding (and
      // would clear it), so it fails at once rather than being asked again.
      await heldWithinBound(`node ${i}: the locked-out login`, since, () => login(node.baseUrl, "n_locked", USER_PASSWORD), (a) => a.status === 401, (a) => a.status === 200);
    }
  });

  it("creates of one username on different nodes at once make exactly one user; the others are 409", async () => {
    for (let round = 0; round < 5; round++) {
      const username = `n_same_${round}`;
      const answers = await Promise.all(cluster.nodes.map((node) => call(node.baseUrl, "POST", "/security/v1/users", { token: admin, body: { username, password: USER_PASSWORD } })));
      assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409, 409], JSON.stringify(answers));
      for (const node of cluster.nodes) {
        const listed = await call(node.baseUrl, "GET", `/security/v1/users?search=${username}`, { token: admin });
        assert.deepEqual(listed.body.map((u: { username: string }) => u.username), [username]);
      }
    }
  });
});
