import { createReadStream, createWriteStream, existsSync, renameSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { once } from "node:events";
import { runEcm } from "./stats.js";

export interface ImportRun {
  seconds: number;
  rowsPerSecond: number;
  created: number;
  failed: number;
}

export interface ImportBenchResult {
  rows: number;
  /** The same request with `?dryRun=true` first, on the empty store: every check, nothing written. */
  dryRun: ImportRun;
  /** POST /security/v1/users/import of the whole file in one request. */
  http: ImportRun;
  /** `ecm import FILE` (the built CLI) of another file of as many users, into the store the HTTP pass filled. */
  cli: ImportRun & { peakRssMb: number };
}

const GROUPS = ["bench-staff", ...Array.from({ length: 20 }, (_, i) => `bench-site-${i}`)];

/**
 * A CSV of `rows` generated users named `<prefix><n>` (no password, 2 groups each), written once under
 * `dir` and kept for later runs: generated as it is written, never all in memory.
 */
async function csvFile(dir: string, prefix: string, rows: number): Promise<string> {
  const file = join(dir, `import-${prefix}-${rows}.csv`);
  if (existsSync(file)) return file;
  const out = createWriteStream(`${file}.part`);
  out.write("username,firstName,lastName,email,groups\n");
  for (let i = 0; i < rows; i += 1000) {
    const lines: string[] = [];
    for (let n = i; n < Math.min(rows, i + 1000); n++) lines.push(`${prefix}${n},Anna${n % 977},Müller${n % 997},${prefix}${n}@example.com,bench-staff;bench-site-${n % 20}\n`);
    if (!out.write(lines.join(""))) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  renameSync(`${file}.part`, file);
  return file;
}

/**
 * `--only import`: on a fresh store, a generated CSV of `rows` users streamed to POST
 * /security/v1/users/import in one request while the per-row results stream back, then another
 * file of as many users through `ecm import FILE` (the built CLI, as an administrator runs it), each
 * timed from the start to the summary.
 */
export async function benchImport(root: string, dir: string, baseUrl: string, adminPassword: string, options: { rows: number; log: (text: string) => void }): Promise<ImportBenchResult> {
  const token = await fetch(`${baseUrl}/auth/v1/providers/builtin/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "sysadmin", password: adminPassword }) })
    .then((r) => r.json() as Promise<{ access_token: string }>)
    .then((b) => b.access_token);
  for (const name of GROUPS) {
    await fetch(`${baseUrl}/security/v1/user-groups`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ name }) });
  }
  options.log(`writing the CSV files of ${options.rows.toLocaleString("en")} users (kept for later runs)…`);
  const [httpFile, cliFile] = [await csvFile(dir, "imp", options.rows), await csvFile(dir, "cli", options.rows)];
  options.log("dry run over HTTP, one request…");
  const dryRun = await importOverHttp(baseUrl, token, httpFile, options, "?dryRun=true");
  options.log("import over HTTP, one request…");
  const http = await importOverHttp(baseUrl, token, httpFile, options, "");
  options.log("ecm import…");
  const cli = await importWithCli(root, baseUrl, adminPassword, cliFile, options.rows);
  return { rows: options.rows, dryRun, http, cli };
}

/** The file streamed up in one request while the answers stream down; resolves with its summary. */
async function importOverHttp(baseUrl: string, token: string, file: string, options: { rows: number; log: (text: string) => void }, query: string): Promise<ImportRun> {
  const started = performance.now();
  let answered = 0;
  const summary = await new Promise<{ created: number; failed: number }>((resolve, reject) => {
    const req = request(`${baseUrl}/security/v1/users/import${query}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "text/csv" } }, (res) => {
      let pending = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const lines = (pending + chunk).split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          const parsed = JSON.parse(line) as { summary?: { created: number; failed: number }; error?: unknown };
          if (parsed.summary) resolve(parsed.summary);
          else if (parsed.error && !("line" in parsed)) reject(new Error(`import failed: ${line}`));
          else if (++answered % 100_000 === 0) options.log(`${answered.toLocaleString("en")} rows answered (${Math.round(answered / ((performance.now() - started) / 1000)).toLocaleString("en")}/s)`);
        }
      });
      res.on("end", () => reject(new Error("the answer ended without a summary")));
      res.on("error", reject);
    });
    req.on("error", reject);
    createReadStream(file).pipe(req);
  });
  const seconds = (performance.now() - started) / 1000;
  return { seconds, rowsPerSecond: options.rows / seconds, ...summary };
}

/** `ecm import FILE` with its table of results thrown away: wall time, the counts from its summary line, peak RSS. */
async function importWithCli(root: string, baseUrl: string, password: string, file: string, rows: number): Promise<ImportRun & { peakRssMb: number }> {
  const run = await runEcm(root, baseUrl, password, ["import", file]);
  const counts = /(\d+) created, \d+ updated, \d+ unchanged, (\d+) failed of \d+ rows/.exec(run.stderr);
  if (run.code !== 0 || !counts) throw new Error(`ecm import exited with ${run.code}: ${run.stderr.slice(-500)}`);
  return { seconds: run.seconds, rowsPerSecond: rows / run.seconds, created: Number(counts[1]), failed: Number(counts[2]), peakRssMb: run.peakRssMb };
}

export function importReport(r: ImportBenchResult): string[] {
  const n = r.rows.toLocaleString("en");
  return [
    `- dry run of that import (\`?dryRun=true\`, the store still empty): ${r.dryRun.seconds.toFixed(1)} s = ${Math.round(r.dryRun.rowsPerSecond).toLocaleString("en")} users/s (${r.dryRun.created} would be created, ${r.dryRun.failed} failed)`,
    `- import over HTTP, one request (CSV of ${n} users, no passwords, 2 groups each): ${r.http.seconds.toFixed(1)} s = **${Math.round(r.http.rowsPerSecond).toLocaleString("en")} users/s** (${r.http.created} created, ${r.http.failed} failed)`,
    `- ecm import of another such CSV (${n} users, into the store the HTTP pass filled): ${r.cli.seconds.toFixed(1)} s = **${Math.round(r.cli.rowsPerSecond).toLocaleString("en")} users/s** (${r.cli.created} created, ${r.cli.failed} failed), CLI peak RSS ${r.cli.peakRssMb.toFixed(0)} MB`,
  ];
}
