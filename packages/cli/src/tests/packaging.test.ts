/**
 * What users get after `npm ci` at the repository root: `import { ECM, ECMSync } from "ecm-sdk"`
 * from the built package (dist, with its worker.js), and `npx ecm` through the bin link.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startServerThread, type ThreadServer } from "../../../sdk/test/server-thread.js";

const exec = promisify(execFile);
const root = fileURLToPath(new URL("../../../../", import.meta.url));
let server: ThreadServer;

before(async () => {
  // The same build `prepare` runs (incremental: quick when dist is current).
  await exec(process.execPath, [fileURLToPath(new URL("node_modules/typescript/bin/tsc", `file://${root}`)), "-b", "packages/sdk", "packages/cli"], { cwd: root });
  server = await startServerThread();
});
after(async () => {
  await server?.close();
});

test('import { ECM, ECMSync } from "ecm-sdk" works from the repository root (built package)', async () => {
  const script = `
    import { ECM, ECMSync, ECMNotFoundError } from "ecm-sdk";
    const opts = { baseUrl: process.env.URL, username: "sysadmin", password: process.env.PW };
    const sync = new ECMSync(opts);
    const s = sync.security.users({ extendedInfo: true }).map((u) => u.username + ":" + u.groups.join("+"));
    let nf = "";
    try { sync.security.user("nobody"); } catch (e) { nf = e instanceof ECMNotFoundError ? "notfound" : String(e); }
    // no sync.close(): the worker thread must not keep the process alive
    const a = (await new ECM(opts).security.users()).map((u) => u.username);
    console.log(JSON.stringify({ s, a, nf }));
  `;
  const { stdout } = await exec(process.execPath, ["--input-type=module", "-e", script], {
    cwd: root,
    env: { ...process.env, URL: server.baseUrl, PW: server.adminPassword },
    timeout: 120_000,
  });
  assert.deepEqual(JSON.parse(stdout), { s: ["sysadmin:administrators+users"], a: ["sysadmin"], nf: "notfound" });
});

test("npx ecm (the bin link) runs the built CLI", async () => {
  const bin = `${root}node_modules/.bin/ecm`;
  const env = { ...process.env, ECM_URL: server.baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: server.adminPassword, XDG_CONFIG_HOME: "/nonexistent" };
  const help = await exec(bin, ["--help"], { cwd: root, env });
  assert.match(help.stdout, /^ecm — administer ECM Security/);
  const list = await exec(bin, ["users", "list", "-o", "ndjson"], { cwd: root, env });
  assert.equal(JSON.parse(list.stdout.trim()).username, "sysadmin");
});
