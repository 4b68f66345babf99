/**
 * One SDK measurement in a process of its own (started by sdk.ts with --expose-gc), so that its heap
 * holds nothing else: `sdk-probe.ts <users|users-extended|iter|sync> <baseUrl> <password>` prints one
 * JSON line. The SDK is the built package (`ecm-sdk` → packages/sdk/dist), as scripts use it.
 */
import { ECM, ECMSync } from "ecm-sdk";

const [mode, baseUrl, password] = process.argv.slice(2) as [string, string, string];
const options = { baseUrl, username: "sysadmin", password };

/** Full collections until the heap stops shrinking (a collection frees some memory only after the sweeper ran). */
async function settledHeap(): Promise<number> {
  let last = Infinity;
  for (let i = 0; i < 10; i++) {
    globalThis.gc!();
    await new Promise((r) => setTimeout(r, 20));
    const now = process.memoryUsage().heapUsed;
    if (now >= last - 64 * 1024) return now;
    last = now;
  }
  return last;
}

async function held(load: () => Promise<unknown[]> | unknown[]): Promise<Record<string, number>> {
  const before = await settledHeap();
  const started = performance.now();
  const list = await load();
  const seconds = (performance.now() - started) / 1000;
  const after = await settledHeap();
  // The list is still held here: the heap above counted it.
  return { users: list.length, seconds, bytesPerUser: (after - before) / list.length };
}

async function iterate(): Promise<Record<string, number>> {
  const ecm = new ECM(options);
  await ecm.login();
  const start = await settledHeap();
  let most = start;
  let users = 0;
  const started = performance.now();
  for await (const u of ecm.security.iterUsers({ extendedInfo: true })) {
    if (++users % 10_000 === 0) most = Math.max(most, process.memoryUsage().heapUsed);
    if (u.username === "") throw new Error("a user without a name");
  }
  const seconds = (performance.now() - started) / 1000;
  return { users, seconds, usersPerSecond: users / seconds, heapGrowthMb: (most - start) / 2 ** 20 };
}

let result: Record<string, number>;
if (mode === "iter") result = await iterate();
else if (mode === "sync") {
  const sync = new ECMSync(options);
  sync.login();
  result = await held(() => sync.security.users());
  sync.close();
} else {
  const ecm = new ECM(options);
  await ecm.login();
  result = await held(() => ecm.security.users({ extendedInfo: mode === "users-extended" }));
}
process.stdout.write(`${JSON.stringify({ ...result, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
