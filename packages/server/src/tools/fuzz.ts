import { availableParallelism } from "node:os";
import { oneOf, toolArgs, usageError, wholeNumber } from "./tool-args.js";
import type { FuzzSummary } from "../test-support/fuzz/run.js";
import { storeSkip, type StoreKind } from "../test-support/store-kinds.js";

/**
 * `npm run fuzz [-- --requests 100000] [--seed N] [--store sqlite|postgres|both]`
 * The fuzz suite's long run: requests generated from the OpenAPI document against a fresh server
 * on each store (PostgreSQL when ECM_TEST_DATABASE_URL is set), then a summary: requests, statuses,
 * store checks, time, and every distinct failure. Exits 1 when there is one.
 */
const USAGE = `Usage: npm run fuzz -- [--requests N] [--seed S] [--store sqlite|postgres|both]
  --requests N   requests to send (default 100000)
  --seed S       the generator's seed, to replay a run (default: from the clock)
  --store KIND   the stores to run against (default both; PostgreSQL needs ECM_TEST_DATABASE_URL)`;

const values = toolArgs(
  {
    requests: { type: "string", default: "100000" },
    seed: { type: "string" },
    store: { type: "string", default: "both" },
    help: { type: "boolean", short: "h" },
  },
  USAGE,
);

const requests = wholeNumber("requests", values.requests, USAGE);
const seed = wholeNumber("seed", values.seed, USAGE, { min: 0, fallback: Date.now() % 2 ** 31 });
const store = oneOf("store", values.store, ["sqlite", "postgres", "both"], USAGE);
const kinds: StoreKind[] = store === "both" ? ["sqlite", "postgres"] : [store];
// Asked for by name, a store that cannot run here is an error; with both, it is skipped and said so.
const cannotRun = store === "postgres" && storeSkip("postgres");
if (cannotRun) usageError(`--store postgres: ${cannotRun}: set it to a PostgreSQL URL the fuzzer may create databases from`, USAGE);
// The server's modules load once the options hold: a wrong one is said in a fraction of the time.
const [{ fuzz, fuzzServerConfig }, { startTestServer }] = await Promise.all([import("../test-support/fuzz/run.js"), import("../test-support/server.js")]);

// Ctrl-C or a kill ends the run after its batch of requests under way and removes its store (a
// PostgreSQL database, a temporary SQLite folder) before the fuzzer exits; a second one exits at once.
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
let stopped: keyof typeof SIGNAL_EXIT_CODES | undefined;
for (const signal of Object.keys(SIGNAL_EXIT_CODES) as (keyof typeof SIGNAL_EXIT_CODES)[]) {
  process.on(signal, () => {
    if (stopped) process.exit(SIGNAL_EXIT_CODES[signal]);
    stopped = signal;
    console.log(`${signal}: stopping after this batch of requests, then removing the run's store`);
  });
}

let failed = false;
for (const kind of kinds) {
  const skip = storeSkip(kind);
  if (skip) {
    console.log(`${kind}: skipped (${skip})`);
    continue;
  }
  console.log(`${kind}: ${requests} requests, seed ${seed}, ${availableParallelism()} cores`);
  const server = await startTestServer(kind, fuzzServerConfig());
  let last = Date.now();
  try {
    const summary = await fuzz(server, {
      requests,
      seed,
      progress: (sent) => {
        if (stopped) throw new Error(`stopped by ${stopped}`);
        if (Date.now() - last < 10_000) return;
        last = Date.now();
        console.log(`  ${sent} requests`);
      },
    });
    report(kind, summary);
    failed ||= summary.failures.length > 0;
  } catch (error) {
    if (!stopped) throw error;
  } finally {
    await server.close();
  }
  if (stopped) process.exit(SIGNAL_EXIT_CODES[stopped]);
}
process.exit(failed ? 1 : 0);

function report(kind: StoreKind, summary: FuzzSummary): void {
  const seconds = summary.milliseconds / 1000;
  const statuses = Object.entries(summary.statuses)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, n]) => `${status}×${n}`)
    .join(" ");
  const kinds = Object.entries(summary.kinds)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  console.log(`${kind}: ${summary.requests} requests (${kinds}) in ${seconds.toFixed(1)} s (${Math.round(summary.requests / seconds)}/s), ${summary.storeChecks} store checks, seed ${summary.seed}`);
  console.log(`  statuses: ${statuses}`);
  const never = summary.operations.filter((o) => !summary.succeeded.includes(o));
  console.log(`  operations answered with a success: ${summary.succeeded.length} of ${summary.operations.length}; never: ${never.join(", ")}`);
  console.log(`  failures: ${summary.failures.length}`);
  for (const f of summary.failures) console.log(`  - ${f.what}\n      ${f.request}\n      → ${f.answer}`);
}
