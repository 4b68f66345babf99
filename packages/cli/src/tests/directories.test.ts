/** `ecm directories …` against the real server and a real slapd (StartTLS with a CA made for it). */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { startFlakyProxy, type Fault } from "../../../sdk/test/flaky-proxy.js";
import { startServerThread, type ThreadServer } from "../../../sdk/test/server-thread.js";
import { startDirectory } from "../../../server/src/test-support/directories.js";
import { DIRECTORY_SERVICE_PASSWORD, GROUPS, type DirectoryTree } from "../../../server/src/test-support/directory-trees.js";
import type { Slapd } from "../../../server/src/test-support/slapd.js";
import { ECM } from "ecm-sdk";
import { run } from "../cli.js";

let server: ThreadServer;
let tree: DirectoryTree;
let slapd: Slapd;
let home: string;
let caFile: string;

before(async () => {
  [server, { tree, slapd }] = await Promise.all([startServerThread(), startDirectory("openldap", 200)]);
  home = mkdtempSync(join(tmpdir(), "ecm-cli-directories-"));
  caFile = join(home, "ca.pem");
  writeFileSync(caFile, slapd.caPem!);
});
after(async () => {
  await server?.close();
  await slapd?.remove();
  if (home) rmSync(home, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ecm args…` in-process as sysadmin; `tty`: stderr is a terminal (the progress bar). */
async function ecm(args: string[], opts: { env?: Record<string, string>; stdin?: string; tty?: boolean } = {}): Promise<Result> {
  let stdout = "";
  let stderr = "";
  const env = { XDG_CONFIG_HOME: join(home, "cfg"), HOME: home, ECM_URL: server.baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: server.adminPassword, ...opts.env };
  const code = await run(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: opts.tty === true },
    stdin: Readable.from(opts.stdin === undefined ? [] : [opts.stdin]),
    env,
  });
  return { code, stdout, stderr };
}

function ok(r: Result): Result {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r;
}

test("directories create/list/show/test/update; the bind password from stdin or the environment, never shown", async () => {
  ok(await ecm(["groups", "create", "cli-dir-staff"]));
  const connection = ["--vendor", "other", "--connection-url", slapd.url, "--start-tls", "--ca-file", caFile, "--base-dn", tree.suffix, "--bind-dn", tree.serviceDn, "--user-filter", tree.userFilter];
  const created = ok(await ecm(["directories", "create", "cli-ldap", ...connection, "-g", tree.groupDn(GROUPS[0]), "-m", `${tree.groupDn(GROUPS[0])}=cli-dir-staff`, "-a", "email=mail", "--bind-password-stdin", "-o", "json"], { stdin: `${DIRECTORY_SERVICE_PASSWORD}\n` }));
  // Stdin is read only when asked: this one has no password, and a bind DN without one (an unauthenticated
  // bind, RFC 4513) is refused, naming the options that give it — with nothing on stdin, or an empty line.
  for (const [extra, stdin] of [[[], DIRECTORY_SERVICE_PASSWORD], [[], undefined], [["--bind-password-stdin"], "\n"]] as const) {
    const nopass = await ecm(["directories", "create", "cli-nopass", ...connection, ...extra], { stdin });
    assert.equal(nopass.code, 7, nopass.stderr);
    assert.match(nopass.stderr, /bindDn .* needs its bindPassword: a bind with a DN and no password is an unauthenticated bind .* \(give it with --bind-password-stdin or ECM_BIND_PASSWORD\)$/m);
  }
  const untested = await ecm(["directories", "test", ...connection]);
  assert.equal(untested.code, 7, untested.stderr);
  assert.match(untested.stderr, /needs its bindPassword.* \(give it with --bind-password-stdin or ECM_BIND_PASSWORD\)$/m);
  const d = JSON.parse(created.stdout);
  assert.equal(d.name, "cli-ldap");
  assert.equal(d.vendor, "OTHER");
  assert.equal(d.startTls, true);
  assert.equal(d.bindPassword, null, "JSON has the API's value");
  assert.deepEqual(d.groupEntryDnList, [tree.groupDn(GROUPS[0])]);
  assert.equal(d.groupMappings.length, 1);
  assert.equal(d.attributeMapping.email, "mail", "JSON has the API's objects");

  const listed = ok(await ecm(["directories", "list", "-o", "ndjson"])).stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(listed.map((x) => x.name), ["cli-ldap"]);
  const shown = ok(await ecm(["directories", "show", "CLI-LDAP"])).stdout;
  assert.match(shown, /^caCertificate: +\(PEM set\)$/m);
  assert.match(shown, /^attributeMapping: +.*email=mail/m, "a table writes the mapping out");
  assert.match(shown, /^bindPassword: +\(write-only\)$/m, "a table says why the password is not shown");
  assert.equal(JSON.parse(ok(await ecm(["directories", "show", "cli-ldap", "-o", "json"])).stdout).bindPassword, null);
  for (const r of [created.stdout, shown]) assert.ok(!r.includes(DIRECTORY_SERVICE_PASSWORD));

  const testedRun = await ecm(["directories", "test", "cli-ldap"]);
  const tested = testedRun.stdout;
  assert.equal(testedRun.code, 0, tested);
  assert.match(tested, /^ok: +true$/m);
  assert.match(tested, /connect ok: .*StartTLS\), bind ok/);
  assert.match(tested, new RegExp(`^usersFound: +${tree.userCount}$`, "m"));
  // An unsaved configuration, its password from the environment: a wrong one is a refused bind, exit 1.
  const refused = await ecm(["directories", "test", ...connection, "-o", "json"], { env: { ECM_BIND_PASSWORD: "wrong" } });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(JSON.parse(refused.stdout).message, /refused the bind/);

  const updated = JSON.parse(ok(await ecm(["directories", "update", d.id, "--name", "cli-ldap-2", "--full-every", "3600", "--disable-limit", "5", "-o", "json"])).stdout);
  assert.deepEqual([updated.name, updated.syncPeriodSeconds, updated.disableLimitPercent], ["cli-ldap-2", { full: 3600, changed: 0 }, 5]);
  const kept = await ecm(["directories", "test", "cli-ldap-2", "-o", "json"]);
  assert.equal(kept.code, 0, `an update without the password keeps it: ${kept.stdout}`);
  // "" gives a filter back to the vendor's default.
  const own = JSON.parse(ok(await ecm(["directories", "update", "cli-ldap-2", "--group-filter", "(objectClass=groupOfNames)", "-o", "json"])).stdout);
  assert.equal(own.groupFilter, "(objectClass=groupOfNames)");
  const back = JSON.parse(ok(await ecm(["directories", "update", "cli-ldap-2", "--group-filter", "", "-o", "json"])).stdout);
  assert.equal(back.groupFilter, "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))");
  // "" empties the lists of groups and mappings, which other values replace.
  const none = JSON.parse(ok(await ecm(["directories", "update", "cli-ldap-2", "-g", "", "-m", "", "-o", "json"])).stdout);
  assert.deepEqual([none.groupEntryDnList, none.groupMappings], [[], []]);
  const again = JSON.parse(ok(await ecm(["directories", "update", "cli-ldap-2", "-g", tree.groupDn(GROUPS[0]), "-m", `${tree.groupDn(GROUPS[0])}=cli-dir-staff`, "-o", "json"])).stdout);
  assert.deepEqual([again.groupEntryDnList, again.groupMappings.length], [[tree.groupDn(GROUPS[0])], 1]);
  // The stored password goes nowhere new: another server needs it again, and the refusal names the option that gives it.
  const elsewhere = await ecm(["directories", "update", "cli-ldap-2", "--connection-url", "ldap://127.0.0.1:1"]);
  assert.equal(elsewhere.code, 7);
  assert.match(elsewhere.stderr, /bindPassword must be sent again .* \(give it with --bind-password-stdin or ECM_BIND_PASSWORD\)$/m);
  // --bind-dn "" reads anonymously, as its help says: the stored password, the former account's, goes with it.
  // (ECM_BIND_PASSWORD, set for other commands, is not sent with it.)
  const anonymous = JSON.parse(ok(await ecm(["directories", "update", "cli-ldap-2", "--bind-dn", "", "-o", "json"], { env: { ECM_BIND_PASSWORD: DIRECTORY_SERVICE_PASSWORD } })).stdout);
  assert.equal(anonymous.bindDn, null);
  ok(await ecm(["directories", "update", "cli-ldap-2", "--bind-dn", tree.serviceDn, "--bind-password-stdin"], { stdin: DIRECTORY_SERVICE_PASSWORD }));
  assert.equal((await ecm(["directories", "test", "cli-ldap-2"])).code, 0, "the account and its password given again");

  for (const args of [
    ["directories", "update", "cli-ldap-2"],
    ["directories", "create", "x", "--base-dn", "dc=x"],
    ["directories", "create", "x", ...connection, "--bind-password", "secret"],
    ["directories", "create", "x", ...connection, "--vendor", "novell"],
    ["directories", "create", "x", ...connection, "-a", "colour=blue"],
    ["directories", "update", "cli-ldap-2", "--page-size", "many"],
    ["directories", "test", "cli-ldap-2", "--base-dn", "dc=x"],
    ["directories", "sync", "cli-ldap-2", "--mode", "partial"],
    ["directories", "delete", "cli-ldap-2", "--users", "keep"],
  ]) {
    const r = await ecm(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
  }
  assert.equal((await ecm(["directories", "show", "nowhere"])).code, 4);
  assert.equal((await ecm(["directories", "create", "y", ...connection.map((a) => (a === slapd.url ? "http://x" : a))])).code, 7);
});

test("directories sync: --wait follows the run (a bar on a terminal) to its end; --status shows it; delete keeps the users disabled", async () => {
  const first = ok(await ecm(["directories", "sync", "cli-ldap-2", "--wait", "-o", "json"]));
  const run = JSON.parse(first.stdout);
  assert.equal(run.state, "succeeded", run.message);
  assert.equal(run.created, tree.userCount - 1, "one entry has an invalid username");
  assert.match(first.stderr, new RegExp(`^succeeded: ${tree.userCount - 1} created, 0 updated, 0 disabled, 0 unchanged, 1 failed of ${tree.userCount} users`, "m"));
  assert.equal(run.problems.length, 1);
  assert.equal(typeof run.problems[0].dn, "string", "JSON has the API's problems");

  // Again, on a terminal: the bar's total is what the last full sync saw.
  const again = ok(await ecm(["directories", "sync", "cli-ldap-2", "--wait"], { tty: true }));
  assert.match(again.stderr, new RegExp(`\\rSyncing cli-ldap-2 \\[-+\\] 0/${tree.userCount} `));
  assert.match(again.stderr, /succeeded: 0 created, 0 updated, 0 disabled, \d+ unchanged/);
  assert.match(again.stdout, /^state: +succeeded$/m);

  const changed = JSON.parse(ok(await ecm(["directories", "sync", "cli-ldap-2", "--mode", "changed", "--wait", "-o", "json"])).stdout);
  assert.deepEqual([changed.mode, changed.state, changed.created], ["changed", "succeeded", 0]);
  // --force is a full sync's: with --mode changed it would force nothing, yet be audited as forced.
  const forcedChange = await ecm(["directories", "sync", "cli-ldap-2", "--mode", "changed", "--force"]);
  assert.deepEqual([forcedChange.code, forcedChange.stderr], [2, 'ecm: --force applies to a full sync: a changed sync disables nobody (see "ecm directories sync --help")\n']);
  const status = JSON.parse(ok(await ecm(["directories", "sync", "cli-ldap-2", "--status", "-o", "json"])).stdout);
  assert.equal(status.id, changed.id);
  // The list says when each directory last synced (a table too, not only its JSON).
  const table = ok(await ecm(["directories", "list"])).stdout.split("\n");
  const at = table[0]!.indexOf("LASTSYNCSTARTEDAT");
  assert.ok(at > 0, table[0]);
  assert.equal(table.find((l) => / cli-ldap-2 /.test(l))?.slice(at).trim(), status.startedAt);
  // Without --wait: the run as it began.
  const started = JSON.parse(ok(await ecm(["directories", "sync", "cli-ldap-2", "-o", "json"])).stdout);
  assert.equal(started.mode, "full");
  ok(await ecm(["directories", "sync", "cli-ldap-2", "--status", "--wait"]));

  // A restart of the server while --wait follows the run: its polls refused for longer than the SDK's own retries wait.
  const proxy = await startFlakyProxy(server.baseUrl);
  try {
    const env = { ECM_URL: proxy.baseUrl };
    proxy.clearPassed();
    ok(await ecm(["directories", "sync", "cli-ldap-2", "--wait"], { env }));
    // The requests up to the run's start pass (an answer shorter than the stall's limit ends as it is), then the first poll meets the restart.
    const start = proxy.passed.findIndex((r) => /^POST \S+\/sync /.test(r));
    proxy.faults = [...Array<Fault>(start + 1).fill({ stallAfter: Number.MAX_SAFE_INTEGER }), "drop", "drop", "drop", "drop", "drop", "drop"];
    const followed = ok(await ecm(["directories", "sync", "cli-ldap-2", "--wait", "-o", "json"], { env }));
    assert.equal(JSON.parse(followed.stdout).state, "succeeded");
    assert.deepEqual(proxy.faults, []);

    // The run ends and another begins (a periodic one, another administrator's) before --wait asks again: it
    // reports the run it started, as the audit log tells its end, not the newer one GET …/sync shows.
    const api = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
    const directory = (await api.security.directories()).find((x) => x.name === "cli-ldap-2")!;
    const last = (await api.security.directorySync(directory)).id;
    proxy.faults = [...Array<Fault>(start + 1).fill({ stallAfter: Number.MAX_SAFE_INTEGER }), ...Array<Fault>(12).fill("drop")];
    const following = ecm(["directories", "sync", "cli-ldap-2", "--wait", "-o", "json"], { env });
    let ours = await api.security.directorySync(directory);
    while (ours.id === last || ours.state === "running") {
      await new Promise((r) => setTimeout(r, 50));
      ours = await api.security.directorySync(directory);
    }
    const newer = await api.security.startDirectorySync(directory, { mode: "changed" });
    while ((await api.security.directorySync(directory)).state === "running") await new Promise((r) => setTimeout(r, 50));
    const reported = ok(await following);
    assert.deepEqual((({ id, state, mode, seen }) => [id, state, mode, seen])(JSON.parse(reported.stdout)), [ours.id, "succeeded", "full", ours.seen], `not ${newer.id}`);
    assert.deepEqual(proxy.faults, []);
  } finally {
    await proxy.close();
  }

  // Where users come from, as the users list's source filter takes it: a directory by its name or id.
  for (const source of ["directory", "directory:cli-ldap-2", "DIRECTORY:CLI-LDAP-2"]) {
    assert.equal(ok(await ecm(["users", "count", "--source", source])).stdout.trim(), String(tree.userCount - 1), source);
  }
  assert.equal(ok(await ecm(["users", "count", "--source", "builtin"])).stdout.trim(), "1");
  const imported = ok(await ecm(["users", "list", "--source", "directory", "-s", "hmueller", "-o", "ndjson"])).stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(imported.map((u) => u.username), ["hmueller"]);
  assert.equal((await ecm(["users", "count", "--source", "directory:nowhere"])).code, 4);
  assert.equal((await ecm(["users", "count", "--source", "ldap"])).code, 2);

  const hans = JSON.parse(ok(await ecm(["users", "show", "hmueller", "-o", "json"])).stdout);
  assert.ok(hans.groups.includes("cli-dir-staff"), "the mapped local group");
  // Added by hand, the sync's membership becomes one the sync no longer removes; then there is nothing to add.
  assert.match(ok(await ecm(["groups", "add-member", "cli-dir-staff", "hmueller"])).stderr, /^hmueller is in cli-dir-staff by hand now: a sync of its directory no longer removes it\n$/);
  assert.match(ok(await ecm(["groups", "add-member", "cli-dir-staff", "hmueller"])).stderr, /^hmueller is already in cli-dir-staff: nothing to add\n$/);
  // Its password is the directory's: said before one is asked for (or looked for in ECM_NEW_PASSWORD).
  const reset = await ecm(["users", "reset-password", "hmueller"]);
  assert.deepEqual([reset.code, reset.stderr], [5, "ecm: the password of hmueller is managed by its directory cli-ldap-2: change it there\n"]);
  const removed = ok(await ecm(["directories", "delete", "cli-ldap-2", "--users", "disable", "-y"]));
  assert.match(removed.stderr, /Deleted directory cli-ldap-2 \(users disabled\)/);
  assert.equal(JSON.parse(ok(await ecm(["users", "show", "hmueller", "-o", "json"])).stdout).locked, true);
  assert.deepEqual(JSON.parse(ok(await ecm(["directories", "list", "-o", "json"])).stdout), []);
});
