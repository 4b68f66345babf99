/**
 * Test helper: runs the real server (packages/server test-support) on a worker thread, so that
 * ECMSync — which blocks the calling thread — can be tested against it from the test's thread.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

export interface ThreadServer {
  baseUrl: string;
  adminPassword: string;
  /** Moves the server's token clock forward: lifetimes pass without waiting. */
  advanceClock(seconds: number): Promise<void>;
  close(): Promise<void>;
}

export interface ThreadServerOptions {
  /** Idle token lifetime in seconds (server default 300). */
  tokenTtlSeconds?: number;
  [key: string]: unknown;
}

/**
 * The server on the thread is the server's build (npm test runs after `npm ci`, whose prepare step
 * builds), as the server's own process tests run it: these suites test the SDK and the CLI, and the
 * server's suites its sources. A thread that started the sources through tsx cost about 2 CPU-s more.
 */
const workerUrl = new URL("./server-thread-worker.mjs", import.meta.url);

/**
 * Why the build of `packages/<pkg>` would run old code: a source newer than its last build (after a
 * change, `npm run build`), or undefined.
 */
export function staleBuild(pkg: "sdk" | "server" | "cli"): string | undefined {
  const dir = fileURLToPath(new URL(`../../${pkg}/`, import.meta.url));
  const built = statSync(join(dir, "tsconfig.tsbuildinfo"), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const newer = readdirSync(join(dir, "src"), { recursive: true, encoding: "utf8" })
    .find((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && statSync(join(dir, "src", f)).mtimeMs > built);
  return newer === undefined ? undefined : `packages/${pkg}/src/${newer} is newer than the build: run \`npm run build\` first`;
}

export async function startServerThread(overrides: ThreadServerOptions = {}): Promise<ThreadServer> {
  const stale = staleBuild("server");
  if (stale) throw new Error(stale);
  // None of the test process's flags (tsx among them): the build needs no loader.
  const worker = new Worker(workerUrl, { workerData: { overrides }, execArgv: [] });
  const ready = await new Promise<{ baseUrl: string; adminPassword: string }>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`server thread exited with ${code}`)));
  });
  worker.unref();
  /** Sends a message and waits for the worker's answer (one at a time). */
  const ask = (message: unknown) => {
    worker.ref();
    const answered = new Promise<void>((r) => worker.once("message", () => r()));
    worker.postMessage(message);
    return answered.finally(() => worker.unref());
  };
  return {
    ...ready,
    advanceClock: (seconds) => ask({ advanceClock: seconds }),
    async close() {
      await ask("close");
      await worker.terminate();
    },
  };
}
