import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Attribute, Change } from "ldapts";
import { directoryConfig, startDirectory, syncAndWait, waitForSync } from "../test-support/directories.js";
import { DIRECTORY_SERVICE_PASSWORD, DIRECTORY_USER_PASSWORD, generatedName, type DirectoryTree } from "../test-support/directory-trees.js";
import { startMain, type Running } from "../test-support/main-process.js";
import { ADMIN_PASSWORD, startTestServer, storeKinds, storeSkip, TEST_SECRET_KEY, type TestServer } from "../test-support/server.js";
import type { Slapd } from "../test-support/slapd.js";
import type { Config } from "../config.js";

/**
 * Directory syncs on several server nodes of one store: a node killed (`kill -9`) in the middle of a
 * sync leaves whole users only, its run is seen as interrupted once its lease runs out and the next
 * run picks up; two nodes that look for due periodic syncs at the same moment run it exactly once.
 */
const PATH = "/security/v1/external-user-storage";
/** Short, so the killed node's lease runs out soon; long enough for a busy machine to renew it in time. */
const LEASE_SECONDS = 4;

for (const kind of storeKinds) {
  describe(`directory syncs on several nodes [${kind}]`, { skip: storeSkip(kind) }, () => {
    let tree: DirectoryTree;
    let slapd: Slapd;
    let a: TestServer;
    let b: TestServer;
    let dir: string;
    let token: string;
    let id: string;

    before(async () => {
      ({ tree, slapd } = await startDirectory("openldap", 1000));
      dir = mkdtempSync(join(tmpdir(), "ecm-nodes-"));
      // The file `npm start` opens in ECM_DATA_DIR, for the node run as a process.
      const overrides: Partial<Config> = { directories: { leaseSeconds: LEASE_SECONDS, schedulerSeconds: 0 } };
      a = await startTestServer(kind, kind === "sqlite" ? { ...overrides, store: { kind: "sqlite", file: join(dir, "ecm-security.sqlite3") } } : overrides);
      b = await startTestServer(kind, { ...overrides, store: a.server.deps.config.store });
      token = await a.login();
      const r = await a.api("POST", PATH, { token, body: directoryConfig(tree, slapd, { pageSize: 20 }) });
      assert.equal(r.status, 201, r.text);
      id = r.body.id;
    });
    after(async () => {
      await b?.close();
      await a?.close();
      await slapd?.remove();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** The directory's users that are not whole: without the built-in group every user joins, or without their document. */
    async function partialUsers(): Promise<number> {
      const { db } = a.server.deps.store;
      const directory = await db.selectFrom("directories").select("id").where("uuid", "=", id).executeTakeFirstOrThrow();
      const users = await db.selectFrom("groups").select("id").where("name", "=", "users").where("directory_id", "is", null).executeTakeFirstOrThrow();
      const row = await db
        .selectFrom("users as u")
        .leftJoin("group_members as m", (j) => j.onRef("m.user_id", "=", "u.id").on("m.group_id", "=", users.id))
        .leftJoin("user_documents as d", "d.user_id", "u.id")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("u.directory_id", "=", directory.id)
        .where((eb) => eb.or([eb("m.user_id", "is", null), eb("d.user_id", "is", null)]))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    }

    it("a node killed mid-sync leaves no partial user; its run ends as interrupted and the next run picks up cleanly", async () => {
      const store = a.server.deps.config.store;
      const node: Running = await startMain({
        ...(store.kind === "sqlite" ? { ECM_DATA_DIR: dir } : { DATABASE_URL: store.url, ECM_DB_POOL_SIZE: "2" }),
        ECM_SECRET_KEY: TEST_SECRET_KEY,
        ECM_ADMIN_PASSWORD: ADMIN_PASSWORD,
        ECM_DIRECTORY_LEASE_SECONDS: String(LEASE_SECONDS),
        ECM_DIRECTORY_SCHEDULER_SECONDS: "0",
        ECM_RATE_LIMIT_PER_ADDRESS: "0",
      });
      try {
        const login = await fetch(`${node.baseUrl}/auth/v1/providers/builtin/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "sysadmin", password: ADMIN_PASSWORD }) });
        assert.equal(login.status, 200);
        const nodeToken = ((await login.json()) as { access_token: string }).access_token;
        const started = await fetch(`${node.baseUrl}${PATH}/${id}/sync`, { method: "POST", headers: { authorization: `Bearer ${nodeToken}`, "content-type": "application/json" }, body: '{"mode":"full"}' });
        assert.equal(started.status, 202);
        // Some pages written (seen on the other node), many to go.
        for (;;) {
          const run = (await a.api("GET", `${PATH}/${id}/sync`, { token })).body;
          assert.equal(run.state, "running", run.message);
          if (run.seen >= 100) break;
          await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        node.child.kill("SIGKILL");
        await new Promise((r) => node.child.once("exit", r));
      }
      const interrupted = await waitForSync(a, token, id);
      assert.equal(interrupted.state, "interrupted");
      assert.match(interrupted.message, /interrupted: the node running it stopped before it ended/);
      assert.ok(interrupted.seen < tree.userCount, `${interrupted.seen} seen: the kill came mid-run`);
      // A node that starts closes it in the store, with the run's audit event (the others look when they next sync).
      const { db } = a.server.deps.store;
      const c = await startTestServer(kind, { directories: { leaseSeconds: LEASE_SECONDS, schedulerSeconds: 0 }, store: a.server.deps.config.store });
      try {
        for (let i = 0; (await db.selectFrom("directory_sync_runs").select("state").where("id", "=", interrupted.id).executeTakeFirstOrThrow()).state === "running"; i++) {
          assert.ok(i < 200, "closed at start-up");
          await new Promise((r) => setTimeout(r, 25));
        }
      } finally {
        await c.close();
      }
      const events = (await a.api("GET", `/security/v1/audit-events?target=${id}&action=directory.sync`, { token })).body;
      assert.deepEqual(events.map((e: any) => [e.outcome, e.details.runId, e.details.interrupted, e.details.seen]), [["failure", interrupted.id, true, interrupted.seen]]);
      assert.equal(await partialUsers(), 0);
      const imported = (await a.api("GET", `/security/v1/users/count?source=directory:${id}`, { token })).body;
      assert.ok(imported > 0 && imported < tree.userCount - 1, `${imported} imported before the kill`);

      // The other node takes over: the killed run is marked interrupted in the store, the new one imports the rest.
      assert.equal((await a.api("PUT", `${PATH}/${id}`, { token, body: { pageSize: 500 } })).status, 200);
      const next = await syncAndWait(b, token, id);
      assert.equal(next.state, "succeeded", next.message);
      assert.deepEqual([next.created + next.unchanged, next.updated, next.disabled, next.failed], [tree.userCount - 1, 0, 0, 1]);
      assert.equal(next.created, tree.userCount - 1 - imported);
      assert.equal((await a.api("GET", `/security/v1/users/count?source=directory:${id}`, { token })).body, tree.userCount - 1);
      assert.equal(await partialUsers(), 0);
      const runs = await a.server.deps.store.db.selectFrom("directory_sync_runs").select(["state", "message"]).orderBy("id").execute();
      assert.deepEqual(runs.map((r) => r.state), ["interrupted", "succeeded"]);
      assert.match(runs[0]!.message ?? "", /stopped before it ended\. What it wrote stays/);
    });

    it("two nodes looking for due periodic syncs at the same moment: exactly one runs it, both show it", async () => {
      assert.equal((await a.api("PUT", `${PATH}/${id}`, { token, body: { syncPeriodSeconds: { full: 3600 } } })).status, 200);
      const { db } = a.server.deps.store;
      const directory = await db.selectFrom("directories").select("id").where("uuid", "=", id).executeTakeFirstOrThrow();
      const runs = async () => (await db.selectFrom("directory_sync_runs").select("id").where("directory_id", "=", directory.id).execute()).length;
      // Not due: the last full sync is minutes old.
      await Promise.all([a.server.deps.directories.runDueSyncs(), b.server.deps.directories.runDueSyncs()]);
      assert.equal(await runs(), 2);
      // As if an hour had passed.
      await db.updateTable("directory_sync_state").set({ last_full_at: new Date(Date.now() - 2 * 3600_000).toISOString() }).where("directory_id", "=", directory.id).execute();
      for (let round = 0; round < 3; round++) {
        await Promise.all([a.server.deps.directories.runDueSyncs(), b.server.deps.directories.runDueSyncs()]);
        await Promise.all([a.server.deps.directories.idle(), b.server.deps.directories.idle()]);
      }
      assert.equal(await runs(), 3, "one periodic run, on one node, however often both look");
      const [onA, onB] = [(await a.api("GET", `${PATH}/${id}/sync`, { token })).body, (await b.api("GET", `${PATH}/${id}/sync`, { token })).body];
      assert.deepEqual(onA, onB);
      assert.deepEqual([onA.state, onA.startedBy, onA.mode, onA.unchanged], ["succeeded", "scheduler", "full", tree.userCount - 1]);
    });

    it("a service bind refused on one node shows in every node's /health as bind-refused, until a bind succeeds on any", async () => {
      const health = async (node: TestServer) => ((await node.api("GET", "/health")).body.directories ?? []).map((d: any) => [d.id, d.problem]);
      assert.equal((await a.api("PUT", `${PATH}/${id}`, { token, body: { bindPassword: "not-the-service-password" } })).status, 200);
      const refused = await syncAndWait(a, token, id);
      assert.equal(refused.state, "failed");
      assert.match(refused.message, /refused the bind as/);
      assert.deepEqual([await health(a), await health(b)], [[[id, "bind-refused"]], [[id, "bind-refused"]]]);
      assert.equal((await b.api("PUT", `${PATH}/${id}`, { token, body: { bindPassword: DIRECTORY_SERVICE_PASSWORD } })).status, 200);
      const login = await b.api("POST", "/auth/v1/providers/builtin/token", { body: { username: generatedName(5), password: DIRECTORY_USER_PASSWORD } });
      assert.equal(login.status, 200, login.text);
      assert.deepEqual([await health(a), await health(b)], [[], []]);
    });

    it("a node whose service connection was bound before the service password changed does not clear the refusal another node saw", async () => {
      const health = async (node: TestServer) => ((await node.api("GET", "/health")).body.directories ?? []).map((d: any) => d.problem);
      const login = () => b.api("POST", "/auth/v1/providers/builtin/token", { body: { username: generatedName(6), password: DIRECTORY_USER_PASSWORD } });
      assert.equal((await login()).status, 200, "node b's service connection, bound now");
      const admin = await slapd.admin();
      const password = (value: string) => admin.modify(tree.serviceDn, new Change({ operation: "replace", modification: new Attribute({ type: "userPassword", values: [value] }) }));
      try {
        await password("Rotated-At-The-Directory-1");
        assert.equal((await syncAndWait(a, token, id)).state, "failed");
        // Node b's lookups still go through its connection bound before: they do not say the bind works.
        // Past the interval at which a working node notes the directory reachable, so this login notes it.
        b.clock.advance(11);
        assert.equal((await login()).status, 200);
        assert.deepEqual([await health(a), await health(b)], [["bind-refused"], ["bind-refused"]]);
      } finally {
        await password(DIRECTORY_SERVICE_PASSWORD);
        await admin.unbind();
      }
      assert.equal((await syncAndWait(a, token, id)).state, "succeeded");
      assert.deepEqual([await health(a), await health(b)], [[], []]);
    });
  });
}
