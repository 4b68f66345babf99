import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

export interface Running {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts the server the way `npm start` does, on a free port, and waits until it listens; its output is kept. */
export async function startMain(env: Record<string, string>): Promise<Running> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    env: { PATH: process.env.PATH, HOST: "127.0.0.1", PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const baseUrl = `http://127.0.0.1:${port}/portal`;
  // Compiling main.ts on a busy machine can take a while: up to a minute, then a clear failure.
  for (let i = 0; !output.includes("Server listening"); i++) {
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

