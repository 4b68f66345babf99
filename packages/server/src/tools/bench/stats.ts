import { spawn } from "node:child_process";
import { join } from "node:path";
import { readdirSync, readFileSync } from "node:fs";
import { owned } from "./children.js";

/** The status lines of a process and of its descendants (a server's primary and its workers); gone ones are left out. */
function treeStatus(pid: number): string[] {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return [];
  }
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean));
  return [status, ...children.flatMap((child) => treeStatus(Number(child)))];
}

const kbField = (status: string, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;

/**
 * Peak resident memory so far (VmHWM), in MB, of a process or, when it has children (a server with
 * workers: the primary serves nothing), of the largest of them.
 */
export function peakRssMb(pid: number): number {
  return Math.max(...treeStatus(pid).map((s) => kbField(s, "VmHWM")));
}

/** Resident memory now (VmRSS), in MB, of a process and its descendants together. */
export function treeRssMb(pid: number): number {
  return treeStatus(pid).reduce((sum, s) => sum + kbField(s, "VmRSS"), 0);
}

/** Latency figures of a run, in milliseconds. */
export interface Latency {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function latencyOf(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN };
}

/** Runs `task` over `items` with `concurrency` workers (numbered from 0); returns each item's duration in ms and the wall time. */
export async function timed<T>(items: readonly T[], concurrency: number, task: (item: T, worker: number) => Promise<unknown>): Promise<{ samples: number[]; seconds: number }> {
  const samples: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < items.length) {
        const item = items[next++]!;
        const t0 = performance.now();
        await task(item, worker);
        samples.push(performance.now() - t0);
      }
    }),
  );
  return { samples, seconds: (performance.now() - started) / 1000 };
}

/**
 * Starts `task` on each item at `perSecond`, whatever the answers before it (an open loop, as users
 * arrive), and times each from when it was due: a start the client or the server made late counts.
 * Answers the latencies and the rate actually reached.
 */
export async function paced<T>(items: readonly T[], perSecond: number, task: (item: T) => Promise<unknown>): Promise<{ samples: number[]; seconds: number }> {
  const samples: number[] = [];
  const running: Promise<void>[] = [];
  const started = performance.now();
  for (const [k, item] of items.entries()) {
    const due = started + (k * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    running.push(task(item).then(() => void samples.push(performance.now() - due)));
  }
  await Promise.all(running);
  return { samples, seconds: (performance.now() - started) / 1000 };
}

export const ms = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : "—");

/** Runs the built `ecm` as sysadmin with its stdout thrown away: exit code, stderr, wall time, peak RSS (sampled every 50 ms). */
export function runEcm(root: string, baseUrl: string, password: string, args: string[]): Promise<{ code: number | null; stderr: string; seconds: number; peakRssMb: number }> {
  const env = { ...process.env, ECM_URL: baseUrl, ECM_USERNAME: "sysadmin", ECM_PASSWORD: password, XDG_CONFIG_HOME: "/nonexistent" };
  const started = performance.now();
  const child = owned(spawn(process.execPath, [join(root, "packages/cli/bin/ecm.js"), ...args], { cwd: root, env, stdio: ["ignore", "ignore", "pipe"] }));
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  let peak = 0;
  const sample = setInterval(() => {
    try {
      // NaN once it has exited and not yet been reaped (no memory lines any more).
      peak = Math.max(peak, peakRssMb(child.pid!) || 0);
    } catch {
      // exited and reaped between two samples
    }
  }, 50);
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      clearInterval(sample);
      resolve({ code, stderr, seconds: (performance.now() - started) / 1000, peakRssMb: peak });
    }),
  );
}
