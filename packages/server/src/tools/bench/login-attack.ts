import { BenchClient } from "./http-client.js";
import { latencyOf, timed, type Latency } from "./stats.js";

export interface LoginAttackOptions {
  /** Attacking connections, each sending wrong passwords as fast as it is answered. */
  attackers: number;
  /** Client addresses the attackers are spread over (127.0.2.1, 127.0.2.2, …). */
  attackAddresses: number;
  /** Legitimate users, each logging in from an address of its own (127.0.1.1, …) where it logged in before. */
  users: number;
  /** Measured legitimate logins, spread over the users one after the other. */
  logins: number;
  log(text: string): void;
}

export interface LoginAttackResult {
  attackers: number;
  attackAddresses: number;
  legit: Latency & { failures: number; statuses: Record<string, number> };
  /** Answers to the attackers while the legitimate logins were measured, by status. */
  attack: { requests: number; perSecond: number; statuses: Record<string, number> };
}

const TOKEN_PATH = "/auth/v1/providers/builtin/token";
const PASSWORD = "Bench-Legit-Login-7";
const loopback = (subnet: number, i: number) => `127.0.${subnet}.${(i % 250) + 1}`;

/**
 * A legitimate login while the token endpoint is under attack (the target: p99 ≤ 1 s with 256
 * attacking connections from other addresses). Legitimate users log in from addresses they logged in
 * from before, each at a person's pace, while `attackers` connections from `attackAddresses` other
 * loopback addresses send wrong passwords for those same accounts, sysadmin and unknown names,
 * without pause. With the server's default limits, as `npm start` runs it.
 */
export async function benchLoginAttack(baseUrl: string, adminPassword: string, opts: LoginAttackOptions): Promise<LoginAttackResult> {
  const admin = new BenchClient(baseUrl, 1);
  const run = Date.now().toString(36);
  const names = Array.from({ length: opts.users }, (_, i) => `bench-${run}-${i}`);
  try {
    const login = await admin.request("POST", TOKEN_PATH, { username: "sysadmin", password: adminPassword });
    if (login.status !== 200) throw new Error(`sysadmin login failed (${login.status})`);
    admin.setToken((JSON.parse(login.body) as { access_token: string }).access_token);
    for (const username of names) {
      const created = await admin.request("POST", "/security/v1/users", { username, password: PASSWORD });
      if (created.status !== 201) throw new Error(`creating ${username}: ${created.status} ${created.body}`);
    }
  } finally {
    admin.close();
  }
  // One client per legitimate address; its first login makes the address familiar to the account.
  const legit = names.map((username, i) => ({ username, client: new BenchClient(baseUrl, 1, loopback(1, i)) }));
  for (const { username, client } of legit) {
    const first = await client.request("POST", TOKEN_PATH, { username, password: PASSWORD });
    if (first.status !== 200) throw new Error(`first login of ${username}: ${first.status} ${first.body}`);
  }

  opts.log(`[login-attack] ${opts.attackers} attacking connections from ${opts.attackAddresses} addresses; ${opts.logins} legitimate logins by ${opts.users} users…`);
  const targets = [...names, "sysadmin", "no-such-user"];
  const attackClients = Array.from({ length: opts.attackAddresses }, (_, i) => new BenchClient(baseUrl, Math.ceil(opts.attackers / opts.attackAddresses), loopback(2, i)));
  const attackStatuses: Record<string, number> = {};
  let attackRequests = 0;
  let attacking = true;
  const attack = Array.from({ length: opts.attackers }, async (_, i) => {
    const client = attackClients[i % attackClients.length]!;
    for (let n = 0; attacking; n++) {
      const username = targets[(i + n) % targets.length]!;
      const status = await client.request("POST", TOKEN_PATH, { username, password: `wrong-guess-${i}-${n}` }).then((r) => String(r.status), (e: NodeJS.ErrnoException) => e.code ?? "error");
      attackStatuses[status] = (attackStatuses[status] ?? 0) + 1;
      attackRequests++;
    }
  });
  // Let the attack reach its steady state (limits and lockouts reached) before measuring.
  await new Promise((r) => setTimeout(r, 2000));
  const legitStatuses: Record<string, number> = {};
  const started = performance.now();
  const attackBefore = attackRequests;
  const { samples } = await timed(
    Array.from({ length: opts.logins }, (_, i) => legit[i % legit.length]!),
    1,
    async ({ username, client }) => {
      const r = await client.request("POST", TOKEN_PATH, { username, password: PASSWORD });
      legitStatuses[r.status] = (legitStatuses[r.status] ?? 0) + 1;
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const attackDuring = attackRequests - attackBefore;
  attacking = false;
  await Promise.all(attack);
  for (const c of [...attackClients, ...legit.map((l) => l.client)]) c.close();
  const failures = opts.logins - (legitStatuses["200"] ?? 0);
  return {
    attackers: opts.attackers,
    attackAddresses: opts.attackAddresses,
    legit: { ...latencyOf(samples), failures, statuses: legitStatuses },
    attack: { requests: attackDuring, perSecond: attackDuring / seconds, statuses: attackStatuses },
  };
}

/** The report's lines for a run. */
export function loginAttackReport(r: LoginAttackResult): string[] {
  const statuses = (s: Record<string, number>) => Object.entries(s).map(([k, v]) => `${k}: ${v}`).join(", ");
  return [
    `login under attack (${r.attackers} connections from ${r.attackAddresses} other addresses, wrong passwords): legitimate login p50 ${r.legit.p50.toFixed(1)} ms, p90 ${r.legit.p90.toFixed(1)} ms, p99 ${r.legit.p99.toFixed(1)} ms, max ${r.legit.max.toFixed(1)} ms over ${r.legit.count} logins (refused: ${r.legit.failures}; ${statuses(r.legit.statuses)})`,
    `  the attack meanwhile: ${Math.round(r.attack.perSecond)} requests/s answered (${statuses(r.attack.statuses)})`,
  ];
}
