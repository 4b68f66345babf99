/**
 * What the login and users pages load: at most 60 kB of JavaScript gzip (a size, so the test is
 * deterministic), and the users page's chunk asked for with the entry page. One build for both.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, test } from "node:test";
import { buildConsole } from "../build.mjs";

const LIMIT = 60 * 1024;

const outdir = mkdtempSync(join(tmpdir(), "ecm-console-size-"));
let outputs: Record<string, { entryPoint?: string; imports: { path: string; kind: string }[] }>;
const byEntry = (source: string) => Object.keys(outputs).find((path) => outputs[path]!.entryPoint?.endsWith(source))!;
before(async () => {
  outputs = (await buildConsole(outdir)).metafile.outputs;
});
after(() => rmSync(outdir, { recursive: true, force: true }));

test("the login and users pages load at most 60 kB of JavaScript, gzip", () => {
  // A page's module and everything it imports statically: what the browser fetches to show it.
  const loaded = new Set<string>();
  const visit = (path: string) => {
    if (loaded.has(path)) return;
    loaded.add(path);
    for (const i of outputs[path]!.imports) if (i.kind === "import-statement") visit(i.path);
  };
  for (const source of ["src/main.ts", "src/pages/login.ts", "src/pages/users.ts"]) visit(byEntry(source));
  const sizes = [...loaded].map((path) => [relative(outdir, path), statSync(`${path}.gz`).size] as const);
  const total = sizes.reduce((sum, [, size]) => sum + size, 0);
  console.log(`login + users pages: ${(total / 1024).toFixed(1)} kB gzip (${sizes.map(([f, s]) => `${f} ${(s / 1024).toFixed(1)}`).join(", ")})`);
  assert.ok(total <= LIMIT, `${total} bytes gzip > ${LIMIT}`);
});

test("the entry page asks for the users page's chunk with main.js, not after it has run", () => {
  assert.ok(readFileSync(join(outdir, "index.html"), "utf8").includes(`<link rel="modulepreload" href="${relative(outdir, byEntry("src/pages/users.ts"))}">`));
});
