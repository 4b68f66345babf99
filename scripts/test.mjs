// `npm test`: every *.test.ts of every workspace, through Node's test runner (Node 20's runner takes
// no glob patterns, so the files are listed here). Extra arguments are passed on to `node --test`.
import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ensureBuilt } from "../packages/console/build.mjs";

const files = readdirSync("packages", { recursive: true, encoding: "utf8" })
  .filter((path) => path.endsWith(".test.ts") && !/(^|\/)(node_modules|dist)\//.test(path))
  .map((path) => join("packages", path))
  .sort();

// The builds, made before the files run: tests start the server, SDK and CLI from their builds as
// `npm start` and `ecm` do (up to date, this takes a second), and two files building the console at
// once would delete each other's files.
const tscBin = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const tsc = spawnSync(process.execPath, [tscBin, "-b", "packages/sdk", "packages/server", "packages/cli"], { stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
// The tests type-checked too (tsx, which runs them, strips their types unread): a test that reads a
// field the sources no longer have, or inserts a row the schema refuses, fails here, not by chance.
const tests = spawnSync(process.execPath, [tscBin, "-p", "tsconfig.tests.json"], { stdio: "inherit" });
if (tests.status !== 0) process.exit(tests.status ?? 1);
await ensureBuilt();
// Two files at a time: one at a time took 12–14 min on both stores on a 2-core machine; each file
// runs its own servers, stores, directories and browsers.
const args = ["--import", "tsx", "--test", "--test-concurrency=2", ...process.argv.slice(2), ...files];
const child = spawn(process.execPath, args, { stdio: ["inherit", "pipe", "inherit"] });
// Listened for from the start: the runner may be gone by the time its report is read to the end.
const status = new Promise((resolve) => child.on("close", (code) => resolve(code)));

// The report is thousands of lines and a log viewer may keep only its end: each failed test is
// repeated there, with the suites it sits in and its details (a suite fails when a test in it does,
// so failed suites are not repeated).
const failures = [];
const suites = [];
let failed = null;
let stack = null; // the indentation of a failure's "stack:" key, and how many of its frames are kept
for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
  process.stdout.write(`${line}\n`);
  const indent = line.search(/\S/);
  const subtest = /^\s*# Subtest: (.*)$/.exec(line);
  if (subtest) suites.splice(indent >> 2, Infinity, subtest[1]);
  if (/^\s*not ok \d/.test(line)) {
    failed = [`# in: ${suites.slice(0, indent >> 2).join(" › ") || "(top)"}`, line];
    continue;
  }
  if (!failed) continue;
  // Of a stack, its first two frames.
  if (stack && indent > stack.indent) {
    if (stack.kept++ < 2) failed.push(line);
    continue;
  }
  stack = /^\s*stack: \|-$/.test(line) ? { indent, kept: 0 } : null;
  failed.push(line);
  if (line.trim() !== "...") continue;
  if (!failed.some((l) => /^\s*type: 'suite'$/.test(l))) failures.push(failed.join("\n"));
  failed = null;
}
if (failures.length) console.log(`# ---- ${failures.length} failed (repeated from above) ----\n${failures.join("\n")}`);
// Node's summary counts skipped tests, not skipped suites: say that the PostgreSQL half did not run.
if (!process.env.ECM_TEST_DATABASE_URL) console.log("# PostgreSQL suites skipped: ECM_TEST_DATABASE_URL is not set (see docs/testing.md)");
process.exit((await status) ?? 1);
