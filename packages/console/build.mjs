// Builds the console into dist/: esbuild bundles src/main.ts (one chunk per page, loaded when the page
// is opened) and the one stylesheet into content-hashed files, copies the icon under a hashed name too,
// writes index.html naming them (no inline script or style: the Content-Security-Policy allows none),
// and keeps a gzip and a brotli copy of every file beside it for the server to send as they are. Run
// by the root `prepare` (npm ci).
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const root = dirname(fileURLToPath(import.meta.url));

/** Builds into `outdir` (default dist/) and answers the files the entry page loads first. */
export async function buildConsole(outdir = join(root, "dist")) {
  rmSync(outdir, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: { main: join(root, "src/main.ts"), console: join(root, "src/styles/console.css") },
    bundle: true,
    splitting: true,
    format: "esm",
    target: "chrome110",
    minify: true,
    sourcemap: false,
    legalComments: "none",
    entryNames: "[name]-[hash]",
    chunkNames: "chunks/[name]-[hash]",
    outdir,
    metafile: true,
    logLevel: "warning",
  });
  const outputs = Object.entries(result.metafile.outputs).map(([path, meta]) => ({ file: relative(outdir, path), meta }));
  const script = outputs.find((o) => o.meta.entryPoint?.endsWith("src/main.ts"))?.file;
  const style = outputs.find((o) => o.file.endsWith(".css"))?.file;
  if (!script || !style) throw new Error("console build: no entry script or stylesheet");
  // Asked for with the entry page, not one after the other as each importing module is read: the
  // chunks shared by main.js and the pages (Lit, the SDK, ui.ts), and the users page's, the
  // administrators' first page (a cold load of #/users asked for it ~90 ms after main.js arrived).
  const users = outputs.find((o) => o.meta.entryPoint?.endsWith("src/pages/users.ts"))?.file;
  if (!users) throw new Error("console build: no chunk for the users page");
  const preloaded = [...outputs.filter((o) => !o.meta.entryPoint && o.file.endsWith(".js")).map((o) => o.file), users];
  // The icon named by the entry page, so that the browser does not ask for /favicon.ico (a 404); hashed
  // like every file but index.html, which the server caches for good.
  const icon = readFileSync(join(root, "src/favicon.svg"));
  const favicon = `favicon-${createHash("sha256").update(icon).digest("hex").slice(0, 8).toUpperCase()}.svg`;
  writeFileSync(join(outdir, favicon), icon);
  writeFileSync(
    join(outdir, "index.html"),
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>ECM Security</title>
<link rel="icon" href="${favicon}" type="image/svg+xml">
<link rel="stylesheet" href="${style}">
${preloaded.map((file) => `<link rel="modulepreload" href="${file}">\n`).join("")}<script type="module" src="${script}"></script>
</head>
<body><ecm-console></ecm-console></body>
</html>
`,
  );
  for (const file of walk(outdir)) {
    const data = readFileSync(file);
    writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
    writeFileSync(`${file}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  }
  return { outdir, metafile: result.metafile, script, style, version: createHash("sha256").update(script + style).digest("hex").slice(0, 12) };
}

/** Builds unless dist/ is newer than every source it is made of (tests call this before they start a server). */
export async function ensureBuilt() {
  const newest = (dir) => Math.max(...[...walk(dir)].map((f) => statSync(f).mtimeMs));
  let built = 0;
  try {
    built = statSync(join(root, "dist", "index.html")).mtimeMs;
  } catch {
    // not built yet
  }
  if (built < Math.max(newest(join(root, "src")), newest(join(root, "..", "sdk", "dist")), statSync(fileURLToPath(import.meta.url)).mtimeMs)) await buildConsole();
}

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(join(root, "dist"), { recursive: true });
  const { script } = await buildConsole();
  console.log(`console built: dist/index.html → ${script}`);
}
