import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { BUILT_MAIN, mainPort, startMain } from "./test-support/main-process.js";
import { createTemporaryDatabase, storeKinds, storeSkip } from "./test-support/server.js";

async function login(baseUrl: string, password: string): Promise<Response> {
  return fetch(`${baseUrl}/auth/v1/providers/builtin/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "sysadmin", password }),
  });
}

for (const kind of storeKinds) {
  describe(`npm start [${kind}]`, { skip: storeSkip(kind) }, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    async function storeEnv(): Promise<Record<string, string>> {
      if (kind === "sqlite") {
        const dir = mkdtempSync(join(tmpdir(), "ecm-main-"));
        cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
        return { ECM_DATA_DIR: dir };
      }
      const { url, drop } = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!);
      cleanups.push(drop);
      return { DATABASE_URL: url };
    }

    it("prints a generated sysadmin password once, and restarts never reset it", async () => {
      const env = await storeEnv();
      const first = await startMain(env);
      const match = /password: (\S+)/.exec(first.output());
      assert.ok(match, first.output());
      const generated = match[1]!;
      assert.equal((await login(first.baseUrl, generated)).status, 200);
      await first.stop();

      const second = await startMain({ ...env, ECM_ADMIN_PASSWORD: "Another-Password-9" });
      assert.doesNotMatch(second.output(), /password:/);
      assert.equal((await login(second.baseUrl, generated)).status, 200);
      assert.equal((await login(second.baseUrl, "Another-Password-9")).status, 401);
      await second.stop();
      // The password that was not used is said so, in one line that says what to do instead.
      const warnings = second.output().split("\n").filter((line) => line.includes("ECM_ADMIN_PASSWORD"));
      assert.deepEqual(warnings, [
        "ecm-security: warning: ECM_ADMIN_PASSWORD is ignored: sysadmin already exists with another password, and restarts never change it. " +
          "Log in with that password (printed by the first start, if it generated it), or set a new one: npm run admin -- reset-password sysadmin",
      ]);

      // sysadmin's own password in ECM_ADMIN_PASSWORD is nothing to warn about.
      const third = await startMain({ ...env, ECM_ADMIN_PASSWORD: generated });
      await third.stop();
      assert.doesNotMatch(third.output(), /warning/);
    });

    it("never writes passwords or tokens to its logs, even at debug level", async () => {
      const env = await storeEnv();
      const password = "Logged-Nowhere-77";
      const server = await startMain({ ...env, ECM_ADMIN_PASSWORD: password, LOG_LEVEL: "debug" });
      const ok = await login(server.baseUrl, password);
      const { access_token } = (await ok.json()) as { access_token: string };
      await login(server.baseUrl, "Wrong-Password-55");
      await fetch(`${server.baseUrl}/security/v1/users?search=sys`, { headers: { authorization: `Bearer ${access_token}` } });
      // A client that puts its token in the query (it is not taken there): the URL is logged, the token masked.
      await fetch(`${server.baseUrl}/security/v1/users?search=sys&access_token=${access_token}`);
      await fetch(`${server.baseUrl}/security/v1/users?search=sys&access%5Ftoken=${access_token}`);
      // A download link is its credential, in the path: the router reads the path percent-decoded, so a
      // link whose path is written encoded is the same route, the same link — and masked in the log as well.
      const origin = new URL(server.baseUrl).origin;
      const csvLink = async () => ((await (await fetch(`${server.baseUrl}/security/v1/users/csv-links`, { method: "POST", headers: { authorization: `Bearer ${access_token}` } })).json()) as { url: string }).url;
      const encodedLink = await csvLink();
      assert.equal((await fetch(origin + encodedLink.replace("csv-links", "csv%2Dlinks"))).status, 200);
      // … and one opened where no route takes it (its slash encoded): still valid afterwards.
      const strayLink = await csvLink();
      assert.equal((await fetch(origin + strayLink.replace("csv-links/", "csv-links%2F"))).status, 401);
      // … and one whose path holds a malformed escape too: answered 400 without the link being used.
      const malformedLink = await csvLink();
      await fetch(`${origin}${malformedLink.replace("csv-links", "csv%2Dlinks")}%ZZ`);
      await fetch(`${server.baseUrl}/security/v1/users?search=sys&client_secret=client-secret-1&refresh_token=refresh-token-1`);
      await fetch(`${server.baseUrl}/auth/v1/providers/corp/callb%61ck?code=provider-code-1&id_token=provider-id-token-1`);
      await fetch(`${server.baseUrl}/auth/v1/logout`, { method: "POST", headers: { authorization: `Bearer ${access_token}` } });
      await server.stop();
      const log = server.output();
      assert.match(log, /incoming request/);
      const linkSecrets = [encodedLink, strayLink, malformedLink].map((url) => url.split("/").pop()!);
      for (const secret of [password, "Wrong-Password-55", access_token, access_token.split(".")[2]!, ...linkSecrets, "provider-code-1", "provider-id-token-1", "client-secret-1", "refresh-token-1"]) {
        assert.ok(!log.includes(secret), `a secret reached the log: ${secret.slice(0, 6)}…`);
      }
    });
  });
}

describe("npm start", () => {
  it("stops on a SIGTERM sent to npm (a service manager's or a container's stop): the server itself gets it", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "ecm-npm-start-"));
    const port = mainPort();
    const root = fileURLToPath(new URL("../../../", import.meta.url));
    // A group of its own, so that whatever is left can be stopped whatever the test finds.
    const npm = spawn("npm", ["start"], { cwd: root, detached: true, stdio: "ignore", env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: "127.0.0.1", PORT: String(port), ECM_WORKERS: "2", ECM_DATA_DIR: dir, ECM_ADMIN_PASSWORD: "Npm-Start-Pass-1" } });
    const health = async () => (await fetch(`http://127.0.0.1:${port}/portal/health`).catch(() => undefined))?.status;
    try {
      // Up to 45 s (the test has a minute): npm, the primary and two workers start slowly on a busy machine.
      for (let i = 0; i < 450 && (await health()) !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await health(), 200, "the server started");
      const exited = new Promise((resolve) => npm.once("exit", resolve));
      npm.kill("SIGTERM");
      await exited;
      let status = await health();
      for (let i = 0; i < 100 && status !== undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = await health();
      }
      assert.equal(status, undefined, "the server stopped listening");
    } finally {
      try {
        process.kill(-npm.pid!, "SIGKILL");
      } catch {
        // Nothing left: what the test wants.
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Runs `npm start`'s entry point until it exits (it must, within the test's time). */
function runToExit(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BUILT_MAIN, ...args], { env: { PATH: process.env.PATH, HOST: "127.0.0.1", ECM_WORKERS: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const killer = setTimeout(() => child.kill("SIGKILL"), 50_000);
  return new Promise((resolve) => child.once("exit", (code) => {
    clearTimeout(killer);
    resolve({ code, stdout, stderr });
  }));
}

describe("the command line", () => {
  const dir = mkdtempSync(join(tmpdir(), "ecm-args-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("--help says how the server is configured, and starts nothing: no store, no sysadmin, no port", { timeout: 60_000 }, async () => {
    for (const flag of ["--help", "-h"]) {
      const { code, stdout, stderr } = await runToExit({ ECM_DATA_DIR: join(dir, "help"), PORT: String(mainPort()) }, [flag]);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^Usage: npm start\n/);
      for (const name of ["HOST", "PORT", "ECM_DATA_DIR", "DATABASE_URL", "ECM_ADMIN_PASSWORD", "ECM_WORKERS", "README.md"]) assert.ok(stdout.includes(name), `${name} missing from the help`);
      assert.equal(stderr, "");
      assert.ok(!existsSync(join(dir, "help")), "nothing was made");
    }
  });

  it("an argument it does not take is a usage error (exit 2), before anything is made", { timeout: 60_000 }, async () => {
    const { code, stdout, stderr } = await runToExit({ ECM_DATA_DIR: join(dir, "unknown"), PORT: String(mainPort()) }, ["--port", "9000"]);
    assert.equal(code, 2, stderr);
    assert.equal(stdout, "");
    assert.match(stderr, /^ecm-security: unknown argument "--port": the server takes no arguments, its settings are environment variables \(npm start -- --help\)\n$/);
    assert.ok(!existsSync(join(dir, "unknown")), "nothing was made");
  });
});

describe("start-up failures are one clear line and a non-zero exit", () => {
  const dir = mkdtempSync(join(tmpdir(), "ecm-fail-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A certificate and its key, as openssl makes them. */
  const made = (name: string) => {
    const keyFile = join(dir, `${name}-key.pem`);
    const certFile = join(dir, `${name}-cert.pem`);
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
    return { keyFile, certFile };
  };

  async function assertOneLine(env: Record<string, string>, expected: RegExp) {
    const { code, stderr } = await runToExit({ ECM_ADMIN_PASSWORD: "Start-Up-Pass-1", ...env });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /^ecm-security: cannot start: [^\n]+\n$/, stderr);
    assert.match(stderr, expected);
  }

  it("a port in use, before a first start makes sysadmin (its password is shown only by a start that goes on)", { timeout: 60_000 }, async () => {
    const blocker = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const { code, stdout, stderr } = await runToExit({ ECM_DATA_DIR: join(dir, "busy"), PORT: String(port) });
      assert.equal(code, 1, stderr);
      assert.match(stderr, new RegExp(`^ecm-security: cannot start: 127\\.0\\.0\\.1:${port} is already in use[^\\n]+\\n$`));
      assert.doesNotMatch(stdout, /password/);
      assert.ok(!existsSync(join(dir, "busy", "ecm-security.sqlite3")), "nothing was made");
    } finally {
      blocker.close();
    }
  });

  it("a HOST that is no name or address of this machine, said of HOST (not of PostgreSQL, which SQLite does not use)", { timeout: 60_000 }, async () => {
    await assertOneLine({ ECM_DATA_DIR: join(dir, "host"), PORT: "0", HOST: "no-such-host.invalid" }, /: no-such-host\.invalid cannot be listened on \(ENOTFOUND: no such name\): set HOST to an address of this machine\.\n$/);
    assert.ok(!existsSync(join(dir, "host")), "nothing was made");
  });

  it("a bad PORT", { timeout: 60_000 }, async () => {
    await assertOneLine({ ECM_DATA_DIR: join(dir, "port"), PORT: "eighty" }, /PORT must be a non-negative integer, got "eighty"/);
    await assertOneLine({ ECM_DATA_DIR: join(dir, "port"), PORT: "70000" }, /PORT must be a port number from 0 to 65535/);
  });

  it("a setting that would leave the server unusable: no password strong enough, tokens dead at birth, argon2 costs it does not take", { timeout: 60_000 }, async () => {
    const at = { ECM_DATA_DIR: join(dir, "settings"), PORT: "0" };
    await assertOneLine({ ...at, ECM_PASSWORD_MIN_STRENGTH: "5" }, /ECM_PASSWORD_MIN_STRENGTH must be an integer from 0 to 4, got "5"/);
    await assertOneLine({ ...at, ECM_TOKEN_TTL_SECONDS: "0" }, /ECM_TOKEN_TTL_SECONDS must be an integer of at least 1, got "0"/);
    await assertOneLine({ ...at, ECM_SESSION_MAX_SECONDS: "0" }, /ECM_SESSION_MAX_SECONDS must be an integer of at least 1, got "0"/);
    await assertOneLine({ ...at, ECM_ARGON2_MEMORY_KIB: "1" }, /ECM_ARGON2_MEMORY_KIB must be an integer of at least 8, got "1"/);
    await assertOneLine({ ...at, ECM_ARGON2_ITERATIONS: "0" }, /ECM_ARGON2_ITERATIONS must be an integer of at least 1, got "0"/);
    await assertOneLine({ ...at, ECM_OIDC_TIMEOUT_SECONDS: "0" }, /ECM_OIDC_TIMEOUT_SECONDS must be an integer from 1 to 300, got "0"/);
    await assertOneLine({ ...at, ECM_ARGON2_PARALLELISM: "0" }, /ECM_ARGON2_PARALLELISM must be an integer from 1 to 255, got "0"/);
  });

  it("a LOG_LEVEL the logger does not know, before a first start makes sysadmin (whose password it would never show)", { timeout: 60_000 }, async () => {
    await assertOneLine({ ECM_DATA_DIR: join(dir, "log-level"), PORT: "0", ECM_ADMIN_PASSWORD: "", LOG_LEVEL: "verbose" }, /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "verbose"\n$/);
    assert.ok(!existsSync(join(dir, "log-level")), "nothing was made");
  });

  it("a setting that fails the start once the store is open (a TLS file that is not there, a secret key of another size) makes no sysadmin: the next start shows its password", { timeout: 60_000 }, async () => {
    for (const [name, bad] of [["tls", { ECM_TLS_CERT_FILE: join(dir, "no-cert.pem"), ECM_TLS_KEY_FILE: join(dir, "no-key.pem") }], ["secret", { ECM_SECRET_KEY: "abc" }]] as const) {
      const at = { ECM_DATA_DIR: join(dir, `bootstrap-${name}`), ECM_ADMIN_PASSWORD: "" };
      const failed = await runToExit({ ...at, PORT: "0", ...bad });
      assert.equal(failed.code, 1, failed.stderr);
      assert.doesNotMatch(failed.stdout, /password/);
      const next = await startMain(at);
      try {
        assert.match(next.output(), /Created built-in user "sysadmin" with password: \S+/);
      } finally {
        await next.stop();
      }
    }
  });

  it("a key, certificate or secret file that is not a regular file (a FIFO, a directory, a device) or is too large: refused at once, reading nothing of it", { timeout: 120_000 }, async () => {
    const fifo = join(dir, "a-fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const folder = mkdtempSync(join(dir, "a-folder-"));
    const large = join(dir, "large.pem");
    writeFileSync(large, "x".repeat(2 * 1024 * 1024), { mode: 0o600 });
    const { certFile } = made("regular");
    const cases: [Record<string, string>, RegExp][] = [
      [{ ECM_SECRET_KEY_FILE: fifo }, /ECM_SECRET_KEY_FILE \(.*a-fifo\) is not a regular file but a FIFO/],
      [{ ECM_SECRET_KEY_FILE: folder }, /ECM_SECRET_KEY_FILE \(.*a-folder-\w+\) is not a regular file but a directory/],
      [{ ECM_SECRET_KEY_FILE: "/dev/zero" }, /ECM_SECRET_KEY_FILE \(\/dev\/zero\) is not a regular file but a character device/],
      [{ ECM_SECRET_KEY_FILE: large }, /ECM_SECRET_KEY_FILE \(.*large\.pem\) is larger than 4096 bytes/],
      // A regular file that says its size is 0 and holds no key: read within the bound, and said where it came from (never what it holds).
      [{ ECM_SECRET_KEY_FILE: "/proc/self/environ" }, /^ecm-security: cannot start: The secret key read from \/proc\/self\/environ must be 32 bytes \(base64 of 32 random bytes\)\.\n$/],
      [{ ECM_TOKEN_KEY_FILE: fifo }, /ECM_TOKEN_KEY_FILE \(.*a-fifo\) is not a regular file but a FIFO/],
      [{ ECM_TOKEN_KEY_FILE: "/dev/zero" }, /ECM_TOKEN_KEY_FILE \(\/dev\/zero\) is not a regular file but a character device/],
      // A path through a file, not a folder: the setting named, not the system's words alone.
      [{ ECM_TOKEN_KEY_FILE: join(large, "key.pem") }, /^ecm-security: cannot start: ECM_TOKEN_KEY_FILE \(.*large\.pem\/key\.pem\) cannot be read \(ENOTDIR\)\.\n$/],
      [{ ECM_TLS_CERT_FILE: fifo, ECM_TLS_KEY_FILE: large }, /ECM_TLS_CERT_FILE \(.*a-fifo\) is not a regular file but a FIFO/],
      [{ ECM_TLS_CERT_FILE: certFile, ECM_TLS_KEY_FILE: "/dev/zero" }, /ECM_TLS_KEY_FILE \(\/dev\/zero\) is not a regular file but a character device/],
    ];
    for (const [i, [bad, expected]] of cases.entries()) {
      const began = Date.now();
      await assertOneLine({ ECM_DATA_DIR: join(dir, `file-${i}`), PORT: "0", ...bad }, expected);
      assert.ok(Date.now() - began < 15_000, `${JSON.stringify(bad)}: refused at once, not after ${Date.now() - began} ms`);
    }
  });

  it("a key or certificate file that holds no PEM key or certificate, or two that do not go together, says which setting names it", { timeout: 120_000 }, async () => {
    const junk = join(dir, "junk.pem");
    writeFileSync(junk, "not a key\n", { mode: 0o600 });
    const one = made("one");
    const two = made("two");
    const cases: [Record<string, string>, RegExp][] = [
      [{ ECM_TOKEN_KEY_FILE: junk }, /cannot start: ECM_TOKEN_KEY_FILE \(.*junk\.pem\) holds no private key in PEM that can be read \(/],
      [{ ECM_TLS_CERT_FILE: junk, ECM_TLS_KEY_FILE: one.keyFile }, /cannot start: ECM_TLS_CERT_FILE \(.*junk\.pem\) holds no certificate in PEM that can be read \(/],
      [{ ECM_TLS_CERT_FILE: one.certFile, ECM_TLS_KEY_FILE: junk }, /cannot start: ECM_TLS_KEY_FILE \(.*junk\.pem\) holds no private key in PEM that can be read \(/],
      [{ ECM_TLS_CERT_FILE: one.certFile, ECM_TLS_KEY_FILE: two.keyFile }, /cannot start: ECM_TLS_KEY_FILE \(.*two-key\.pem\) is not the private key of the certificate in ECM_TLS_CERT_FILE \(.*one-cert\.pem\)/],
    ];
    for (const [i, [bad, expected]] of cases.entries()) await assertOneLine({ ECM_DATA_DIR: join(dir, `pem-${i}`), PORT: "0", ...bad }, expected);
  });

  it("a DATABASE_URL of another database, named by its scheme only (the URL may hold a password)", { timeout: 60_000 }, async () => {
    await assertOneLine({ ECM_DATA_DIR: join(dir, "url"), PORT: "0", DATABASE_URL: "mysql://ecm:secret@db-host/ecm" }, /DATABASE_URL must be a PostgreSQL URL, postgres:\/\/user@host:5432\/database, not a mysql: URL \(leave it unset for the embedded SQLite store\)\n$/);
  });

  it("a data directory that cannot be written", { timeout: 60_000 }, async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "not a directory");
    await assertOneLine({ ECM_DATA_DIR: join(file, "data"), PORT: "0" }, /cannot be written \(ENOTDIR\): set ECM_DATA_DIR/);
  });

  it("a key file open to every account on the machine (the token key mints sysadmin's tokens, the secret key unseals the store's secrets), before anything is made; one its group may read starts", { timeout: 60_000 }, async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const tokenKey = join(dir, "token-key.pem");
    writeFileSync(tokenKey, privateKey.export({ format: "pem", type: "pkcs8" }));
    const secretKey = join(dir, "secret.key");
    writeFileSync(secretKey, `${randomBytes(32).toString("base64")}\n`);
    const tlsKey = join(dir, "tls-key.pem");
    writeFileSync(tlsKey, privateKey.export({ format: "pem", type: "pkcs8" }));
    // As an editor or `echo … >` leaves them under the usual umask, and worse.
    chmodSync(tokenKey, 0o644);
    chmodSync(secretKey, 0o604);
    chmodSync(tlsKey, 0o666);
    for (const [setting, file, mode] of [["ECM_TOKEN_KEY_FILE", tokenKey, "0644"], ["ECM_SECRET_KEY_FILE", secretKey, "0604"], ["ECM_TLS_KEY_FILE", tlsKey, "0666"]] as const) {
      const at = join(dir, `open-${setting}`);
      const tls: Record<string, string> = setting === "ECM_TLS_KEY_FILE" ? { ECM_TLS_CERT_FILE: tokenKey } : {};
      await assertOneLine({ ECM_DATA_DIR: at, PORT: "0", ...tls, [setting]: file }, new RegExp(`${setting} \\(${file}\\) is open to every account on this machine \\(mode ${mode}\\): chmod 600 it, or 640 for a group of its own\\.\n$`));
      assert.ok(!existsSync(at), `${setting}: nothing was made`);
    }
    chmodSync(tokenKey, 0o640);
    const started = await startMain({ ECM_DATA_DIR: join(dir, "group-key"), ECM_TOKEN_KEY_FILE: tokenKey });
    await started.stop();
  });

  it("a weak ECM_ADMIN_PASSWORD", { timeout: 60_000 }, async () => {
    await assertOneLine({ ECM_DATA_DIR: join(dir, "weak"), PORT: "0", ECM_ADMIN_PASSWORD: "password1234" }, /ECM_ADMIN_PASSWORD is refused: it is too easy to guess \(it is a commonly used password/);
  });
});
