import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startMain, type Running } from "./test-support/main-process.js";
import { createTemporaryDatabase, storeKinds, storeSkip } from "./test-support/server.js";

const PASSWORD = "Workers-Admin-Pass-1";

/** One request on a connection of its own: the cluster hands connections to its workers in turn. */
function call(baseUrl: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(`${baseUrl}${path}`, {
      method,
      agent: false,
      headers: { ...(options.token && { authorization: `Bearer ${options.token}` }), ...(body && { "content-type": "application/json" }) },
    }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The worker processes that logged a request (pino puts the pid on every line). */
function pidsServing(output: string): Set<number> {
  return new Set([...output.matchAll(/"pid":(\d+)[^\n]*"incoming request"/g)].map((m) => Number(m[1])));
}

for (const kind of storeKinds) {
  describe(`npm start with two workers [${kind}]`, { skip: storeSkip(kind) }, () => {
    let server: Running;
    const cleanups: (() => Promise<void> | void)[] = [];
    before(async () => {
      let env: Record<string, string>;
      if (kind === "sqlite") {
        const dir = mkdtempSync(join(tmpdir(), "ecm-workers-"));
        cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
        env = { ECM_DATA_DIR: dir };
      } else {
        const { url, drop } = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!);
        cleanups.push(drop);
        env = { DATABASE_URL: url, ECM_DB_POOL_SIZE: "3" };
      }
      server = await startMain({ ...env, ECM_WORKERS: "2", ECM_ADMIN_PASSWORD: PASSWORD, ECM_LOCKOUT_MAX_FAILURES: "3", LOG_LEVEL: "debug" }, 2);
    });
    after(async () => {
      await server?.stop();
      for (const c of cleanups.reverse()) await c();
    });

    const login = async (username: string, password: string) => call(server.baseUrl, "POST", "/auth/v1/providers/builtin/token", { body: { username, password } });

    it("a token issued by one worker works on the other; logout on one is seen by both", async () => {
      const { body } = await login("sysadmin", PASSWORD);
      const token = body.access_token as string;
      for (let i = 0; i < 4; i++) assert.equal((await call(server.baseUrl, "GET", "/security/v1/me", { token })).status, 200);
      assert.equal(pidsServing(server.output()).size, 2, "both workers answered");
      // The primary closed its store after starting, with its start-up jobs done, not under them.
      assert.doesNotMatch(server.output(), /"level":(40|50)/);
      assert.equal((await call(server.baseUrl, "POST", "/auth/v1/logout", { token })).status, 204);
      for (let i = 0; i < 4; i++) assert.equal((await call(server.baseUrl, "GET", "/security/v1/me", { token })).status, 401);
    });

    it("failed logins count across workers: the lockout comes after the configured number, not that many per worker", async () => {
      const admin = (await login("sysadmin", PASSWORD)).body.access_token as string;
      assert.equal((await call(server.baseUrl, "POST", "/security/v1/users", { token: admin, body: { username: "w_locked", password: "Worker-User-Pass-1" } })).status, 201);
      for (let i = 0; i < 3; i++) assert.equal((await login("w_locked", "Wrong-Password-11")).status, 401);
      assert.equal((await login("w_locked", "Worker-User-Pass-1")).status, 401, "locked out after 3 failures in all");
    });

    it("a worker that dies is replaced", async () => {
      const [victim] = pidsServing(server.output());
      process.kill(victim!, "SIGKILL");
      for (let i = 0; i < 100 && !server.output().includes(`worker ${victim} ended`); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(server.output(), new RegExp(`worker ${victim} ended`));
      for (let i = 0; i < 100 && server.output().split("Server listening").length < 4; i++) await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < 4; i++) assert.equal((await call(server.baseUrl, "GET", "/health")).status, 200);
    });
  });
}
