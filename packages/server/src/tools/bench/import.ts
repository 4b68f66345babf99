import { request } from "node:http";
import { Readable } from "node:stream";

export interface ImportBenchResult {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  created: number;
  failed: number;
}

/** CSV of `rows` generated users (no password), written as it is sent: never all in memory. */
function* csvRows(rows: number): Generator<string> {
  yield "username,firstName,lastName,email,groups\n";
  const batch: string[] = [];
  for (let i = 0; i < rows; i++) {
    batch.push(`imp${i},Anna${i % 977},Müller${i % 997},imp${i}@example.com,bench-staff;bench-site-${i % 20}\n`);
    if (batch.length === 1000) yield batch.splice(0).join("");
  }
  yield batch.join("");
}

/**
 * `--only import`: POST /security/v1/users/import of a generated CSV of `rows` users on a fresh store,
 * streamed up while the results stream down (as `ecm import` does), timed from the first byte sent
 * to the summary line.
 */
export async function benchImport(baseUrl: string, adminPassword: string, options: { rows: number; log: (text: string) => void }): Promise<ImportBenchResult> {
  const token = await fetch(`${baseUrl}/auth/v1/providers/builtin/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "sysadmin", password: adminPassword }) })
    .then((r) => r.json() as Promise<{ access_token: string }>)
    .then((b) => b.access_token);
  for (const name of ["bench-staff", ...Array.from({ length: 20 }, (_, i) => `bench-site-${i}`)]) {
    await fetch(`${baseUrl}/security/v1/user-groups`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ name }) });
  }
  const started = performance.now();
  const summary = await new Promise<{ created: number; failed: number }>((resolve, reject) => {
    const req = request(`${baseUrl}/security/v1/users/import`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "text/csv" } }, (res) => {
      let pending = "";
      let done = 0;
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const lines = (pending + chunk).split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          const parsed = JSON.parse(line) as { summary?: { created: number; failed: number }; error?: unknown };
          if (parsed.summary) resolve(parsed.summary);
          else if (parsed.error && !("line" in parsed)) reject(new Error(`import failed: ${line}`));
          else if (++done % 100_000 === 0) options.log(`${done.toLocaleString("en")} rows answered (${Math.round(done / ((performance.now() - started) / 1000)).toLocaleString("en")}/s)`);
        }
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    Readable.from(csvRows(options.rows)).pipe(req);
  });
  const seconds = (performance.now() - started) / 1000;
  return { rows: options.rows, seconds, rowsPerSecond: options.rows / seconds, ...summary };
}

export function importReport(r: ImportBenchResult): string[] {
  return [`- import of ${r.rows.toLocaleString("en")} users (CSV over HTTP, no passwords, 2 groups each): ${r.seconds.toFixed(1)} s = **${Math.round(r.rowsPerSecond).toLocaleString("en")} users/s** (${r.created} created, ${r.failed} failed)`];
}
