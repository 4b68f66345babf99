import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const BENCH = fileURLToPath(new URL("./bench.ts", import.meta.url));

/** `npm run bench -- <args>` as npm runs it; its exit code and output. */
async function bench(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ["--import", "tsx", BENCH, ...args], { timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

it("--help says how the bench is run, and runs nothing", { timeout: 60_000 }, async () => {
  const { code, stdout, stderr } = await bench("--help");
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^Usage: npm run bench -- \[--quick\]/);
  assert.match(stdout, /--only oidc\|login-attack\|console\|import\|sdk\|workers\|ldap/);
});

it("an option it does not take is one line and the usage (exit 2), not a stack trace", { timeout: 60_000 }, async () => {
  const { code, stdout, stderr } = await bench("--qiuck");
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.match(stderr, /^Unknown option '--qiuck'.*\nUsage: npm run bench -- \[--quick\][^\n]*\n$/);
});
