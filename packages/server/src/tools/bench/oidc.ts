import http from "node:http";
import { Browser, startTestProvider } from "../../test-support/oidc-provider.js";
import { CLIENT_ID, CLIENT_SECRET } from "../../test-support/provider-login.js";
import { httpSender } from "./http-client.js";
import { latencyOf, paced, timed, type Latency } from "./stats.js";

export interface OidcBenchOptions {
  /** Accounts at the provider (each a browser with its own provider session). */
  accounts: number;
  /** Measured logins, spread over the accounts. */
  logins: number;
  /** Logins in flight. */
  concurrency: number;
  log(text: string): void;
}

export interface OidcResult {
  accounts: number;
  /** The first login of each account: the provider's login and consent forms, and the user created. */
  firstLogins: { count: number; seconds: number; perSecond: number };
  logins: { count: number; seconds: number; perSecond: number; concurrency: number };
  /** Our callback as its client sees it, and without the time it waited for the provider (Server-Timing). */
  callback: Latency;
  callbackOwn: Latency;
  /** Logins started at the target's rate (an open loop, as users arrive), after the saturated pass. */
  /** `waitedForAccount`: logins that found every account busy with one in flight, and waited (the server fell that far behind). */
  paced: { perSecond: number; target: number; login: Latency; callbackOwn: Latency; failures: Record<string, number>; waitedForAccount: number };
  /** Failed measured logins, and failed first logins, by kind (step, status, answer). */
  failures: Record<string, number>;
  firstFailures: Record<string, number>;
}

const ALIAS = "bench";
/** The issue's rate: logins started this often measure the callback's time at the rate it must hold. */
const LOGINS_PER_SECOND_TARGET = 100;

/**
 * Provider logins end to end against a real OpenID Connect provider (oidc-provider, in this process)
 * and the server at `baseUrl`: each account logs in once through the provider's forms (its user is
 * created), then logs in again and again with its provider session, as a user with single sign-on
 * does: our login redirect, the provider's authorization, our callback (code exchange with the
 * provider, ID token and signature, linking rules), the one-time code's exchange for a token.
 */
export async function benchOidc(baseUrl: string, adminPassword: string, opts: OidcBenchOptions): Promise<OidcResult> {
  const provider = await startTestProvider([
    { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [`${baseUrl}/auth/v1/providers/${ALIAS}/callback`], grant_types: ["authorization_code"], response_types: ["code"] },
  ]);
  const agent = new http.Agent({ keepAlive: true });
  try {
    const admin = await post(`${baseUrl}/auth/v1/providers/builtin/token`, { username: "sysadmin", password: adminPassword });
    const token = (admin.body as { access_token: string }).access_token;
    const existing = await fetch(`${baseUrl}/idp/v1/external-identity-provider/${ALIAS}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    if (existing.status !== 204 && existing.status !== 404) throw new Error(`removing an earlier bench provider: ${existing.status}`);
    const created = await post(`${baseUrl}/idp/v1/external-identity-provider`, { alias: ALIAS, displayName: "Bench SSO", fromUrl: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, config: { scopes: ["openid", "profile", "email", "groups"] } }, token);
    if (created.status !== 201) throw new Error(`creating the bench provider: ${created.status} ${JSON.stringify(created.body)}`);

    const run = Date.now().toString(36);
    const send = httpSender(agent);
    // Each worker logs in its own accounts: one browser never runs two logins at once (they would share its cookie).
    const perWorker = Math.max(1, Math.floor(opts.accounts / opts.concurrency));
    const browsers = Array.from({ length: perWorker * opts.concurrency }, (_, i) => {
      const sub = `bench-${run}-${i}`;
      provider.accounts.set(sub, { preferred_username: sub, email: `${sub}@bench.example`, email_verified: true, given_name: "Bench", family_name: `User ${i}`, groups: ["staff"] });
      return { sub, browser: new Browser(send) };
    });
    const callbackTimes: number[] = [];
    const ownTimes: number[] = [];
    /** Failed logins of the phase running (first logins, then the measured ones), by step, status and answer. */
    let failures = new Map<string, number>();
    const failed = (kind: string) => {
      if (!failures.has(kind)) opts.log(`[oidc] failed: ${kind}`);
      failures.set(kind, (failures.get(kind) ?? 0) + 1);
    };
    const failedAnswer = async (step: string, answer: Response) => failed(`${step} ${answer.status} ${(await answer.text()).slice(0, 300)}`);

    /** A login's request that got no answer (a reset socket, say) is a failed login, not the end of the bench. */
    const failedRequest = (step: string) => (error: Error) => failed(`${step}: ${error.message} ${(error.cause as Error | undefined)?.message ?? ""}`);

    /** One login of `account`; its first one goes through the provider's forms. */
    const login = async (account: (typeof browsers)[number]) => loginSteps(account).catch(failedRequest("callback or exchange"));
    const loginSteps = async ({ sub, browser }: (typeof browsers)[number]) => {
      const callback = await browser.navigate(`${baseUrl}/auth/v1/providers/${ALIAS}/login?returnTo=%2Fportal%2Fconsole%2F`, sub, (url) => url.pathname.endsWith(`/${ALIAS}/callback`)).catch(failedRequest("to the callback"));
      if (!callback) return;
      const t0 = performance.now();
      const answer = await browser.request(callback.href);
      const elapsed = performance.now() - t0;
      const code = /#code=([^&]+)/.exec(answer.headers.get("location") ?? "")?.[1];
      if (answer.status !== 303 || !code) return failedAnswer("callback", answer);
      const providerMs = Number(/idp;dur=([\d.]+)/.exec(answer.headers.get("server-timing") ?? "")?.[1] ?? NaN);
      callbackTimes.push(elapsed);
      ownTimes.push(elapsed - providerMs);
      // From the browser the login ran in, with its cookie, as the console exchanges it.
      const exchangeUrl = `${baseUrl}/auth/v1/providers/${ALIAS}/exchange`;
      const cookie = browser.cookieHeader(exchangeUrl);
      const exchanged = await send(new URL(exchangeUrl), { method: "POST", headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ code: decodeURIComponent(code) }) });
      if (exchanged.status !== 200) return failedAnswer("exchange", exchanged);
      await exchanged.body?.cancel();
    };

    opts.log(`[oidc] first logins of ${opts.accounts} accounts (provider forms, users created)…`);
    const first = await timed(browsers, opts.concurrency, login);
    const firstFailures = failures;
    failures = new Map();
    callbackTimes.length = 0;
    ownTimes.length = 0;
    opts.log(`[oidc] ${opts.logins} logins with provider sessions, ${opts.concurrency} in flight…`);
    const rounds = Array.from({ length: opts.concurrency }, () => 0);
    const measured = await timed(Array.from({ length: opts.logins }), opts.concurrency, (_, worker) => login(browsers[worker + opts.concurrency * (rounds[worker]!++ % perWorker)]!));
    const saturated = { callback: latencyOf(callbackTimes), callbackOwn: latencyOf(ownTimes), failures: Object.fromEntries(failures) };

    opts.log(`[oidc] ${opts.logins} logins started at ${LOGINS_PER_SECOND_TARGET}/s…`);
    failures = new Map();
    ownTimes.length = 0;
    // A login takes a browser no other login is using (they would share its cookies). When the server
    // falls so far behind that every account has a login in flight (64 with --quick), the next one waits
    // for a free account: that wait is part of its time, which runs from when it was due.
    const free = [...browsers];
    const waiting: ((account: (typeof browsers)[number]) => void)[] = [];
    let waited = 0;
    const take = async () => {
      const account = free.shift();
      if (account) return account;
      waited++;
      return new Promise<(typeof browsers)[number]>((resolve) => waiting.push(resolve));
    };
    const give = (account: (typeof browsers)[number]) => {
      const next = waiting.shift();
      if (next) next(account);
      else free.push(account);
    };
    const pacedRun = await paced(Array.from({ length: opts.logins }), LOGINS_PER_SECOND_TARGET, async () => {
      const account = await take();
      await login(account).finally(() => give(account));
    });
    return {
      accounts: browsers.length,
      firstLogins: { count: browsers.length, seconds: first.seconds, perSecond: browsers.length / first.seconds },
      logins: { count: opts.logins, seconds: measured.seconds, perSecond: opts.logins / measured.seconds, concurrency: opts.concurrency },
      ...saturated,
      paced: { perSecond: pacedRun.samples.length / pacedRun.seconds, target: LOGINS_PER_SECOND_TARGET, login: latencyOf(pacedRun.samples), callbackOwn: latencyOf(ownTimes), failures: Object.fromEntries(failures), waitedForAccount: waited },
      firstFailures: Object.fromEntries(firstFailures),
    };
  } finally {
    agent.destroy();
    await provider.close();
  }
}

async function post(url: string, body: unknown, token?: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

/** The report's lines of a run. */
export function oidcReport(r: OidcResult): string[] {
  const count = (kinds: Record<string, number>) => Object.values(kinds).reduce((a, b) => a + b, 0);
  const kinds = (phase: string, of: Record<string, number>) => Object.entries(of).map(([kind, n]) => `${phase} failed ${n}×: ${kind}`);
  const lat = (l: Latency) => `p50 ${l.p50.toFixed(2)} ms, p90 ${l.p90.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(1)} ms`;
  return [
    `provider logins:          ${r.logins.perSecond.toFixed(1)} complete logins/s with ${r.logins.concurrency} in flight (${r.logins.count} logins of ${r.accounts} accounts with provider sessions; the provider runs in the bench process)${count(r.failures) ? `; ${count(r.failures)} FAILED` : ""}`,
    `provider first logins:    ${r.firstLogins.perSecond.toFixed(1)}/s (provider login and consent forms, user created)${count(r.firstFailures) ? `; ${count(r.firstFailures)} FAILED` : ""}`,
    `callback, own time:       ${lat(r.callbackOwn)} (without the provider's code exchange, from Server-Timing)`,
    `callback, as seen:        ${lat(r.callback)}`,
    `started at ${r.paced.target}/s:         ${r.paced.perSecond.toFixed(1)} logins/s; callback, own time ${lat(r.paced.callbackOwn)}; whole login (timed from when it was due) ${lat(r.paced.login)}${r.paced.waitedForAccount ? `; ${r.paced.waitedForAccount} waited for one of the ${r.accounts} accounts to be free (all had a login in flight)` : ""}${count(r.paced.failures) ? `; ${count(r.paced.failures)} FAILED` : ""}`,
    ...kinds("login", r.failures),
    ...kinds(`login at ${r.paced.target}/s`, r.paced.failures),
    ...kinds("first login", r.firstFailures),
  ];
}
