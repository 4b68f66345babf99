/** `.ci/run`'s choice of the PostgreSQL cluster to start, from Debian's `pg_lsclusters -h` listing. */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const CHOOSER = fileURLToPath(new URL("../../../.ci/postgres-cluster", import.meta.url));

/** The cluster .ci/run would start, given a listing. */
function chosen(listing: string): { status: number | null; stdout: string; stderr: string } {
  const { status, stdout, stderr } = spawnSync(CHOOSER, { input: listing, encoding: "utf8" });
  return { status, stdout, stderr };
}

const line = (version: string, cluster: string, port: number, status = "down") => `${version} ${cluster} ${port} ${status} postgres /var/lib/postgresql/${version}/${cluster} /var/log/postgresql/postgresql-${version}-${cluster}.log\n`;

test("with two PostgreSQL versions installed, the cluster on port 5432 is started (the tests' URL names it), else the newest version's", () => {
  assert.deepEqual(chosen(line("15", "main", 5433) + line("16", "main", 5432)), { status: 0, stdout: "16 main\n", stderr: "" });
  assert.deepEqual(chosen(line("16", "main", 5433) + line("15", "main", 5432)), { status: 0, stdout: "15 main\n", stderr: "" });
  // None on 5432: versions compare as numbers (9.6 is older than 15).
  assert.deepEqual(chosen(line("9.6", "main", 5434) + line("15", "main", 5433) + line("13", "main", 5435)), { status: 0, stdout: "15 main\n", stderr: "" });
  const none = chosen("");
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no PostgreSQL cluster/);
});

test("on this machine, the cluster chosen is the one pg_lsclusters shows on port 5432", { skip: spawnSync("pg_lsclusters", ["-h"]).status !== 0 && "pg_lsclusters is not installed" }, async () => {
  const { stdout: listing } = await promisify(execFile)("pg_lsclusters", ["-h"]);
  const on5432 = listing.split("\n").map((l) => l.split(/\s+/)).find((f) => f[2] === "5432");
  if (!on5432) return;
  assert.equal(chosen(listing).stdout, `${on5432[0]} ${on5432[1]}\n`);
});
