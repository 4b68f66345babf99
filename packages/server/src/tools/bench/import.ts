import { request } from "node:http";
import { Readable } from "node:stream";

export interface ImportBenchResult {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  created: number;
  failed: number;
}

/** Rows per request: one request must arrive within ECM_REQUEST_TIMEOUT_SECONDS (30 s by default), as the README says. */
const ROWS_PER_REQUEST = 100_000;

/** CSV of the generated users `from` to `to` (no password), written as it is sent: never all in memory. */
function* csvRows(from: number, to: number): Generator<string> {
  yield "username,firstName,lastName,email,groups\n";
  const batch: string[] = [];
  for (let i = from; i < to; i++) {
    batch.push(`imp${i},Anna${i % 977},Müller${i % 997},imp${i}@example.com,bench-staff;bench-site-${i % 20}\n`);
    if (batch.length === 1000) yield batch.splice(0).join("");
  }
  yield batch.join("");
}

/**
 * `--only import`: POST /security/v1/users/import of a generated CSV of `rows` users on a fresh store,
 * in requests of ROWS_PER_REQUEST rows, each streamed up while its results stream down, timed from
 * the first byte sent to the last summary line.
 */
export async function benchImport(baseUrl: string, adminPassword: string, options: { rows: number; log: (text: string) => void }): Promise<ImportBenchResult> {
  const token = await fetch(`${baseUrl}/auth/v1/providers/builtin/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "sysadmin", password: adminPassword }) })
    .then((r) => r.json() as Promise<{ access_token: string }>)
    .then((b) => b.access_token);
  for (const name of ["bench-staff", ...Array.from({ length: 20 }, (_, i) => `bench-site-${i}`)]) {
    await fetch(`${baseUrl}/security/v1/user-groups`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ name }) });
  }
  const started = performance.now();
  const summary = { created: 0, failed: 0 };
  let done = 0;
  for (let from = 0; from < options.rows; from += ROWS_PER_REQUEST) {
    const part = await importPart(baseUrl, token, csvRows(from, Math.min(options.rows, from + ROWS_PER_REQUEST)), () => {
      if (++done % 100_000 === 0) options.log(`${done.toLocaleString("en")} rows answered (${Math.round(done / ((performance.now() - started) / 1000)).toLocaleString("en")}/s)`);
    });
    summary.created += part.created;
    summary.failed += part.failed;
  }
  const seconds = (performance.now() - started) / 1000;
  return { rows: options.rows, seconds, rowsPerSecond: options.rows / seconds, ...summary };
}

/** One request: the CSV streamed up while the answers stream down; resolves with its summary line. */
function importPart(baseUrl: string, token: string, csv: Iterable<string>, onRow: () => void): Promise<{ created: number; failed: number }> {
  return new Promise<{ created: number; failed: number }>((resolve, reject) => {
    const req = request(`${baseUrl}/security/v1/users/import`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "text/csv" } }, (res) => {
      let pending = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const lines = (pending + chunk).split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          const parsed = JSON.parse(line) as { summary?: { created: number; failed: number }; error?: unknown };
          if (parsed.summary) resolve(parsed.summary);
          else if (parsed.error && !("line" in parsed)) reject(new Error(`import failed: ${line}`));
          else onRow();
        }
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    Readable.from(csv).pipe(req);
  });
}

export function importReport(r: ImportBenchResult): string[] {
  return [`- import of ${r.rows.toLocaleString("en")} users (CSV over HTTP, no passwords, 2 groups each): ${r.seconds.toFixed(1)} s = **${Math.round(r.rowsPerSecond).toLocaleString("en")} users/s** (${r.created} created, ${r.failed} failed)`];
}
