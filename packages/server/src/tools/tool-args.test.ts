import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
/** `npm run <tool> -- <args>` as npm runs it; its exit code and output. */
async function tool(path: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return toolWith({}, path, ...args);
}
async function toolWith(env: NodeJS.ProcessEnv, path: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ["--import", "tsx", fileURLToPath(new URL(path, import.meta.url)), ...args], { timeout: 60_000, env: { ...process.env, ...env } }).then(
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
  const bare = await tool("./seed.ts");
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /^--users is needed: a whole number of at least 1\nUsage: npm run seed -- --users N/);
});

it("a value the bench cannot take is one line naming the option and the usage (exit 2), before it builds, seeds or starts anything", { timeout: 60_000 }, async () => {
  const cases: [string[], RegExp][] = [
    [["--store", "sqlit"], /^--store takes sqlite, postgres, both, not "sqlit"\n/],
    [["--only", "imports"], /^--only takes oidc, login-attack, console, import, sdk, workers, ldap, not "imports"\n/],
    [["--users", "2k"], /^--users takes a whole number of at least 1, not "2k"\n/],
    [["--only", "import", "--import-rows", "0"], /^--import-rows takes a whole number of at least 1, not "0"\n/],
    [["--only", "import", "--database-name", "My-Store"], /^--database-name "My-Store": a database the bench may drop/],
    [["--database-url", "mysql://db/x"], /^--database-url \(or ECM_TEST_DATABASE_URL\) must be a PostgreSQL URL/],
  ];
  const answers = await Promise.all(cases.map(([args]) => tool("./bench/bench.ts", ...args)));
  for (const [i, [args, message]] of cases.entries()) {
    const { code, stdout, stderr } = answers[i]!;
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.equal(stdout, "");
    assert.match(stderr, message);
    assert.match(stderr, /\nUsage: npm run bench -- \[--quick\][^\n]*\n$/);
    assert.doesNotMatch(stderr, /building|seeding|\n\s+at /, "nothing ran, and no stack trace");
  }
});

it("--help lists every option the bench takes", { timeout: 60_000 }, async () => {
  const { stdout } = await tool("./bench/bench.ts", "--help");
  const source = readFileSync(fileURLToPath(new URL("./bench/options.ts", import.meta.url)), "utf8");
  const options = /const OPTIONS = \{([\s\S]*?)\n\} as const/.exec(source)![1]!.match(/^\s+"?([a-z-]+)"?:/gm)!.map((line) => line.trim().replace(/"|:/g, ""));
  assert.ok(options.length > 15, options.join(" "));
  for (const option of options.filter((o) => o !== "help")) assert.match(stdout, new RegExp(`--${option}\\b`), `--${option} missing from --help`);
});

it("the fuzzer refuses a store it does not know, and PostgreSQL asked for by name without ECM_TEST_DATABASE_URL (exit 2)", { timeout: 60_000 }, async () => {
  const unknown = await tool("./fuzz.ts", "--store", "postgresql", "--requests", "1");
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /^--store takes sqlite, postgres, both, not "postgresql"\nUsage: npm run fuzz -- /);
  const postgres = await toolWith({ ECM_TEST_DATABASE_URL: "" }, "./fuzz.ts", "--store", "postgres", "--requests", "1");
  assert.equal(postgres.code, 2, postgres.stderr);
  assert.match(postgres.stderr, /^--store postgres: ECM_TEST_DATABASE_URL is not set/);
  assert.equal(postgres.stdout, "");
});
