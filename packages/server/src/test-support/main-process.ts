import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface Running {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** What `npm start` runs: the build (npm test runs after `npm ci`, whose prepare step builds). */
export const BUILT_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

/**
 * A port for a server started as its own process: below Linux's ephemeral range (32768 and up), so no
 * outgoing connection of another test can hold it, and the servers the tests start in-process listen on
 * ports from that range.
 */
export const mainPort = () => 20000 + Math.floor(Math.random() * 12000);

/**
 * Starts the server the way `npm start` does (the build, with no loader in front), on a free port,
 * and waits until `listeners` processes listen (one unless ECM_WORKERS says more); its output is kept.
 */
export async function startMain(env: Record<string, string>, listeners = Number(env.ECM_WORKERS ?? 1)): Promise<Running> {
  const port = mainPort();
  const child = spawn(process.execPath, [BUILT_MAIN], {
    env: { PATH: process.env.PATH, HOST: "127.0.0.1", PORT: String(port), ECM_WORKERS: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const baseUrl = `http://127.0.0.1:${port}/portal`;
  // Starting on a busy machine can take a while (schema compiling): up to a minute, then a clear failure.
  for (let i = 0; output.split("Server listening").length <= listeners; i++) {
    if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
    if (i === 600) {
      child.kill("SIGKILL");
      throw new Error(`server did not listen within 60 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    baseUrl,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

