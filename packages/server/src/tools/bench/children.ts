import type { ChildProcess } from "node:child_process";

/**
 * The processes the bench starts (servers, seeders, slapd, the SDK's and CLI's runs): each one still
 * running when the bench exits, however it exits — done, an error, Ctrl-C, a `kill` of the bench
 * alone, a closed pipe —, is sent SIGTERM then, so that no server is left holding a port or a store.
 */
const running = new Set<ChildProcess>();

export function owned<T extends ChildProcess>(child: T): T {
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

/** Ends a child and waits until it has exited. */
export async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  await exited;
}

process.once("exit", () => {
  for (const child of running) child.kill("SIGTERM");
});
// A signal's default action ends the process without its exit event: exit instead, as the shell counts it.
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) process.once(signal, () => process.exit(code));
