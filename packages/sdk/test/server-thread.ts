/**
 * Test helper: runs the real server (packages/server test-support) on a worker thread, so that
 * ECMSync — which blocks the calling thread — can be tested against it from the test's thread.
 */
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

const workerUrl = new URL("./server-thread-worker.ts", import.meta.url);

export async function startServerThread(overrides: ThreadServerOptions = {}): Promise<ThreadServer> {
  const code = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}); });`;
  const worker = new Worker(code, { eval: true, workerData: { overrides } });
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
