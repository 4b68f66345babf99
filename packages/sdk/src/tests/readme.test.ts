/** Runs every `<!-- example: sync|async -->` block of README.md against the real server. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { format, promisify } from "node:util";
import { startServerThread, type ThreadServer } from "../../test/server-thread.js";
import * as sdk from "../index.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const examples = [...readme.matchAll(/<!-- example: (sync|async) -->\s*```ts\n([\s\S]*?)```/g)].map((m) => ({
  kind: m[1] as "sync" | "async",
  code: m[2]!,
}));

const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
  ...args: string[]
) => (...a: unknown[]) => Promise<void>;

let server: ThreadServer;
before(async () => {
  server = await startServerThread();
  // A locked user, so the "locked" examples have something to find.
  const ecm = new sdk.ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  await ecm.security.createUser("readme.locked", { email: "locked@example.com", locked: true });
  await ecm.security.createUser("readme.bob", { email: "bob@example.com" });
});
after(async () => {
  await server?.close();
});

async function run(kind: "sync" | "async", code: string): Promise<string[]> {
  const lines: string[] = [];
  const console = { log: (...a: unknown[]) => lines.push(format(...a)) };
  const opts = { baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword };
  const ecm = kind === "sync" ? new sdk.ECMSync(opts) : new sdk.ECM(opts);
  try {
    const fn = new AsyncFunction("ecm", "console", ...Object.keys(sdk), code);
    await fn(ecm, console, ...Object.values(sdk));
  } finally {
    if (ecm instanceof sdk.ECMSync) ecm.close();
  }
  return lines;
}

test("README has the seed's examples, sync and async", () => {
  assert.ok(examples.filter((e) => e.kind === "sync").length >= 3);
  assert.ok(examples.filter((e) => e.kind === "async").length >= 3);
});

test("the README examples run as written and print what the seed describes", async () => {
  const outputs: string[][] = [];
  for (const e of examples) outputs.push(await run(e.kind, e.code));
  const [listSync, listAsync, extSync, extAsync, lockedSync, lockedAsync, iter, resume, importAsync, importSync, lifecycle, apiKeys, errors] = outputs;
  assert.ok(listSync!.includes("sysadmin sysadmin "));
  assert.ok(listSync!.includes("readme.locked readme.locked locked@example.com"));
  assert.equal(listSync![listSync!.indexOf("readme.locked readme.locked locked@example.com") + 1], "  → locked");
  assert.deepEqual(listAsync, listSync!.filter((l) => !l.includes("locked") || l.startsWith("readme.locked ")));
  assert.ok(extSync!.includes("sysadmin [ 'administrators', 'users' ]"));
  assert.deepEqual(extAsync, extSync);
  assert.deepEqual(lockedSync, ["locked accounts: 1"]);
  assert.deepEqual(lockedAsync, ["locked accounts: 1"]);
  assert.deepEqual(iter, ["2 users at example.com"]);
  assert.deepEqual(resume, ["last: readme.locked"]);
  assert.deepEqual(importAsync, ["1 readme.carol: created", "2 bad name!: failed (ECMS1001)"]);
  assert.deepEqual(importSync, ["1 would be created"]);
  assert.deepEqual(lifecycle, ["readme.staff,users", "true"]);
  assert.equal(apiKeys!.length, 2);
  assert.equal(apiKeys![0], "readme.robot true");
  assert.match(apiKeys![1]!, /^nightly sync: ecm_\S{8}…, expires 2030-12-31T00:00:00\.000Z$/);
  assert.deepEqual(errors, ["no such user"]);
});

test("the repository README's SDK example runs as it says: example.mjs with node, example.ts with tsx, from the repository", async () => {
  const root = new URL("../../../../", import.meta.url);
  const block = /## SDK\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readFileSync(new URL("README.md", root), "utf8"))?.[1];
  assert.ok(block?.includes('from "ecm-sdk"'), "README has the SDK example");
  const script = block!.replaceAll("http://127.0.0.1:8080/portal", server.baseUrl);
  // In a folder of the repository, where ecm-sdk and tsx resolve as they do for someone who cloned it.
  const dir = mkdtempSync(join(fileURLToPath(root), ".readme-example-"));
  try {
    for (const [file, command] of [["example.mjs", process.execPath], ["example.ts", fileURLToPath(new URL("node_modules/.bin/tsx", root))]]) {
      writeFileSync(join(dir, file!), script);
      const { stdout } = await promisify(execFile)(command!, [file!], { cwd: dir, env: { ...process.env, ECM_PASSWORD: server.adminPassword }, timeout: 120_000 });
      assert.equal(stdout, "locked accounts: 1\n", file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
