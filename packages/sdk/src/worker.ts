/** ECMSync's worker thread: runs the async client and answers each call on the shared port. */
import { workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { ECM } from "./client.js";
import { serializeError } from "./errors.js";
import type { ECMOptions } from "./http.js";

interface WorkerData {
  options: ECMOptions;
  port: MessagePort;
  flag: SharedArrayBuffer;
}

export interface CallMessage {
  id: number;
  method: string;
  args: unknown[];
}

const data = workerData as WorkerData;
const flag = new Int32Array(data.flag);
const port = data.port;
const ecm = new ECM(data.options);

function reply(msg: unknown): void {
  port.postMessage(msg);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

async function dispatch(method: string, args: unknown[]): Promise<unknown> {
  if (method === "login") {
    const t = await ecm.login(args[0] as never);
    return { expiresIn: t.expiresIn, tokenType: t.tokenType, accessToken: t.accessToken };
  }
  if (method === "logout") return ecm.logout(args[0] as never);
  if (method === "token") return ecm.token;
  if (method === "request") return ecm.request(...(args as [string, string, never]));
  if (method.startsWith("security.")) {
    const name = method.slice("security.".length);
    const fn = (ecm.security as unknown as Record<string, unknown>)[name];
    if (typeof fn !== "function" || name.startsWith("#") || name === "constructor" || name === "iterUsers") {
      throw new TypeError(`unknown method ${method}`);
    }
    return (fn as (...a: unknown[]) => Promise<unknown>).apply(ecm.security, args);
  }
  throw new TypeError(`unknown method ${method}`);
}

port.on("message", (m: CallMessage) => {
  dispatch(m.method, m.args).then(
    (value) => reply({ id: m.id, ok: true, value }),
    (err: unknown) => reply({ id: m.id, ok: false, error: serializeError(err) }),
  );
});

// Heartbeat: the blocked caller checks that this thread is alive.
setInterval(() => Atomics.add(flag, 1, 1), 250).unref();

process.on("uncaughtException", (err) => reply({ id: -1, ok: false, error: serializeError(err) }));
