import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Debian's HAProxy (package `haproxy`; .ci/run installs it). */
const HAPROXY = "haproxy";

/** Why HAProxy cannot run here, or false: the `skip` option of a suite that needs it. */
export function haproxySkip(): string | false {
  const probe = spawnSync(HAPROXY, ["-v"], { stdio: "ignore" });
  return probe.error || probe.status !== 0 ? "haproxy is not installed (apt-get install haproxy; .ci/run does)" : false;
}

/** A loopback port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export interface Haproxy {
  /** `http://127.0.0.1:<port>`: requests go to the nodes in turn. */
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Runs HAProxy in front of `backends` (`127.0.0.1:<port>` each) on a free loopback port, round-robin,
 * adding X-Forwarded-For (so the nodes trust 127.0.0.1 as their proxy); its config lives in a
 * temporary directory removed by `stop`.
 */
export async function startHaproxy(backends: readonly string[]): Promise<Haproxy> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "ecm-haproxy-"));
  const config = join(dir, "haproxy.cfg");
  writeFileSync(
    config,
    [
      "global",
      "  maxconn 4096",
      "defaults",
      "  mode http",
      "  timeout connect 5s",
      "  timeout client 120s",
      "  timeout server 120s",
      "  option forwardfor",
      "frontend ecm",
      `  bind 127.0.0.1:${port}`,
      "  default_backend nodes",
      "backend nodes",
      "  balance roundrobin",
      ...backends.map((address, i) => `  server node${i} ${address}`),
      "",
    ].join("\n"),
  );
  // -db: stay in the foreground, so the process is ours to stop.
  const child = spawn(HAPROXY, ["-db", "-f", config], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  for (let i = 0; !(await accepts(port)); i++) {
    if (child.exitCode !== null || i === 100) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`haproxy did not listen on ${port}: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
      }),
  };
}
