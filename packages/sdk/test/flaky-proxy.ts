/**
 * Test helper: an HTTP proxy in front of the real server that misbehaves on demand, per request —
 * drops the connection, answers 503 (Retry-After 0, or one hour), never answers, or passes the answer's
 * first bytes through and then drops the connection (after a pause, if given) or stops sending. It runs
 * on a thread of its own, so that ECMSync, which blocks the test's thread, can be tested through it; the
 * test's thread reads and sets it synchronously (it waits for the proxy's thread to answer).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { MessageChannel, Worker, isMainThread, receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";

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
  const code = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
  const worker = new Worker(code, { eval: true, workerData: { flakyProxy: { target: targetBaseUrl, port: port2, flag } }, transferList: [port2] });
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

/** The proxy itself, on its thread. */
async function serve({ target: targetBaseUrl, port, flag }: ProxyData): Promise<string> {
  const target = new URL(targetBaseUrl);
  let faults: Fault[] = [];
  let passed: string[] = [];
  const server = http.createServer((req, res) => {
    Atomics.add(flag, 1, 1);
    const fault = faults.shift();
    if (fault === "drop") return req.socket.destroy();
    if (fault === "hold") return;
    if (fault === "503" || fault === "503-retry-later") {
      const body = JSON.stringify({ errorMessage: "ECMS1901-E The service is unavailable.", additionalInfo: "{}" });
      res.writeHead(503, { "content-type": "application/json", "retry-after": fault === "503" ? "0" : "3600" });
      return res.end(body);
    }
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        passed.push(`${req.method} ${req.url!.split("?")[0]} ${up.statusCode}`);
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (fault === undefined) return up.pipe(res);
        // Mid-answer: the first bytes, then the fault.
        const limit = "dropAfter" in fault ? fault.dropAfter : fault.stallAfter;
        let sent = 0;
        up.on("data", (chunk: Buffer) => {
          if (sent >= limit) return;
          const part = chunk.subarray(0, limit - sent);
          sent += part.length;
          res.write(part);
          if (sent < limit) return;
          up.destroy();
          if ("dropAfter" in fault) setTimeout(() => req.socket.destroy(), fault.pauseMs ?? 0);
        });
        // An answer shorter than the limit ends as it is; a longer one never ends cleanly.
        up.on("end", () => sent < limit && res.end());
      },
    );
    upstream.on("error", () => req.socket.destroy());
    req.pipe(upstream);
  });
  const answer = (value: unknown) => {
    port.postMessage(value);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  port.on("message", ({ op, arg }: { op: string; arg?: unknown }) => {
    if (op === "faults") answer(faults);
    else if (op === "setFaults") answer((faults = [...(arg as Fault[])]).length);
    else if (op === "passed") answer(passed);
    else if (op === "clearPassed") answer((passed = []).length);
    else if (op === "close") {
      server.closeAllConnections();
      server.close();
      answer(true);
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname}`;
}

const data = (workerData as { flakyProxy?: ProxyData } | null)?.flakyProxy;
if (!isMainThread && data) {
  const { parentPort } = await import("node:worker_threads");
  parentPort!.postMessage(await serve(data));
}
