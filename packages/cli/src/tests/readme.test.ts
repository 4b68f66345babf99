/**
 * The examples at the top of packages/cli/README.md, run as written by bash in a project that has the
 * CLI installed, against the real server: only the URL is the test server's, and `$PW` is set. `npx` is
 * a stand-in that runs the project's bin as npx does (npm's own start-up, a second or more on a busy
 * machine, a dozen times, would be most of the test; packaging.test.ts runs the bin link itself).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { startServerThread, type ThreadServer } from "../../../sdk/test/server-thread.js";
import { run } from "../cli.js";

const exec = promisify(execFile);
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
let server: ThreadServer;

before(async () => {
  server = await startServerThread();
});
after(async () => {
  await server?.close();
});

test("the README's examples run as written", async () => {
  const block = /^```sh\n([\s\S]*?)```/m.exec(readme)?.[1];
  assert.ok(block, "README starts with a sh block");
  assert.match(block, /^npx ecm login --url http:\/\/127\.0\.0\.1:8080\/portal /);
  const script = ["set -euo pipefail", block.replaceAll("http://127.0.0.1:8080/portal", server.baseUrl)].join("\n");
  // A project that has the CLI installed (npx runs a project's bin from its root, and asks the registry for nothing).
  const cwd = mkdtempSync(join(tmpdir(), "ecm-cli-readme-"));
  mkdirSync(join(cwd, "node_modules", ".bin"), { recursive: true });
  writeFileSync(join(cwd, "package.json"), '{ "private": true }\n');
  symlinkSync(fileURLToPath(new URL("../../", import.meta.url)), join(cwd, "node_modules", "ecm-cli"));
  symlinkSync("../ecm-cli/bin/ecm.js", join(cwd, "node_modules", ".bin", "ecm"));
  mkdirSync(join(cwd, "shim"));
  writeFileSync(join(cwd, "shim", "npx"), '#!/bin/sh\ncmd=$1; shift; exec "$PWD/node_modules/.bin/$cmd" "$@"\n');
  chmodSync(join(cwd, "shim", "npx"), 0o755);
  try {
    // Not a terminal: login takes ECM_PASSWORD instead of asking, and nothing asks for confirmation.
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(cwd, "config"), ECM_PASSWORD: server.adminPassword, PW: "Alice-Passw0rd!", npm_config_offline: "true" };
    delete env.ECM_URL;
    delete env.ECM_USERNAME;
    delete env.ECM_TOKEN;
    const { stderr } = await exec("bash", ["-c", script], { cwd, env: { ...env, PATH: `${join(cwd, "shim")}:${env.PATH}` }, timeout: 300_000 }); // a guard against a hang, not a limit on time: a dozen CLI starts take a minute on a loaded machine
    assert.match(stderr, /Logged in to .* as sysadmin/);
    assert.match(stderr, /1 created, 0 updated, 0 unchanged, 0 failed of 1 row\b/);
    const listed = readFileSync(join(cwd, "example-users.csv"), "utf8");
    assert.match(listed, /^id,username,.*,groups,lockedOut,lockedOutUntil,serviceAccount\r\n/);
    assert.match(listed, /,alice,.*,staff;users,false,,false\r\n/);
    const backup = JSON.parse(readFileSync(join(cwd, "backup.json"), "utf8")) as { users: { username: string; enabled: boolean }[]; roleMappings: { roleName: string }[] };
    assert.deepEqual(backup.users.map((u) => [u.username, u.enabled]).sort(), [["alice", false], ["carol", true], ["sysadmin", true]]);
    assert.ok(backup.roleMappings.some((m) => m.roleName === "security-administrator"));
    // What the session left behind: alice in staff; carol deleted.
    let members = "";
    const code = await run(["groups", "members", "staff", "-o", "json"], { stdout: { write: (s: string) => (members += s) }, stderr: { write: () => true }, stdin: Readable.from([]), env });
    assert.equal(code, 0);
    assert.deepEqual((JSON.parse(members) as { username: string }[]).map((u) => u.username), ["alice"]);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
