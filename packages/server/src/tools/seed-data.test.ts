import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Config } from "../config.js";
import { DEFAULT_BUSY_POLICY } from "../storage/busy.js";
import { createTemporaryDatabase, describeEachStore, startTestServer, storeKinds, storeSkip } from "../test-support/server.js";
import { syncAndWait } from "../test-support/directories.js";
import { seedStore } from "./seed-data.js";

/** `npm run seed`'s store is one the server reads like its own: its directory and providers too. */
describeEachStore("a seeded store", (_server, kind) => {
  it("answers its directory, its identity providers and their users as the server's own", async () => {
    const s = await startTestServer(kind);
    try {
      await seedStore(s.server.deps.store, { users: 200, seed: 3, passwordHash: "not-a-login" });
      const token = await s.login();
      const directories = await s.api<{ id: string; name: string; enabled: boolean; syncPeriodSeconds: { full: number } }[]>("GET", "/security/v1/external-user-storage", { token });
      assert.equal(directories.status, 200, directories.text);
      assert.deepEqual(directories.body.map((d) => [d.name, d.enabled, d.syncPeriodSeconds.full]), [["seeded-ldap", false, 0]]);
      const directory = directories.body[0]!.id;
      const providers = await s.api<{ alias: string; enabled: boolean; clientSecret: string | null }[]>("GET", "/idp/v1/external-identity-provider", { token });
      assert.equal(providers.status, 200, providers.text);
      assert.deepEqual(providers.body.map((p) => [p.alias, p.enabled]), [["seeded-entra", false], ["seeded-google", false]]);
      const offered = await s.api<unknown[]>("GET", "/auth/v1/providers");
      assert.equal(offered.status, 200, offered.text);
      assert.deepEqual(offered.body, [], "disabled providers are not offered on the login page");
      const fromDirectory = await s.api<{ dn: string | null }[]>("GET", "/security/v1/users?source=directory&max=5", { token });
      assert.equal(fromDirectory.status, 200, fromDirectory.text);
      assert.ok(fromDirectory.body.length > 0 && fromDirectory.body.every((u) => u.dn !== null), "seeded directory users, with their DN");
      const users = await s.api<{ federatedIdentities: { alias: string }[] | null }[]>("GET", "/security/v1/users?max=300", { token });
      const aliases = new Set(users.body.flatMap((u) => u.federatedIdentities ?? []).map((f) => f.alias));
      assert.ok(aliases.size > 0 && [...aliases].every((a) => a.startsWith("seeded-")), `users linked to the seeded providers: ${[...aliases]}`);
      // Synced and removed as one the server made: no sync of it is running.
      assert.equal((await s.api("PUT", `/security/v1/external-user-storage/${directory}`, { token, body: { enabled: true } })).status, 200);
      // Its host is an example that answers nobody: the run fails, saying so.
      assert.equal((await syncAndWait(s, token, directory)).state, "failed");
      const removed = await s.api("DELETE", `/security/v1/external-user-storage/${directory}?users=disable`, { token });
      assert.equal(removed.status, 204, removed.text);
    } finally {
      await s.close();
    }
  });
});

/** What `npm run seed` runs. */
const SEED = fileURLToPath(new URL("./seed.ts", import.meta.url));

for (const kind of storeKinds) {
  describe(`npm run seed on a store that is not empty [${kind}]`, { skip: storeSkip(kind) }, () => {
    it("refuses in one line and exit code 1, no stack trace, and writes nothing", async () => {
      const dir = mkdtempSync(join(tmpdir(), "ecm-seed-"));
      let env: Record<string, string> = { ECM_DATA_DIR: dir };
      let store: Config["store"] = { kind: "sqlite", file: join(dir, "ecm-security.sqlite3"), busy: DEFAULT_BUSY_POLICY };
      let drop = async () => {};
      if (kind === "postgres") {
        const db = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!);
        ({ drop } = db);
        env = { DATABASE_URL: db.url };
        store = { kind, url: db.url, poolSize: 2, busy: DEFAULT_BUSY_POLICY };
      }
      const s = await startTestServer(kind, { store });
      try {
        const token = await s.login();
        assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "jdoe" } })).status, 201);
        const child = spawn(process.execPath, ["--import", "tsx", SEED, "--users", "10"], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr!.on("data", (d) => (stderr += d));
        const [code] = await once(child, "exit");
        assert.deepEqual([code, stderr], [1, "seed: The store already holds users, groups, directories or identity providers of its own: the seed fills an empty store (set ECM_DATA_DIR or --data-dir to a new folder, or --database-url to an empty database).\n"]);
        assert.equal((await s.api("GET", "/security/v1/users/count", { token })).text, "2", "sysadmin and jdoe, no more");
      } finally {
        await s.close();
        await drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
