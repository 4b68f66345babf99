import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { encodeCursor } from "../../http/paging.js";
import { SEEDED_PASSWORD } from "../seed-data.js";
import { owned, stopped } from "./children.js";
import { BenchClient } from "./http-client.js";
import { benchImport, importReport } from "./import.js";
import { benchLoginAttack, loginAttackReport, type LoginAttackResult } from "./login-attack.js";
import { queryMix } from "./mix.js";
import { openRawPostgres, openRawSqlite, type RawStore } from "./raw-sql.js";
import { ensureSlapdInstalled, Slapd, type LdapUser } from "./slapd.js";
import { benchOidc, oidcReport, type OidcResult } from "./oidc.js";
import { benchConsole, consoleReport, type ConsoleResult } from "./console.js";
import { benchSdk, sdkReport, type SdkResult } from "./sdk.js";
import { directoryBench, directoryReport } from "./directory.js";
import { latencyOf, ms, peakRssMb, timed, type Latency } from "./stats.js";
import { values, ROOT, SERVER_SRC, BENCH_DIR, ADMIN_PASSWORD, PORT, USERS, QUERIES, SLAPD_USERS, PG_ADMIN_URL, KINDS, DATABASE_NAME, CORES, ARGON2, COUNT_SEARCHES, ONLY, CONSOLE_ROUNDS, LOGIN_ATTACK, OIDC, IMPORT_ROWS, GROUPS, DIRECTORY_LOGINS } from "./options.js";

const benchStarted = performance.now();
const log = (text: string) => process.stderr.write(`[+${Math.round((performance.now() - benchStarted) / 1000)} s] ${text}\n`);
const tsxNode = (script: string, args: string[], env: NodeJS.ProcessEnv) =>
  owned(spawn(process.execPath, ["--import", "tsx", join(SERVER_SRC, script), ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit"], cwd: ROOT }));

interface StoreTarget {
  kind: "sqlite" | "postgres";
  env: NodeJS.ProcessEnv;
  openRaw(): Promise<RawStore>;
  userCount(): Promise<number>;
  reset(): Promise<void>;
  /** Removes the store (a fresh one, once its pass is done). */
  drop(): Promise<void>;
}

/** Users in an existing store (0 when it has no schema yet). */
async function countUsers(openRaw: StoreTarget["openRaw"]): Promise<number> {
  const raw = await openRaw();
  try {
    return await raw.countAll();
  } catch {
    return 0;
  } finally {
    await raw.close();
  }
}

function sqliteTarget(name = `sqlite-${USERS}`): StoreTarget {
  const dir = join(BENCH_DIR, name);
  const file = join(dir, "ecm-security.sqlite3");
  return {
    kind: "sqlite",
    env: { ECM_DATA_DIR: dir, DATABASE_URL: "" },
    openRaw: async () => openRawSqlite(file),
    async userCount() {
      return existsSync(file) ? countUsers(this.openRaw) : 0;
    },
    async reset() {
      await this.drop();
      mkdirSync(dir, { recursive: true });
    },
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// --database-name: the PostgreSQL store's database (seeded, or the fresh one of an --only pass), for those who may only create databases of their own names.
// The bench drops and seeds it again when it does not hold the bench's users: a name of its own, then,
// and lower-case letters, digits and _ only (unquoted, PostgreSQL folds a name to lower case; the lookup by name would miss it).
function postgresTarget(name = DATABASE_NAME ?? `ecm_bench_${USERS}`): StoreTarget {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const admin = async <T>(work: (client: pg.Client) => Promise<T>) => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  return {
    kind: "postgres",
    env: { DATABASE_URL: url.toString() },
    openRaw: () => openRawPostgres(url.toString()),
    async userCount() {
      const exists = await admin((c) => c.query("select 1 from pg_database where datname = $1", [name]));
      return exists.rowCount === 0 ? 0 : countUsers(this.openRaw);
    },
    async reset() {
      await admin(async (c) => {
        await c.query(`drop database if exists ${name} with (force)`);
        await c.query(`create database ${name}`);
      });
    },
    async drop() {
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/** Reuses a store seeded by an earlier run (same size), else seeds a new one. Returns the seconds spent seeding (0 when reused). */
async function ensureSeeded(target: StoreTarget): Promise<number> {
  // The seed adds the built-in sysadmin, so a complete store holds USERS + 1 users.
  if ((await target.userCount()) === USERS + 1) return 0;
  log(`[${target.kind}] seeding ${USERS.toLocaleString("en")} users…`);
  await target.reset();
  const started = performance.now();
  const child = tsxNode("tools/seed.ts", ["--users", String(USERS)], { ...target.env, ECM_ADMIN_PASSWORD: ADMIN_PASSWORD });
  const code = await new Promise<number | null>((done) => child.on("exit", done));
  if (code !== 0) throw new Error(`seeding failed (exit ${code})`);
  return (performance.now() - started) / 1000;
}

async function startServer(target: StoreTarget, port: number): Promise<ChildProcess> {
  mkdirSync(BENCH_DIR, { recursive: true });
  // Another bench's server on the port would answer the health check below, and be measured (and
  // written to) in place of this one.
  await new Promise<void>((done, fail) => {
    const probe = createServer().once("error", () => fail(new Error(`port ${port} is in use (another bench running?): give another range with --port`)));
    probe.listen(port, "127.0.0.1", () => probe.close(() => done()));
  });
  const out = openSync(join(BENCH_DIR, `server-${target.kind}.log`), "w");
  // The built server, as `npm start` runs it (tsx would add its compiler to the measured memory).
  // Every provider login of the bench comes from 127.0.0.1: the limit per address would cap the rate measured.
  const env = { ...process.env, ECM_RATE_LIMIT_PROVIDER_LOGINS_PER_ADDRESS: "0", ...target.env, PORT: String(port), HOST: "127.0.0.1", ECM_ADMIN_PASSWORD: ADMIN_PASSWORD, LOG_LEVEL: "warn", ECM_TOKEN_TTL_SECONDS: "3600" };
  // ECM_BENCH_SERVER_ARGS: node options for the server (`--cpu-prof --cpu-prof-dir=DIR`, which NODE_OPTIONS does not take).
  const nodeArgs = process.env.ECM_BENCH_SERVER_ARGS?.split(" ").filter(Boolean) ?? [];
  const child = owned(spawn(process.execPath, [...nodeArgs, join(ROOT, "packages/server/dist/main.js")], { env, stdio: ["ignore", out, out], cwd: ROOT }));
  const client = new BenchClient(`http://127.0.0.1:${port}/portal`, 1);
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}); see .bench/server-${target.kind}.log`);
    try {
      if ((await client.request("GET", "/health")).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  client.close();
  return child;
}

const median = async (times: number, work: () => Promise<unknown>) => latencyOf((await timed(Array.from({ length: times }), 1, work)).samples).p50;

interface StoreResult {
  kind: string;
  seedSeconds: number;
  /** The warm-up pass: the first read of the data since the server started (see "cold" in docs/benchmarks.md). */
  searchCold: Latency;
  search1: Latency;
  /** search1 on the queries the peers ran (the whole mix, or its first quarter with --quick): what the ratios compare. */
  searchPeerMix: Latency;
  search32: Latency & { qps: number };
  raw: Latency;
  page900k: number;
  rawPage900k: number;
  countAll: number;
  rawCountAll: number;
  countSearch: Record<string, number>;
  export: { users: number; seconds: number; usersPerSecond: number; coldSeconds: number; coldUsersPerSecond: number; megabytes: number; peakRssMb: number; rssBeforeMb: number };
  logins: { count: number; seconds: number; perSecond: number; perCore: number };
  oidc: OidcResult;
  loginAttack: LoginAttackResult;
  console: ConsoleResult;
  sdk: SdkResult;
}

async function benchStore(target: StoreTarget, seedSeconds: number, mix: string[], peerMix: string[], port: number): Promise<StoreResult> {
  const raw = await target.openRaw();
  const server = await startServer(target, port);
  const base = `http://127.0.0.1:${port}/portal`;
  const one = new BenchClient(base, 1);
  const many = new BenchClient(base, 32);
  try {
    const login = await one.request("POST", "/auth/v1/providers/builtin/token", { username: "sysadmin", password: ADMIN_PASSWORD });
    if (login.status !== 200) throw new Error(`sysadmin login failed (${login.status}): the store was seeded with another ECM_ADMIN_PASSWORD?`);
    const token = (JSON.parse(login.body) as { access_token: string }).access_token;
    one.setToken(token);
    many.setToken(token);
    const searchPath = (q: string) => `/security/v1/users?max=100&search=${encodeURIComponent(q)}`;

    // This machine pages out file data idle for about a minute: each measurement is preceded by one
    // pass over the same data, which is reported too (cold), then measured again (warm).
    log(`[${target.kind}] search mix: warm-up pass, 1 connection, 32 connections…`);
    const searchCold = latencyOf((await timed(mix, 1, (q) => one.get(searchPath(q)))).samples);
    // One connection: the samples come in the mix's order, so the first ones are the peers' queries.
    const search1Samples = (await timed(mix, 1, (q) => one.get(searchPath(q)))).samples;
    const search1 = latencyOf(search1Samples);
    const searchPeerMix = latencyOf(search1Samples.slice(0, peerMix.length));
    const at32Mix = values.quick ? mix : [...mix, ...mix];
    const at32 = await timed(at32Mix, 32, (q) => many.get(searchPath(q)));
    const search32 = { ...latencyOf(at32.samples), qps: at32Mix.length / at32.seconds };

    log(`[${target.kind}] deep page, counts…`);
    const position = Math.floor(USERS * 0.9);
    const before = await raw.usernameAt(position - 1);
    const page900k = await median(20, () => one.get(`/security/v1/users?max=100&cursor=${encodeCursor(before)}`));
    const rawPage900k = await median(20, () => raw.pageAfter(before));
    const countAll = await median(20, () => one.get("/security/v1/users/count"));
    const rawCountAll = await median(20, () => raw.countAll());
    const countSearch: Record<string, number> = {};
    for (const q of COUNT_SEARCHES) countSearch[q] = await median(5, () => one.get(`/security/v1/users/count?search=${encodeURIComponent(q)}`));

    log(`[${target.kind}] export with extendedInfo=true…`);
    const total = Number(await one.get("/security/v1/users/count"));
    const rssBeforeMb = peakRssMb(server.pid!);
    const exportOnce = async () => {
      const t0 = performance.now();
      const exported = await one.request("GET", "/security/v1/users?extendedInfo=true", undefined, () => {});
      if (exported.status !== 200) throw new Error(`export failed: ${exported.status}`);
      return { seconds: (performance.now() - t0) / 1000, megabytes: exported.bytes / 1e6 };
    };
    const cold = await exportOnce();
    const warm = await exportOnce();
    const exportResult = {
      users: total, seconds: warm.seconds, usersPerSecond: total / warm.seconds, coldSeconds: cold.seconds, coldUsersPerSecond: total / cold.seconds,
      megabytes: warm.megabytes, peakRssMb: peakRssMb(server.pid!), rssBeforeMb,
    };

    log(`[${target.kind}] password logins…`);
    const loginUser = await raw.loginUsername();
    const attempts = Array.from({ length: values.quick ? 20 : 40 });
    // One client address per worker: the limit per address (ECM_RATE_LIMIT_PER_ADDRESS) stays out of a throughput figure.
    const loginClients = Array.from({ length: CORES }, (_, i) => new BenchClient(base, 1, `127.0.3.${i + 1}`));
    const loginRun = await timed(attempts, CORES, async (_, worker) => {
      const r = await loginClients[worker]!.request("POST", "/auth/v1/providers/builtin/token", { username: loginUser, password: SEEDED_PASSWORD });
      if (r.status !== 200) throw new Error(`login of ${loginUser} failed: ${r.status}`);
    });
    for (const client of loginClients) client.close();
    const perSecond = attempts.length / loginRun.seconds;
    const oidc = await benchOidc(base, ADMIN_PASSWORD, { ...OIDC, log: (text) => log(`[${target.kind}] ${text}`) });
    const loginAttack = await benchLoginAttack(base, ADMIN_PASSWORD, { ...LOGIN_ATTACK, log: (text) => log(`[${target.kind}] ${text}`) });
    const consoleResult = await benchConsole(base, ADMIN_PASSWORD, { rounds: CONSOLE_ROUNDS, log: (text) => log(`[${target.kind}] ${text}`) });
    const sdk = await benchSdk(ROOT, base, ADMIN_PASSWORD, (text) => log(`[${target.kind}] ${text}`));

    log(`[${target.kind}] raw SQL mix…`);
    const rawSearch = latencyOf((await timed(peerMix, 1, (q) => raw.search(q))).samples);
    await removePassUsers(one);
    return {
      kind: target.kind,
      seedSeconds,
      searchCold,
      search1,
      searchPeerMix,
      search32,
      raw: rawSearch,
      page900k,
      rawPage900k,
      countAll,
      rawCountAll,
      countSearch,
      export: exportResult,
      logins: { count: attempts.length, seconds: loginRun.seconds, perSecond, perCore: perSecond / CORES },
      oidc,
      loginAttack,
      console: consoleResult,
      sdk,
    };
  } finally {
    one.close();
    many.close();
    await stopped(server);
    await raw.close();
  }
}

/**
 * Deletes the accounts the passes added to a seeded store (the provider logins' and the login attack's,
 * all named `bench-…`; no seeded user is), so that the next run finds the store as seeded and reuses it.
 */
async function removePassUsers(client: BenchClient): Promise<void> {
  for (;;) {
    const page = JSON.parse(await client.get("/security/v1/users?search=bench-&max=1000&fields=id,username")) as { id: string; username: string }[];
    const made = page.filter((user) => user.username.startsWith("bench-"));
    if (made.length === 0) return;
    for (const user of made) {
      const removed = await client.request("DELETE", `/security/v1/users/${user.id}`);
      if (removed.status !== 204) throw new Error(`deleting ${user.username}: ${removed.status} ${removed.body.slice(0, 200)}`);
    }
  }
}

async function benchSlapd(target: StoreTarget, mix: string[], port: number) {
  ensureSlapdInstalled();
  log(`slapd: loading ${SLAPD_USERS.toLocaleString("en")} users with slapadd…`);
  const raw = await target.openRaw();
  const { slapd, loadSeconds, entries } = await Slapd.start(join(BENCH_DIR, "slapd"), port, readUsers(raw, SLAPD_USERS)).finally(() => raw.close());
  const clients = Array.from({ length: 32 }, () => slapd.client());
  try {
    log("slapd: search mix, 1 connection, 32 connections…");
    await timed(mix.slice(0, 100), 1, (q) => Slapd.search(clients[0]!, q));
    const search1 = latencyOf((await timed(mix, 1, (q) => Slapd.search(clients[0]!, q))).samples);
    // One client (one connection) per worker, as the server's 32 connections.
    const at32 = await timed(mix, 32, (q, worker) => Slapd.search(clients[worker]!, q));
    return { users: entries, loadSeconds, search1, search32: { ...latencyOf(at32.samples), qps: mix.length / at32.seconds } };
  } finally {
    await Promise.all(clients.map((c) => c.unbind().catch(() => {})));
    await slapd.remove();
  }
}

/** The first `limit` seeded users of a store in id order, in batches, for the LDIF. */
async function* readUsers(raw: RawStore, limit: number): AsyncGenerator<LdapUser[]> {
  for (let after = 0, read = 0; read < limit; ) {
    const rows = await raw.usersAfter(after, Math.min(10_000, limit - read));
    if (rows.length === 0) return;
    yield rows;
    read += rows.length;
    after = rows[rows.length - 1]!.id;
  }
}

const lat = (l: Latency) => `p50 ${ms(l.p50)} ms, p90 ${ms(l.p90)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms`;
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : "—");

const startedAt = new Date();
log("building the server (npm run build)…");
if (spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] }).status !== 0) throw new Error("npm run build failed");
if (ONLY === "oidc") await runAlone("provider logins", "oidc", (base, say) => benchOidc(base, ADMIN_PASSWORD, { ...OIDC, log: say }), oidcReport);
if (ONLY === "login-attack") await runAlone("login under attack", "login-attack", (base, say) => benchLoginAttack(base, ADMIN_PASSWORD, { ...LOGIN_ATTACK, log: say }), loginAttackReport);
if (ONLY === "console") await runAlone("web console", "console", (base, say) => benchConsole(base, ADMIN_PASSWORD, { rounds: CONSOLE_ROUNDS, log: say }), consoleReport, true);
if (ONLY === "import") await runAlone("bulk import", "import", (base, say) => benchImport(ROOT, BENCH_DIR, base, ADMIN_PASSWORD, { rows: IMPORT_ROWS, log: say }), importReport);
if (ONLY === "workers") await runWorkers();
if (ONLY === "sdk") await runAlone("SDK and CLI", "sdk", (base, say) => benchSdk(ROOT, base, ADMIN_PASSWORD, say), sdkReport, true);
if (ONLY === "ldap") {
  ensureSlapdInstalled();
  // A million people in 5 000 groups by default: 200 a group.
  const groups = Math.min(USERS, GROUPS ?? Math.max(1, Math.round(USERS / 200)));
  const pass = directoryBench({ users: USERS, groups, dir: join(BENCH_DIR, "ldap-slapd"), logins: DIRECTORY_LOGINS, concurrency: 4 * CORES, adminPassword: ADMIN_PASSWORD, log });
  // Attempt limits off: only throughput is measured.
  await runAlone("external user storage", "ldap", pass, directoryReport, false, { ECM_RATE_LIMIT_PER_ADDRESS: "0", ECM_RATE_LIMIT_PER_ACCOUNT: "0" });
}

/**
 * `--only <pass>`: that pass alone on each kind of store — a fresh one (no seeding; removed once its
 * pass is done), or with `seeded` the seeded one (seeded first when missing, and kept) — reported, and nothing else.
 */
async function runAlone<T>(
  title: string,
  name: string,
  pass: (baseUrl: string, log: (text: string) => void, serverPid: number) => Promise<T>,
  report: (result: T) => string[],
  seeded = false,
  env: NodeJS.ProcessEnv = {},
): Promise<never> {
  const lines = [`# ECM Security bench, ${title} — ${startedAt.toISOString()}`, machineLine(), `command: npm run bench -- ${process.argv.slice(2).join(" ")}`];
  const results: Record<string, T> = {};
  const targets = KINDS.map((kind) =>
    seeded ? (kind === "sqlite" ? sqliteTarget() : postgresTarget()) : kind === "sqlite" ? sqliteTarget(`${name}-sqlite`) : postgresTarget(DATABASE_NAME ?? `ecm_bench_${name.replaceAll("-", "_")}`),
  );
  if (seeded) await Promise.all(targets.map(ensureSeeded));
  else for (const target of targets) await target.reset();
  for (const [i, target] of targets.entries()) {
    const server = await startServer({ ...target, env: { ...target.env, ...env } }, PORT + 50 + i);
    try {
      results[target.kind] = await pass(`http://127.0.0.1:${PORT + 50 + i}/portal`, (text) => log(`[${target.kind}] ${text}`), server.pid!);
    } finally {
      await stopped(server);
      if (!seeded) await target.drop();
    }
    lines.push("", seeded ? `## ${target.kind}, ${USERS.toLocaleString("en")} seeded users` : `## ${target.kind} (fresh store)`, ...report(results[target.kind]!));
  }
  writeReport(lines, seeded ? { users: USERS, [name]: results } : { [name]: results });
  process.exit(0);
}

/**
 * `--only workers`: the server on the seeded store of each kind with ECM_WORKERS=1, then with one
 * worker per core: the search mix at 32 connections (after one unmeasured pass) and password logins
 * with 8 in flight. Attempt limits are off, as only throughput is measured.
 */
async function runWorkers(): Promise<never> {
  const lines = [`# ECM Security bench, one server process vs one per core — ${startedAt.toISOString()}`, machineLine(), `command: npm run bench -- ${process.argv.slice(2).join(" ")}`];
  const targets = KINDS.map((kind) => (kind === "sqlite" ? sqliteTarget() : postgresTarget()));
  await Promise.all(targets.map(ensureSeeded));
  const mix = queryMix(QUERIES, USERS);
  const results: Record<string, { workers: number; searchesPerSecond: number; search32: Latency; loginsPerSecond: number }[]> = {};
  for (const [i, target] of targets.entries()) {
    const raw = await target.openRaw();
    const loginUser = await raw.loginUsername().finally(() => raw.close());
    const runs: (typeof results)[string] = (results[target.kind] = []);
    for (const workers of [1, CORES]) {
      const port = PORT + 100 + 2 * i + (workers > 1 ? 1 : 0);
      const env = { ...target.env, ECM_WORKERS: String(workers), ECM_RATE_LIMIT_PER_ADDRESS: "0", ECM_RATE_LIMIT_PER_ACCOUNT: "0" };
      const server = await startServer({ ...target, env }, port);
      const client = new BenchClient(`http://127.0.0.1:${port}/portal`, 32);
      try {
        const login = await client.request("POST", "/auth/v1/providers/builtin/token", { username: "sysadmin", password: ADMIN_PASSWORD });
        client.setToken((JSON.parse(login.body) as { access_token: string }).access_token);
        const searchPath = (q: string) => `/security/v1/users?max=100&search=${encodeURIComponent(q)}`;
        log(`[${target.kind}] ${workers} worker(s): search mix at 32 connections (a pass to warm up, then measured), logins…`);
        await timed(mix, 32, (q) => client.get(searchPath(q)));
        const at32 = await timed(mix, 32, (q) => client.get(searchPath(q)));
        const logins = await timed(Array.from({ length: values.quick ? 80 : 400 }), 8, async () => {
          const r = await client.request("POST", "/auth/v1/providers/builtin/token", { username: loginUser, password: SEEDED_PASSWORD });
          if (r.status !== 200) throw new Error(`login of ${loginUser} failed: ${r.status}`);
        });
        runs.push({ workers, searchesPerSecond: mix.length / at32.seconds, search32: latencyOf(at32.samples), loginsPerSecond: logins.samples.length / logins.seconds });
      } finally {
        client.close();
        await stopped(server);
      }
    }
    const [one, all] = runs as [(typeof runs)[number], (typeof runs)[number]];
    lines.push(
      "",
      `## ${target.kind}, ${USERS.toLocaleString("en")} seeded users`,
      ...runs.map((r) => `- ECM_WORKERS=${r.workers}: search at 32 connections ${r.searchesPerSecond.toFixed(0)}/s (${lat(r.search32)}); password logins ${r.loginsPerSecond.toFixed(1)}/s with 8 in flight`),
      `- ${CORES} workers / 1: search **${ratio(all.searchesPerSecond, one.searchesPerSecond)}**, logins **${ratio(all.loginsPerSecond, one.loginsPerSecond)}**`,
    );
  }
  writeReport(lines, { users: USERS, workers: results });
  process.exit(0);
}

const mix = queryMix(QUERIES, USERS);
// The peers are slow by design (raw SQL takes seconds on common strings): --quick runs them on the first quarter of the shuffled mix.
const peerMix = values.quick ? mix.slice(0, Math.ceil(mix.length / 4)) : mix;
const results: StoreResult[] = [];
const targets = KINDS.map((k) => (k === "sqlite" ? sqliteTarget() : postgresTarget()));
// Both stores are seeded at once (each mostly keeps one core busy), then measured one after the other.
const seedSeconds = await Promise.all(targets.map(ensureSeeded));
for (const [i, target] of targets.entries()) results.push(await benchStore(target, seedSeconds[i]!, mix, peerMix, PORT + i));
const slapd = values["no-slapd"] ? undefined : await benchSlapd(targets[0]!, peerMix, PORT + 89);

const lines: string[] = [];
const say = (text: string) => lines.push(text);
say(`# ECM Security bench — ${startedAt.toISOString()}`);
say(machineLine());
say(`data: ${USERS.toLocaleString("en")} seeded users (+ sysadmin); mix: ${mix.length} searches (the peers: ${peerMix.length}), max=100; command: npm run bench -- ${process.argv.slice(2).join(" ")}`);
for (const r of results) {
  say("");
  say(`## ${r.kind}${r.seedSeconds ? ` (seeded in ${r.seedSeconds.toFixed(0)} s)` : " (reused seeded store)"}`);
  say(`search, warm-up pass:     ${lat(r.searchCold)}`);
  say(`search, 1 connection:     ${lat(r.search1)}`);
  say(`search, 32 connections:   ${r.search32.qps.toFixed(0)} searches/s; ${lat(r.search32)}`);
  say(`raw SQL, same mix:        ${lat(r.raw)}  → ours/raw p50 ${ratio(r.searchPeerMix.p50, r.raw.p50)}, p99 ${ratio(r.searchPeerMix.p99, r.raw.p99)}`);
  if (slapd) say(`slapd (${slapd.users.toLocaleString("en")} entries): ours/slapd p50 ${ratio(r.searchPeerMix.p50, slapd.search1.p50)}, p99 ${ratio(r.searchPeerMix.p99, slapd.search1.p99)}, throughput at 32 ${ratio(r.search32.qps, slapd.search32.qps)}`);
  say(`page at position ${Math.floor(USERS * 0.9).toLocaleString("en")} (cursor): ${ms(r.page900k)} ms (raw SQL ${ms(r.rawPage900k)} ms)`);
  say(`count all:                ${ms(r.countAll)} ms (raw SQL count(*) ${ms(r.rawCountAll)} ms)`);
  say(`count with search:        ${Object.entries(r.countSearch).map(([q, t]) => `"${q}" ${ms(t)} ms`).join(", ")}`);
  say(`export, extendedInfo=true: ${r.export.users.toLocaleString("en")} users in ${r.export.seconds.toFixed(1)} s = ${Math.round(r.export.usersPerSecond).toLocaleString("en")} users/s (first, cold: ${r.export.coldSeconds.toFixed(1)} s = ${Math.round(r.export.coldUsersPerSecond).toLocaleString("en")} users/s), ${r.export.megabytes.toFixed(0)} MB; server peak RSS ${r.export.peakRssMb.toFixed(0)} MB (before export ${r.export.rssBeforeMb.toFixed(0)} MB)`);
  say(`password logins:          ${r.logins.perSecond.toFixed(1)}/s with ${CORES} in flight = ${r.logins.perCore.toFixed(1)}/s per core (argon2id m=${ARGON2.memoryCost} KiB, t=${ARGON2.timeCost}, p=${ARGON2.parallelism})`);
  for (const line of oidcReport(r.oidc)) say(line);
  for (const line of loginAttackReport(r.loginAttack)) say(line);
  for (const line of consoleReport(r.console)) say(`console: ${line}`);
  for (const line of sdkReport(r.sdk)) say(line);
}
if (slapd) {
  say("");
  say(`## OpenLDAP slapd (mdb, eq,sub on uid cn sn givenName mail; ${slapd.users.toLocaleString("en")} entries loaded by slapadd in ${slapd.loadSeconds.toFixed(0)} s)`);
  say(`search, 1 connection:     ${lat(slapd.search1)}`);
  say(`search, 32 connections:   ${slapd.search32.qps.toFixed(0)} searches/s; ${lat(slapd.search32)}`);
}
writeReport(lines, { users: USERS, queries: mix.length, results, slapd });

function machineLine(): string {
  return `machine: ${CORES} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}`;
}

/** Prints the report and keeps it, with the figures as JSON, under .bench/. */
function writeReport(lines: string[], figures: Record<string, unknown>): void {
  const report = lines.join("\n");
  process.stdout.write(`\n${report}\n`);
  mkdirSync(BENCH_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  writeFileSync(join(BENCH_DIR, `bench-${stamp}.json`), JSON.stringify({ startedAt, ...figures }, null, 2));
  writeFileSync(join(BENCH_DIR, `bench-${stamp}.md`), `${report}\n`);
}
