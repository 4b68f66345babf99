import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { promisify } from "node:util";
import { describeEachStore } from "./test-support/server.js";

const run = promisify(execFile);
const README = new URL("../../../README.md", import.meta.url);
/** The tour's administrator password (its first line starts the server with it). */
const TOUR_PASSWORD = "Change-Me-Now-1";

/** The shell block of a README section, as written. */
function shBlock(heading: string): string {
  const text = readFileSync(README, "utf8");
  const block = new RegExp(`\\n## ${heading}\\n(?:(?!\\n## )[\\s\\S])*?\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(text)?.[1];
  assert.ok(block, `README has a sh block under "${heading}"`);
  return block;
}

/** The README's curl tour, as written, against a started server (its first line starts one; the test has). */
function tourScript(baseUrl: string): string {
  const lines = shBlock("A five-minute tour with curl").split("\n");
  assert.match(lines[0]!, new RegExp(`^ECM_ADMIN_PASSWORD='${TOUR_PASSWORD}' npm start &$`));
  return lines.slice(1).join("\n").replace(/^BASE=.*$/m, `BASE=${baseUrl}`);
}

/** Runs a script with bash in a directory of its own, holding `files`; its standard output. */
async function runScript(script: string, files: Record<string, string> = {}): Promise<string> {
  const cwd = mkdtempSync(join(tmpdir(), "ecm-readme-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(cwd, name), text);
  const { stdout } = await run("bash", ["-c", `set -euo pipefail\n${script}`], { cwd }).finally(() => rmSync(cwd, { recursive: true, force: true }));
  return stdout;
}

it("what following the README leaves in the repository is ignored by git: the tour's store, its secret key, the SDK's tarball, the export", { skip: !existsSync(new URL("../../../.git", import.meta.url)) }, async () => {
  const root = new URL("../../../", import.meta.url).pathname;
  // ECM_DATA_DIR=./tour-data (the tour) and ./data (npm start): a SQLite store beside its key; npm pack --workspace packages/sdk.
  const left = ["tour-data/ecm-security.sqlite3", "tour-data/ecm-security.sqlite3-wal", "tour-data/ecm-security.sqlite3-shm", "tour-data/secret.key", "data/secret.key", "ecm-sdk-0.1.0.tgz", "security-export.json"];
  const { stdout } = await run("git", ["check-ignore", "--no-index", "--verbose", "--non-matching", ...left], { cwd: root }).catch((err: { stdout: string }) => err);
  const notIgnored = stdout.split("\n").filter((line) => line.startsWith("::")).map((line) => line.slice(2).trim());
  assert.deepEqual(notIgnored, []);
});

describeEachStore("README", (server) => {
  it("runs the curl tour as written", async () => {
    const stdout = await runScript(tourScript(server().baseUrl));
    for (const expected of ['"username":"sysadmin"', '[["sysadmin",null,["administrators","users"]]]', '"username":"jdoe"', '"description":"Contractor"', '"name":"security-administrator"', '"action":"group.member.add"']) {
      assert.ok(stdout.includes(expected), `${expected} missing from the tour's output`);
    }
    assert.doesNotMatch(stdout, /errorMessage/);
  });

  it("runs the API key example as written, with the tour's BASE and a TOKEN", async () => {
    const token = await server().login("sysadmin", TOUR_PASSWORD);
    const stdout = await runScript(`BASE=${server().baseUrl}\nTOKEN=${token}\n${shBlock("API keys and service accounts")}`);
    // The key is listed (never its secret) as used, and once revoked it is refused: the one error, at the end.
    for (const expected of ['"name":"nightly sync"', '"prefix":"ecm_', '"expiresAt":"2030-12-31T00:00:00.000Z"', '"lastUsedAt":"']) {
      assert.ok(stdout.includes(expected), `${expected} missing from the example's output`);
    }
    assert.match(stdout, /\{"errorMessage":"ECMS1101-E [^"]*".*\}$/);
    assert.equal(stdout.match(/errorMessage/g)?.length, 1, stdout);
  });

  it("runs the bulk import example as written: a CSV checked by a dry run, then an NDJSON file imported", async () => {
    const token = await server().login("sysadmin", TOUR_PASSWORD);
    const files = { "users.csv": "username,email,groups\nreadme.ann,ann@example.com,users\n", "users.ndjson": '{"username":"readme.bob","email":"bob@example.com"}\n' };
    const stdout = await runScript(`BASE=${server().baseUrl}\nTOKEN=${token}\n${shBlock("Bulk import")}`, files);
    const lines = stdout.trim().split("\n").map((line) => JSON.parse(line) as { username?: string; status?: string; summary?: { created: number; dryRun: boolean } });
    assert.deepEqual(lines.map((l) => l.summary ? ["summary", l.summary.created, l.summary.dryRun] : [l.username, l.status]), [["readme.ann", "created"], ["summary", 1, true], ["readme.bob", "created"], ["summary", 1, false]]);
    // The dry run wrote nothing.
    const found = await fetch(`${server().baseUrl}/security/v1/users/count?search=readme.ann`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(await found.text(), "0");
  });
}, { adminPassword: TOUR_PASSWORD });
