/**
 * Test helper: an HTTP proxy in front of the real server that misbehaves on demand, per request —
 * drops the connection, answers 503 (Retry-After 0, or one hour), never answers, or passes the answer's
 * first bytes through and then drops the connection (after a pause, if given) or stops sending. It runs
 * on a thread of its own (flaky-proxy-thread.mjs), so that ECMSync, which blocks the test's thread, can
 * be tested through it; the test's thread reads and sets it synchronously (it waits for the proxy's
 * thread to answer).
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";

export type Fault = "drop" | "503" | "503-retry-later" | "hold" | { dropAfter: number; pauseMs?: number } | { stallAfter: number };

export interface FlakyProxy {
  baseUrl: string;
  /** Faults for the next requests, in order (read: those no request met yet); afterwards requests pass through. */
  faults: Fault[];
  /** Requests received. */
  readonly requests: number;
  /** `METHOD /path status` of each request passed through, in order. */
  readonly passed: string[];
  clearPassed(): void;
  close(): Promise<void>;
}

interface ProxyData {
  target: string;
  port: MessagePort;
  /** [0] an answer is ready, [1] requests received. */
  flag: Int32Array;
}

export async function startFlakyProxy(targetBaseUrl: string): Promise<FlakyProxy> {
  const flag = new Int32Array(new SharedArrayBuffer(8));
  const { port1, port2 } = new MessageChannel();
  // The proxy's thread is plain JavaScript and takes none of the test process's flags: no loader (tsx) to start.
  const data: ProxyData = { target: targetBaseUrl, port: port2, flag };
  const worker = new Worker(new URL("./flaky-proxy-thread.mjs", import.meta.url), { workerData: data, transferList: [port2], execArgv: [] });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  worker.unref();
  port1.unref();
  const call = (op: string, arg?: unknown): unknown => {
    Atomics.store(flag, 0, 0);
    port1.postMessage({ op, arg });
    Atomics.wait(flag, 0, 0, 10_000);
    const answer = receiveMessageOnPort(port1);
    if (!answer) throw new Error(`the flaky proxy did not answer ${op}`);
    return answer.message;
  };
  return {
    baseUrl,
    get faults() {
      return call("faults") as Fault[];
    },
    set faults(faults: Fault[]) {
      call("setFaults", faults);
    },
    get requests() {
      return Atomics.load(flag, 1);
    },
    get passed() {
      return call("passed") as string[];
    },
    clearPassed: () => void call("clearPassed"),
    async close() {
      call("close");
      await worker.terminate();
    },
  };
}
