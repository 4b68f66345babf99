/** Every ecm command against the real server: output and exit code. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { pbkdf2Sync, randomBytes, randomUUID } from "node:crypto";
import { Algorithm, hashRaw } from "@node-rs/argon2";
import { staleBuild, startServerThread, type ThreadServer } from "../../../sdk/test/server-thread.js";
import { startFlakyProxy, type Fault } from "../../../sdk/test/flaky-proxy.js";
import { startTestProvider } from "../../../server/src/test-support/oidc-provider.js";
import { CLIENT_ID, CLIENT_SECRET, clientFor, followCallback, toCallback } from "../../../server/src/test-support/provider-login.js";
import { ECM } from "ecm-sdk";
import { run } from "../cli.js";
import { COMMANDS } from "../registry.js";
import { ExportSink } from "../commands/export/sink.js";
import { csvLine } from "../csv.js";
import { ListPrinter, Progress, displayWidth, printObject } from "../output.js";

/** The CLI's CSV output read back (RFC 4180: quotes, doubled quotes, CRLF, line breaks in quotes); blank lines skipped. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') field += text[i++];
      else quoted = false;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      if (!(row.length === 1 && row[0] === "")) rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (quoted) throw new Error("unterminated quoted field");
  if (field !== "" || row.length > 0) rows.push([...row, field]);
  return rows;
}

/**
 * `ecm` as a user runs it, for what only a process of its own shows (exit codes, signals, its standard
 * output a pipe or a full disk): the committed launcher in front of the build, as the server's own
 * process tests run its build (npm test runs after `npm ci`, whose prepare step builds). Not the sources
 * through tsx: each copy started that way cost about 0.8 CPU-second more. The rest of this file runs the
 * sources in-process.
 */
const ECM_BIN = fileURLToPath(new URL("../../bin/ecm.js", import.meta.url));

/** Whether every user may read `file` (and pass through each folder above it). */
function reachableByAll(file: string): boolean {
  for (let path = file, last = ""; path !== last; last = path, path = dirname(path)) {
    if ((statSync(path).mode & (path === file ? 0o004 : 0o001)) === 0) return false;
  }
  return true;
}

let server: ThreadServer;
let home: string;

before(async () => {
  const stale = staleBuild("cli") ?? staleBuild("sdk");
  if (stale) throw new Error(stale);
  // Five failed logins from one address lock out the account too (by default only that address): the lockout test shows it.
  server = await startServerThread({ lockout: { maxFailures: 5, accountMaxFailures: 5, familiarDays: 30, baseSeconds: 60, maxSeconds: 86_400 } });
  home = mkdtempSync(join(tmpdir(), "ecm-cli-test-"));
});
after(async () => {
  await server?.close();
  rmSync(home, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ecm args…` in-process with its own config directory and environment. */
async function ecm(args: string[], opts: { env?: Record<string, string>; stdin?: string; auth?: boolean } = {}): Promise<Result> {
  let stdout = "";
  let stderr = "";
  const env: NodeJS.ProcessEnv = { XDG_CONFIG_HOME: join(home, "cfg-env"), HOME: home };
  if (opts.auth !== false) {
    env.ECM_URL = server.baseUrl;
    env.ECM_USERNAME = "sysadmin";
    env.ECM_PASSWORD = server.adminPassword;
  }
  Object.assign(env, opts.env);
  const code = await run(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from(opts.stdin === undefined ? [] : [opts.stdin]),
    env,
  });
  return { code, stdout, stderr };
}

function ok(r: Result): Result {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r;
}

describe("help and usage", () => {
  test("--help everywhere exits 0 and documents exit codes", async () => {
    const main = ok(await ecm(["--help"], { auth: false }));
    assert.match(main.stdout, /Usage: ecm <command>/);
    assert.match(main.stdout, /Exit codes:/);
    assert.match(main.stdout, /^Environment:\n  ECM_URL, ECM_API_KEY, ECM_TOKEN, ECM_USERNAME \+ ECM_PASSWORD override the saved login/m);
    for (const c of ["users list", "users create", "groups add-member", "roles grant", "import", "export", "login"]) {
      const r = ok(await ecm([...c.split(" "), "--help"], { auth: false }));
      assert.match(r.stdout, new RegExp(`Usage: ecm ${c}`), c);
    }
    assert.match(ok(await ecm(["users", "--help"], { auth: false })).stdout, /users reset-password <user>/);
    assert.match(ok(await ecm(["help"], { auth: false })).stdout, /Commands:/);
    assert.match(ok(await ecm(["--version"], { auth: false })).stdout, /^\d+\.\d+\.\d+\n$/);
  });

  test("usage errors exit 2 with one line", async () => {
    for (const args of [[], ["frobnicate"], ["users"], ["users", "frob"], ["users", "list", "--bogus"], ["users", "show"], ["users", "list", "-o", "xml"], ["users", "list", "extra"], ["users", "update", "x"], ["users", "count", "--locked", "--unlocked"]]) {
      const r = await ecm(args);
      assert.equal(r.code, 2, args.join(" "));
      if (args.length > 1) assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});

describe("login, saved token, environment overrides", () => {
  const cfg = () => join(home, "cfg-login");
  const env = () => ({ XDG_CONFIG_HOME: cfg() });

  test("login stores URL and token (not the password) with mode 0600; whoami and logout", async () => {
    const r = ok(await ecm(["login", "--url", server.baseUrl, "-u", "sysadmin", "--password-stdin"], { auth: false, env: env(), stdin: server.adminPassword + "\n" }));
    assert.match(r.stderr, /Logged in to .* as sysadmin/);
    const file = join(cfg(), "ecm", "config.json");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    // An existing readable file is replaced by a private one; nothing is left beside it.
    const shared = join(home, "shared-export.json");
    writeFileSync(shared, "old", { mode: 0o644 });
    ok(await ecm(["export", "--file", shared]));
    assert.equal(statSync(shared).mode & 0o777, 0o600);
    assert.ok(JSON.parse(readFileSync(shared, "utf8")).users.length > 0);
    assert.deepEqual(readdirSync(home).filter((n) => n.endsWith(".tmp")), []);
    const text = readFileSync(file, "utf8");
    assert.ok(!text.includes(server.adminPassword), "no password in the config");
    const saved = JSON.parse(text) as { url: string; token: string; username: string };
    assert.equal(saved.url, server.baseUrl);
    assert.match(saved.token, /^eyJ/);
    const who = ok(await ecm(["whoami", "-o", "json"], { auth: false, env: env() }));
    assert.equal(JSON.parse(who.stdout).username, "sysadmin");
    ok(await ecm(["logout"], { auth: false, env: env() }));
    assert.ok(!readFileSync(file, "utf8").includes(saved.token));
    const after = await ecm(["whoami"], { auth: false, env: env() });
    assert.equal(after.code, 3);
    assert.match(after.stderr, /not logged in/);
    // A server that cannot end the session: the token is forgotten here, and the failure said (it stays valid there).
    writeFileSync(file, JSON.stringify({ ...saved, url: "http://127.0.0.1:1/portal" }), { mode: 0o600 });
    const unreachable = await ecm(["logout"], { auth: false, env: env() });
    assert.equal(unreachable.code, 1, unreachable.stderr);
    assert.match(unreachable.stderr, /the server did not end its session .*: it stays valid until it expires/);
    assert.ok(!readFileSync(file, "utf8").includes(saved.token));
    // the revoked token is refused by the server too
    const revoked = await ecm(["whoami"], { auth: false, env: { ECM_URL: server.baseUrl, ECM_TOKEN: saved.token } });
    assert.equal(revoked.code, 3);
    assert.match(revoked.stderr, /\(check ECM_TOKEN: it is used instead of any saved login\)\n$/);
  });

  test("wrong password: exit 3, nothing saved", async () => {
    const r = await ecm(["login", "--url", server.baseUrl, "--password-stdin"], { auth: false, env: { XDG_CONFIG_HOME: join(home, "cfg-bad") }, stdin: "wrong" });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^ecm: ECMS1102-E/);
    assert.ok(!existsSync(join(home, "cfg-bad", "ecm", "config.json")));
  });

  test("ECM_TOKEN and ECM_USERNAME/ECM_PASSWORD override; ECM_PASSWORD works for login", async () => {
    ok(await ecm(["login"], { auth: false, env: { ...env(), ECM_URL: server.baseUrl, ECM_PASSWORD: server.adminPassword } }));
    const token = (JSON.parse(readFileSync(join(cfg(), "ecm", "config.json"), "utf8")) as { token: string }).token;
    const r = ok(await ecm(["whoami", "-o", "json"], { auth: false, env: { ECM_URL: server.baseUrl, ECM_TOKEN: token } }));
    assert.equal(JSON.parse(r.stdout).username, "sysadmin");
    ok(await ecm(["whoami"]));
    // logout ends the session of ECM_TOKEN, as every command uses it instead of the saved login, which stays.
    ok(await ecm(["login", "--url", server.baseUrl, "--password-stdin"], { auth: false, env: { XDG_CONFIG_HOME: join(home, "cfg-other") }, stdin: server.adminPassword }));
    const otherToken = (JSON.parse(readFileSync(join(home, "cfg-other", "ecm", "config.json"), "utf8")) as { token: string }).token;
    const out = ok(await ecm(["logout"], { auth: false, env: { ...env(), ECM_URL: server.baseUrl, ECM_TOKEN: otherToken } }));
    assert.match(out.stderr, /Logged out: the session of ECM_TOKEN ended/);
    assert.equal((await ecm(["whoami"], { auth: false, env: { ECM_URL: server.baseUrl, ECM_TOKEN: otherToken } })).code, 3, "that token is refused now");
    ok(await ecm(["whoami"], { auth: false, env: env() }));
    assert.match(ok(await ecm(["logout"], { auth: false, env: { XDG_CONFIG_HOME: join(home, "cfg-none") } })).stderr, /Not logged in/);
  });

  test("ECM_USERNAME without ECM_PASSWORD never acts as the saved login of another account (an empty secret in a script); the same account's is used", async () => {
    const admin = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
    await admin.security.createUser("cli-envonly", { password: "Env-Only-Passw0rd" });
    const saved = { XDG_CONFIG_HOME: join(home, "cfg-envonly") };
    ok(await ecm(["login", "--url", server.baseUrl, "--password-stdin"], { auth: false, env: saved, stdin: server.adminPassword }));
    for (const password of [{}, { ECM_PASSWORD: "" }] as Record<string, string>[]) {
      const r = await ecm(["users", "delete", "cli-envonly", "--yes"], { auth: false, env: { ...saved, ECM_USERNAME: "cli-envonly", ...password } });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /^ecm: ECM_USERNAME is "cli-envonly" but ECM_PASSWORD is not set, and the saved login is sysadmin's: .*\n$/);
    }
    assert.equal((await admin.security.user("cli-envonly")).username, "cli-envonly", "nothing was done as sysadmin");
    // A login saved without its account's name (by an earlier ecm) is not taken for ECM_USERNAME's either.
    const file = join(home, "cfg-envonly", "ecm", "config.json");
    const { username: _, ...nameless } = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify(nameless), { mode: 0o600 });
    const unnamed = await ecm(["users", "delete", "cli-envonly", "--yes"], { auth: false, env: { ...saved, ECM_USERNAME: "cli-envonly" } });
    assert.equal(unnamed.code, 3, unnamed.stderr);
    assert.match(unnamed.stderr, /^ecm: ECM_USERNAME is "cli-envonly" but ECM_PASSWORD is not set, and the saved login does not say whose it is: .*\n$/);
    assert.equal((await admin.security.user("cli-envonly")).username, "cli-envonly", "nothing was done as the saved login");
    ok(await ecm(["login", "--url", server.baseUrl, "--password-stdin"], { auth: false, env: saved, stdin: server.adminPassword }));
    // The same account however its login name is typed (logins take any letter case).
    for (const name of ["sysadmin", "SysAdmin"]) {
      assert.equal(JSON.parse(ok(await ecm(["whoami", "-o", "json"], { auth: false, env: { ...saved, ECM_USERNAME: name } })).stdout).username, "sysadmin");
    }
    ok(await ecm(["users", "delete", "cli-envonly", "--yes"], { auth: false, env: saved }));
    // logout logs out what the other commands would use: not another account's saved login, nor any with both variables set.
    const token = () => (JSON.parse(readFileSync(file, "utf8")) as { token?: string }).token;
    const kept = token();
    const other = await ecm(["logout"], { auth: false, env: { ...saved, ECM_USERNAME: "cli-envonly" } });
    assert.equal(other.code, 3, other.stderr);
    assert.equal(other.stderr, 'ecm: ECM_USERNAME is "cli-envonly" but ECM_PASSWORD is not set, and the saved login is sysadmin\'s: it stays; unset ECM_USERNAME to log out of it\n');
    assert.match(ok(await ecm(["logout"], { auth: false, env: { ...saved, ECM_USERNAME: "cli-envonly", ECM_PASSWORD: "Env-Only-Passw0rd" } })).stderr, /^Nothing to log out of: ECM_USERNAME and ECM_PASSWORD log in anew for every command/);
    assert.equal(token(), kept, "the saved login stays");
    ok(await ecm(["whoami"], { auth: false, env: saved }));
    assert.match(ok(await ecm(["logout"], { auth: false, env: { ...saved, ECM_USERNAME: "SysAdmin" } })).stderr, /^Logged out\n$/);
    assert.equal(token(), undefined);
  });

  test("ECM_API_KEY, and login --api-key saves the key, which logout forgets", async () => {
    const admin = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
    const robot = await admin.request<{ id: string }>("POST", "/security/v1/users", { body: { username: "cli_robot", serviceAccount: true } });
    const { secret } = await admin.security.createApiKey(robot.id, "cli test");
    // White space around a key pasted into a variable or a file is no part of it (a key holds none).
    const byEnv = ok(await ecm(["whoami", "-o", "json"], { auth: false, env: { ECM_URL: server.baseUrl, ECM_API_KEY: ` ${secret}\t` } }));
    assert.equal(JSON.parse(byEnv.stdout).username, "cli_robot");
    const keyCfg = { XDG_CONFIG_HOME: join(home, "cfg-key") };
    const r = ok(await ecm(["login", "--url", server.baseUrl, "--api-key", "--password-stdin"], { auth: false, env: keyCfg, stdin: `  ${secret} \r\n` }));
    assert.match(r.stderr, /as cli_robot with an API key/);
    assert.equal(JSON.parse(ok(await ecm(["whoami", "-o", "json"], { auth: false, env: keyCfg })).stdout).username, "cli_robot");
    assert.match(ok(await ecm(["logout"], { auth: false, env: keyCfg })).stderr, /API key was forgotten here and stays valid/);
    assert.equal(JSON.parse(ok(await ecm(["whoami", "-o", "json"], { auth: false, env: { ECM_URL: server.baseUrl, ECM_API_KEY: secret } })).stdout).username, "cli_robot");
    assert.ok(!readFileSync(join(home, "cfg-key", "ecm", "config.json"), "utf8").includes(secret));
    // A password or token where the key belongs is a refused credential (exit 3) that says where it came from.
    const notKeyByEnv = await ecm(["users", "list"], { auth: false, env: { ECM_URL: server.baseUrl, ECM_API_KEY: "eyJhbGciOi.x.y" } });
    assert.deepEqual([notKeyByEnv.code, notKeyByEnv.stderr], [3, "ecm: ECM_API_KEY is not an API key: API keys start with ecm_ and hold only letters, digits, - and _\n"]);
    // Nor is it "cannot reach the server" (exit 8, try again later) when the key holds what no header can.
    const notSendable = await ecm(["users", "list"], { auth: false, env: { ECM_URL: server.baseUrl, ECM_API_KEY: "ecm_\u{1F600}" } });
    assert.deepEqual([notSendable.code, notSendable.stderr], [3, "ecm: ECM_API_KEY is not an API key: API keys start with ecm_ and hold only letters, digits, - and _\n"]);
    const notKeyByStdin = await ecm(["login", "--url", server.baseUrl, "--api-key", "--password-stdin"], { auth: false, env: keyCfg, stdin: "Passw0rd-Long!\n" });
    assert.deepEqual([notKeyByStdin.code, notKeyByStdin.stderr], [3, "ecm: standard input is not an API key: API keys start with ecm_ and hold only letters, digits, - and _\n"]);
    const noKey = await ecm(["login", "--url", server.baseUrl, "--api-key"], { auth: false, env: keyCfg });
    assert.deepEqual([noKey.code, noKey.stderr], [2, 'ecm: no API key: use --password-stdin or set ECM_API_KEY (see "ecm login --help")\n']);
    const refusedKey = await ecm(["login", "--url", server.baseUrl, "--api-key", "--password-stdin"], { auth: false, env: keyCfg, stdin: `ecm_${"w".repeat(40)}\n` });
    assert.deepEqual([refusedKey.code, refusedKey.stderr], [3, "ecm: the API key from standard input was refused: it is unknown, expired or revoked, or its account may not log in\n"]);
    // The saved key revoked since: the hint says how to save another (`ecm login` alone asks for a password).
    ok(await ecm(["login", "--url", server.baseUrl, "--api-key", "--password-stdin"], { auth: false, env: keyCfg, stdin: `${secret}\n` }));
    await admin.security.revokeApiKey(robot.id, (await admin.security.apiKeys(robot.id))[0]!);
    const revoked = await ecm(["whoami"], { auth: false, env: keyCfg });
    assert.deepEqual([revoked.code, revoked.stderr], [3, 'ecm: ECMS1101-E The token or API key is invalid, expired or revoked. (the saved API key no longer works: run "ecm login --api-key" with another one)\n']);
  });

  test("unreachable server: exit 8, and nothing on stdout in any format (no header or `[` alone for a script to keep)", async () => {
    for (const format of ["table", "csv", "json", "ndjson"]) {
      for (const args of [["users", "list"], ["import", "-"]]) {
        const r = await ecm([...args, "-o", format], { env: { ECM_URL: "http://127.0.0.1:9/portal" }, stdin: "username\nnobody\n" });
        assert.equal(r.code, 8, `${args.join(" ")} -o ${format}`);
        assert.match(r.stderr, /ecm: cannot reach/);
        assert.equal(r.stdout, "", `${args.join(" ")} -o ${format}`);
      }
    }
  });
});

describe("users", () => {
  test("create, show, update, lock, unlock, reset-password, groups, roles, delete", async () => {
    ok(await ecm(["groups", "create", "cli-staff", "-d", "Staff"]));
    const c = ok(await ecm(["users", "create", "cli-alice", "--email", "alice@example.com", "--remark", "from the CLI", "--display-name", "Alice A", "--group", "cli-staff", "--valid-to", "2099-01-01", "--password-stdin", "-o", "json"], { stdin: "Passw0rd-Long!\n" }));
    const alice = JSON.parse(c.stdout);
    assert.equal(alice.username, "cli-alice");
    assert.equal(alice.email, "alice@example.com");
    assert.equal(alice.remark, "from the CLI");
    assert.equal(alice.validTo, "2099-01-01T00:00:00.000Z");
    assert.deepEqual(alice.groups.sort(), ["cli-staff", "users"]);
    assert.equal(alice.locked, false);

    const show = ok(await ecm(["users", "show", "cli-alice"]));
    assert.match(show.stdout, /^username:\s+cli-alice$/m);
    assert.match(show.stdout, /^groups:\s+.*cli-staff/m);
    assert.equal(JSON.parse(ok(await ecm(["users", "show", alice.guid, "-o", "json"])).stdout).username, "cli-alice");

    const upd = JSON.parse(ok(await ecm(["users", "update", "cli-alice", "--display-name", "Alice B", "--valid-to", "", "-o", "json"])).stdout);
    assert.equal(upd.displayName, "Alice B");
    assert.equal(upd.email, "alice@example.com");
    assert.equal(upd.validTo, null);
    // A date is taken as the SDK takes it: one that is none is the server's refusal, not rolled over into March.
    assert.equal(JSON.parse(ok(await ecm(["users", "update", "cli-alice", "--valid-from", "2030-12-31T23:00:00-02:00", "-o", "json"])).stdout).validFrom, "2031-01-01T01:00:00.000Z");
    const notADay = await ecm(["users", "update", "cli-alice", "--valid-from", "2031-02-30"]);
    assert.deepEqual([notADay.code, /validFrom/.test(notADay.stderr)], [7, true], notADay.stderr);
    ok(await ecm(["users", "update", "cli-alice", "--valid-from", ""]));
    // "" sets a display name set by hand back to its default.
    const reset = JSON.parse(ok(await ecm(["users", "update", "cli-alice", "--display-name", "", "-o", "json"])).stdout);
    assert.equal(reset.displayName, upd.firstName && upd.lastName ? `${upd.firstName} ${upd.lastName}` : "cli-alice");
    // -1, the seed's "no profile", is a value, not an option.
    assert.equal(JSON.parse(ok(await ecm(["users", "update", "cli-alice", "--profile-id", "-1", "-o", "json"])).stdout).profileId, -1);

    assert.equal(JSON.parse(ok(await ecm(["users", "lock", "cli-alice", "-o", "json"])).stdout).locked, true);
    const lockedList = ok(await ecm(["users", "list", "--locked", "-o", "csv"]));
    assert.deepEqual(parseCsv(lockedList.stdout).map((r) => r[1]), ["username", "cli-alice"]);
    assert.equal(JSON.parse(ok(await ecm(["users", "unlock", "cli-alice", "-o", "json"])).stdout).locked, false);

    ok(await ecm(["users", "reset-password", "cli-alice", "--password-stdin"], { stdin: "Brand-New-Passw0rd" }));
    const asAlice = ok(await ecm(["whoami", "-o", "json"], { env: { ECM_USERNAME: "cli-alice", ECM_PASSWORD: "Brand-New-Passw0rd" } }));
    assert.equal(JSON.parse(asAlice.stdout).username, "cli-alice");
    const denied = await ecm(["users", "list"], { env: { ECM_USERNAME: "cli-alice", ECM_PASSWORD: "Brand-New-Passw0rd" } });
    assert.equal(denied.code, 6);

    const groups = ok(await ecm(["users", "groups", "cli-alice", "-o", "ndjson"]));
    assert.deepEqual(groups.stdout.trim().split("\n").map((l) => JSON.parse(l).name).sort(), ["cli-staff", "users"]);
    const roles = ok(await ecm(["users", "roles", "cli-alice"]));
    assert.match(roles.stdout, /^NAME\s+DESCRIPTION\s+BUILTIN$/m);
    assert.match(roles.stdout, /^user\s/m);

    const dup = await ecm(["users", "create", "cli-alice"]);
    assert.equal(dup.code, 5);
    assert.match(dup.stderr, /^ecm: ECMS\d+-E /);
    const bad = await ecm(["users", "create", "cli-bad", "--email", "not-an-email"]);
    assert.equal(bad.code, 7);

    const del = ok(await ecm(["users", "delete", "cli-alice"]));
    assert.match(del.stderr, /Deleted user cli-alice/);
    const gone = await ecm(["users", "show", "cli-alice"]);
    assert.equal(gone.code, 4);
    assert.equal(gone.stderr.split("\n").filter(Boolean).length, 1);
    const builtin = await ecm(["users", "delete", "sysadmin"]);
    assert.equal(builtin.code, 5);
  });

  test("create --service-account: no password (ECM_NEW_PASSWORD is not read), API keys only", async () => {
    assert.match(ok(await ecm(["users", "create", "--help"], { auth: false })).stdout, /--service-account/);
    const svc = JSON.parse(ok(await ecm(["users", "create", "cli-svc", "--service-account", "-o", "json"], { env: { ECM_NEW_PASSWORD: "Passw0rd-Long!" } })).stdout);
    assert.equal(svc.serviceAccount, true);
    assert.equal(JSON.parse(ok(await ecm(["users", "show", "cli-svc", "-o", "json"])).stdout).serviceAccount, true);
    assert.equal((await ecm(["whoami"], { env: { ECM_USERNAME: "cli-svc", ECM_PASSWORD: "Passw0rd-Long!" } })).code, 3);
    const created = ok(await ecm(["api-keys", "create", "cli-svc", "nightly", "--expires-at", "2099-01-01", "-o", "json"]));
    const { secret, id, prefix, expiresAt } = JSON.parse(created.stdout);
    assert.match(secret, /^ecm_/);
    assert.equal(expiresAt, "2099-01-01T00:00:00.000Z");
    const notADay = await ecm(["api-keys", "create", "cli-svc", "later", "--expires-at", "2099-02-30"]);
    assert.deepEqual([notADay.code, /expiresAt/.test(notADay.stderr)], [7, true], notADay.stderr);
    assert.match(created.stderr, /not shown again/);
    assert.equal(JSON.parse(ok(await ecm(["whoami", "-o", "json"], { auth: false, env: { ECM_URL: server.baseUrl, ECM_API_KEY: secret } })).stdout).username, "cli-svc");
    const again = await ecm(["api-keys", "create", "cli-svc", "nightly"]);
    assert.deepEqual([again.code, again.stderr], [5, 'ecm: ECMS1301-E cli-svc already has an API key named "nightly".\n']);
    const listed = ok(await ecm(["api-keys", "list", "cli-svc"])).stdout;
    assert.match(listed, /^ID\s+NAME\s+PREFIX/m);
    assert.ok(listed.includes(prefix) && !listed.includes(secret), "the prefix, never the secret");
    assert.equal((await ecm(["api-keys", "revoke", "cli-svc", "no-such-key"])).code, 4);
    assert.match(ok(await ecm(["api-keys", "revoke", "cli-svc", "nightly"])).stderr, /Revoked API key nightly of cli-svc/);
    // A name typed otherwise than it was made (decomposed é) is the same name, as the server has it.
    ok(await ecm(["api-keys", "create", "cli-svc", "caf\u00e9"]));
    assert.match(ok(await ecm(["api-keys", "revoke", "cli-svc", "cafe\u0301"])).stderr, /Revoked API key caf\u00e9 of cli-svc/);
    const revoked = await ecm(["users", "list"], { auth: false, env: { ECM_URL: server.baseUrl, ECM_API_KEY: secret } });
    assert.equal(revoked.code, 3, "revoked: refused at once");
    // The variable overrides any saved login: "ecm login" would not help.
    assert.match(revoked.stderr, /^ecm: ECMS1101-E [^\n]* \(check ECM_API_KEY: it is used instead of any saved login\)\n$/);
    assert.ok(!ok(await ecm(["api-keys", "list", "cli-svc", "-o", "json"])).stdout.includes(id), "gone from the list");
    // A password given on purpose is not dropped: the server refuses it.
    const withPassword = await ecm(["users", "create", "cli-svc2", "--service-account", "--password-stdin"], { stdin: "Passw0rd-Long!\n" });
    assert.deepEqual([withPassword.code, withPassword.stderr], [7, "ecm: ECMS1001-E A service account has no password: leave it out, and give it API keys.\n"]);
    assert.equal(JSON.parse(ok(await ecm(["users", "create", "cli-person", "-o", "json"])).stdout).serviceAccount, false);
  });

  test("list in every output format; search; extended; count", async () => {
    for (const n of ["cli-list1", "cli-list2"]) ok(await ecm(["users", "create", n, "--email", `${n}@example.org`, "--remark", 'has "quotes", commas']));
    const table = ok(await ecm(["users", "list", "--search", "cli-list"]));
    const lines = table.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^ID\s+USERNAME\s+LOGINNAME\s+DISPLAYNAME\s+EMAIL\s+LOCKED\s+PROFILEID\s+PROFILE\s+GUID$/);
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, /cli-list1\s+cli-list1\s+cli-list1\s+cli-list1@example.org\s+false\s+-1\s+[0-9a-f-]{36}$/);

    const json = JSON.parse(ok(await ecm(["users", "list", "-s", "cli-list", "-o", "json", "--extended"])).stdout);
    assert.equal(json.length, 2);
    assert.deepEqual(json[0].groups, ["users"]);
    assert.equal(json[0].remark, 'has "quotes", commas');
    assert.deepEqual(Object.keys(json[0]), ["id", "username", "loginName", "displayName", "email", "locked", "profileId", "guid", "remark", "validFrom", "validTo", "groups", "lockedOut", "lockedOutUntil", "serviceAccount"]);

    const csv = parseCsv(ok(await ecm(["users", "list", "-s", "cli-list", "-o", "csv", "-x"])).stdout);
    assert.equal(csv.length, 3);
    assert.equal(csv[1]![csv[0]!.indexOf("remark")], 'has "quotes", commas');

    const nd = ok(await ecm(["users", "list", "-s", "cli-list", "-o", "ndjson"])).stdout.trim().split("\n");
    assert.deepEqual(nd.map((l) => JSON.parse(l).username), ["cli-list1", "cli-list2"]);
    assert.equal(ok(await ecm(["users", "count", "-s", "cli-list"])).stdout, "2\n");
    assert.deepEqual(JSON.parse(ok(await ecm(["users", "count", "-s", "cli-list", "-o", "json"])).stdout), { count: 2 });
    assert.equal(ok(await ecm(["users", "list", "-s", "nothing-matches", "-o", "json"])).stdout, "[]\n");
  });

  test("list and count filter by validity (--expired, --not-expired), profile (--profile-id) and group (--group, by name or guid); one that is none is a not-found", async () => {
    const profile = JSON.parse(ok(await ecm(["users", "create", "cli-f-profile", "--profile-id", "0", "-o", "json"])).stdout);
    ok(await ecm(["groups", "create", "cli-f-team"]));
    ok(await ecm(["users", "create", "cli-f-gone", "--valid-to", "2020-01-01", "--profile-id", String(profile.id)]));
    ok(await ecm(["users", "create", "cli-f-kept", "--valid-to", "2999-01-01", "-g", "cli-f-team"]));
    const listed = async (...filter: string[]) => JSON.parse(ok(await ecm(["users", "list", "-s", "cli-f-", ...filter, "-o", "json"])).stdout).map((u: { username: string }) => u.username);
    assert.deepEqual(await listed("--expired"), ["cli-f-gone"]);
    assert.deepEqual(await listed("--not-expired"), ["cli-f-kept", "cli-f-profile"]);
    assert.deepEqual(await listed("--profile-id", String(profile.id)), ["cli-f-gone"]);
    assert.deepEqual(await listed("--profile-id", "0"), ["cli-f-profile"]);
    assert.deepEqual(await listed("--group", "cli-f-team"), ["cli-f-kept"]);
    assert.deepEqual(await listed("--group", "users", "--expired"), ["cli-f-gone"]);
    const team = JSON.parse(ok(await ecm(["groups", "show", "cli-f-team", "-o", "json"])).stdout);
    assert.equal(ok(await ecm(["users", "count", "-s", "cli-f-", "--group", team.guid, "--not-expired"])).stdout, "1\n");
    for (const [filter, words] of [[["--group", "cli-f-nothing"], /group "cli-f-nothing" does not exist/], [["--profile-id", "2147483000"], /The specified profile does not exist/]] as const) {
      const none = await ecm(["users", "list", ...filter]);
      assert.deepEqual([none.code, none.stdout], [4, ""], filter.join(" "));
      assert.match(none.stderr, words);
    }
    for (const filter of [["--expired", "--not-expired"], ["--profile-id", "-2"], ["--profile-id", "x"]]) assert.equal((await ecm(["users", "count", ...filter])).code, 2, filter.join(" "));
  });
});

describe("a server restart in the middle of a long read", () => {
  test("users list with an API key reads on after the server comes back, from the user after the last one printed", async () => {
    const admin = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
    const robot = await admin.security.createUser("cli_restart_robot", { serviceAccount: true });
    const readers = await admin.security.createGroup("cli_restart_readers");
    await admin.security.grantRole(readers, "security-administrator");
    await admin.security.addUserToGroup(robot, readers);
    for await (const row of admin.security.importUsers(Array.from({ length: 100 }, (_, i) => ({ username: `cli_restart_${i}` })))) assert.notEqual(row.status, "failed");
    const { secret } = await admin.security.createApiKey(robot, "restart test");
    const proxy = await startFlakyProxy(server.baseUrl);
    try {
      const env = { ECM_URL: proxy.baseUrl, ECM_API_KEY: secret };
      const whole = ok(await ecm(["users", "list", "-o", "csv"], { auth: false, env })).stdout;
      assert.ok(whole.split("\n").length > 100);
      // The restart: the answer breaks off, then the connections are refused for longer than the SDK's
      // own retries wait (three, about 1.5 s), and the server answers again.
      proxy.faults = [{ dropAfter: 2000 }, "drop", "drop", "drop", "drop", "drop", "drop"];
      const r = ok(await ecm(["users", "list", "-o", "csv"], { auth: false, env }));
      assert.equal(r.stdout, whole);
      assert.deepEqual(proxy.faults, []);
    } finally {
      await proxy.close();
    }
  });

  test("export reads the export again from its start through a restart, where what it wrote can be taken back: --file, and standard output before anything went out", async () => {
    const admin = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
    const group = await admin.security.createGroup("cli_restart_export");
    for await (const row of admin.security.importUsers(Array.from({ length: 20 }, (_, i) => ({ username: `cli_restart_export_${i}`, groups: ["cli_restart_export"] })))) assert.notEqual(row.status, "failed");
    const proxy = await startFlakyProxy(server.baseUrl);
    const env = { ECM_URL: proxy.baseUrl };
    /** The document without its time of export, which each reading has its own of. */
    const content = (text: string) => ({ ...JSON.parse(text), exportedAt: undefined });
    try {
      proxy.clearPassed();
      const whole = ok(await ecm(["export", "-g", group.name], { env })).stdout;
      // The requests before the export's own (logging in, finding the group) pass: an answer shorter than the stall's limit ends as it is.
      const before = Array<Fault>(proxy.passed.findIndex((r) => r.startsWith("GET /portal/security/v1/export ")) + 1).fill({ stallAfter: Number.MAX_SAFE_INTEGER });
      // The export's answer broken off midway, then connections refused for longer than the SDK's own retries wait.
      const restart: Fault[] = [...before.slice(1), { dropAfter: 1500 }, "drop", "drop", "drop", "drop", "drop", "drop"];
      const file = join(home, "restart-export.json");
      for (const format of ["json", "ndjson"]) {
        proxy.faults = restart;
        const r = ok(await ecm(["export", "-g", group.name, "--file", file, "-o", format], { env }));
        assert.match(r.stderr, /the server went away: exporting again from the start/);
        assert.deepEqual(proxy.faults, []);
        const written = readFileSync(file, "utf8");
        if (format === "json") assert.deepEqual(content(written), content(whole));
        else assert.equal(written.trim().split("\n").filter((l) => JSON.parse(l).kind === "users").length, 20);
        assert.deepEqual(readdirSync(home).filter((f) => f.startsWith("restart-export.json.")), [], "no temporary left");
      }
      // A document smaller than one write to standard output: nothing of it went out when the connection broke.
      proxy.faults = restart;
      assert.deepEqual(content(ok(await ecm(["export", "-g", group.name], { env })).stdout), content(whole));
    } finally {
      await proxy.close();
    }
  });

  test("an export sink takes back what it wrote only when nothing went where it cannot be taken back from", async () => {
    const onStdout = new ExportSink({ write: () => true }, undefined);
    await onStdout.write("{");
    assert.equal(onStdout.canStartAgain(), true, "nothing written out yet");
    await onStdout.write("x".repeat(70_000));
    assert.equal(onStdout.canStartAgain(), false);
    const file = join(home, "start-again.json");
    const toFile = new ExportSink({ write: () => true }, file);
    await toFile.write("x".repeat(70_000));
    assert.equal(toFile.canStartAgain(), true);
    toFile.startAgain();
    await toFile.write("{}");
    await toFile.close(true);
    assert.equal(readFileSync(file, "utf8"), "{}");
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });
});

describe("groups and roles", () => {
  test("groups list/show/update/members/add-member/remove-member/roles/delete; roles list/grant/revoke", async () => {
    ok(await ecm(["users", "create", "cli-gm1"]));
    ok(await ecm(["users", "create", "cli-gm2"]));
    const g = JSON.parse(ok(await ecm(["groups", "create", "cli-team", "-o", "json"])).stdout);
    assert.equal(g.name, "cli-team");
    assert.equal(g.description, "");
    assert.equal((await ecm(["groups", "create", "cli-team"])).code, 5);

    const list = ok(await ecm(["groups", "list"]));
    assert.match(list.stdout, /^ID\s+NAME\s+DESCRIPTION\s+PROFILEUSERID\s+PROFILE\s+GUID$/m);
    assert.match(list.stdout, /\badministrators\b/);
    assert.deepEqual(JSON.parse(ok(await ecm(["groups", "list", "-s", "cli-te", "-o", "json"])).stdout).map((x: { name: string }) => x.name), ["cli-team"]);
    assert.match(ok(await ecm(["groups", "show", "cli-team"])).stdout, /^name:\s+cli-team$/m);
    assert.equal(JSON.parse(ok(await ecm(["groups", "show", g.guid, "-o", "json"])).stdout).name, "cli-team");

    const add = ok(await ecm(["groups", "add-member", "cli-team", "cli-gm1", "cli-gm2"]));
    assert.match(add.stderr, /Added cli-gm1 to cli-team\nAdded cli-gm2 to cli-team/);
    assert.deepEqual(JSON.parse(ok(await ecm(["groups", "members", "cli-team", "-o", "json"])).stdout).map((u: { username: string }) => u.username), ["cli-gm1", "cli-gm2"]);
    // -x, as users list: the members' extended columns (groupMembers({ extendedInfo: true })).
    const extended = JSON.parse(ok(await ecm(["groups", "members", "cli-team", "-x", "-o", "json"])).stdout) as { username: string; groups: string[] }[];
    assert.deepEqual(extended.map((u) => [u.username, u.groups]), [["cli-gm1", ["cli-team", "users"]], ["cli-gm2", ["cli-team", "users"]]]);
    assert.match(ok(await ecm(["groups", "members", "cli-team", "--extended"])).stdout, /^ID\s+USERNAME\s.*\sREMARK\s+VALIDFROM\s+VALIDTO\s+GROUPS\s/m);
    ok(await ecm(["groups", "remove-member", "cli-team", "cli-gm1"]));
    assert.deepEqual(JSON.parse(ok(await ecm(["groups", "members", "cli-team", "-o", "json"])).stdout).map((u: { username: string }) => u.username), ["cli-gm2"]);
    assert.equal((await ecm(["groups", "add-member", "cli-team", "nobody-here"])).code, 4);
    // A mistyped name among several is found before anything is done, as remove-member does: no half-done
    // list for a script to sort out (nor a confirmation of removals that then stop half way).
    const members = async () => JSON.parse(ok(await ecm(["groups", "members", "cli-team", "-o", "json"])).stdout).map((u: { username: string }) => u.username);
    for (const command of ["add-member", "remove-member"]) {
      const typo = await ecm(["groups", command, "cli-team", "cli-gm1", "nobody-here", "cli-gm2", "--yes"].filter((a) => a !== "--yes" || command === "remove-member"));
      assert.equal(typo.code, 4, typo.stderr);
      assert.equal(typo.stderr, 'ecm: ECMS1201-E user "nobody-here" does not exist\n', command);
      assert.deepEqual(await members(), ["cli-gm2"], command);
    }
    assert.equal((await ecm(["groups", "add-member", "cli-team"])).code, 2);

    const roles = ok(await ecm(["roles", "list", "-o", "json"]));
    assert.deepEqual(JSON.parse(roles.stdout).map((r: { name: string }) => r.name).sort(), ["security-administrator", "system-administrator", "user"]);
    assert.match(ok(await ecm(["roles", "grant", "cli-team", "security-administrator"])).stderr, /Granted security-administrator to cli-team/);
    assert.match(ok(await ecm(["groups", "roles", "cli-team"])).stdout, /^security-administrator\s/m);
    assert.doesNotMatch(ok(await ecm(["groups", "roles", "cli-team", "--available"])).stdout, /^security-administrator\s/m);
    assert.match(ok(await ecm(["users", "roles", "cli-gm2"])).stdout, /^security-administrator\s/m);
    ok(await ecm(["roles", "revoke", "cli-team", "security-administrator"]));
    assert.equal(ok(await ecm(["groups", "roles", "cli-team", "-o", "json"])).stdout, "[]\n");
    assert.equal((await ecm(["roles", "grant", "cli-team", "no-such-role"])).code, 4);

    const upd = JSON.parse(ok(await ecm(["groups", "update", "cli-team", "--name", "cli-team2", "-d", "Team", "-o", "json"])).stdout);
    assert.equal(upd.name, "cli-team2");
    assert.equal(upd.description, "Team");
    assert.match(ok(await ecm(["groups", "delete", "cli-team2"])).stderr, /Deleted group cli-team2/);
    assert.equal((await ecm(["groups", "show", "cli-team2"])).code, 4);
    assert.equal((await ecm(["groups", "delete", "administrators"])).code, 5);
  });
});

describe("identity providers", () => {
  test("idps create/show/list/update/delete; users link/unlink; the secret never printed", async () => {
    const endpoints = ["--issuer", "https://idp.example", "--authorization-url", "https://idp.example/auth", "--token-url", "https://idp.example/token", "--jwks-url", "https://idp.example/jwks"];
    ok(await ecm(["groups", "create", "cli-idp-staff"]));
    const created = ok(await ecm(["idps", "create", "cli-sso", "-n", "CLI SSO", "--client-id", "ecm", ...endpoints, "-g", "cli-idp-staff", "-m", "admins=cli-idp-staff", "-o", "json"], { env: { ECM_CLIENT_SECRET: "cli-secret-123" } }));
    const p = JSON.parse(created.stdout);
    assert.equal(p.clientSecret, "**********");
    assert.match(p.redirectUri, /\/portal\/auth\/v1\/providers\/cli-sso\/callback$/);
    assert.equal(p.defaultGroupList.length, 1);
    assert.deepEqual(p.customGroupList, [{ idpGroupName: "admins", localGroupId: p.defaultGroupList[0] }]);
    const shown = ok(await ecm(["idps", "show", "cli-sso"]));
    assert.match(shown.stdout, /^customGroupList: +admins=cli-idp-staff$/m);
    assert.match(shown.stdout, /^redirectUri: +http/m);
    assert.ok(!shown.stdout.includes("cli-secret-123") && !created.stdout.includes("cli-secret-123"));
    const listed = ok(await ecm(["idps", "list", "-o", "ndjson"])).stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(listed.some((l) => l.alias === "cli-sso" && l.displayName === "CLI SSO"));
    const updated = JSON.parse(ok(await ecm(["idps", "update", "cli-sso", "--trust-email", "--gui-order", "4", "--disable", "-o", "json"])).stdout);
    assert.equal(updated.trustEmail, true);
    assert.equal(updated.guiOrder, 4);
    assert.equal(updated.enabled, false);
    assert.equal((await ecm(["idps", "update", "cli-sso"])).code, 2, "nothing to change");
    assert.equal((await ecm(["idps", "create", "cli-nosecret", ...endpoints])).code, 2, "no client id");
    // A secret the server needs and the command did not give: the refusal names the option that gives it.
    const noSecret = await ecm(["idps", "create", "cli-nosecret", "--client-id", "ecm", ...endpoints]);
    assert.equal(noSecret.code, 7, noSecret.stderr);
    assert.equal(noSecret.stderr, "ecm: ECMS1001-E clientSecret is required with clientAuthMethod client_secret_basic. (give it with --client-secret-stdin or ECM_CLIENT_SECRET)\n");
    const moved = await ecm(["idps", "update", "cli-sso", "--token-url", "https://idp2.example/token"]);
    assert.equal(moved.code, 7, moved.stderr);
    assert.match(moved.stderr, /clientSecret must be sent again .* \(give it with --client-secret-stdin or ECM_CLIENT_SECRET\)\n$/);
    // One it gave and the server refused is not asked for again.
    const publicClient = await ecm(["idps", "update", "cli-sso", "--auth-method", "none"], { env: { ECM_CLIENT_SECRET: "cli-secret-123" } });
    assert.equal(publicClient.code, 7, publicClient.stderr);
    assert.ok(!publicClient.stderr.includes("give it with"), publicClient.stderr);

    ok(await ecm(["users", "create", "cli-linked"]));
    ok(await ecm(["users", "link", "cli-linked", "cli-sso", "sub-42"]));
    assert.match(ok(await ecm(["users", "show", "cli-linked"])).stdout, /^federatedIdentities:\s+cli-sso \(CLI SSO\)$/m);
    const linked = JSON.parse(ok(await ecm(["users", "show", "cli-linked", "-o", "json"])).stdout);
    assert.deepEqual([linked.source, linked.dn, linked.federatedIdentities], [{ type: "local", id: null, name: null }, null, [{ alias: "cli-sso", displayName: "CLI SSO" }]]);
    assert.deepEqual(JSON.parse(ok(await ecm(["users", "list", "--linked-to", "cli-sso", "-o", "json"])).stdout).map((u: { username: string }) => u.username), ["cli-linked"]);
    assert.equal(ok(await ecm(["users", "count", "--linked-to", "cli-sso"])).stdout.trim(), "1");
    // A provider that does not exist is a not-found (exit 4, one line), not an empty list.
    for (const filter of [["--linked-to", "cli-no-such-idp"], ["--source", "identity-provider:cli-no-such-idp"]]) {
      for (const command of ["list", "count"]) {
        const none = await ecm(["users", command, ...filter]);
        assert.deepEqual([none.code, none.stdout, none.stderr], [4, "", "ecm: ECMS1201-E The specified identity provider does not exist.\n"], `${command} ${filter.join(" ")}`);
      }
    }
    // A new issuer would give the linked subject to whoever has it there: asked what becomes of the link.
    const newIssuer = await ecm(["idps", "update", "cli-sso", "--issuer", "https://idp2.example"]);
    assert.equal(newIssuer.code, 5, newIssuer.stderr);
    assert.match(newIssuer.stderr, /a subject is unique only at its issuer.*\(give --links keep or --links remove\)\n$/);
    assert.equal((await ecm(["idps", "update", "cli-sso", "--issuer", "https://idp2.example", "--links", "maybe"])).code, 2);
    assert.equal(JSON.parse(ok(await ecm(["idps", "update", "cli-sso", "--issuer", "https://idp2.example", "--links", "keep", "-o", "json"])).stdout).issuer, "https://idp2.example");
    assert.equal(ok(await ecm(["users", "count", "--linked-to", "cli-sso"])).stdout.trim(), "1", "kept");
    const otherSubject = await ecm(["users", "unlink", "cli-linked", "cli-sso", "--subject", "sub-7"]);
    assert.deepEqual([otherSubject.code, /still linked|another subject|not linked to/i.test(otherSubject.stderr)], [5, true], otherSubject.stderr);
    ok(await ecm(["users", "unlink", "cli-linked", "cli-sso", "--subject", "sub-42"]));
    assert.equal(JSON.parse(ok(await ecm(["users", "show", "cli-linked", "-o", "json"])).stdout).federatedIdentities, null, "none: null, as the REST field");
    // As a membership that is not there: said, exit 0; a provider that does not exist is still a not-found.
    assert.match(ok(await ecm(["users", "unlink", "cli-linked", "cli-sso"])).stderr, /^cli-linked is not linked to cli-sso: nothing to unlink\n$/);
    const noProvider = await ecm(["users", "unlink", "cli-linked", "cli-no-such-idp"]);
    assert.equal(noProvider.code, 4, noProvider.stderr);
    // A provider whose endpoints answer nothing: the test says which step failed, and exits 1.
    const closed = ["--issuer", "http://127.0.0.1:9", "--authorization-url", "http://127.0.0.1:9/auth", "--token-url", "http://127.0.0.1:9/token", "--jwks-url", "http://127.0.0.1:9/jwks"];
    ok(await ecm(["idps", "create", "cli-down", "--client-id", "ecm", ...closed], { env: { ECM_CLIENT_SECRET: "cli-secret-123" } }));
    const tested = await ecm(["idps", "test", "cli-down"]);
    assert.equal(tested.code, 1, tested.stderr);
    assert.match(tested.stdout, /keys FAILED: /);
    assert.equal(JSON.parse((await ecm(["idps", "test", "cli-down", "-o", "json"])).stdout).ok, false);
    ok(await ecm(["idps", "delete", "cli-down", "-y"]));
    ok(await ecm(["idps", "delete", "cli-sso", "-y"]));
    assert.notEqual((await ecm(["idps", "show", "cli-sso"])).code, 0);
  });
});

describe("audit", () => {
  test("audit list: newest first, filtered by actor and target in any case, failures, action and time; never a secret", async () => {
    ok(await ecm(["users", "create", "cli-audited", "--first-name", "Aud"], { env: { ECM_NEW_PASSWORD: "Quartz-Meadow-Falcon-3" } }));
    ok(await ecm(["users", "update", "cli-audited", "--first-name", "Audi"]));
    const refused = await fetch(`${server.baseUrl}/auth/v1/providers/builtin/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "cli-audited", password: "wrong-password-1" }) });
    assert.equal(refused.status, 401);
    const events = async (...args: string[]) => JSON.parse(ok(await ecm(["audit", "list", ...args, "-o", "json"])).stdout) as { action: string; actor: string | null; targetName: string; outcome: string; details: Record<string, unknown> | null }[];
    const changes = await events("--actor", "SYSADMIN", "--target", "CLI-Audited");
    assert.deepEqual(changes.map((e) => e.action), ["user.update", "user.create"]);
    assert.deepEqual(changes[0]!.details, { before: { firstName: "Aud", displayName: "Aud" }, after: { firstName: "Audi", displayName: "Audi" } });
    const failures = await events("--target", "cli-audited", "--failures");
    assert.deepEqual(failures.map((e) => [e.action, e.actor, e.outcome, e.details?.reason]), [["auth.login", null, "failure", "wrong-password"]]);
    assert.deepEqual((await events("--target", "cli-audited", "--action", "user.create")).map((e) => e.action), ["user.create"]);
    assert.equal((await events("-n", "1")).length, 1);
    assert.deepEqual(await events("--target", "cli-audited", "--from", "2999-01-01"), []);
    const table = ok(await ecm(["audit", "list", "--target", "cli-audited"])).stdout;
    assert.match(table.split("\n")[0]!, /^ID\s+TIME\s+ACTOR\s+ACTION\s+TARGETTYPE\s+TARGETNAME\s+OUTCOME\s+SOURCEADDRESS\s+COUNT\s+DETAILS$/);
    // The changed fields as text, as every table and CSV cell writes an object (not JSON).
    assert.match(table, /user\.update .* before\.firstName=Aud,before\.displayName=Aud,after\.firstName=Audi,after\.displayName=Audi$/m);
    assert.ok(!table.includes("Quartz-Meadow-Falcon-3") && !table.includes("wrong-password-1"), "no password is in the log");
    assert.equal((await ecm(["audit", "list", "--max", "0"])).code, 2);
    assert.equal((await ecm(["audit", "list", "--from", "yesterday"])).code, 7);
  });
});

describe("import and export", () => {
  test("import creates users with groups, reports bad rows per line, exit 1 when some fail", async () => {
    ok(await ecm(["groups", "create", "cli-imported"]));
    const file = join(home, "users.csv");
    writeFileSync(
      file,
      "username,email,displayName,remark,locked,groups,password\r\n" +
        'imp1,imp1@example.com,Imp One,"multi, part",false,cli-imported,Passw0rd-Long!\r\n' +
        "imp2,imp2@example.com,Imp Two,,true,cli-imported;users,\r\n" +
        "bad user,x@example.com,,,,,\r\n" +
        "imp3,imp3@example.com,,,maybe,,\r\n",
    );
    const r = await ecm(["import", file, "-o", "csv"]);
    assert.equal(r.code, 1, r.stderr);
    const rows = parseCsv(r.stdout);
    assert.deepEqual(rows[0], ["line", "username", "result", "message"]);
    assert.deepEqual(rows.slice(1).map((x) => [x[0], x[1], x[2]]), [
      ["2", "imp1", "created"],
      ["3", "imp2", "created"],
      ["4", "bad user", "failed"],
      ["5", "imp3", "failed"],
    ]);
    assert.match(rows[3]![3]!, /^ECMS1001-E .*username/);
    assert.match(rows[4]![3]!, /locked: "maybe" is not a boolean/);
    assert.match(r.stderr, /2 created, 0 updated, 0 unchanged, 2 failed of 4 rows\n$/);
    const imp2 = JSON.parse(ok(await ecm(["users", "show", "imp2", "-o", "json"])).stdout);
    assert.equal(imp2.locked, true);
    assert.deepEqual(imp2.groups.sort(), ["cli-imported", "users"]);
    assert.equal(JSON.parse(ok(await ecm(["users", "show", "imp1", "-o", "json"])).stdout).remark, "multi, part");
    ok(await ecm(["whoami"], { env: { ECM_USERNAME: "imp1", ECM_PASSWORD: "Passw0rd-Long!" } }));

    // Again: existing users are conflicts unless --update.
    const again = await ecm(["import", file, "-o", "json"]);
    assert.equal(again.code, 1);
    assert.deepEqual(JSON.parse(again.stdout)[0], { line: 2, username: "imp1", result: "failed", message: "ECMS1301-E A user with this username already exists (the import does not update users)." });
    // The summary says which option would have updated them (the API updates by default, ecm import does not).
    assert.match(again.stderr, /^0 created, 0 updated, 0 unchanged, 4 failed of 4 rows; 2 name users that exist: --update updates them\n$/);
    // A name another user logs in with is no user --update would update: not counted so.
    const clash = join(home, "clash.csv");
    writeFileSync(clash, "username\nIMP1\n");
    const clashed = await ecm(["import", clash]);
    assert.equal(clashed.code, 1);
    assert.match(clashed.stdout, /^2\s+IMP1\s+failed\s+ECMS1301-E The username is taken/m);
    assert.match(clashed.stderr, /^0 created, 0 updated, 0 unchanged, 1 failed of 1 row\n$/);
    const update = join(home, "update.csv");
    writeFileSync(update, "username,remark\nimp1,changed\n");
    const u = ok(await ecm(["import", update, "--update"]));
    assert.match(u.stdout, /^2\s+imp1\s+updated$/m);
    assert.match(u.stderr, /^0 created, 1 updated, 0 unchanged, 0 failed of 1 row\n$/);
    assert.equal(JSON.parse(ok(await ecm(["users", "show", "imp1", "-o", "json"])).stdout).remark, "changed");
    // A spreadsheet's CSV in its own charset, said by --charset; an unknown one is refused before anything is sent.
    const excel = join(home, "excel.csv");
    writeFileSync(excel, Buffer.from("username,displayName\r\ncli_cp1252,Andr\xe9 \x80\r\n", "latin1"));
    ok(await ecm(["import", excel, "--charset", "windows-1252"]));
    assert.equal(JSON.parse(ok(await ecm(["users", "show", "cli_cp1252", "-o", "json"])).stdout).displayName, "André €");
    const unknownCharset = await ecm(["import", excel, "--charset", "latin-9000"]);
    assert.equal(unknownCharset.code, 2, unknownCharset.stderr);
    assert.match(unknownCharset.stderr, /charset "latin-9000" names no character encoding/);

    // What `users list -o csv` prints comes back through the import unchanged, formula guards and read-only columns included,
    // and a group whose name holds the list's `;` (or `\`) as that one group, not as several.
    ok(await ecm(["users", "update", "imp2", "--display-name", "=SUM(A1)"]));
    ok(await ecm(["groups", "create", "cli-x;users"]));
    ok(await ecm(["groups", "create", "cli\\x;"]));
    ok(await ecm(["groups", "add-member", "cli-x;users", "imp2"]));
    ok(await ecm(["groups", "add-member", "cli\\x;", "imp2"]));
    const listed = ok(await ecm(["users", "list", "-x", "-o", "csv", "--search", "imp"])).stdout;
    const back = ok(await ecm(["import", "-", "--update", "--dry-run", "-o", "ndjson"], { stdin: listed }));
    assert.deepEqual(back.stdout.trim().split("\n").map((l) => JSON.parse(l).result), ["unchanged", "unchanged"], back.stdout);
    // So does `-o json`, a JSON array: each row answered with the line it starts on; a compact array's (the API's) by its place.
    const listedJson = ok(await ecm(["users", "list", "-x", "-o", "json", "--search", "imp"])).stdout;
    const backJson = ok(await ecm(["import", "-", "--update", "--dry-run", "-o", "ndjson"], { stdin: listedJson }));
    assert.deepEqual(backJson.stdout.trim().split("\n").map((l) => [JSON.parse(l).line, JSON.parse(l).result]), [[2, "unchanged"], [3, "unchanged"]], backJson.stdout);
    const compact = await ecm(["import", "-", "--dry-run", "-o", "ndjson"], { stdin: '\uFEFF[{"username":"json-one"},\n {"username":"json-two","remark":"a\\n]b"}, {"username":"bad name!"},\n["x",{}], "a,b"]\n' });
    assert.equal(compact.code, 1, compact.stderr);
    assert.deepEqual(compact.stdout.trim().split("\n").map((l) => [JSON.parse(l).line, JSON.parse(l).username, JSON.parse(l).result]), [[1, "json-one", "created"], [2, "json-two", "created"], [3, "bad name!", "failed"], [4, "", "failed"], [5, "", "failed"]], compact.stdout);
    assert.match(compact.stdout, /"line":4,.*The row must be a JSON object/);

    const dry = ok(await ecm(["import", "-", "--dry-run", "-o", "ndjson"], { stdin: "username\nnew-one\n" }));
    assert.equal(JSON.parse(dry.stdout.trim()).result, "created");
    assert.match(dry.stderr, /1 created, .* of 1 row \(dry run: nothing was changed\)/);
    assert.equal((await ecm(["users", "show", "new-one"])).code, 4);

    assert.equal((await ecm(["import", join(home, "missing.csv")])).code, 1);
    // A dead session or server is not a row's fault: stop at once with its exit code.
    const stopped = await ecm(["import", file], { auth: false, env: { ECM_URL: server.baseUrl, ECM_TOKEN: "not-a-token" } });
    assert.equal(stopped.code, 3, stopped.stderr);
    assert.equal(stopped.stdout, "");
    assert.match(stopped.stderr, /^0 created, 0 updated, 0 unchanged, 0 failed of 0 rows; stopped before the first row\necm: .*\n$/);
    const down = await ecm(["import", file], { auth: false, env: { ECM_URL: "http://127.0.0.1:9", ECM_TOKEN: "t" } });
    assert.equal(down.code, 8, down.stderr);
    assert.match(down.stderr, /stopped before the first row\necm: cannot reach/);
    writeFileSync(join(home, "badhdr.csv"), "nickname\nx\n");
    const badHeader = await ecm(["import", join(home, "badhdr.csv")]);
    assert.equal(badHeader.code, 7);
    assert.match(badHeader.stderr, /Unknown CSV column: "nickname"; known: username, /);
    // A file's control characters, repeated in the answer, are shown, not sent to the terminal.
    writeFileSync(join(home, "eschdr.csv"), "username,\x1b[31mred\x1b]0;title\x07\nx,y\n");
    const escaped = await ecm(["import", join(home, "eschdr.csv")]);
    assert.equal(escaped.code, 7, escaped.stderr);
    assert.ok(!/[\x00-\x08\x0b-\x1f]/.test(escaped.stderr), JSON.stringify(escaped.stderr));
    assert.match(escaped.stderr, /Unknown CSV column: "\\u001b\[31mred/);
  });

  test("import reads a Keycloak realm export: its users, their groups by path, and their password hashes, which log in", async () => {
    // As Keycloak keeps a password: base64 salt and value, the algorithm and its cost in credentialData (JSON in a string).
    const pbkdf2 = (password: string, algorithm: "sha256" | "sha512", iterations: number, keyBytes: number) => {
      const salt = randomBytes(16);
      return {
        secretData: JSON.stringify({ value: pbkdf2Sync(password, salt, iterations, keyBytes, algorithm).toString("base64"), salt: salt.toString("base64"), additionalParameters: {} }),
        credentialData: JSON.stringify({ hashIterations: iterations, algorithm: `pbkdf2-${algorithm}`, additionalParameters: {} }),
      };
    };
    const argon2 = async (password: string) => {
      const salt = randomBytes(16);
      const value = await hashRaw(password, { algorithm: Algorithm.Argon2id, salt, memoryCost: 7168, timeCost: 5, parallelism: 1, outputLen: 32 });
      return {
        secretData: JSON.stringify({ value: value.toString("base64"), salt: salt.toString("base64"), additionalParameters: {} }),
        credentialData: JSON.stringify({ hashIterations: 5, algorithm: "argon2", additionalParameters: { hashLength: ["32"], memory: ["7168"], type: ["id"], version: ["1.3"], parallelism: ["1"] } }),
      };
    };
    const password = (hash: { secretData: string; credentialData: string }) => [{ id: randomUUID(), type: "password", userLabel: "My password", createdDate: 1_700_000_000_000, ...hash }];
    const user = (username: string, more: Record<string, unknown>) => ({ id: randomUUID(), createdTimestamp: 1_700_000_000_000, username, enabled: true, totp: false, emailVerified: true, disableableCredentialTypes: [], requiredActions: [], realmRoles: ["default-roles-acme"], notBefore: 0, ...more });
    const realm = {
      id: "acme",
      realm: "acme",
      enabled: true,
      roles: { realm: [{ id: randomUUID(), name: "default-roles-acme", composite: true }], client: {} },
      groups: [
        { id: randomUUID(), name: "kc-staff", path: "/kc-staff", subGroups: [] },
        { id: randomUUID(), name: "kc-ops", path: "/kc-ops", subGroups: [] },
        { id: randomUUID(), name: "partners", path: "/partners", subGroups: [{ id: randomUUID(), name: "administrators", path: "/partners/administrators", subGroups: [] }] },
        { id: randomUUID(), name: "Administrators", path: "/Administrators", subGroups: [] },
      ],
      users: [
        user("kc-alice", { firstName: "Alice", lastName: "Liddell", email: "alice@example.com", credentials: password(pbkdf2("Alice-Passw0rd-1", "sha256", 27_500, 64)), groups: ["/kc-staff"] }),
        user("kc-bob", { email: "bob@example.com", credentials: password(await argon2("Bob-Passw0rd-22")), groups: ["/kc-ops"] }),
        user("kc-carol", { enabled: false, credentials: password(pbkdf2("Carol-Passw0rd-3", "sha512", 210_000, 64)), requiredActions: ["UPDATE_PASSWORD"] }),
        user("kc-dave", { credentials: [{ type: "password", secretData: '{"value":"AAAAAAAAAAAAAAAAAAAAAAAAAAA=","salt":"AAAAAAAAAAAAAAAAAAAAAA=="}', credentialData: '{"hashIterations":20000,"algorithm":"pbkdf2"}' }] }),
        user("service-account-reports", { serviceAccountClientId: "reports", credentials: [] }),
        // A subgroup's last name is no safe name here: another system's /partners/administrators is not our administrators group.
        user("kc-erin", { groups: ["/kc-staff", "/partners/administrators"] }),
        user("kc-frank", { groups: ["/Administrators"] }),
      ],
      clients: [{ id: randomUUID(), clientId: "reports", serviceAccountsEnabled: true }],
    };
    ok(await ecm(["groups", "create", "kc-staff"]));
    ok(await ecm(["groups", "create", "kc-ops"]));
    // Pretty-printed as Keycloak writes it (`kc.sh export`: "key" : value).
    const file = join(home, "realm-export.json");
    writeFileSync(file, JSON.stringify(realm, null, 2).replace(/": /g, '" : '));
    const rows = (r: Result) => JSON.parse(r.stdout).map((x: { line: number; username: string; result: string }) => [x.line, x.username, x.result]);
    const expected = [[1, "kc-alice", "created"], [2, "kc-bob", "created"], [3, "kc-carol", "created"], [4, "kc-dave", "failed"], [5, "service-account-reports", "created"], [6, "kc-erin", "failed"], [7, "kc-frank", "failed"]];
    const dry = await ecm(["import", file, "--dry-run", "-o", "json"]);
    assert.deepEqual([dry.code, rows(dry)], [1, expected], dry.stderr);
    const real = await ecm(["import", file, "-o", "json"]);
    assert.deepEqual([real.code, rows(real)], [1, expected], real.stderr);
    assert.match(JSON.parse(real.stdout)[3].message, /Keycloak's pbkdf2 password hashes are not imported/);
    assert.match(JSON.parse(real.stdout)[5].message, /^ECMS1001-E the Keycloak group \/partners\/administrators is a subgroup: /);
    assert.match(JSON.parse(real.stdout)[6].message, /^ECMS1001-E the Keycloak group \/Administrators would be the built-in group administrators here, /);
    const show = async (username: string) => JSON.parse(ok(await ecm(["users", "show", username, "-o", "json"])).stdout);
    const alice = await show("kc-alice");
    assert.deepEqual([alice.firstName, alice.lastName, alice.email, alice.groups.sort()], ["Alice", "Liddell", "alice@example.com", ["kc-staff", "users"]]);
    assert.deepEqual((await show("kc-bob")).groups.sort(), ["kc-ops", "users"]);
    const carol = await show("kc-carol");
    assert.deepEqual([carol.locked, carol.changePwd], [true, true]);
    assert.equal((await show("service-account-reports")).serviceAccount, true);
    for (const [username, pw] of [["kc-alice", "Alice-Passw0rd-1"], ["kc-bob", "Bob-Passw0rd-22"]]) {
      assert.equal(JSON.parse(ok(await ecm(["whoami", "-o", "json"], { env: { ECM_USERNAME: username!, ECM_PASSWORD: pw! } })).stdout).username, username);
    }
    assert.equal((await ecm(["whoami"], { env: { ECM_USERNAME: "kc-alice", ECM_PASSWORD: "Alice-Passw0rd-2" } })).code, 3, "only the password it had");
    // Another document over several lines is not taken for Keycloak's; an export made readable by jq is said to be one.
    writeFileSync(file, JSON.stringify({ source: "elsewhere", users: [{ username: "kc-not" }] }, null, 2));
    const other = await ecm(["import", file]);
    assert.deepEqual([other.code, other.stdout], [7, ""]);
    assert.match(other.stderr, /ecm: importUsers: the JSON document names no realm before its users: .* only as a Keycloak realm export/);
    writeFileSync(file, JSON.stringify({ exportedAt: "2026-01-01T00:00:00Z", users: [{ username: "kc-not" }] }, null, 2));
    assert.match((await ecm(["import", file])).stderr, /ecm: importUsers: this is an export of the security system/);
    // kc.sh export --dir writes the users to files of their own by default: the realm's file is said to have none.
    writeFileSync(file, JSON.stringify({ id: "acme", realm: "acme", enabled: true, groups: [] }, null, 2));
    const noUsers = await ecm(["import", file]);
    assert.deepEqual([noUsers.code, noUsers.stderr.split("\n").at(-2)], [7, "ecm: importUsers: the Keycloak export of the realm acme holds no users: import its acme-users-<n>.json files (kc.sh export --dir), or export with --users realm_file"]);
    // A document cut short is said as the file's fault, not a server's answer.
    writeFileSync(file, JSON.stringify(realm, null, 2).slice(0, 2000));
    const cut = await ecm(["import", file, "--dry-run"]);
    assert.deepEqual([cut.code, cut.stderr.split("\n").at(-2)], [7, "ecm: importUsers: the JSON document is not whole JSON: it ends before it is complete"]);
  });

  test("export writes JSON (stdout or --file), ndjson lines, plain progress lines when not a terminal", async () => {
    const r = ok(await ecm(["export"]));
    const doc = JSON.parse(r.stdout);
    assert.ok(doc.users.some((u: { username: string }) => u.username === "sysadmin"));
    assert.ok(doc.groups.some((g: { name: string }) => g.name === "administrators"));
    assert.match(r.stderr, /^exporting from http:\/\/127\.0\.0\.1:\d+\/portal\nExported .*\d+ users/);
    assert.doesNotMatch(r.stderr, /\r/);

    const file = join(home, "export.json");
    const f = ok(await ecm(["export", "--group", "administrators", "--file", file]));
    assert.equal(f.stdout, "");
    const part = JSON.parse(readFileSync(file, "utf8"));
    assert.deepEqual(part.groups.map((g: { name: string }) => g.name), ["administrators"]);
    assert.equal(statSync(file).mode & 0o777, 0o600);

    const nd = ok(await ecm(["export", "-o", "ndjson"])).stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(nd.some((x) => x.kind === "users" && x.username === "sysadmin"));
    assert.equal((await ecm(["export", "-o", "table"])).code, 2);
    assert.equal((await ecm(["export", "--group", "no-such-group"])).code, 4);
    // An export is no file of users: ecm import says so, and what it reads, before sending anything.
    const ndFile = join(home, "export.ndjson");
    ok(await ecm(["export", "-o", "ndjson", "--file", ndFile]));
    for (const exported of [file, ndFile]) {
      const back = await ecm(["import", exported]);
      assert.deepEqual([back.code, back.stdout], [7, ""], back.stderr);
      assert.match(back.stderr, /^ecm: importUsers: this is an export of the security system \(ecm export, exportSecuritySystem\), not a file of users: import reads users — records, CSV, NDJSON or a JSON array of them \(ecm users list -x -o json\) — or a Keycloak realm export\n$/m);
    }
  });

  test("progress bar on a terminal", async () => {
    let err = "";
    const file = join(home, "tty.csv");
    writeFileSync(file, "username\ntty1\ntty2\n");
    const code = await run(["import", file], {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (err += s), isTTY: true },
      stdin: Readable.from([]),
      env: { ECM_URL: server.baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: server.adminPassword, XDG_CONFIG_HOME: join(home, "x") },
    });
    assert.equal(code, 0);
    assert.match(err, /\rImporting \[#{30}\] 19 B\/19 B 2 rows/);
    assert.match(err, /2 created, 0 updated, 0 unchanged, 0 failed of 2 rows\n$/);

    let exportErr = "";
    let exportOut = "";
    const exportCode = await run(["export"], {
      stdout: { write: (s: string) => (exportOut += s) },
      stderr: { write: (s: string) => (exportErr += s), isTTY: true },
      stdin: Readable.from([]),
      env: { ECM_URL: server.baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: server.adminPassword, XDG_CONFIG_HOME: join(home, "x") },
    });
    assert.equal(exportCode, 0);
    const users = (JSON.parse(exportOut) as { users: unknown[] }).users.length;
    assert.match(exportErr, new RegExp(`\\rExporting \\[#{30}\\] ${users}/${users} users, [\\d.]+ (B|KiB|MiB)`));
    assert.match(exportErr, new RegExp(`Exported .*${users} users.*\\n$`));
  });
});

/** Runs `ecm args…` as if on a terminal: each prompt written to stderr is answered with the next answer. */
async function onTerminal(args: string[], answers: string[], env: Record<string, string> = {}): Promise<Result & { prompts: string[] }> {
  const stdin = Object.assign(new Readable({ read() {} }), { isTTY: true, setRawMode: () => stdin });
  let stdout = "";
  let stderr = "";
  const prompts: string[] = [];
  const code = await run(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: {
      write: (s: string) => {
        stderr += s;
        if (/(: |\] )$/.test(s)) {
          prompts.push(s);
          setImmediate(() => stdin.push(`${answers.shift() ?? ""}\r`));
        }
        return true;
      },
    },
    stdin,
    env: { ECM_URL: server.baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: server.adminPassword, XDG_CONFIG_HOME: join(home, "tty"), ...env },
  });
  return { code, stdout, stderr, prompts };
}

describe("details found by trying it", () => {
  test("users show reads back what create and update set: first and last name, a required password change, a password that never expires", async () => {
    ok(await ecm(["users", "create", "cli-names", "--first-name", "Ann", "--last-name", "Lee", "--change-password", "--never-expire"]));
    const shown = JSON.parse(ok(await ecm(["users", "show", "cli-names", "-o", "json"])).stdout);
    assert.deepEqual([shown.firstName, shown.lastName, shown.changePwd, shown.neverExpire], ["Ann", "Lee", true, true]);
    ok(await ecm(["users", "update", "cli-names", "--first-name", "", "--no-change-password"]));
    const table = ok(await ecm(["users", "show", "cli-names"])).stdout;
    assert.match(table, /^lastName:\s+Lee$/m);
    assert.match(table, /^changePwd:\s+false$/m);
  });

  test("passwd changes your own password with the current one; reset-password on yourself says to use it", async () => {
    const admin = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
    await admin.security.createUser("cli-passwd", { password: "First-Passw0rd-1" });
    const as = (password: string) => ({ env: { ECM_USERNAME: "cli-passwd", ECM_PASSWORD: password } });
    const self = await ecm(["users", "reset-password", "sysadmin", "--password-stdin"], { stdin: "Other-Passw0rd-2" });
    assert.equal(self.code, 5, self.stderr);
    assert.match(self.stderr, /your own password is changed with ecm passwd/);
    const wrong = await ecm(["passwd", "--password-stdin"], { ...as("First-Passw0rd-1"), stdin: "Not-The-Current-1\nSecond-Passw0rd-2\n" });
    assert.notEqual(wrong.code, 0);
    assert.match(ok(await ecm(["passwd", "--password-stdin"], { ...as("First-Passw0rd-1"), stdin: "First-Passw0rd-1\nSecond-Passw0rd-2\n" })).stderr, /Password changed/);
    assert.equal(JSON.parse(ok(await ecm(["whoami", "-o", "json"], as("Second-Passw0rd-2"))).stdout).username, "cli-passwd");
    assert.equal((await ecm(["passwd", "--password-stdin"], { ...as("Second-Passw0rd-2"), stdin: "only-one-line" })).code, 2);
  });

  test("a password change due (npm run admin -- reset-password, --change-password) is said as the command that makes it", async () => {
    const admin = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
    const due = await admin.security.createUser("cli-due", { password: "First-Passw0rd-1", changePwd: true });
    await admin.security.addUserToGroup(due, "administrators");
    const as = (password: string) => ({ env: { ECM_USERNAME: "cli-due", ECM_PASSWORD: password } });
    const refused = await ecm(["users", "count"], as("First-Passw0rd-1"));
    assert.deepEqual([refused.code, refused.stderr], [6, 'ecm: ECMS1103-E The password must be changed first: PUT /security/v1/me/password. (run "ecm passwd")\n']);
    ok(await ecm(["passwd", "--password-stdin"], { ...as("First-Passw0rd-1"), stdin: "First-Passw0rd-1\nSecond-Passw0rd-2\n" }));
    assert.match(ok(await ecm(["users", "count"], as("Second-Passw0rd-2"))).stdout, /^\d+\n$/);
  });

  test("a name shaped like another's guid is refused as ambiguous, never taken for the other one; alone it is found", async () => {
    for (const kind of ["users", "groups"] as const) {
      const victim = JSON.parse(ok(await ecm([kind, "create", `guid-victim-${kind}`, "-o", "json"])).stdout);
      ok(await ecm([kind, "create", victim.guid]));
      const refused = await ecm([kind, "delete", victim.guid, "--yes"]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`is the guid of the ${kind.slice(0, -1)} guid-victim-${kind} and the name of another`));
      const named = JSON.parse(ok(await ecm([kind, "show", `guid-victim-${kind}`, "-o", "json"])).stdout);
      assert.equal(named.guid, victim.guid, "nothing was deleted");
      const other = /give guid-victim-\S+ for the first, (\S+) for the other/.exec(refused.stderr)![1]!;
      ok(await ecm([kind, "delete", other, "--yes"]));
      // The name alone no longer names two: the guid finds its own again.
      ok(await ecm([kind, "delete", victim.guid, "--yes"]));
      assert.equal((await ecm([kind, "show", `guid-victim-${kind}`])).code, 4);
    }
  });

  test("a mistyped command or option suggests the right one", async () => {
    const cases: [string[], RegExp][] = [
      [["userz", "list"], /unknown command: userz; did you mean "users"\?/],
      [["users", "lsit"], /unknown command: users lsit; did you mean "users list"\?/],
      [["groups", "add-membr", "x"], /did you mean "groups add-member"\?/],
      [["exprot"], /did you mean "export"\?/],
      [["users", "list", "--extnded"], /Unknown option '--extnded'; did you mean "--extended"\?/],
      [["users", "list", "--extended_info"], /Unknown option '--extended_info'; did you mean "--extended"\?/],
      [["--outptu", "json", "users", "list"], /Unknown option '--outptu'; did you mean "--output"\?/],
    ];
    for (const [args, message] of cases) {
      const r = await ecm(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, message);
    }
    assert.doesNotMatch((await ecm(["frobnicate"])).stderr, /did you mean/);
  });

  test("a usage error points at the help of the command it is about", async () => {
    const cases: [string[], string][] = [
      [["users", "list", "--bogus"], 'ecm: Unknown option \'--bogus\' (see "ecm users list --help")\n'],
      [["export", "-o", "csv"], 'ecm: --output must be one of json, ndjson (see "ecm export --help")\n'],
      [["users", "show"], 'ecm: missing argument <user> (see "ecm users show --help")\n'],
      [["users", "lsit"], 'ecm: unknown command: users lsit; did you mean "users list"? (see "ecm users --help")\n'],
      [["frobnicate"], 'ecm: unknown command: frobnicate (see "ecm --help")\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = await ecm(args, { auth: false });
      assert.deepEqual([r.code, r.stderr], [2, stderr], args.join(" "));
    }
  });

  test("--help lines up the descriptions of a command's options, and of the global ones, in one column", async () => {
    for (const c of COMMANDS) {
      const help = ok(await ecm([...c.path, "--help"], { auth: false })).stdout;
      const options = help.slice(help.search(/^(Options|Global options):$/m), help.indexOf("\nExit codes:"));
      const columns = new Map<number, string>();
      for (const line of options.split("\n")) {
        // An option's flags (no two spaces in a row), then its description; or a description's next line alone.
        const m = /^( +-.*?  +)\S/.exec(line) ?? /^( {6,})[^\s-]/.exec(line);
        if (m) columns.set(m[1]!.length, line);
      }
      assert.equal(columns.size, 1, `ecm ${c.path.join(" ")} --help:\n${[...columns.values()].join("\n")}`);
    }
  });

  test("--help lists only the output formats a command writes", async () => {
    assert.match(ok(await ecm(["users", "list", "--help"], { auth: false })).stdout, /-o, --output FORMAT {5}table \(default\), json, csv or ndjson\n/);
    const exportHelp = ok(await ecm(["export", "--help"], { auth: false })).stdout;
    assert.match(exportHelp, /-o, --output FORMAT {3}json \(default\) or ndjson\n/);
    assert.doesNotMatch(exportHelp, /\btable\b/);
    assert.doesNotMatch(ok(await ecm(["users", "delete", "--help"], { auth: false })).stdout, /--output/);
    const r = await ecm(["users", "delete", "nobody", "-o", "json"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /prints no data: --output does not apply/);
    assert.match((await ecm(["export", "-o", "csv"])).stderr, /--output must be one of json, ndjson/);
  });

  test("destructive commands ask on a terminal; --yes and scripts are not asked", async () => {
    ok(await ecm(["users", "create", "tty-del"]));
    const no = await onTerminal(["users", "delete", "tty-del"], ["n"]);
    assert.equal(no.code, 1, no.stderr);
    assert.deepEqual(no.prompts, ["Delete user tty-del (tty-del)? [y/N] "]);
    assert.match(no.stderr, /ecm: cancelled\n$/);
    ok(await ecm(["users", "show", "tty-del"]));
    const yes = await onTerminal(["users", "delete", "tty-del"], ["yes"]);
    assert.equal(yes.code, 0, yes.stderr);
    assert.match(yes.stderr, /Deleted user tty-del/);
    ok(await ecm(["users", "create", "tty-del2"]));
    const skipped = await onTerminal(["users", "delete", "tty-del2", "--yes"], []);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.deepEqual(skipped.prompts, []);
    ok(await ecm(["groups", "create", "tty-group"]));
    assert.equal((await onTerminal(["groups", "delete", "tty-group"], [""])).code, 1);
    assert.equal((await onTerminal(["groups", "delete", "tty-group"], ["y"])).code, 0);
    // A provider link is removed as a membership is: asked first, --yes taken, a link not there not asked about.
    const endpoints = ["--issuer", "https://idp.example", "--authorization-url", "https://idp.example/auth", "--token-url", "https://idp.example/token", "--jwks-url", "https://idp.example/jwks"];
    ok(await ecm(["idps", "create", "tty-sso", "--client-id", "ecm", ...endpoints], { env: { ECM_CLIENT_SECRET: "tty-secret-123" } }));
    ok(await ecm(["users", "create", "tty-linked"]));
    ok(await ecm(["users", "link", "tty-linked", "tty-sso", "sub-1"]));
    const kept = await onTerminal(["users", "unlink", "tty-linked", "tty-sso"], ["n"]);
    assert.deepEqual([kept.code, kept.prompts], [1, ["Unlink tty-linked from tty-sso? It no longer logs in through it. [y/N] "]], kept.stderr);
    assert.equal(JSON.parse(ok(await ecm(["users", "show", "tty-linked", "-o", "json"])).stdout).federatedIdentities.length, 1, "still linked");
    // --subject naming another subject than the link's: said without asking, the link kept (exit 5, as the server's refusal).
    const otherSubject = await onTerminal(["users", "unlink", "tty-linked", "tty-sso", "--subject", "sub-2"], ["y"]);
    assert.deepEqual([otherSubject.code, otherSubject.prompts, otherSubject.stderr], [5, [], "ecm: tty-linked is linked to tty-sso as another subject, not sub-2: nothing unlinked\n"]);
    const sameSubject = await onTerminal(["users", "unlink", "tty-linked", "tty-sso", "--subject", "sub-1"], ["n"]);
    assert.deepEqual([sameSubject.code, sameSubject.prompts], [1, ["Unlink tty-linked from tty-sso? It no longer logs in through it. [y/N] "]], sameSubject.stderr);
    const unlinked = await onTerminal(["users", "unlink", "tty-linked", "tty-sso", "--yes"], []);
    assert.deepEqual([unlinked.code, unlinked.prompts, unlinked.stderr], [0, [], "Unlinked tty-linked from tty-sso\n"]);
    const again = await onTerminal(["users", "unlink", "tty-linked", "tty-sso"], []);
    assert.deepEqual([again.code, again.prompts, again.stderr], [0, [], "tty-linked is not linked to tty-sso: nothing to unlink\n"]);
    // A security administrator may not unlink a system administrator: that refusal (exit 6), not the other subject's.
    ok(await ecm(["users", "create", "tty-sysadm", "--group", "administrators"]));
    ok(await ecm(["users", "link", "tty-sysadm", "tty-sso", "sub-adm"]));
    ok(await ecm(["groups", "create", "tty-secadmins"]));
    ok(await ecm(["roles", "grant", "tty-secadmins", "security-administrator"]));
    ok(await ecm(["users", "create", "tty-secadm", "--group", "tty-secadmins", "--password-stdin"], { stdin: "Sec-Admin-Passw0rd!\n" }));
    const secadm = { ECM_USERNAME: "tty-secadm", ECM_PASSWORD: "Sec-Admin-Passw0rd!", XDG_CONFIG_HOME: join(home, "tty-secadm") };
    const refused = await onTerminal(["users", "unlink", "tty-sysadm", "tty-sso", "--subject", "sub-other"], [], secadm);
    assert.deepEqual([refused.code, refused.prompts.filter((q) => q.startsWith("Unlink"))], [6, []], refused.stderr);
    assert.match(refused.stderr, /unlink a system administrator/, refused.stderr);
    assert.equal(JSON.parse(ok(await ecm(["users", "show", "tty-sysadm", "-o", "json"])).stdout).federatedIdentities.length, 1, "still linked");
  });

  test("repeating an addition or a removal says it was already done", async () => {
    ok(await ecm(["users", "create", "rep-user"]));
    ok(await ecm(["groups", "create", "rep-group"]));
    ok(await ecm(["groups", "add-member", "rep-group", "rep-user"]));
    assert.match(ok(await ecm(["groups", "add-member", "rep-group", "rep-user"])).stderr, /^rep-user is already in rep-group: nothing to add\n$/);
    // A user in the group through its profile only is added in its own right.
    const profile = JSON.parse(ok(await ecm(["users", "create", "rep-profile", "--profile-id", "0", "-o", "json"])).stdout);
    ok(await ecm(["groups", "add-member", "rep-group", "rep-profile"]));
    ok(await ecm(["users", "create", "rep-profiled", "--profile-id", String(profile.id)]));
    assert.match(ok(await ecm(["groups", "add-member", "rep-group", "rep-profiled"])).stderr, /^Added rep-profiled to rep-group\n$/);
    assert.match(ok(await ecm(["groups", "add-member", "rep-group", "rep-profiled"])).stderr, /^rep-profiled is already in rep-group: nothing to add\n$/);
    assert.match(ok(await ecm(["groups", "remove-member", "rep-group", "rep-user"])).stderr, /^Removed rep-user from rep-group\n$/);
    assert.match(ok(await ecm(["groups", "remove-member", "rep-group", "rep-user"])).stderr, /^rep-user is not in rep-group: nothing to remove\n$/);
    assert.match(ok(await ecm(["roles", "grant", "rep-group", "user"])).stderr, /^Granted user to rep-group\n$/);
    assert.match(ok(await ecm(["roles", "grant", "rep-group", "user"])).stderr, /^rep-group already has user: nothing to grant\n$/);
    assert.equal((await ecm(["roles", "grant", "rep-group", "no-such-role"])).code, 4);
    assert.match(ok(await ecm(["roles", "revoke", "rep-group", "user"])).stderr, /^Revoked user from rep-group\n$/);
    assert.match(ok(await ecm(["roles", "revoke", "rep-group", "user"])).stderr, /^rep-group does not have user: nothing to revoke\n$/);
    assert.equal((await ecm(["roles", "revoke", "rep-group", "no-such-role"])).code, 4);
    // A revoked key is gone from the user's list: the audit log says it was there (by name, prefix or id).
    const key = JSON.parse(ok(await ecm(["api-keys", "create", "rep-user", "rep-key", "-o", "json"])).stdout);
    assert.match(ok(await ecm(["api-keys", "revoke", "rep-user", "rep-key"])).stderr, /^Revoked API key rep-key of rep-user\n$/);
    for (const which of ["rep-key", key.prefix, key.id]) {
      const again = await ecm(["api-keys", "revoke", "rep-user", which]);
      assert.deepEqual([again.code, again.stderr], [0, "rep-user's API key rep-key was revoked already: nothing to revoke\n"], which);
    }
    const never = await ecm(["api-keys", "revoke", "rep-user", "no-such-key"]);
    assert.deepEqual([never.code, never.stderr], [4, "ecm: rep-user has no API key no-such-key\n"]);
  });

  test("passwd with a service account's key says it has no password, before asking anything", async () => {
    ok(await ecm(["users", "create", "tty-svc", "--service-account"]));
    const { secret } = JSON.parse(ok(await ecm(["api-keys", "create", "tty-svc", "tty-key", "-o", "json"])).stdout);
    const asked = await onTerminal(["passwd"], ["Some-Passw0rd-1", "Other-Passw0rd-2", "Other-Passw0rd-2"], { ECM_API_KEY: secret, ECM_PASSWORD: "" });
    assert.deepEqual([asked.code, asked.prompts, asked.stderr], [5, [], "ecm: tty-svc is a service account: it has no password to change (it authenticates with API keys)\n"]);
    const piped = await ecm(["passwd", "--password-stdin"], { env: { ECM_API_KEY: secret }, stdin: "a\nb\n" });
    assert.deepEqual([piped.code, piped.stderr], [5, asked.stderr]);
    // An account made without a password (its way in: a key, a directory, an identity provider) has none to change either.
    ok(await ecm(["users", "create", "tty-nopw"]));
    const key = JSON.parse(ok(await ecm(["api-keys", "create", "tty-nopw", "tty-key", "-o", "json"])).stdout).secret;
    const none = await onTerminal(["passwd"], ["Some-Passw0rd-1", "Other-Passw0rd-2", "Other-Passw0rd-2"], { ECM_API_KEY: key, ECM_PASSWORD: "" });
    assert.deepEqual([none.code, none.prompts, none.stderr], [5, [], "ecm: tty-nopw has no password here to change: it logs in only through its directory, identity providers or API keys\n"]);
  });

  test("reset-password asks twice on a terminal and changes nothing when the two differ", async () => {
    ok(await ecm(["users", "create", "tty-pw"]));
    const differ = await onTerminal(["users", "reset-password", "tty-pw"], ["First-Passw0rd!", "Other-Passw0rd!"]);
    assert.equal(differ.code, 1);
    assert.deepEqual(differ.prompts, ["New password for tty-pw: ", "Repeat it: "]);
    assert.match(differ.stderr, /the two passwords differ; nothing changed/);
    assert.ok(!differ.stderr.includes("First-Passw0rd!"), "no echo");
    const same = await onTerminal(["users", "reset-password", "tty-pw"], ["Same-Passw0rd!!", "Same-Passw0rd!!"]);
    assert.equal(same.code, 0, same.stderr);
    ok(await ecm(["whoami"], { env: { ECM_USERNAME: "tty-pw", ECM_PASSWORD: "Same-Passw0rd!!" } }));
    // A service account has no password: said before asking for one, as the server would refuse it after.
    ok(await ecm(["users", "create", "tty-pw-svc", "--service-account"]));
    const svc = await onTerminal(["users", "reset-password", "tty-pw-svc"], ["Same-Passw0rd!!", "Same-Passw0rd!!"]);
    assert.deepEqual([svc.code, svc.prompts, svc.stderr], [5, [], "ecm: tty-pw-svc is a service account: it has no password to reset (it authenticates with API keys)\n"]);
    // Nor has a user an identity provider made, which logs in only through providers.
    const provider = await startTestProvider([clientFor(server, "tty-pw-sso")]);
    try {
      ok(await ecm(["idps", "create", "tty-pw-sso", "--from-url", provider.issuer, "--client-id", CLIENT_ID], { env: { ECM_CLIENT_SECRET: CLIENT_SECRET } }));
      provider.accounts.set("tty-pw-sub", { preferred_username: "tty-pw-sso-user" });
      const { browser, callback } = await toCallback(server, "tty-pw-sso", "tty-pw-sub");
      assert.equal((await followCallback(browser, callback)).status, 303);
      const sso = await onTerminal(["users", "reset-password", "tty-pw-sso-user"], ["Same-Passw0rd!!", "Same-Passw0rd!!"]);
      assert.deepEqual([sso.code, sso.prompts, sso.stderr], [5, [], "ecm: tty-pw-sso-user logs in through identity providers only (it came from tty-pw-sso): it has no password here to reset\n"]);
    } finally {
      await provider.close();
    }
  });

  test("a lockout after failed logins shows (the account's and each address's), filters with --locked-out, and unlock ends it; --locked means disabled", async () => {
    ok(await ecm(["users", "create", "lo-user", "--password-stdin"], { stdin: "Lockout-Passw0rd!" }));
    const wrongLogin = async () => assert.equal((await ecm(["whoami"], { env: { ECM_USERNAME: "lo-user", ECM_PASSWORD: "wrong-password" } })).code, 3);
    assert.deepEqual(JSON.parse(ok(await ecm(["users", "show", "lo-user", "-o", "json"])).stdout).lockout, { lockedOutUntil: null, failedLogins: 0, addresses: [] });
    assert.match(ok(await ecm(["users", "show", "lo-user"])).stdout, /^lockout:$/m, "no lockout: nothing to say");
    await wrongLogin();
    assert.match(ok(await ecm(["users", "show", "lo-user"])).stdout, /^lockout:\s+unfamiliar addresses 1 failed login, 127\.0\.0\.1 1 failed login$/m);
    for (let i = 0; i < 4; i++) await wrongLogin();
    const shown = JSON.parse(ok(await ecm(["users", "show", "lo-user", "-o", "json"])).stdout);
    assert.equal(shown.locked, false);
    assert.equal(shown.lockedOut, true);
    assert.ok(Date.parse(shown.lockedOutUntil) > Date.now());
    // The API's answer as it is: the account-wide lockout and the address the failures came from.
    assert.equal(shown.lockout.lockedOutUntil, shown.lockedOutUntil);
    assert.deepEqual(shown.lockout.addresses.map((a: { address: string; failedLogins: number; lastLoginAt: string | null }) => [a.address, a.failedLogins, a.lastLoginAt]), [["127.0.0.1", 0, null]]);
    assert.ok(Date.parse(shown.lockout.addresses[0].lockedOutUntil) > Date.now());
    const table = ok(await ecm(["users", "show", "lo-user"])).stdout;
    assert.match(table, /^lockedOut:\s+true$/m);
    assert.match(table, new RegExp(`^lockout:\\s+unfamiliar addresses locked out until ${shown.lockedOutUntil}, 127\\.0\\.0\\.1 locked out until ${shown.lockout.addresses[0].lockedOutUntil}$`, "m"));
    const listed = (json: string) => (JSON.parse(json) as { username: string }[]).map((u) => u.username);
    assert.ok(listed(ok(await ecm(["users", "list", "--locked-out", "-o", "json"])).stdout).includes("lo-user"));
    assert.ok(!listed(ok(await ecm(["users", "list", "--locked", "-o", "json"])).stdout).includes("lo-user"));
    assert.equal(ok(await ecm(["users", "count", "--locked-out", "-s", "lo-user"])).stdout, "1\n");
    ok(await ecm(["users", "unlock", "lo-user"]));
    assert.ok(!listed(ok(await ecm(["users", "list", "--locked-out", "-o", "json"])).stdout).includes("lo-user"));
    const unlocked = JSON.parse(ok(await ecm(["users", "show", "lo-user", "-o", "json"])).stdout);
    assert.equal(unlocked.lockedOutUntil, null);
    assert.deepEqual(unlocked.lockout, { lockedOutUntil: null, failedLogins: 0, addresses: [] });
    assert.match(ok(await ecm(["users", "list", "--help"], { auth: false })).stdout, /--locked {12}only locked accounts, that is disabled ones/);
  });

  test("export --file errors name the file given, not a temporary one", async () => {
    const file = join(home, "no-such-dir", "backup.json");
    const r = await ecm(["export", "--file", file]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.split("\n").filter((l) => l.startsWith("ecm:")).join("\n"), `ecm: cannot write ${file}: no such directory`);
    const dir = join(home, "a-directory");
    mkdirSync(dir);
    const isDir = await ecm(["export", "--file", dir]);
    assert.match(isDir.stderr, new RegExp(`ecm: cannot write ${dir}: it is a directory\n$`));
    assert.deepEqual(readdirSync(home).filter((n) => n.endsWith(".tmp")), []);
    // A file its user may not write is refused, as the shell's `>` refuses it, not replaced by the rename
    // (run as another user where the test runs as root, whom no file refuses).
    async function exportOverReadOnlyFile(): Promise<void> {
      const shared = mkdtempSync(join(tmpdir(), "ecm-cli-read-only-"));
      chmodSync(shared, 0o777);
      const kept = join(shared, "kept.json");
      writeFileSync(kept, "last month's export\n", { mode: 0o444 });
      const other = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      const env = { ...process.env, ECM_URL: server.baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: server.adminPassword, XDG_CONFIG_HOME: shared };
      const refused = await promisify(execFile)(process.execPath, [ECM_BIN, "export", "--file", kept], { env, ...other }).then(() => ({ code: 0, stderr: "" }), (e: { code: number; stderr: string }) => e);
      assert.deepEqual([refused.code, refused.stderr.split("\n").filter((l) => l.startsWith("ecm:"))], [1, [`ecm: cannot write ${kept}: permission denied`]]);
      assert.equal(readFileSync(kept, "utf8"), "last month's export\n");
      assert.deepEqual(readdirSync(shared).filter((n) => n.endsWith(".tmp")), []);
      rmSync(shared, { recursive: true, force: true });
    }
    // As root, only where another user can reach this checkout (a clone in root's home cannot be run by anyone else).
    if (process.getuid?.() !== 0 || reachableByAll(ECM_BIN)) await exportOverReadOnlyFile();
    assert.equal((await ecm(["export", "--file", ""])).code, 2);
    const missing = join(home, "no-such-users.csv");
    assert.equal((await ecm(["import", missing])).stderr, `ecm: cannot read ${missing}: no such file\n`);
    assert.equal((await ecm(["import", dir])).stderr, `ecm: cannot read ${dir}: it is a directory\n`);
    const ca = await ecm(["directories", "create", "ca-missing", "--connection-url", "ldaps://ldap.example", "--base-dn", "dc=example", "--ca-file", missing]);
    assert.equal(ca.stderr, `ecm: cannot read ${missing}: no such file\n`);
    // A name longer than any the server searches for is no user's or group's.
    for (const kind of ["users", "groups"]) {
      const long = await ecm([kind, "show", "x".repeat(300)]);
      assert.equal(long.code, 4, long.stderr);
      assert.match(long.stderr, /does not exist\n$/);
    }
    // A server URL that is none is said as the option or variable it came from: a usage error.
    for (const [args, env, from] of [[["users", "count", "--url", "127.0.0.1:8080/portal"], {}, "--url"], [["users", "count"], { ECM_URL: "localhost:8080/portal" }, "ECM_URL"]] as const) {
      const r = await ecm([...args], { env: { ...env } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^ecm: ${from} must be an http\\(s\\) URL such as http://127\\.0\\.0\\.1:8080/portal, not "`));
    }
  });

  test("export --file writes through a symbolic link (the link stays) and into a pipe (never replaced by a file)", async () => {
    const dir = join(home, "through");
    mkdirSync(join(dir, "real"), { recursive: true });
    const link = join(dir, "link.json");
    symlinkSync(join(dir, "real", "export.json"), link);
    ok(await ecm(["export", "--file", link]));
    assert.ok(lstatSync(link).isSymbolicLink(), "the link stays");
    assert.ok(Array.isArray(JSON.parse(readFileSync(join(dir, "real", "export.json"), "utf8")).users));
    assert.equal(statSync(join(dir, "real", "export.json")).mode & 0o777, 0o600, "made as any export file is");
    ok(await ecm(["export", "--file", link])); // a link to a file that exists now
    assert.ok(lstatSync(link).isSymbolicLink());
    const pipe = join(dir, "pipe");
    await promisify(execFile)("mkfifo", [pipe]);
    const read = readFile(pipe, "utf8");
    ok(await ecm(["export", "--file", pipe]));
    assert.ok(Array.isArray(JSON.parse(await read).users), "the reader got the export");
    assert.ok(lstatSync(pipe).isFIFO(), "still a pipe");
    // /dev/stdout, a link to the pipe the output goes into, is written to as well.
    const env = { ...process.env, ECM_URL: server.baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: server.adminPassword, XDG_CONFIG_HOME: join(home, "dev-stdout") };
    // Into a shell's pipe, and into the socket a parent process reads the output from.
    const shell = `${JSON.stringify(process.execPath)} ${JSON.stringify(ECM_BIN)} export --file /dev/stdout | cat`;
    for (const [command, args] of [["sh", ["-c", shell]], [process.execPath, [ECM_BIN, "export", "--file", "/dev/stdout"]]] as const) {
      const piped = await promisify(execFile)(command, [...args], { env, maxBuffer: 64 * 2 ** 20 });
      assert.ok(Array.isArray(JSON.parse(piped.stdout).users), command);
    }
  });

  test("an export to a name of standard output is told apart from one to a file (no progress bar runs into it on a terminal)", async () => {
    assert.equal(new ExportSink({ write: () => true }, undefined).toStandardOutput, true);
    assert.equal(new ExportSink({ write: () => true }, "/dev/stdout").toStandardOutput, true);
    const toFile = new ExportSink({ write: () => true }, join(home, "told-apart.json"));
    assert.equal(toFile.toStandardOutput, false);
    await toFile.close(false);
    // `-` is standard output, as `ecm import -` reads standard input: not a file named "-".
    const dashed = ok(await ecm(["export", "--file", "-"]));
    assert.ok(Array.isArray(JSON.parse(dashed.stdout).users), dashed.stderr);
    assert.equal(existsSync("-"), false, "no file named -");
    assert.match(ok(await ecm(["export", "--help"], { auth: false })).stdout, /-f, --file PATH {7}write to this file instead of standard output \(-: standard output\)\n/);
  });

  test("an export ended by a signal leaves no partial file, and ends as the signal ends a process", async () => {
    const dir = join(home, "signalled");
    mkdirSync(dir);
    const sink = new URL("../../dist/commands/export/sink.js", import.meta.url).pathname;
    // A sink that has written part of an export when the signal comes (as Ctrl-C midway would).
    const script = `import { ExportSink } from ${JSON.stringify(sink)};
      const sink = new ExportSink(process.stdout, ${JSON.stringify(join(dir, "backup.json"))});
      await sink.write("x".repeat(100000));
      await sink.flush();
      process.kill(process.pid, process.argv.at(-1));
      setTimeout(() => {}, 5000);`;
    for (const signal of ["SIGINT", "SIGTERM"]) {
      const child = spawn(process.execPath, ["--input-type=module", "-e", script, signal], { stdio: "ignore" });
      const ended = await new Promise<string | null>((resolve) => child.on("exit", (_code, sig) => resolve(sig)));
      assert.equal(ended, signal);
      assert.deepEqual(readdirSync(dir), [], `${signal}: nothing left`);
    }
  });
});

/** `ecm args…` as a process of its own (the launcher in front of the build), as a script runs it. */
async function ecmProcess(args: string[], env: Record<string, string>): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ECM_BIN, ...args], { env: { PATH: process.env.PATH ?? "", HOME: home, XDG_CONFIG_HOME: join(home, "cfg-process"), ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe("as a script author meets it", () => {
  test("shows name the groups an identity provider or a directory maps to, as users show names a user's groups: a table and CSV never show their guids; JSON keeps the API's", async () => {
    ok(await ecm(["groups", "create", "cli-named-staff"]));
    const guid = JSON.parse(ok(await ecm(["groups", "show", "cli-named-staff", "-o", "json"])).stdout).guid as string;
    const endpoints = ["--issuer", "https://idp.example", "--authorization-url", "https://idp.example/auth", "--token-url", "https://idp.example/token", "--jwks-url", "https://idp.example/jwks"];
    ok(await ecm(["idps", "create", "cli-named", "--client-id", "ecm", ...endpoints, "-g", "cli-named-staff", "-m", "admins=cli-named-staff"], { env: { ECM_CLIENT_SECRET: "cli-secret-123" } }));
    ok(await ecm(["directories", "create", "cli-named-dir", "--connection-url", "ldap://127.0.0.1:9", "--base-dn", "dc=example", "-m", "cn=admins,dc=example=cli-named-staff"]));
    try {
      const shown = ok(await ecm(["idps", "show", "cli-named"])).stdout;
      assert.match(shown, /^defaultGroupList: +cli-named-staff$/m);
      assert.match(shown, /^customGroupList: +admins=cli-named-staff$/m);
      assert.match(ok(await ecm(["directories", "show", "cli-named-dir"])).stdout, /^groupMappings: +cn=admins,dc=example=cli-named-staff$/m);
      const idpCsv = parseCsv(ok(await ecm(["idps", "show", "cli-named", "-o", "csv"])).stdout);
      assert.deepEqual(["defaultGroupList", "customGroupList"].map((c) => idpCsv[1]![idpCsv[0]!.indexOf(c)]), ["cli-named-staff", "admins=cli-named-staff"]);
      for (const args of [["idps", "show", "cli-named"], ["idps", "list"], ["idps", "update", "cli-named", "--gui-order", "2"], ["directories", "show", "cli-named-dir"], ["directories", "list"], ["directories", "update", "cli-named-dir", "--priority", "1"]]) {
        for (const format of ["table", "csv"]) assert.ok(!ok(await ecm([...args, "-o", format])).stdout.includes(guid), `${args.join(" ")} -o ${format}`);
      }
      assert.deepEqual(JSON.parse(ok(await ecm(["idps", "show", "cli-named", "-o", "json"])).stdout).customGroupList, [{ idpGroupName: "admins", localGroupId: guid }]);
      assert.deepEqual(JSON.parse(ok(await ecm(["directories", "show", "cli-named-dir", "-o", "json"])).stdout).groupMappings, [{ groupDn: "cn=admins,dc=example", localGroupId: guid }]);
      // A user's profile (a number in profileId) by its name beside it, in every format.
      const profile = JSON.parse(ok(await ecm(["users", "create", "cli-named-profile", "--profile-id", "0", "-o", "json"])).stdout);
      ok(await ecm(["users", "create", "cli-named-profiled", "--profile-id", String(profile.id)]));
      assert.match(ok(await ecm(["users", "show", "cli-named-profiled"])).stdout, new RegExp(`^profileId: +${profile.id}\n(.*\n)*profile: +cli-named-profile$`, "m"));
      assert.equal(JSON.parse(ok(await ecm(["users", "show", "cli-named-profiled", "-o", "json"])).stdout).profile, "cli-named-profile");
      assert.equal(JSON.parse(ok(await ecm(["users", "show", "cli-named-profile", "-o", "json"])).stdout).profile, null);
      // As do the users lists, on a table and in CSV (JSON keeps the API's answer: the number alone).
      for (const list of [["users", "list", "-s", "cli-named-profile"], ["groups", "members", "users"]]) {
        const table = ok(await ecm(list)).stdout;
        assert.match(table, new RegExp(`^\\d+ +cli-named-profiled .* ${profile.id} +cli-named-profile +[0-9a-f-]{36}$`, "m"), list.join(" "));
        const csv = parseCsv(ok(await ecm([...list, "-o", "csv"])).stdout);
        const row = csv.find((r) => r[1] === "cli-named-profiled")!;
        assert.deepEqual([row[csv[0]!.indexOf("profileId")], row[csv[0]!.indexOf("profile")]], [String(profile.id), "cli-named-profile"], list.join(" "));
        const json = JSON.parse(ok(await ecm([...list, "-o", "json"])).stdout).find((u: { username: string }) => u.username === "cli-named-profiled");
        assert.deepEqual([json.profileId, "profile" in json], [profile.id, false]);
      }
    } finally {
      ok(await ecm(["idps", "delete", "cli-named", "-y"]));
      ok(await ecm(["directories", "delete", "cli-named-dir", "-y"]));
    }
  });

  test("every command that writes CSV writes text in its cells, as its table does: lists and objects joined with `;`, never JSON", async () => {
    const endpoints = ["--issuer", "http://127.0.0.1:9", "--authorization-url", "http://127.0.0.1:9/auth", "--token-url", "http://127.0.0.1:9/token", "--jwks-url", "http://127.0.0.1:9/jwks"];
    const secret = { env: { ECM_CLIENT_SECRET: "cli-secret-123" } };
    ok(await ecm(["idps", "create", "cli-csv", "-n", "CSV SSO", "--client-id", "ecm", ...endpoints], secret));
    ok(await ecm(["users", "create", "cli-csv-user", "--password-stdin"], { stdin: "Csv-Passw0rd-1!\n" }));
    ok(await ecm(["users", "link", "cli-csv-user", "cli-csv", "sub-csv"]));
    // A failed login: the lockout object has an address in it.
    assert.equal((await ecm(["whoami"], { auth: false, env: { ECM_URL: server.baseUrl, ECM_USERNAME: "cli-csv-user", ECM_PASSWORD: "wrong-password-1" } })).code, 3);
    const csvFile = join(home, "csv-import.csv");
    writeFileSync(csvFile, "username,groups\ncli-csv-imported,users\n");
    const runs: Record<string, string[]> = {
      whoami: ["whoami"],
      "users list": ["users", "list", "-x", "-s", "cli-csv"],
      "users count": ["users", "count"],
      "users show": ["users", "show", "cli-csv-user"],
      "users create": ["users", "create", "cli-csv-made"],
      "users update": ["users", "update", "cli-csv-made", "--remark", "x"],
      "users lock": ["users", "lock", "cli-csv-made"],
      "users unlock": ["users", "unlock", "cli-csv-made"],
      "users groups": ["users", "groups", "cli-csv-user"],
      "users roles": ["users", "roles", "sysadmin"],
      "api-keys create": ["api-keys", "create", "cli-csv-user", "csv key"],
      "api-keys list": ["api-keys", "list", "cli-csv-user"],
      "groups create": ["groups", "create", "cli-csv-group"],
      "groups update": ["groups", "update", "cli-csv-group", "--description", "d"],
      "groups list": ["groups", "list"],
      "groups show": ["groups", "show", "users"],
      "groups members": ["groups", "members", "users", "-x"],
      "groups roles": ["groups", "roles", "administrators"],
      "roles list": ["roles", "list"],
      "idps list": ["idps", "list"],
      "idps show": ["idps", "show", "cli-csv"],
      "idps create": ["idps", "create", "cli-csv-2", "--client-id", "ecm", ...endpoints],
      "idps update": ["idps", "update", "cli-csv-2", "--gui-order", "3"],
      "idps test": ["idps", "test", "cli-csv"],
      "directories create": ["directories", "create", "cli-csv-dir", "--connection-url", "ldap://127.0.0.1:9", "--base-dn", "dc=example", "-g", "cn=a,dc=example", "-m", "cn=a,dc=example=users", "-m", "cn=b,dc=example=users"],
      "directories update": ["directories", "update", "cli-csv-dir", "--full-every", "3600"],
      "directories list": ["directories", "list"],
      "directories show": ["directories", "show", "cli-csv-dir"],
      "directories test": ["directories", "test", "cli-csv-dir"],
      "directories sync": ["directories", "sync", "cli-csv-dir"],
      import: ["import", csvFile, "--dry-run"],
      "audit list": ["audit", "list", "-n", "200"],
    };
    const writers = COMMANDS.filter((c) => (c.formats ?? ["csv"]).includes("csv")).map((c) => c.path.join(" "));
    assert.deepEqual(Object.keys(runs).sort(), writers.sort(), "every command that writes CSV is run here");
    try {
      const tables: Record<string, string[][]> = {};
      for (const [name, args] of Object.entries(runs)) {
        const r = await ecm([...args, "-o", "csv"], secret);
        assert.ok(r.code === 0 || (name.endsWith(" test") && r.code === 1), `${name}: exit ${r.code}: ${r.stderr}`);
        const rows = parseCsv(r.stdout);
        assert.ok(rows.length >= 2, `${name}: a header and rows`);
        for (const row of rows) for (const cell of row) assert.doesNotMatch(cell, /^(\{"|\[[{"\]]|\{\})/, `${name}: ${cell}`);
        tables[name] = rows;
      }
      const cell = (name: string, column: string, row = 1) => tables[name]![row]![tables[name]![0]!.indexOf(column)];
      assert.equal(cell("users show", "source"), "local");
      assert.equal(cell("users show", "federatedIdentities"), "cli-csv (CSV SSO)");
      assert.match(cell("users show", "lockout")!, /(^|;)127\.0\.0\.1 1 failed login$/);
      assert.match(cell("idps test", "steps")!, /^keys FAILED: /);
      assert.match(cell("directories test", "steps")!, /^connect FAILED: /);
      assert.equal(cell("directories show", "syncPeriodSeconds"), "full=3600;changed=0");
      const created = tables["audit list"]!.slice(1).find((row) => row[3] === "group.update")!;
      assert.match(created[9]!, /^before\.description=;after\.description=d$/);
      // A list of objects (the directory's group mappings) numbers its items' fields: which is whose is never a guess.
      const directory = tables["audit list"]!.slice(1).find((row) => row[3] === "directory.create" && row[5] === "cli-csv-dir")!;
      assert.match(directory[9]!, /(^|;)after\.groupMappings\.0\.groupDn=cn=a,dc=example;after\.groupMappings\.0\.localGroupId=[0-9a-f-]{36};after\.groupMappings\.1\.groupDn=cn=b,dc=example;after\.groupMappings\.1\.localGroupId=[0-9a-f-]{36}(;|$)/);
    } finally {
      for (const args of [["idps", "delete", "cli-csv", "-y"], ["idps", "delete", "cli-csv-2", "-y"], ["directories", "delete", "cli-csv-dir", "-y"], ["users", "delete", "cli-csv-user", "-y"], ["users", "delete", "cli-csv-made", "-y"], ["groups", "delete", "cli-csv-group", "-y"]]) await ecm(args);
    }
  });

  test("a newcomer's mistakes are said in words, with the documented exit code: wrong options, missing arguments (before anything is asked of the server), a server that is down, an expired login", async () => {
    const env = { ECM_URL: server.baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: server.adminPassword };
    const said = async (args: string[], code: number, stderr: RegExp, withEnv: Record<string, string> = env) => {
      const r = await ecmProcess(args, withEnv);
      assert.deepEqual([r.code, r.stdout], [code, ""], `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr.trimEnd(), stderr, args.join(" "));
      assert.equal(r.stderr.split("\n").length, 2, `one line: ${r.stderr}`);
    };
    await said(["users", "list", "--grup", "staff"], 2, /^ecm: Unknown option '--grup'.*did you mean "--group"/);
    // The arguments the usage line names are counted first: not "group does not exist" (exit 4) for a role left out.
    await said(["roles", "grant", "cli-no-such-group"], 2, /^ecm: missing argument <role> \(see "ecm roles grant --help"\)$/);
    await said(["roles", "revoke", "cli-no-such-group"], 2, /^ecm: missing argument <role> /);
    await said(["groups", "add-member", "cli-no-such-group"], 2, /^ecm: missing argument <user> /);
    await said(["users", "link", "cli-nobody", "corp"], 2, /^ecm: missing argument <subject> /);
    await said(["api-keys", "revoke", "cli-nobody"], 2, /^ecm: missing argument <key> /);
    await said(["users", "show", "a", "b"], 2, /^ecm: unexpected argument: b /);
    // A value the server refuses: its words name its field, the line ends with the option that gave it.
    await said(["users", "create", "cli-newcomer", "--valid-to", "tomorrow"], 7, /^ecm: ECMS1001-E validTo is not an ISO 8601 date .* \(--valid-to\)$/);
    await said(["audit", "list", "--from", "yesterday"], 7, /^ecm: ECMS1001-E from is not a valid ISO 8601 time .* \(--from\)$/);
    // A server that is down: why, in words, not a bare system code.
    await said(["users", "list"], 8, /^ecm: cannot reach http:\/\/127\.0\.0\.1:\d+\/portal: nothing answers on that port: is the server running, and is the URL right\? \(ECONNREFUSED\)$/, { ...env, ECM_URL: `http://127.0.0.1:${await closedPort()}/portal` });
    // A login whose session has ended (expired or logged out elsewhere): log in again.
    const saved = join(home, "cfg-process");
    await said(["login", "--url", server.baseUrl, "-u", "sysadmin"], 0, /^Logged in to /, { ECM_PASSWORD: server.adminPassword });
    const token = (JSON.parse(readFileSync(join(saved, "ecm", "config.json"), "utf8")) as { token: string }).token;
    await said(["logout"], 0, /^Logged out: the session of ECM_TOKEN ended/, { ECM_URL: server.baseUrl, ECM_TOKEN: token });
    await said(["users", "list"], 3, /^ecm: ECMS1101-E The token or API key is invalid, expired or revoked\. \(run "ecm login"\)$/, {});
  });
});

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const { createServer } = await import("node:net");
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

test("a progress bar is drawn on the terminal only when the data does not go there too (it would run into it)", () => {
  for (const [dataOnTerminal, bar] of [[true, false], [false, true]] as const) {
    let err = "";
    const progress = new Progress({ write: (s: string) => (err += s), isTTY: true }, "Importing", 10, String, { write: () => true, isTTY: dataOnTerminal });
    progress.update(10, "10 rows");
    progress.done("10 created");
    assert.equal(err.includes("[####"), bar, err);
    assert.ok(err.endsWith("10 created\n"));
  }
});

test("table output streams after sizing its columns on the first 1000 rows", () => {
  let out = "";
  const p = new ListPrinter({ write: (s: string) => (out += s) }, "table", ["n", "name"]);
  for (let i = 0; i < 10_000; i++) p.add({ n: i, name: i === 1200 ? "a-much-longer-name" : `u${i}` });
  assert.ok(out.length > 0, "first rows were written before the end");
  p.end();
  const lines = out.trimEnd().split("\n");
  assert.equal(lines.length, 10_001);
  assert.equal(lines[0], "N    NAME"); // widths from the first 1000 rows (n ≤ 999)
  assert.equal(lines[1], "0    u0");
  assert.equal(lines[1201], "1200  a-much-longer-name");
});

test("CSV cells a spreadsheet would run as formulas are escaped; numbers are not", () => {
  let out = "";
  const p = new ListPrinter({ write: (s: string) => (out += s) }, "csv", ["a", "b", "c", "d", "e", "f", "g"]);
  p.add({ a: "=HYPERLINK(\"x\")", b: "+1", c: "-1", d: "@SUM(A1)", e: "\tx", f: -1, g: ["=a", "b"] });
  p.add({ a: "plain", b: "a=b", c: "", d: null, e: "\rx", f: 5, g: [] });
  p.end();
  assert.deepEqual(parseCsv(out).slice(1), [
    ["'=HYPERLINK(\"x\")", "'+1", "'-1", "'@SUM(A1)", "'\tx", "-1", "'=a;b"],
    ["plain", "a=b", "", "", "'\rx", "5", ""],
  ]);
});

test("tables line up Unicode (wide, emoji, combining) and escape control characters", () => {
  assert.equal(displayWidth("abc"), 3);
  assert.equal(displayWidth("日本語"), 6);
  assert.equal(displayWidth("😀"), 2);
  assert.equal(displayWidth("Zoe\u0308"), 3); // e + combining diaeresis
  assert.equal(displayWidth("👍🏽"), 2);
  let out = "";
  const p = new ListPrinter({ write: (s: string) => (out += s) }, "table", ["name", "email"]);
  for (const name of ["日本語", "Zoe\u0308", "😀x", "a\nb\u001b[31m"]) p.add({ name, email: "e" });
  p.end();
  const lines = out.trimEnd().split("\n");
  assert.equal(lines.length, 5, out);
  // EMAIL starts in the same terminal column on every line.
  const col = (l: string) => displayWidth(l.slice(0, l.lastIndexOf("e")));
  assert.deepEqual(lines.slice(1).map(col), [14, 14, 14, 14]);
  assert.equal(lines[4], "a\\nb\\x1b[31m  e");
  let obj = "";
  printObject({ write: (s: string) => (obj += s) }, "table", ["remark"], { remark: "two\nlines" });
  assert.equal(obj, "remark:  two\\nlines\n");
});

test("a table of names in Latin, Greek and Cyrillic letters is measured without splitting them into graphemes (that cost a 300 000-user table about 20 s)", () => {
  const names = ["Agnès Ahn", "Łukasz Żółć", "Ærøskøbing", "Σωκράτης", "Ёжиков Пётр", "ʻOkina", "©®±µ¿ÿ"];
  for (const n of names) assert.equal(displayWidth(n), [...n].length, n);
  // What still needs the graphemes is measured by them: a combining mark, a soft hyphen (invisible), a Cyrillic combining mark.
  assert.equal(displayWidth("Agne\u0300s"), 5);
  assert.equal(displayWidth("Ab\u00adc"), 3);
  assert.equal(displayWidth("\u0430\u0483"), 1);
  const segment = Intl.Segmenter.prototype.segment;
  let segmented = 0;
  Intl.Segmenter.prototype.segment = function (this: Intl.Segmenter, text: string) {
    segmented++;
    return segment.call(this, text);
  };
  try {
    let out = "";
    const p = new ListPrinter({ write: (s: string) => (out += s) }, "table", ["name", "email"]);
    for (let i = 0; i < 2000; i++) p.add({ name: names[i % names.length], email: `agnès.ahn${i}@example.com` });
    p.end();
    assert.equal(out.split("\n").length, 2002);
  } finally {
    Intl.Segmenter.prototype.segment = segment;
  }
  assert.equal(segmented, 0);
});

test("import checks every row on the server, dry run too, and reports the file's own line numbers (blank lines, quoted newlines)", async () => {
  const csv = 'username,remark\r\n\r\nline3,"two\nlines"\r\n\r\nbad user?,x\r\nLine3,again\r\n';
  const r = await ecm(["import", "-", "--dry-run", "-o", "csv"], { stdin: csv });
  assert.equal(r.code, 1, r.stderr);
  const rows = parseCsv(r.stdout).slice(1);
  assert.deepEqual(rows.map((x) => x.slice(0, 3)), [
    ["3", "line3", "created"],
    ["6", "bad user?", "failed"],
    ["7", "Line3", "failed"],
  ]);
  assert.match(rows[1]![3]!, /^ECMS1001-E /);
  assert.match(rows[2]![3]!, /^ECMS1301-E /);
  assert.equal((await ecm(["users", "show", "line3"])).code, 4);
});

test("csv helpers round-trip", () => {
  const rows = [["a", 'b "q"', "c,d", "line\nbreak", " pad"]];
  assert.deepEqual(parseCsv(rows.map(csvLine).join("")), rows);
  assert.throws(() => parseCsv('"open'), /unterminated/);
});

test("the ecm binary: exit codes and one-line errors, no stack traces", async () => {
  const exec = promisify(execFile);
  const env = { ...process.env, ECM_URL: server.baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: server.adminPassword, XDG_CONFIG_HOME: join(home, "bin") };
  const okRun = await exec(process.execPath, [ECM_BIN, "users", "list", "-o", "json"], { env });
  assert.ok(JSON.parse(okRun.stdout).some((u: { username: string }) => u.username === "sysadmin"));
  const fail = await exec(process.execPath, [ECM_BIN, "users", "show", "nobody-at-all"], { env }).then(
    () => assert.fail("should fail"),
    (e: { code: number; stderr: string; stdout: string }) => e,
  );
  assert.equal(fail.code, 4);
  assert.equal(fail.stderr, 'ecm: ECMS1201-E user "nobody-at-all" does not exist\n');
  const usage = await exec(process.execPath, [ECM_BIN, "users", "list", "--nope"], { env }).catch((e: { code: number; stderr: string }) => e);
  assert.equal((usage as { code: number }).code, 2);
  // Output that cannot be written (a full disk: /dev/full) is a failure said in words, short or streamed.
  for (const args of [["users", "show", "sysadmin"], ["users", "list", "-o", "csv"]]) {
    const full = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [ECM_BIN, ...args], { env, stdio: ["ignore", openSync("/dev/full", "w"), "pipe"] });
      let stderr = "";
      child.stderr!.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code, stderr }));
    });
    assert.deepEqual(full, { code: 1, stderr: "ecm: cannot write the output: no space left on the device\n" }, args.join(" "));
  }
});

test("login asks for the password on a terminal without echoing it", async () => {
  const stdin = Object.assign(new Readable({ read() {} }), { isTTY: true, setRawMode: () => stdin });
  let stderr = "";
  const cfg = join(home, "cfg-tty");
  const done = run(["login", "--url", server.baseUrl], {
    stdout: { write: () => true },
    stderr: { write: (s: string) => (stderr += s) },
    stdin,
    env: { XDG_CONFIG_HOME: cfg },
  });
  setTimeout(() => stdin.push(server.adminPassword.slice(0, 3) + "x\u007f" + server.adminPassword.slice(3) + "\r"), 50);
  assert.equal(await done, 0, stderr);
  assert.match(stderr, /^Password for sysadmin: \nLogged in to /);
  assert.ok(!stderr.includes(server.adminPassword));
  assert.ok(existsSync(join(cfg, "ecm", "config.json")));
});

test("Ctrl-D at a question cancels it (exit 1, \"cancelled\"), as the end of the terminal's input does; no control character joins a password", async () => {
  const asked = async (args: string[], typed: string | null) => {
    const stdin = Object.assign(new Readable({ read() {} }), { isTTY: true, setRawMode: () => stdin });
    let stderr = "";
    // `login` asks for the password; the others log in from the environment and ask their question.
    const credentials = args[0] === "login" ? {} : { ECM_URL: server.baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: server.adminPassword };
    const done = run(args, { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, stdin, env: { XDG_CONFIG_HOME: join(home, "cfg-ctrl-d"), ...credentials } });
    setTimeout(() => stdin.push(typed), 50);
    return { code: await done, stderr };
  };
  ok(await ecm(["users", "create", "ctrl-d-kept"]));
  for (const typed of ["\u0004", "y\u0004", null]) {
    const r = await asked(["users", "delete", "ctrl-d-kept"], typed);
    assert.equal(r.code, 1, JSON.stringify(typed));
    assert.match(r.stderr, /ecm: cancelled\n$/);
  }
  ok(await ecm(["users", "show", "ctrl-d-kept"]));
  const hidden = await asked(["login", "--url", server.baseUrl], "\u0004");
  assert.equal(hidden.code, 1);
  assert.match(hidden.stderr, /ecm: cancelled\n$/);
  // A control character or a key's escape sequence (Tab, the arrows) typed into a password is no part of it.
  const clean = await asked(["login", "--url", server.baseUrl], `\t\u001b[D${server.adminPassword.slice(0, 2)}\u001bOA${server.adminPassword.slice(2)}\r`);
  assert.equal(clean.code, 0, clean.stderr);
});

test("an import interrupted (Ctrl-C) says what was answered and that later rows may be imported too, and ends by the signal", async () => {
  const env = { ...process.env, ECM_URL: server.baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: server.adminPassword, XDG_CONFIG_HOME: join(home, "interrupted") };
  const file = join(home, "interrupted.csv");
  writeFileSync(file, `username\n${Array.from({ length: 20_000 }, (_, i) => `interrupted-${i}`).join("\n")}\n`);
  const { signal, stderr } = await new Promise<{ signal: string | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [ECM_BIN, "import", file, "-o", "ndjson"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.once("data", () => child.kill("SIGINT"));
    child.stdout.resume();
    child.on("close", (_code, sig) => resolve({ signal: sig, stderr }));
  });
  assert.equal(signal, "SIGINT");
  assert.match(stderr, /\d+ created, 0 updated, 0 unchanged, 0 failed of \d+ rows; interrupted after line \d+ \(rows sent after it may be imported too: import the file again with --update to be sure of each\)\n$/);
});

test("an import whose output's reader stops (`ecm import … | head`) imports every row all the same", async () => {
  const env = { ...process.env, ECM_URL: server.baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: server.adminPassword, XDG_CONFIG_HOME: join(home, "pipe") };
  const file = join(home, "piped.csv");
  const rows = 20_000;
  writeFileSync(file, `username\n${Array.from({ length: rows }, (_, i) => `piped-${i}`).join("\n")}\n`);
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [ECM_BIN, "import", file, "-o", "ndjson"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    // The reader takes the first results and goes away, as head does.
    child.stdout.once("data", () => child.stdout.destroy());
    child.on("close", (exit) => resolve({ code: exit, stderr }));
  });
  assert.equal(code, 0, stderr);
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  assert.equal(await ecm.security.countUsers({ search: "piped-" }), rows);
});
