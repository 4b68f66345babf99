import cluster, { type Worker } from "node:cluster";
import { createServer as createNetServer } from "node:net";
import v8 from "node:v8";
import type { Server } from "./app.js";
import { configFromEnv, type Config } from "./config.js";
import { startupFailure } from "./startup-failure.js";

/**
 * `npm start`: configuration from the environment, then listen until SIGINT/SIGTERM. A failure to
 * start is one line and exit code 1. With `ECM_WORKERS` > 1 (default: one per core) this process
 * migrates and bootstraps the store once, then runs that many server processes that share the
 * port (node:cluster) and replaces one that dies; everything they share lives in the store.
 */
let config: Config | undefined;
let server: Server | undefined;
const HELP = `Usage: npm start
ECM Security's server (node packages/server/dist/main.js). It takes no arguments: its settings are
environment variables, every one with its default in README.md, "Configuration". The first ones:

  HOST, PORT          where it listens (127.0.0.1, 8080); the base URL is http://HOST:PORT/portal
  ECM_DATA_DIR        folder of the embedded SQLite store (./data)
  DATABASE_URL        postgres://…: use PostgreSQL instead of SQLite
  ECM_ADMIN_PASSWORD  password of the built-in sysadmin, first start only (else a random one, printed once)
  ECM_WORKERS         server processes sharing the port (one per core)
  ECM_SECRET_KEY      key that seals the secrets the store keeps: the same on every node
`;
// Asking for help, or a mistyped option, starts nothing: a first start would make a store and a sysadmin.
const args = process.argv.slice(2);
if (cluster.isPrimary && args.length > 0) {
  if (args[0] === "--help" || args[0] === "-h") {
    process.stdout.write(HELP);
    process.exit(0);
  }
  process.stderr.write(`ecm-security: unknown argument "${args[0]}": the server takes no arguments, its settings are environment variables (npm start -- --help)\n`);
  process.exit(2);
}
// The heap may grow to half again what is live before a full collection, not V8's default of up to
// four times: a directory sync's batches let a worker's heap reach ~190 MB over ~45 MB live (RSS
// 284 MB at the peak, 100 000 people); bounded, 173 MB, in the same time (docs/benchmarks.md,
// "A `changed` sync's writes and the sync's memory"). A value given on the command line is kept.
if (!process.execArgv.some((a) => a.startsWith("--heap-growing-percent"))) v8.setFlagsFromString("--heap-growing-percent=50");
try {
  config = configFromEnv();
  // A port that cannot be had fails first, in one line: before a first start makes sysadmin and shows its password.
  if (cluster.isPrimary) await probePort(config.host, config.port);
  // The server's modules load once the configuration holds: a wrong setting is said in a fraction of the time.
  const [{ createServer }, { ADMIN_PASSWORD_IGNORED }] = await Promise.all([import("./app.js"), import("./domain/bootstrap.js")]);
  server = await createServer(config);
  if (server.generatedAdminPassword) {
    // Shown once, on the console only (not through the logger, whose output may be shipped elsewhere).
    process.stdout.write(`\nCreated built-in user "sysadmin" with password: ${server.generatedAdminPassword}\nIt is not shown again.\n\n`);
  }
  // Said once, by the process that bootstraps (the workers find the same).
  if (server.adminPasswordIgnored && cluster.isPrimary) process.stderr.write(`ecm-security: warning: ${ADMIN_PASSWORD_IGNORED}\n`);
  if (cluster.isPrimary && config.workers > 1) {
    // The store is ready: the workers find nothing to migrate or bootstrap.
    await server.close();
    server = undefined;
    superviseWorkers(config.workers);
  } else {
    await server.app.listen({ host: config.host, port: config.port });
  }
} catch (error) {
  process.stderr.write(`ecm-security: cannot start: ${startupFailure(error, config)}\n`);
  await server?.close().catch(() => {});
  process.exit(1);
}

if (server) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      server!.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

function probePort(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer().once("error", reject);
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/**
 * Runs `count` workers. One that exits after it was listening is replaced; one that exits before
 * (it cannot start: the port is taken, the store is gone) stops them all with its exit code, since
 * its siblings would fail the same way. SIGINT/SIGTERM stop the workers, then this process.
 */
function superviseWorkers(count: number): void {
  const listening = new WeakSet<Worker>();
  let stopping = false;
  const start = () => cluster.fork().once("listening", function (this: Worker) {
    listening.add(this);
  });
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    if (!listening.has(worker)) {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
      process.exit(code || 1);
    }
    process.stderr.write(`ecm-security: worker ${worker.process.pid} ended (${signal ?? `exit code ${code}`}); starting another\n`);
    start();
  });
  for (let i = 0; i < count; i++) start();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
    });
  }
}
