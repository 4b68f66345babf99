import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ADMIN_PASSWORD, createTemporaryDatabase, startTestServer, storeKinds, storeSkip, type TestServer } from "../test-support/server.js";

/** What `npm run admin` runs: the build (npm test runs after `npm ci`, whose prepare step builds). */
const ADMIN = fileURLToPath(new URL("../../dist/tools/admin.js", import.meta.url));

/** Runs `npm run admin -- …` as the operator would: a process on the server's store, configured by the environment. */
async function admin(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [ADMIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const [code] = await once(child, "exit");
  return { code, stdout, stderr };
}

for (const kind of storeKinds) {
  describe(`npm run admin -- reset-password [${kind}]`, { skip: storeSkip(kind) }, () => {
    let s: TestServer;
    let env: Record<string, string>;
    const cleanups: (() => Promise<void> | void)[] = [];
    before(async () => {
      // The tool finds the store the way the server does: ECM_DATA_DIR (its SQLite file, its secret key) or DATABASE_URL.
      const dir = mkdtempSync(join(tmpdir(), "ecm-admin-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      env = { ECM_DATA_DIR: dir, ECM_SECRET_KEY: Buffer.alloc(32, 7).toString("base64") };
      let store: { kind: "sqlite"; file: string } | { kind: "postgres"; url: string };
      if (kind === "sqlite") {
        store = { kind, file: join(dir, "ecm-security.sqlite3") };
      } else {
        const { url, drop } = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!);
        cleanups.push(drop);
        store = { kind, url };
        env.DATABASE_URL = url;
      }
      s = await startTestServer(kind, { store, lockout: { maxFailures: 2, accountMaxFailures: 2, familiarDays: 30, baseSeconds: 3600, maxSeconds: 3600 } });
      cleanups.push(() => s.close());
    });
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it("gives a locked-out sysadmin a temporary password, lifts the lockout, ends its sessions, audits it and prints one line", async () => {
      const session = await s.login();
      for (let i = 0; i < 2; i++) assert.equal((await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "sysadmin", password: `wrong-guess-${i}` } })).status, 401);
      await assert.rejects(s.login(), /401/, "locked out");

      const run = await admin(env, "reset-password", "sysadmin");
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, "");
      const match = /^sysadmin: password reset, lockouts cleared, sessions ended; temporary password \(to be changed at the next login\): (\S{24})\n$/.exec(run.stdout);
      assert.ok(match, run.stdout);

      assert.equal((await s.api("GET", "/security/v1/me", { token: session })).status, 401, "the old session is ended");
      await assert.rejects(s.login("sysadmin", ADMIN_PASSWORD), /401/, "the old password is gone");
      const temporary = await s.login("sysadmin", match[1]!);
      const blocked = await s.api("GET", "/security/v1/users", { token: temporary });
      assert.equal(blocked.status, 403, "the temporary password must be changed first");
      const changed = await s.api("PUT", "/security/v1/me/password", { token: temporary, body: { currentPassword: match[1], newPassword: "Fresh-Admin-Pass-2" } });
      assert.equal(changed.status, 204, changed.text);

      const token = await s.login("sysadmin", "Fresh-Admin-Pass-2");
      const events = await s.api("GET", "/security/v1/audit-events?target=sysadmin&max=10", { token });
      const byTool = events.body.filter((e: { actor: string }) => e.actor?.startsWith("admin-tool ("));
      assert.deepEqual(byTool.map((e: { action: string }) => e.action), ["user.lockout-cleared", "user.password-reset"]);
      assert.ok(!JSON.stringify(events.body).includes(match[1]!), "the password is not in the audit log");
    });

    it("an unknown user is one clear line and a non-zero exit", async () => {
      const unknown = await admin(env, "reset-password", "no.such.user");
      assert.equal(unknown.code, 1);
      assert.equal(unknown.stderr, 'reset-password: There is no user "no.such.user".\n');
    });

    it("without the nodes' secret key it says so in the server's one line, not a stack trace", async () => {
      // The operator's usual slip on PostgreSQL: no ECM_SECRET_KEY, so a key file is made here that seals nothing in the store.
      const elsewhere = mkdtempSync(join(tmpdir(), "ecm-admin-nokey-"));
      cleanups.push(() => rmSync(elsewhere, { recursive: true, force: true }));
      const otherKey: Record<string, string> = kind === "postgres" ? { DATABASE_URL: env.DATABASE_URL!, ECM_DATA_DIR: elsewhere } : { ...env, ECM_SECRET_KEY: Buffer.alloc(32, 8).toString("base64") };
      for (const args of [["reset-password", "sysadmin"], ["rotate-keys"]]) {
        const run = await admin(otherKey, ...args);
        assert.equal(run.code, 1, run.stdout);
        assert.match(run.stderr, new RegExp(`^${args[0]}: The secret was sealed with another key \\(\\S+\\); this server has key \\S+ (from ECM_SECRET_KEY|read from \\S+secret\\.key|made at this start in \\S+secret\\.key, as neither ECM_SECRET_KEY nor that file was there): give every node the same ECM_SECRET_KEY\\.\\n$`));
      }
    });
  });
}

describe("npm run admin -- with a wrong command line", () => {
  it("says so in one clear line with the usage, exits 2, and opens no store (a fresh data directory stays unmade)", async () => {
    const parent = mkdtempSync(join(tmpdir(), "ecm-admin-usage-"));
    const dir = join(parent, "data");
    try {
      for (const [args, message] of [
        [["reset-password"], /^reset-password takes one username\.\nusage: npm run admin -- <command>/],
        [["rotate-keys", "now"], /^rotate-keys takes no arguments\.\nusage: npm run admin -- <command>/],
        [["no-such-command"], /^unknown command: no-such-command\nusage: /],
      ] as const) {
        const run = await admin({ ECM_DATA_DIR: dir }, ...args);
        assert.equal(run.code, 2, args.join(" "));
        assert.match(run.stderr, message);
        assert.ok(!existsSync(dir), `${args.join(" ")}: no data directory made`);
      }
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

describe("npm run admin -- on a store that is not there", () => {
  it("says so and makes none: no data directory, no tables in an empty database (a new store's sysadmin password would be shown to nobody)", async () => {
    const parent = mkdtempSync(join(tmpdir(), "ecm-admin-nostore-"));
    const dir = join(parent, "data");
    try {
      const run = await admin({ ECM_DATA_DIR: dir }, "reset-password", "sysadmin");
      assert.deepEqual([run.code, run.stderr], [1, `reset-password: there is no store in ${join(dir, "ecm-security.sqlite3")} (ECM_DATA_DIR): run this with the server's configuration.\n`]);
      assert.ok(!existsSync(dir), "no data directory made");
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it("an empty PostgreSQL database stays empty", { skip: storeSkip("postgres") }, async () => {
    const { url, drop } = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!);
    try {
      const run = await admin({ DATABASE_URL: url }, "rotate-keys");
      assert.deepEqual([run.code, run.stderr], [1, "rotate-keys: there is no store in the database of DATABASE_URL: run this with the server's configuration.\n"]);
      const again = await admin({ DATABASE_URL: url }, "rotate-keys");
      assert.equal(again.code, 1, "the first run made nothing");
    } finally {
      await drop();
    }
  });
});

describe("npm run admin -- rotate-keys [sqlite]", () => {
  const dir = mkdtempSync(join(tmpdir(), "ecm-admin-keys-"));
  const env = { ECM_DATA_DIR: dir, ECM_SECRET_KEY: Buffer.alloc(32, 7).toString("base64") };
  let s: TestServer;
  before(async () => {
    s = await startTestServer("sqlite", { store: { kind: "sqlite", file: join(dir, "ecm-security.sqlite3") } });
  });
  after(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a new key signs, the old token still works, and the rotation is audited", async () => {
    const before = await s.login();
    const run = await admin(env, "rotate-keys");
    assert.equal(run.code, 0, run.stderr);
    const kid = /^new signing key (\S+) \(ES256\) signs on every node within a minute; 1 older key verifies until its tokens expire\n$/.exec(run.stdout)?.[1];
    assert.ok(kid, run.stdout);
    s.clock.advance(61); // this node re-reads which key signs at least once a minute
    const after = await s.login();
    assert.equal(JSON.parse(Buffer.from(after.split(".")[0]!, "base64url").toString()).kid, kid);
    assert.equal((await s.api("GET", "/security/v1/me", { token: before })).status, 200);
    const events = await s.api("GET", "/security/v1/audit-events?action=signing-key.rotate", { token: after });
    assert.match(events.body[0]?.actor ?? "", /^admin-tool \(/);
  });

  it("a store that cannot be reached is one line, as the server says it", async () => {
    const run = await admin({ ...env, DATABASE_URL: "postgres://ecm@127.0.0.1:1/ecm" }, "rotate-keys");
    assert.deepEqual([run.code, run.stderr], [1, "rotate-keys: PostgreSQL cannot be reached (ECONNREFUSED at 127.0.0.1:1): check DATABASE_URL and that the server runs.\n"]);
  });
});
