/**
 * The published package: `npm pack` of packages/sdk installs into an empty project (offline: it has no
 * runtime dependencies) and works there from plain Node ESM and CommonJS, against the real server, and from
 * TypeScript; its browser entry imports no `node:` module.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";
import { startServerThread, type ThreadServer } from "../../test/server-thread.js";

const exec = promisify(execFile);
const sdkDir = fileURLToPath(new URL("../../", import.meta.url));
/** npm may ask no registry for anything. */
const npmEnv = { ...process.env, npm_config_offline: "true", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };
let server: ThreadServer;
let project: string;

before(async () => {
  project = mkdtempSync(join(tmpdir(), "ecm-sdk-package-"));
  // `npm pack` runs the package's prepack (tsc -b), so the tarball holds a current build.
  const { stdout } = await exec("npm", ["pack", "--pack-destination", project], { cwd: sdkDir, env: npmEnv, timeout: 180_000 });
  const tarball = join(project, stdout.trim().split("\n").pop()!);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "empty-project", private: true, type: "module" }));
  await exec("npm", ["install", tarball], { cwd: project, env: npmEnv, timeout: 180_000 });
  server = await startServerThread();
});
after(async () => {
  await server?.close();
  rmSync(project, { recursive: true, force: true });
});

test("the tarball holds the build and the sources its source maps name, no tests, and no dependencies", () => {
  const installed = join(project, "node_modules", "ecm-sdk");
  const pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as Record<string, unknown>;
  assert.equal(pkg.dependencies, undefined);
  for (const file of ["dist/index.js", "dist/index.d.ts", "dist/browser.js", "dist/worker.js", "src/security.ts", "README.md"]) {
    assert.ok(existsSync(join(installed, file)), file);
  }
  assert.ok(!existsSync(join(installed, "src", "tests")));
  assert.ok(!existsSync(join(installed, "test")));
});

test("plain Node ESM in the empty project: ECM, ECMSync and typed errors against the server", async () => {
  writeFileSync(
    join(project, "script.mjs"),
    `import { ECM, ECMSync, ECMNotFoundError } from "ecm-sdk";
     import { ECM as BrowserECM } from "ecm-sdk/browser";
     const opts = { baseUrl: process.env.URL, username: "sysadmin", password: process.env.PW };
     const users = await new ECM(opts).security.users({ extendedInfo: true });
     const sync = new ECMSync(opts);
     const syncUsers = sync.security.users();
     sync.close();
     const viaBrowserEntry = (await new BrowserECM(opts).security.users()).length;
     let code = "";
     try { await new ECM(opts).security.user("nobody"); } catch (e) { if (e instanceof ECMNotFoundError) code = e.code; }
     console.log(JSON.stringify({ users: users.map((u) => [u.username, u.groups, u.lockedOut]), sync: syncUsers.length, viaBrowserEntry, code }));`,
  );
  const { stdout } = await exec(process.execPath, ["script.mjs"], { cwd: project, env: { ...process.env, URL: server.baseUrl, PW: server.adminPassword }, timeout: 120_000 });
  assert.deepEqual(JSON.parse(stdout), { users: [["sysadmin", ["administrators", "users"], false]], sync: 1, viaBrowserEntry: 1, code: "ECMS1201" });
});

test("CommonJS in the empty project: require(\"ecm-sdk\") as the README says", async () => {
  writeFileSync(
    join(project, "script.cjs"),
    `const { ECM, ECMSync } = require("ecm-sdk");
     const opts = { baseUrl: process.env.URL, username: "sysadmin", password: process.env.PW };
     const sync = new ECMSync(opts);
     const names = sync.security.users().map((u) => u.username);
     sync.close();
     new ECM(opts).security.countUsers().then((count) => console.log(JSON.stringify({ names, count })));`,
  );
  const { stdout, stderr } = await exec(process.execPath, ["script.cjs"], { cwd: project, env: { ...process.env, URL: server.baseUrl, PW: server.adminPassword }, timeout: 120_000 });
  assert.deepEqual(JSON.parse(stdout), { names: ["sysadmin"], count: 1 });
  assert.equal(stderr, "");
});

/**
 * Type-checks `code` as a file of the empty project: "node" with Node's types named in `types` (as a
 * Node project on TypeScript 5 has them), "node-unnamed" with @types/node installed but not named
 * (TypeScript 6 and later load only the @types packages that `types` names), "browser" with a browser's.
 */
function typeErrors(name: string, code: string, env: "node" | "node-unnamed" | "browser"): string[] {
  const file = join(project, name);
  writeFileSync(file, code);
  const program = ts.createProgram([file], {
    strict: true,
    // The strictest a project may be: options given straight from process.env must still type-check.
    exactOptionalPropertyTypes: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    // The repository's @types/node stands in for the project's own (npm may not download it here).
    ...(env === "browser" ? { types: [], lib: ["lib.es2022.d.ts", "lib.dom.d.ts"] } : { types: env === "node" ? ["node"] : [], typeRoots: [join(sdkDir, "../../node_modules/@types")] }),
  });
  // The check file and the package's declarations (checking all of Node's and the DOM's would take long).
  const ours = program.getSourceFiles().filter((f) => f.fileName === file || f.fileName.includes("/node_modules/ecm-sdk/"));
  assert.ok(ours.length > 5, "the package's declarations were read");
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...ours.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ];
  return diagnostics.map((d) => `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

test("ECM and ECMSync work whatever flags the script was started with: --max-old-space-size=8000, --jitless, --disallow-code-generation-from-strings, --no-experimental-fetch", async () => {
  // --jitless turns WebAssembly off, which Node's fetch needs (its HTTP parser), and --no-experimental-fetch
  // takes fetch away: the script must still work, answers streamed both ways (an import) and errors typed,
  // not crash the process.
  writeFileSync(
    join(project, "flags.mjs"),
    `import { ECM, ECMSync } from "ecm-sdk";
     const opts = { baseUrl: process.env.URL, username: "sysadmin", password: process.env.PW };
     const ecm = new ECM(opts);
     const name = "flags-" + process.argv[2];
     const imported = [];
     for await (const r of ecm.security.importUsers([{ username: name }, { username: "bad name!" }])) imported.push(r.status);
     const sync = new ECMSync(opts);
     const listed = sync.security.users({ extendedInfo: true }).filter((u) => u.username === name).map((u) => u.groups);
     await ecm.security.deleteUser(await ecm.security.user(name));
     const gone = await ecm.security.user(name).catch((e) => e.code);
     const unreachable = await new ECM({ ...opts, baseUrl: "http://127.0.0.1:1/portal", retries: 0 }).security.users().catch((e) => e.name);
     sync.close();
     console.log(JSON.stringify({ imported, listed, gone, unreachable, after: (await ecm.security.users()).length }));`,
  );
  for (const [i, flag] of ["--max-old-space-size=8000", "--jitless", "--disallow-code-generation-from-strings", "--no-experimental-fetch"].entries()) {
    const { stdout } = await exec(process.execPath, [flag, "flags.mjs", String(i)], {
      cwd: project,
      env: { ...process.env, URL: server.baseUrl, PW: server.adminPassword },
      timeout: 120_000,
    });
    assert.deepEqual(JSON.parse(stdout), { imported: ["created", "failed"], listed: [["users"]], gone: "ECMS1201", unreachable: "ECMConnectionError", after: 1 }, flag);
  }
  // Under Node's permission model without --allow-worker, no thread may start: said as the SDK's error, in words.
  writeFileSync(
    join(project, "no-worker.mjs"),
    `import { ECMSync, ECMError } from "ecm-sdk";
     try { new ECMSync({ baseUrl: process.env.URL, username: "sysadmin", password: process.env.PW }).security.users(); }
     catch (e) { console.log(e instanceof ECMError, e.message); }`,
  );
  const denied = await exec(process.execPath, ["--experimental-permission", "--allow-fs-read=*", "no-worker.mjs"], { cwd: project, env: { ...process.env, URL: server.baseUrl, PW: server.adminPassword }, timeout: 120_000 });
  assert.match(denied.stdout, /^true ECMSync runs its calls on a worker thread, which this process may not start \(Node's permission model\): give it --allow-worker/);
});

test("TypeScript in the empty project: the package's types check with the repository's compiler", () => {
  const nodeCode = `import { ECM, ECMSync, ECMError, type ECMUser } from "ecm-sdk";
    export async function check(ecm: ECM, sync: ECMSync): Promise<void> {
      const users: ECMUser<true>[] = await ecm.security.users({ extendedInfo: true });
      const until: Date | null = users[0]!.lockedOutUntil;
      const n: number = sync.security.users().length;
      try { await ecm.security.user("x"); } catch (e) { if (e instanceof ECMError) { const code: string = e.code; void code; } }
      void [until, n];
    }
    // Options straight from the environment, and a resume point that may not be there.
    export function fromEnv(last: string | undefined) {
      const ecm = new ECM({ baseUrl: "http://127.0.0.1:8080/portal", username: process.env.ECM_USER, password: process.env.ECM_PASSWORD, apiKey: process.env.ECM_API_KEY, token: process.env.ECM_TOKEN });
      return ecm.security.iterUsers({ after: last });
    }`;
  assert.deepEqual(typeErrors("node.ts", nodeCode, "node"), []);
  // TypeScript 6 and later load no @types package that "types" does not name: the main entry's
  // declarations (ECMSync's Symbol.dispose, which Node's types declare) must load Node's themselves.
  const untypedNodeCode = `import { ECM, ECMSync } from "ecm-sdk";
    export function make(): [ECM, ECMSync] {
      const options = { baseUrl: "http://127.0.0.1:8080/portal", apiKey: "ecm_x" };
      return [new ECM(options), new ECMSync(options)];
    }`;
  assert.deepEqual(typeErrors("unnamed-node-types.ts", untypedNodeCode, "node-unnamed"), []);
  // A browser project has no Node types: the browser entry needs none.
  const browserCode = `import { ECM, ECMNotFoundError, type ECMUser } from "ecm-sdk/browser";
    export async function check(ecm: ECM): Promise<ECMUser<false>[]> {
      try { await ecm.security.user("x"); } catch (e) { if (e instanceof ECMNotFoundError) return []; }
      return ecm.security.users();
    }`;
  assert.deepEqual(typeErrors("browser.ts", browserCode, "browser"), []);
});

test("the browser entry imports no node: module, directly or through the files it imports", () => {
  const seen = new Set<string>();
  const builtins: string[] = [];
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, "utf8").matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g)) {
      if (spec!.startsWith(".")) walk(resolve(dirname(file), spec!));
      else builtins.push(`${file}: ${spec}`);
    }
  };
  walk(join(project, "node_modules", "ecm-sdk", "dist", "browser.js"));
  assert.ok(seen.size > 5, "followed the imports");
  assert.deepEqual(builtins, []);
});
