import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { promisify } from "node:util";
import { describeEachStore } from "./test-support/server.js";

const run = promisify(execFile);
const README = new URL("../../../README.md", import.meta.url);

/** The README's curl tour, as written, against a started server (its first line starts one; the test has). */
function tourScript(baseUrl: string): string {
  const text = readFileSync(README, "utf8");
  const block = /## A five-minute tour with curl\n\n```sh\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(block, "README has the curl tour");
  const lines = block.split("\n");
  assert.match(lines[0]!, /^ECM_ADMIN_PASSWORD='Change-Me-Now-1' npm start &$/);
  return ["set -euo pipefail", ...lines.slice(1)].join("\n").replace(/^BASE=.*$/m, `BASE=${baseUrl}`);
}

describeEachStore("README", (server) => {
  it("runs the curl tour as written", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "ecm-tour-"));
    const { stdout } = await run("bash", ["-c", tourScript(server().baseUrl)], { cwd }).finally(() => rmSync(cwd, { recursive: true, force: true }));
    for (const expected of ['"username":"sysadmin"', '"username":"jdoe"', '"description":"Contractor"', '"name":"security-administrator"', '"action":"group.member.add"']) {
      assert.ok(stdout.includes(expected), `${expected} missing from the tour's output`);
    }
    assert.doesNotMatch(stdout, /errorMessage/);
  });
}, { adminPassword: "Change-Me-Now-1" });
