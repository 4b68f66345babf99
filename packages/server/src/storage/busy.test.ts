import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { sql } from "kysely";
import { PgSession } from "../test-support/pg-session.js";
import { createTemporaryDatabase, startTestServer, storeSkip, type TestServer } from "../test-support/server.js";
import { AuditTally, type AuditAction } from "../domain/audit.js";
import { createBulkActions } from "../domain/bulk-actions.js";
import { StoreBusy } from "./busy.js";
import { createGroupQueries } from "./group-queries.js";
import { openStore, type Store } from "./store.js";
import { createUserQueries } from "./user-queries.js";

/** Another process's connection to the SQLite file that holds the write lock until `release`. */
function holdWriteLock(file: string): { release: () => void } {
  const other = new BetterSqlite3(file);
  other.prepare("begin immediate").run();
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      other.prepare("rollback").run();
      other.close();
    },
  };
}

describe("a SQLite store whose write lock another process holds longer than the busy timeout", () => {
  const dir = mkdtempSync(join(tmpdir(), "ecm-busy-"));
  const file = join(dir, "store.sqlite3");
  let s: TestServer;
  let token: string;
  before(async () => {
    s = await startTestServer("sqlite", { store: { kind: "sqlite", file, busy: { timeoutMs: 50, attempts: 3 } } });
    token = await s.login();
  });
  after(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function assertBusyAnswer(answer: { status: number; headers: Headers; body: any }) {
    assert.equal(answer.status, 503, JSON.stringify(answer.body));
    assert.equal(answer.headers.get("retry-after"), "1");
    assert.match(answer.body.errorMessage, /^ECMS1901-E The server is busy with other changes and nothing was changed; try again in a moment\.$/);
    assert.deepEqual(JSON.parse(answer.body.additionalInfo), { retryAfterSeconds: 1, reason: "store-busy" });
  }

  it("a change made in a transaction answers 503 with Retry-After, writes nothing, and succeeds when sent again later", async () => {
    const lock = holdWriteLock(file);
    let answer;
    try {
      answer = await s.api("POST", "/security/v1/user-groups", { token, body: { name: "while-locked" } });
    } finally {
      lock.release();
    }
    assertBusyAnswer(answer);
    assert.equal((await s.api("GET", "/security/v1/user-groups?search=while-locked", { token })).body.length, 0, "nothing of the refused change was written");
    assert.equal((await s.api("POST", "/security/v1/user-groups", { token, body: { name: "while-locked" } })).status, 201);
  });

  it("a write outside a transaction (a login's session) answers 503 too", async () => {
    const lock = holdWriteLock(file);
    let answer;
    try {
      answer = await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "sysadmin", password: "Admin-Secret-1" } });
    } finally {
      lock.release();
    }
    assertBusyAnswer(answer);
    assert.equal((await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "sysadmin", password: "Admin-Secret-1" } })).status, 200);
  });

  it("counted audit events (refused attempts) that a busy store did not take are written with the next flush: none lost", async () => {
    const { db } = s.server.deps.store;
    const tally = new AuditTally(db, () => {}, 3_600_000);
    const actor = { id: null, name: null, sourceIp: "192.0.2.1" };
    const entry = { action: "test.counted" as AuditAction, outcome: "failure" as const, aggregateKey: "test.counted|busy" };
    tally.add(actor, entry);
    tally.add(actor, entry);
    const lock = holdWriteLock(file);
    try {
      await assert.rejects(tally.flush(), StoreBusy);
    } finally {
      lock.release();
    }
    tally.add(actor, entry);
    await tally.close();
    const rows = await db.selectFrom("audit_events").select("count").where("aggregate_key", "=", entry.aggregateKey).execute();
    assert.deepEqual(rows.map((r) => r.count), [3]);
  });

  it("a bulk action whose batch the store turns away stays running and goes on from its last batch when taken up again: every user changed once", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await s.api("POST", "/security/v1/users", { token, body: { username: `bulk-busy-${i}` } })).body.id);
    // Its own store on the file, trying once, and batches of one user: the first batch the lock meets pauses the run.
    const store = await openStore({ kind: "sqlite", file, busy: { timeoutMs: 10, attempts: 1 } });
    let lock: { release: () => void } | undefined;
    const logged: string[] = [];
    try {
      // Started with no session or key (as by a tool), so none is asked about.
      const notAsked = async (): Promise<boolean> => assert.fail("a run started without a session or key asks about none");
      const bulk = createBulkActions(store, createUserQueries(store), createGroupQueries(store), { sessions: { keepOpen: notAsked }, apiKeys: { stillValid: notAsked } }, (_error, message) => {
        logged.push(message);
        lock?.release();
      }, { batchSize: 1 });
      // Its starter a real account: a run asks before each batch whether its starter may go on.
      const sysadmin = await store.db.selectFrom("users").select("id").where("username", "=", "sysadmin").executeTakeFirstOrThrow();
      const started = await bulk.start({ id: sysadmin.id, name: "sysadmin", sourceIp: null, roles: ["system-administrator"] }, { sessionId: null, apiKeyId: null }, { action: "disable", selection: { ids } });
      lock = holdWriteLock(file);
      await bulk.settled(started.uuid);
      const run = () => store.db.selectFrom("bulk_actions").selectAll().where("uuid", "=", started.uuid).executeTakeFirstOrThrow();
      const paused = await run();
      assert.equal(paused.status, "running", "a busy store is no failure of the run");
      assert.ok(paused.processed < ids.length, `paused after ${paused.processed} users`);
      assert.match(logged.join("\n"), /paused: the store stayed busy/);

      // What a stopped process leaves: a stale heartbeat, which resumeStale takes over.
      await store.db.updateTable("bulk_actions").set({ heartbeat_at: "2000-01-01T00:00:00.000Z" }).where("uuid", "=", started.uuid).execute();
      assert.equal(await bulk.resumeStale(), 1);
      await bulk.settled(started.uuid);
      const done = await run();
      assert.deepEqual([done.status, done.processed, done.changed], ["done", ids.length, ids.length]);
      const audited = await store.db.selectFrom("audit_events").select("target_id").where("action", "=", "user.update").where("details", "like", `%${started.uuid}%`).execute();
      assert.deepEqual(audited.map((a) => a.target_id).sort(), [...ids].sort(), "one audit event per user");
      await bulk.stop();
    } finally {
      lock?.release();
      await store.close();
    }
  });

  it("a transaction, or a write outside one, tried again after the lock is let go commits", async () => {
    const store = await openStore({ kind: "sqlite", file, busy: { timeoutMs: 20, attempts: 10 } });
    try {
      // Let go while the work waits for the lock.
      const letGoSoon = () => {
        const lock = holdWriteLock(file);
        setTimeout(() => lock.release(), 30);
      };
      letGoSoon();
      await store.db.transaction().execute(async (trx) => {
        await trx.insertInto("settings").values({ key: "after-wait", value: "y" }).execute();
      });
      letGoSoon();
      await store.db.insertInto("settings").values({ key: "alone-after-wait", value: "z" }).execute();
      const kept = await store.db.selectFrom("settings").select(["key", "value"]).where("key", "in", ["after-wait", "alone-after-wait"]).orderBy("key").execute();
      assert.deepEqual(kept, [{ key: "after-wait", value: "y" }, { key: "alone-after-wait", value: "z" }]);
    } finally {
      await store.close();
    }
  });

  it("a transaction waits for another process's write lock with the event loop running: the holder lets go meanwhile, the transaction commits, timers fire on time", async () => {
    const store = await openStore({ kind: "sqlite", file, busy: { timeoutMs: 2000, attempts: 1 } });
    const lock = holdWriteLock(file);
    try {
      // Timers every 10 ms while the transaction waits: SQLite's own busy wait would hold them all.
      let late = 0;
      let last = performance.now();
      const ticks = setInterval(() => {
        late = Math.max(late, performance.now() - last - 10);
        last = performance.now();
      }, 10);
      setTimeout(() => lock.release(), 200);
      const started = performance.now();
      try {
        await store.db.transaction().execute(async (trx) => {
          await trx.insertInto("settings").values({ key: "waited-for-lock", value: "y" }).execute();
        });
      } finally {
        clearInterval(ticks);
      }
      assert.ok(performance.now() - started >= 190, "it waited for the lock");
      // SQLite's busy handler would stop the process for the busy timeout (2 s here), the release's
      // timer with it; the bound leaves room for a loaded machine, where a timer is late by itself
      // (118 ms seen with two cores busy). A shorter busy handler's sleep is its setting, asked next.
      assert.ok(late < 1000, `a timer was ${late.toFixed(0)} ms late`);
      assert.deepEqual((await sql<{ timeout: number }>`pragma busy_timeout`.execute(store.db)).rows, [{ timeout: 0 }], "SQLite's own busy wait is off");
      assert.deepEqual(await store.db.selectFrom("settings").select("value").where("key", "=", "waited-for-lock").execute(), [{ value: "y" }]);
    } finally {
      lock.release();
      await store.close();
    }
  });

  it("a transaction that never gets the lock throws StoreBusy after its tries, and its work ran no further than the lock", async () => {
    const store = await openStore({ kind: "sqlite", file, busy: { timeoutMs: 10, attempts: 2 } });
    const lock = holdWriteLock(file);
    try {
      let runs = 0;
      const error = await store.db
        .transaction()
        .execute(async () => {
          runs++;
        })
        .catch((e: unknown) => e);
      assert.ok(error instanceof StoreBusy, String(error));
      assert.equal(error.storeCode, "SQLITE_BUSY");
      assert.equal(error.attempts, 2);
      assert.equal(runs, 0, "BEGIN IMMEDIATE waits for the lock before the work runs");
    } finally {
      lock.release();
      await store.close();
    }
  });
});

describe("a PostgreSQL store that stays busy", { skip: storeSkip("postgres") }, () => {
  let s: TestServer;
  let token: string;
  let drop: () => Promise<void>;
  let url: string;
  before(async () => {
    ({ url, drop } = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!));
    // What an operator may set: writers give up on a row lock after a while instead of waiting for it.
    const admin = await PgSession.open(url);
    await admin.query(`alter database ${new URL(url).pathname.slice(1)} set lock_timeout = '50ms'`).finally(() => admin.end());
    // One connection, waited for 100 ms, two tries.
    s = await startTestServer("postgres", { store: { kind: "postgres", url, poolSize: 1, busy: { timeoutMs: 100, attempts: 2 } } });
    token = await s.login();
  });
  after(async () => {
    await s?.close();
    await drop?.();
  });

  it("no free connection of the pool in time answers 503 with Retry-After, not a request left waiting", async () => {
    let letGo!: () => void;
    const held = s.server.deps.store.db.connection().execute(() => new Promise<void>((resolve) => (letGo = resolve)));
    let answer;
    try {
      answer = await s.api("GET", "/security/v1/users", { token });
    } finally {
      letGo();
      await held;
    }
    assert.equal(answer.status, 503, answer.text);
    assert.equal(answer.headers.get("retry-after"), "1");
    assert.match(answer.body.errorMessage, /^ECMS1901-E /);
    assert.equal((await s.api("GET", "/security/v1/users", { token })).status, 200);
  });

  it("a row lock not had within lock_timeout (55P03) is tried again, then answered 503 with nothing changed", async () => {
    const created = await s.api<{ id: string }>("POST", "/security/v1/users", { token, body: { username: "locked-row", description: "before" } });
    const holder = await PgSession.open(url);
    let answer;
    try {
      await holder.query("begin");
      await holder.query("select id from users where uuid = $1 for update", [created.body.id]);
      answer = await s.api("PUT", `/security/v1/users/${created.body.id}`, { token, body: { description: "after" } });
    } finally {
      await holder.query("rollback");
      await holder.end();
    }
    assert.equal(answer.status, 503, answer.text);
    assert.equal(answer.headers.get("retry-after"), "1");
    assert.equal((await s.api<{ description: string }>("GET", `/security/v1/users/${created.body.id}`, { token })).body.description, "before");
    assert.equal((await s.api("PUT", `/security/v1/users/${created.body.id}`, { token, body: { description: "after" } })).status, 200);
  });
});

describe("PostgreSQL ends a connection while it is in use", { skip: storeSkip("postgres") }, () => {
  it("the query or the stream on it fails, not the process; the pool opens another", async () => {
    const { url, drop } = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!);
    const store = await openStore({ kind: "postgres", url, poolSize: 2 });
    const admin = await PgSession.open(url);
    try {
      const running = sql`select pg_sleep(30)`.execute(store.db);
      const failed = assert.rejects(running, /terminat/);
      // Its backend is ended the way an administrator or a failover would (this database's only: other suites run beside it).
      for (let tries = 0; tries < 100; tries++) {
        const ended = await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like 'select pg_sleep%' and pid <> pg_backend_pid()");
        if (ended.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await failed;
      // The ended connection leaves the pool as its socket closes, a moment after the query failed.
      let answer: unknown;
      for (let tries = 0; tries < 20 && answer === undefined; tries++) {
        answer = await sql<{ one: number }>`select 1 as one`.execute(store.db).then((r) => r.rows, () => new Promise((resolve) => setTimeout(resolve, 50)));
      }
      assert.deepEqual(answer, [{ one: 1 }]);
    } finally {
      await admin.end();
      await store.close();
      await drop();
    }
  });
});

describe("PostgreSQL: two transactions that deadlock", { skip: storeSkip("postgres") }, () => {
  let store: Store;
  let drop: () => Promise<void>;
  before(async () => {
    const database = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!);
    drop = database.drop;
    store = await openStore({ kind: "postgres", url: database.url, poolSize: 4 });
    await store.db.insertInto("settings").values([{ key: "a", value: "" }, { key: "b", value: "" }]).execute();
  });
  after(async () => {
    await store?.close();
    await drop?.();
  });

  it("the one PostgreSQL ends is run again from its start and commits after the other: both changes are there once", async () => {
    let arrived = 0;
    let bothHoldOne!: () => void;
    const holding = new Promise<void>((resolve) => (bothHoldOne = resolve));
    const runs = { one: 0, two: 0 };
    const append = (name: "one" | "two", first: string, second: string) =>
      store.db.transaction().execute(async (trx) => {
        runs[name]++;
        await trx.updateTable("settings").set({ value: sql`value || ${name}` }).where("key", "=", first).execute();
        // Each holds its first row and then asks for the other's: PostgreSQL ends one of them (40P01).
        if (++arrived === 2) bothHoldOne();
        await holding;
        await trx.updateTable("settings").set({ value: sql`value || ${name}` }).where("key", "=", second).execute();
      });
    await Promise.all([append("one", "a", "b"), append("two", "b", "a")]);
    assert.equal(runs.one + runs.two, 3, "one of them ran twice");
    const rows = await store.db.selectFrom("settings").select(["key", "value"]).where("key", "in", ["a", "b"]).orderBy("key").execute();
    for (const row of rows) assert.deepEqual([...row.value.matchAll(/one|two/g)].map((m) => m[0]).sort(), ["one", "two"], `${row.key}: ${row.value}`);
  });
});

describe("a PostgreSQL store that cannot be reached", { skip: storeSkip("postgres") }, () => {
  let s: TestServer;
  let drop: () => Promise<void>;
  let forwarder: Server;
  const links = new Set<Socket>();
  before(async () => {
    let url: string;
    ({ url, drop } = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!));
    // The server reaches PostgreSQL through a forwarder of the test's, which the test then takes away.
    const target = new URL(url);
    forwarder = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const socket of [client, upstream]) {
        links.add(socket);
        socket.on("error", () => {});
        socket.on("close", () => links.delete(socket));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => forwarder.listen(0, "127.0.0.1", resolve));
    const through = new URL(url);
    through.hostname = "127.0.0.1";
    through.port = String((forwarder.address() as AddressInfo).port);
    s = await startTestServer("postgres", { store: { kind: "postgres", url: through.href, poolSize: 2, busy: { timeoutMs: 1000, attempts: 2 } } });
  });
  after(async () => {
    await s?.close();
    await drop?.();
  });

  it("answers 503 with Retry-After, as /health does, not a 500: the connections it had broken, new ones refused", async () => {
    const token = await s.login();
    await new Promise<void>((resolve) => forwarder.close(() => resolve()));
    for (const socket of links) socket.destroy();
    const answers = [
      await s.api("GET", "/security/v1/users", { token }),
      await s.api("GET", "/security/v1/me", { token }),
      await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "sysadmin", password: "whatever-it-is" } }),
      await s.api("GET", "/health"),
    ];
    for (const answer of answers) {
      assert.equal(answer.status, 503, answer.text);
      assert.match(answer.body.errorMessage, /^ECMS1901-E The store cannot be reached/);
      assert.ok(Number(answer.headers.get("retry-after")) >= 1, answer.text);
    }
  });
});
