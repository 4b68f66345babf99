// `npm test`: every *.test.ts of every workspace, through Node's test runner (Node 20's runner takes
// no glob patterns, so the files are listed here). Extra arguments are passed on to `node --test`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ensureBuilt } from "../packages/console/build.mjs";

const files = readdirSync("packages", { recursive: true, encoding: "utf8" })
  .filter((path) => path.endsWith(".test.ts") && !/(^|\/)(node_modules|dist)\//.test(path))
  .map((path) => join("packages", path))
  .sort();

// The console's build, made once before the files run: two of them building it at once would delete
// each other's files.
await ensureBuilt();
// Two files at a time: one at a time took 12–14 min on both stores on a 2-core machine; each file
// runs its own servers, stores, directories and browsers.
const args = ["--import", "tsx", "--test", "--test-concurrency=2", ...process.argv.slice(2), ...files];
const { status } = spawnSync(process.execPath, args, { stdio: "inherit" });
// Node's summary counts skipped tests, not skipped suites: say that the PostgreSQL half did not run.
if (!process.env.ECM_TEST_DATABASE_URL) console.log("# PostgreSQL suites skipped: ECM_TEST_DATABASE_URL is not set (see docs/testing.md)");
process.exit(status ?? 1);
