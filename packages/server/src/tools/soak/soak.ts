import { readFileSync } from "node:fs";
import http from "node:http";
import { availableParallelism, cpus } from "node:os";
import { startCluster, type Cluster } from "../../test-support/cluster.js";
import { haproxySkip } from "../../test-support/haproxy.js";
import { createTemporaryDatabase } from "../../test-support/server.js";
import { latencyOf, ms } from "../bench/stats.js";
import { toolArgs } from "../tool-args.js";

/**
 * `npm run soak [-- --minutes 10] [--load 0.8] [--measure-seconds 30] [--users 300] [--database-url URL]`
 * Three server processes (as `npm start` runs them) on a new PostgreSQL database behind HAProxy; a mix
 * of logins, searches, reads and updates through the proxy. First the capacity is measured (as many
 * operations as 16 clients get done, closed loop), then the mix runs for `--minutes` at `--load` of it
 * (open loop: operations start on a schedule, however long the earlier ones take). Reports errors (any
 * answer the operation does not expect, or a failed connection: 0 expected), latency, and each node's
 * resident memory before and after the soak (growth target < 10 %). Asserts nothing; not part of CI.
 */
const values = toolArgs(
  {
    minutes: { type: "string", default: "10" },
    load: { type: "string", default: "0.8" },
    "measure-seconds": { type: "string", default: "30" },
    users: { type: "string", default: "300" },
    "database-url": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  "Usage: npm run soak -- [--minutes 10] [--load 0.8] [--measure-seconds 30] [--users 300] [--database-url URL]",
  "Three server nodes on a new PostgreSQL database behind HAProxy under a mix of logins, searches, reads and updates; reports errors, latency and memory growth.",
);
const MINUTES = Number(values.minutes);
const LOAD = Number(values.load);
const MEASURE_SECONDS = Number(values["measure-seconds"]);
const USERS = Number(values.users);
const ADMIN_URL = values["database-url"] ?? process.env.ECM_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const ADMIN_PASSWORD = "Soak-Admin-Password-1";
const USER_PASSWORD = "Soak-User-Password-1";
/** Operations in flight past which the schedule counts the next one as not started (the server fell behind). */
const MAX_IN_FLIGHT = 256;

const started = performance.now();
const log = (text: string) => process.stderr.write(`[+${Math.round((performance.now() - started) / 1000)} s] ${text}\n`);

const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });

interface Answer {
  status: number;
  body: any;
}

function send(baseUrl: string, method: string, path: string, token?: string, body?: unknown): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      baseUrl + path,
      {
        method,
        agent,
        headers: { ...(token && { authorization: `Bearer ${token}` }), ...(payload && { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode!, body: text && res.headers["content-type"]?.includes("json") ? JSON.parse(text) : text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** An answer the operation does not expect: counted as an error, with its status. */
class Unexpected extends Error {}

function expect(answer: Answer, status: number, what: string): Answer {
  if (answer.status !== status) throw new Unexpected(`${what}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
  return answer;
}

type Operation = "login" | "search" | "read" | "update";
/** The mix, by share: people logging in (and out), an administrator searching, reading and editing. */
const MIX: [Operation, number][] = [
  ["login", 0.1],
  ["search", 0.35],
  ["read", 0.35],
  ["update", 0.2],
];
const SEARCHES = ["soak", "soak-1", "soak-2", "user", "ak-9", "example", "zzz", "s", "17", "Person"];

function pick(): Operation {
  let r = Math.random();
  for (const [op, share] of MIX) if ((r -= share) < 0) return op;
  return "read";
}

async function run(op: Operation, baseUrl: string, admin: string, ids: string[]): Promise<void> {
  const user = Math.floor(Math.random() * ids.length);
  switch (op) {
    case "login": {
      const token = expect(await send(baseUrl, "POST", "/auth/v1/providers/builtin/token", undefined, { username: `soak-${user}`, password: USER_PASSWORD }), 200, "login").body.access_token;
      expect(await send(baseUrl, "GET", "/security/v1/me", token), 200, "me");
      expect(await send(baseUrl, "POST", "/auth/v1/logout", token), 204, "logout");
      return;
    }
    case "search": {
      const needle = SEARCHES[Math.floor(Math.random() * SEARCHES.length)]!;
      expect(await send(baseUrl, "GET", `/security/v1/users?search=${encodeURIComponent(needle)}&max=50`, admin), 200, "search");
      return;
    }
    case "read":
      expect(await send(baseUrl, "GET", `/security/v1/users/${ids[user]}?extendedInfo=true`, admin), 200, "read");
      return;
    case "update":
      expect(await send(baseUrl, "PUT", `/security/v1/users/${ids[user]}`, admin, { description: `soak ${Date.now()}` }), 200, "update");
      return;
  }
}

/** Resident memory of a process now (VmRSS), in MB. */
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : NaN;
}

interface Tally {
  done: Map<Operation, number[]>;
  errors: Map<string, number>;
}

function newTally(): Tally {
  return { done: new Map(MIX.map(([op]) => [op, []])), errors: new Map() };
}

async function timedRun(tally: Tally, op: Operation, baseUrl: string, admin: string, ids: string[]): Promise<void> {
  const t0 = performance.now();
  try {
    await run(op, baseUrl, admin, ids);
    tally.done.get(op)!.push(performance.now() - t0);
  } catch (error) {
    const key = error instanceof Unexpected ? error.message.replace(/soak \d+|"[0-9a-f-]{36}"/g, "…").slice(0, 160) : `${op}: ${(error as Error).message}`;
    tally.errors.set(key, (tally.errors.get(key) ?? 0) + 1);
  }
}

async function seed(cluster: Cluster): Promise<{ admin: string; ids: string[] }> {
  const admin = expect(await send(cluster.baseUrl, "POST", "/auth/v1/providers/builtin/token", undefined, { username: "sysadmin", password: ADMIN_PASSWORD }), 200, "admin login").body.access_token;
  const rows = Array.from({ length: USERS }, (_, i) => JSON.stringify({ username: `soak-${i}`, firstName: "Person", lastName: `Soak ${i}`, email: `soak-${i}@example.com`, password: USER_PASSWORD }) + "\n").join("");
  const imported = await fetch(`${cluster.baseUrl}/security/v1/users/import`, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/x-ndjson" }, body: rows });
  const lines = (await imported.text()).trim().split("\n").map((l) => JSON.parse(l));
  const ids = lines.filter((l) => l.status === "created").map((l) => l.id as string);
  if (ids.length !== USERS) throw new Error(`the seeding import created ${ids.length} of ${USERS} users: ${JSON.stringify(lines.find((l) => l.status === "failed") ?? lines.at(-1))}`);
  return { admin, ids };
}

function report(title: string, tally: Tally, seconds: number): number {
  const all = [...tally.done.values()].flat();
  const errors = [...tally.errors.values()].reduce((a, b) => a + b, 0);
  console.log(`${title}: ${all.length} operations in ${seconds.toFixed(0)} s (${(all.length / seconds).toFixed(1)}/s), ${errors} errors`);
  for (const [op, samples] of tally.done) {
    const l = latencyOf(samples);
    console.log(`  ${op.padEnd(7)} ${String(l.count).padStart(7)}  p50 ${ms(l.p50)} ms  p99 ${ms(l.p99)} ms  max ${ms(l.max)} ms`);
  }
  for (const [what, n] of tally.errors) console.log(`  error ×${n}: ${what}`);
  return all.length / seconds;
}

async function main() {
  const skip = haproxySkip();
  if (skip) throw new Error(skip);
  log(`${cpus().length} cores (${availableParallelism()} available), ${cpus()[0]?.model ?? "?"}; PostgreSQL at ${new URL(ADMIN_URL).host}`);
  const database = await createTemporaryDatabase(ADMIN_URL);
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster(database.url, 3, {
      ECM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      // The soak's clients are all at 127.0.0.1: the attempt limits would refuse them as one attacker.
      ECM_RATE_LIMIT_PER_ADDRESS: "0",
      ECM_RATE_LIMIT_PER_ACCOUNT: "0",
    });
    const pids = cluster.nodes.map((n) => n.child.pid!);
    log(`three nodes (pids ${pids.join(", ")}) behind HAProxy at ${cluster.proxy.url}; importing ${USERS} users`);
    const { admin, ids } = await seed(cluster);
    const baseUrl = cluster.baseUrl;

    log(`measuring capacity for ${MEASURE_SECONDS} s (16 clients, closed loop)`);
    const measured = newTally();
    const measureEnd = performance.now() + MEASURE_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() < measureEnd) await timedRun(measured, pick(), baseUrl, admin, ids);
      }),
    );
    const capacity = report("capacity", measured, MEASURE_SECONDS);
    const rate = capacity * LOAD;

    const rssBefore = pids.map(rssMb);
    log(`soak: ${MINUTES} min at ${(LOAD * 100).toFixed(0)} % = ${rate.toFixed(1)} operations/s; RSS now ${rssBefore.map((r) => r.toFixed(0)).join(", ")} MB`);
    const soaked = newTally();
    const soakStart = performance.now();
    const soakEnd = soakStart + MINUTES * 60_000;
    const inFlight = new Set<Promise<void>>();
    let behind = 0;
    let rssPeak = [...rssBefore];
    let nextReport = soakStart + 60_000;
    for (let n = 0; ; n++) {
      const due = soakStart + (n * 1000) / rate;
      if (due >= soakEnd) break;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (inFlight.size >= MAX_IN_FLIGHT) {
        behind++;
        continue;
      }
      const p = timedRun(soaked, pick(), baseUrl, admin, ids).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (performance.now() >= nextReport) {
        nextReport += 60_000;
        const now = pids.map(rssMb);
        rssPeak = rssPeak.map((r, i) => Math.max(r, now[i]!));
        const errors = [...soaked.errors.values()].reduce((a, b) => a + b, 0);
        log(`${[...soaked.done.values()].flat().length} operations, ${errors} errors, ${inFlight.size} in flight; RSS ${now.map((r) => r.toFixed(0)).join(", ")} MB`);
      }
    }
    await Promise.all(inFlight);
    const rssAfter = pids.map(rssMb);
    rssPeak = rssPeak.map((r, i) => Math.max(r, rssAfter[i]!));
    report(`soak (${MINUTES} min at ${(LOAD * 100).toFixed(0)} % of ${capacity.toFixed(1)}/s)`, soaked, (performance.now() - soakStart) / 1000);
    if (behind > 0) console.log(`  ${behind} operations not started: ${MAX_IN_FLIGHT} were in flight (the nodes fell behind the schedule)`);
    console.log("  node  RSS before  after  peak  growth");
    pids.forEach((_, i) => {
      const growth = ((rssAfter[i]! - rssBefore[i]!) / rssBefore[i]!) * 100;
      console.log(`  ${i}     ${rssBefore[i]!.toFixed(0).padStart(6)} MB ${rssAfter[i]!.toFixed(0).padStart(4)} MB ${rssPeak[i]!.toFixed(0).padStart(4)} MB  ${growth >= 0 ? "+" : ""}${growth.toFixed(1)} %`);
    });
  } finally {
    agent.destroy();
    await cluster?.stop();
    await database.drop();
  }
}

await main();
