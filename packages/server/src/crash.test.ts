import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openStore, type StoreLocation } from "./storage/store.js";
import { startMain, type Running } from "./test-support/main-process.js";
import { createTemporaryDatabase, storeKinds, storeSkip } from "./test-support/server.js";
import { apiProblems, bearerCall, storeProblems } from "./test-support/store-consistency.js";

/**
 * Kills per store. Each one costs a start of the server (seconds of schema compiling on a busy
 * machine), so npm test kills 3 times; `npm run crash` sets ECM_CRASH_KILLS=20.
 */
const KILLS = Number(process.env.ECM_CRASH_KILLS || 3);
const PASSWORD = "Crash-Admin-Pass-31";
const IMPORT_ROWS = 2000;
const GROUPS = ["crash-a", "crash-b", "crash-c"];

interface Api {
  (method: string, path: string, body?: unknown, type?: string): Promise<{ status: number; body: any }>;
}

function apiOf(server: Running, token: string): Api {
  return async (method, path, body, type = "application/json") => {
    const response = await fetch(server.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": type }) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text && response.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : text };
  };
}

/**
 * The bulk writes of one round, all at once: an import that creates or updates (by username) the same
 * users every round with other groups, a bulk action over them, and users created one by one, each
 * then added to a group. Failures are expected (the process dies under them): only the store counts.
 */
function bulkWrites(server: Running, token: string, round: number, groupIds: string[]): { done: Promise<unknown>; firstBatch: Promise<void> } {
  const api = apiOf(server, token);
  const groups = round % 2 === 0 ? [GROUPS[0], GROUPS[1]] : [GROUPS[1], GROUPS[2]];
  const rows = Array.from({ length: IMPORT_ROWS }, (_, i) => JSON.stringify({ username: `imp-${i}`, description: `round ${round}`, groups }) + "\n").join("");
  const actions = ["add-to-group", "disable", "remove-from-group", "enable", "delete"] as const;
  const action = actions[round % actions.length]!;
  let firstBatch!: () => void;
  const answered = new Promise<void>((resolve) => (firstBatch = resolve));
  const work: Promise<unknown>[] = [
    (async () => {
      const response = await fetch(`${server.baseUrl}/security/v1/users/import`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" }, body: rows });
      // The answer streams a line per row as each batch commits: the first lines say one has.
      for await (const _ of response.body!) firstBatch();
    })().finally(() => firstBatch()),
    api("POST", "/security/v1/users/bulk-actions", { action, filter: { search: action === "delete" ? `c${round - 2}-` : "imp-" }, ...(action.endsWith("group") && { groupId: groupIds[2] }) }),
  ];
  for (let k = 0; k < 8; k++) {
    work.push(
      (async () => {
        const created = await api("POST", "/security/v1/users", { username: `c${round}-${k}`, firstName: "Crash", password: `Crash-User-Pass-${round}-${k}` });
        if (created.status === 201) await api("PUT", `/security/v1/users/${created.body.id}/user-groups/${groupIds[k % 3]}`);
      })(),
    );
  }
  return { done: Promise.all(work.map((p) => p.catch(() => undefined))), firstBatch: answered };
}

/** Users the import of `round` wrote (those not written keep another round's description). */
async function importedIn(location: StoreLocation, round: number): Promise<number> {
  const store = await openStore(location);
  try {
    const row = await store.db.selectFrom("users").select((eb) => eb.fn.countAll<number | string>().as("n")).where("description", "=", `round ${round}`).executeTakeFirstOrThrow();
    return Number(row.n);
  } finally {
    await store.close();
  }
}

for (const kind of storeKinds) {
  describe(`kill -9 during bulk writes [${kind}]`, { skip: storeSkip(kind) }, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    it(`leaves a consistent store and restarts clean, ${KILLS} times`, { timeout: 120_000 + KILLS * 60_000 }, async (t) => {
      let env: Record<string, string>;
      let location: StoreLocation;
      if (kind === "sqlite") {
        const dir = mkdtempSync(join(tmpdir(), "ecm-crash-"));
        cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
        env = { ECM_DATA_DIR: dir };
        location = { kind, file: join(dir, "ecm-security.sqlite3") };
      } else {
        const { url, drop } = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!);
        cleanups.push(drop);
        env = { DATABASE_URL: url, ECM_DB_POOL_SIZE: "5" };
        location = { kind, url };
      }
      env = { ...env, ECM_ADMIN_PASSWORD: PASSWORD, ECM_SECRET_KEY: Buffer.alloc(32, 3).toString("base64"), ECM_RATE_LIMIT_PER_ADDRESS: "0" };
      const groupIds: string[] = [];
      let midImport = 0;
      for (let round = 0; round <= KILLS; round++) {
        const server = await startMain(env);
        let killed = false;
        try {
          const login = await fetch(`${server.baseUrl}/auth/v1/providers/builtin/token`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ username: "sysadmin", password: PASSWORD }),
          });
          assert.equal(login.status, 200, `round ${round}: login after the restart`);
          const token = ((await login.json()) as { access_token: string }).access_token;
          const api = apiOf(server, token);
          if (round === 0) {
            for (const name of GROUPS) groupIds.push((await api("POST", "/security/v1/user-groups", { name })).body.id);
          } else {
            assert.deepEqual(await apiProblems(bearerCall(server.baseUrl, token)), [], `round ${round}: the API after the restart`);
          }
          if (round === KILLS) break;
          const writes = bulkWrites(server, token, round, groupIds);
          // A moment within the writes: most often once the import committed its first batch (of two), else early on.
          if (Math.random() < 0.75) await writes.firstBatch;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
          const exited = new Promise((resolve) => server.child.once("exit", resolve));
          server.child.kill("SIGKILL");
          killed = true;
          await exited;
          await writes.done;
          const errors = server.output().split("\n").filter((line) => /"level":(50|60)/.test(line));
          assert.deepEqual(errors.map((line) => line.slice(0, 2000)), [], `round ${round}: errors logged before the kill`);
          assert.deepEqual(await storeProblems(location), [], `round ${round}: the store after kill -9`);
          const imported = await importedIn(location, round);
          if (imported > 0 && imported < IMPORT_ROWS) midImport++;
        } finally {
          if (!killed) await server.stop();
        }
      }
      t.diagnostic(`${midImport} of ${KILLS} kills fell between two batches of the import`);
    });
  });
}
