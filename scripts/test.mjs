// `npm test`: every *.test.ts of every workspace, through Node's test runner (Node 20's runner takes
// no glob patterns, so the files are listed here). Extra arguments are passed on to `node --test`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const files = readdirSync("packages", { recursive: true, encoding: "utf8" })
  .filter((path) => path.endsWith(".test.ts") && !/(^|\/)(node_modules|dist)\//.test(path))
  .map((path) => join("packages", path))
  .sort();

const args = ["--import", "tsx", "--test", "--test-concurrency=1", ...process.argv.slice(2), ...files];
const { status } = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(status ?? 1);
