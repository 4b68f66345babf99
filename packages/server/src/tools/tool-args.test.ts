import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
/** `npm run <tool> -- <args>` as npm runs it; its exit code and output. */
async function tool(path: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ["--import", "tsx", fileURLToPath(new URL(path, import.meta.url)), ...args], { timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

it("--help says how the bench is run, and runs nothing", { timeout: 60_000 }, async () => {
  const { code, stdout, stderr } = await tool("./bench/bench.ts", "--help");
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^Usage: npm run bench -- \[--quick\]/);
  assert.match(stdout, /--only oidc\|login-attack\|console\|import\|sdk\|workers\|ldap/);
});

it("an option it does not take is one line and the usage (exit 2), not a stack trace", { timeout: 60_000 }, async () => {
  const { code, stdout, stderr } = await tool("./bench/bench.ts", "--qiuck");
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.match(stderr, /^Unknown option '--qiuck'.*\nUsage: npm run bench -- \[--quick\][^\n]*\n$/);
});

it("the soak harness answers --help and a mistyped option the same way", { timeout: 60_000 }, async () => {
  const help = await tool("./soak/soak.ts", "--help");
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: npm run soak -- \[--minutes 10\]/);
  const wrong = await tool("./soak/soak.ts", "--minuts", "5");
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /^Unknown option '--minuts'.*\nUsage: npm run soak -- /);
});

it("seed and fuzz keep their --help", { timeout: 60_000 }, async () => {
  assert.match((await tool("./seed.ts", "--help")).stdout, /^Usage: npm run seed -- --users N/);
  assert.match((await tool("./fuzz.ts", "-h")).stdout, /^Usage: npm run fuzz -- \[--requests N\]/);
  assert.equal((await tool("./seed.ts", "--user", "5")).code, 2);
});
