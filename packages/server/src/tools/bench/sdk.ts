import { spawn } from "node:child_process";
import { join } from "node:path";
import { owned } from "./children.js";
import { BenchClient } from "./http-client.js";
import { runEcm } from "./stats.js";

/**
 * The seed's `users()` as script authors call it, over the whole seeded store: the SDK's
 * users(), users({ extendedInfo: true }), iterUsers() and ECMSync users(), each in a process of its
 * own (sdk-probe.ts: wall time, heap bytes per user held, heap growth while iterating), and
 * `ecm users list -o json|csv` (wall time, peak RSS), beside the server's own streamed export of the
 * same users in the same run. The SDK and CLI are the built packages.
 */
export interface SdkResult {
  users: number;
  /**
   * The server's streamed list read and thrown away: what the SDK's figures compare with; and the same
   * list as the SDK asks for it (only its fields, each user an array of their values: `fields=`,
   * `shape=arrays`), what the SDK reads.
   */
  server: { basicSeconds: number; extendedSeconds: number; sdkFieldsSeconds: number; sdkExtendedFieldsSeconds: number };
  usersPlain: Probe;
  usersExtended: Probe;
  iterUsers: Probe;
  syncUsers: Probe;
  cliJson: CliRun;
  cliCsv: CliRun;
}

interface Probe {
  users: number;
  seconds: number;
  bytesPerUser?: number;
  usersPerSecond?: number;
  heapGrowthMb?: number;
  peakRssMb: number;
}

interface CliRun {
  seconds: number;
  peakRssMb: number;
}


function runProbe(root: string, mode: string, baseUrl: string, password: string): Promise<Probe> {
  const probe = join(root, "packages/server/src/tools/bench/sdk-probe.ts");
  const child = owned(spawn(process.execPath, ["--expose-gc", "--import", "tsx", probe, mode, baseUrl, password], { cwd: root, stdio: ["ignore", "pipe", "inherit"] }));
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  return new Promise((resolve, reject) =>
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as Probe) : reject(new Error(`sdk-probe ${mode} exited with ${code}`)))),
  );
}

/** `ecm users list -o <format>` with its output thrown away: wall time and peak RSS (sampled until it exits). */
async function runCli(root: string, format: string, baseUrl: string, password: string): Promise<CliRun> {
  const run = await runEcm(root, baseUrl, password, ["users", "list", "-o", format]);
  if (run.code !== 0) throw new Error(`ecm users list -o ${format} exited with ${run.code}: ${run.stderr.slice(-500)}`);
  return { seconds: run.seconds, peakRssMb: run.peakRssMb };
}

export async function benchSdk(root: string, baseUrl: string, adminPassword: string, log: (text: string) => void): Promise<SdkResult> {
  // The built SDK, loaded once the bench has built it (a static import would load the one from before).
  const { restUserFields } = await import("ecm-sdk");
  /** The list as the SDK asks for it (packages/sdk/src/users-stream.ts): its fields, each user an array of their values. */
  const sdkList = (extended: boolean) => `/security/v1/users?shape=arrays${extended ? "&extendedInfo=true" : ""}&fields=${restUserFields(extended)}`;
  const client = new BenchClient(baseUrl, 1);
  try {
    const login = await client.request("POST", "/auth/v1/providers/builtin/token", { username: "sysadmin", password: adminPassword });
    client.setToken((JSON.parse(login.body) as { access_token: string }).access_token);
    const users = Number(await client.get("/security/v1/users/count"));
    const streamed = async (path: string) => {
      const t0 = performance.now();
      const r = await client.request("GET", path, undefined, () => {});
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status}`);
      return (performance.now() - t0) / 1000;
    };
    log("sdk: the server's streamed list (a pass to warm it, then measured)…");
    await streamed("/security/v1/users?extendedInfo=true");
    const server = {
      basicSeconds: await streamed("/security/v1/users"),
      extendedSeconds: await streamed("/security/v1/users?extendedInfo=true"),
      sdkFieldsSeconds: await streamed(sdkList(false)),
      sdkExtendedFieldsSeconds: await streamed(sdkList(true)),
    };
    const probe = (mode: string) => {
      log(`sdk: ${mode}…`);
      return runProbe(root, mode, baseUrl, adminPassword);
    };
    const cli = (format: string) => {
      log(`sdk: ecm users list -o ${format}…`);
      return runCli(root, format, baseUrl, adminPassword);
    };
    return {
      users,
      server,
      usersPlain: await probe("users"),
      usersExtended: await probe("users-extended"),
      iterUsers: await probe("iter"),
      syncUsers: await probe("sync"),
      cliJson: await cli("json"),
      cliCsv: await cli("csv"),
    };
  } finally {
    client.close();
  }
}

export function sdkReport(r: SdkResult): string[] {
  const vs = (seconds: number, base: number) => `${seconds.toFixed(2)} s (${(seconds / base).toFixed(2)}× the server's export)`;
  const perUser = (p: Probe) => `${Math.round(p.bytesPerUser!)} heap bytes a user held`;
  return [
    `sdk, ${r.users.toLocaleString("en")} users; the server's own streamed export of them: ${r.server.basicSeconds.toFixed(2)} s plain, ${r.server.extendedSeconds.toFixed(2)} s extended`,
    `  the same as the SDK reads it (its fields as arrays: fields=, shape=arrays): ${r.server.sdkFieldsSeconds.toFixed(2)} s plain, ${r.server.sdkExtendedFieldsSeconds.toFixed(2)} s extended`,
    `  users():                      ${vs(r.usersPlain.seconds, r.server.basicSeconds)}, ${perUser(r.usersPlain)}`,
    `  users({ extendedInfo: true }): ${vs(r.usersExtended.seconds, r.server.extendedSeconds)}, ${perUser(r.usersExtended)}`,
    `  iterUsers({ extendedInfo }):  ${Math.round(r.iterUsers.usersPerSecond!).toLocaleString("en")} users/s (${vs(r.iterUsers.seconds, r.server.extendedSeconds)}), heap at most ${r.iterUsers.heapGrowthMb!.toFixed(0)} MB above its start`,
    `  ECMSync users():              ${r.syncUsers.seconds.toFixed(2)} s (${(r.syncUsers.seconds / r.usersPlain.seconds).toFixed(2)}× ECM's users()), ${perUser(r.syncUsers)}`,
    `  ecm users list -o json:       ${vs(r.cliJson.seconds, r.server.basicSeconds)}, peak RSS ${r.cliJson.peakRssMb.toFixed(0)} MB`,
    `  ecm users list -o csv:        ${vs(r.cliCsv.seconds, r.server.basicSeconds)}, peak RSS ${r.cliCsv.peakRssMb.toFixed(0)} MB`,
  ];
}
