import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import Provider, { type ClientMetadata } from "oidc-provider";

/**
 * A real OpenID Connect provider (`oidc-provider`) on loopback, configured by the test: its clients,
 * its accounts and their claims, its signing keys. Its devInteractions pages are the login and
 * consent forms a browser fills in. Anyone logs in with any password; the account is the login name.
 */
export interface TestProvider {
  issuer: string;
  /** Claims of each account by login name (its `sub`); change them between logins. */
  accounts: Map<string, Record<string, unknown>>;
  /** Requests the provider's JWKS endpoint has had. */
  jwksRequests: number;
  /** When set, rewrites each ID token the token endpoint sends (a compromised or broken provider). */
  tamper: ((idToken: string) => Promise<string>) | null;
  /** When set, the endpoint at this path (`/token`, `/me`) answers this HTTP status instead (a provider failing). */
  failing: { path: string; status: number } | null;
  /** When set, the endpoint at this path (`/token`, `/me`) takes requests and never answers (a provider hung). */
  stalled: string | null;
  /** When (Date.now()) the stalled endpoint last took a request. */
  stalledAt: number | null;
  /** The private key ID tokens are signed with now. */
  signingKey(): JWK;
  /** A new signing key is published first (the old one stays listed): the provider rotated its keys. */
  rotateKeys(): Promise<void>;
  /** Signs claims with `key` (default: the provider's current key) as the provider would. */
  sign(claims: Record<string, unknown>, key?: JWK, typ?: string): Promise<string>;
  /** Stops answering (connection refused) until `start`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: `k-${Math.random().toString(36).slice(2, 10)}`, alg: "ES256", use: "sig" };
}

const TTL = { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 };

export async function startTestProvider(clients: ClientMetadata[]): Promise<TestProvider> {
  let current: Provider | undefined;
  const server: Server = createServer((req, res) => current!.callback()(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  let keys = [await newSigningKey()];
  const accounts = new Map<string, Record<string, unknown>>();

  const state: TestProvider = {
    issuer,
    accounts,
    jwksRequests: 0,
    tamper: null,
    failing: null,
    stalled: null,
    stalledAt: null,
    signingKey: () => keys[0]!,
    async rotateKeys() {
      keys = [await newSigningKey(), ...keys];
      current = build();
    },
    async sign(claims, key = keys[0]!, typ = "JWT") {
      return new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: key.kid, typ }).sign(await importJWK(key, "ES256"));
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async start() {
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    },
    async close() {
      if (server.listening) await state.stop();
    },
  };

  function build(): Provider {
    const provider = new Provider(issuer, {
      clients: clients.map((c) => ({ id_token_signed_response_alg: "ES256", ...c })),
      jwks: { keys },
      cookies: { keys: ["test-provider-cookie-key"] },
      claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["preferred_username", "given_name", "family_name", "name"], groups: ["groups"] },
      // Scope claims in the ID token (the default puts them in userinfo only).
      conformIdTokenClaims: false,
      features: { devInteractions: { enabled: true }, backchannelLogout: { enabled: true } },
      pkce: { required: () => true },
      ttl: TTL,
      findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, ...accounts.get(id) }) }),
    });
    provider.use(async (ctx, next) => {
      if (ctx.path === "/jwks") state.jwksRequests++;
      // Held until the connection is closed (stop, close).
      if (ctx.path === state.stalled) {
        state.stalledAt = Date.now();
        await new Promise(() => {});
      }
      if (ctx.path === state.failing?.path) {
        ctx.status = state.failing.status;
        // As a provider refuses an access token (RFC 6750): with a challenge.
        if (state.failing.status === 401) ctx.set("www-authenticate", 'Bearer error="invalid_token"');
        ctx.body = { error: state.failing.status === 401 ? "invalid_token" : "server_error" };
        return;
      }
      await next();
      const body = ctx.body as { id_token?: string } | undefined;
      if (ctx.path === "/token" && state.tamper && body?.id_token) body.id_token = await state.tamper(body.id_token);
    });
    return provider;
  }
  current = build();
  return state;
}

/** The claims of an ID token, changed, signed again with `key` (a forged or altered token). */
export async function resign(provider: TestProvider, idToken: string, change: Record<string, unknown>, key?: JWK, typ?: string): Promise<string> {
  return provider.sign({ ...decodeJwt(idToken), ...change }, key, typ);
}

/** A request a Browser sends; redirects are never followed. */
export interface SendInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * A browser: a cookie jar per origin, redirects followed by hand, forms filled in. Enough of one to
 * drive an OpenID Connect login through the provider's own pages.
 */
export class Browser {
  private readonly jar = new Map<string, Map<string, { value: string; path: string }>>();

  /** `send` makes the requests (the bench passes a cheaper one than fetch, whose CPU it shares with the server). */
  constructor(private readonly send: (url: URL, init: SendInit) => Promise<Response> = (url, init) => fetch(url, { ...init, redirect: "manual" })) {}

  cookie(origin: string, name: string): string | undefined {
    return this.jar.get(origin)?.get(name)?.value;
  }

  /** The Cookie header this browser sends to `url` (undefined: none). */
  cookieHeader(url: string): string | undefined {
    const target = new URL(url);
    const cookies = [...(this.jar.get(target.origin) ?? new Map()).entries()].filter(([, c]) => target.pathname.startsWith(c.path)).map(([n, c]) => `${n}=${c.value}`);
    return cookies.length ? cookies.join("; ") : undefined;
  }

  async request(url: string, init: { method?: string; form?: Record<string, string>; accept?: string } = {}): Promise<Response> {
    const target = new URL(url);
    const cookies = this.cookieHeader(url);
    const headers: Record<string, string> = {};
    if (init.accept) headers.accept = init.accept;
    if (cookies) headers.cookie = cookies;
    let body: string | undefined;
    if (init.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(init.form).toString();
    }
    const response = await this.send(target, { method: init.method ?? (init.form ? "POST" : "GET"), headers, body });
    for (const line of response.headers.getSetCookie()) this.store(target, line);
    return response;
  }

  private store(url: URL, line: string): void {
    const [pair, ...attributes] = line.split(";").map((p) => p.trim());
    const eq = pair!.indexOf("=");
    const name = pair!.slice(0, eq);
    const value = pair!.slice(eq + 1);
    const attr = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.split("=")[1];
    const path = attr("path") ?? "/";
    const jar = this.jar.get(url.origin) ?? new Map();
    this.jar.set(url.origin, jar);
    const expired = attr("expires") !== undefined && Date.parse(attr("expires")!) < Date.now();
    if (value === "" || attr("max-age") === "0" || expired) jar.delete(name);
    else jar.set(name, { value, path });
  }

  /**
   * Follows redirects and fills in the provider's forms (login with `login`, then consent; `extra`
   * fields go into every form) from `url` until a redirect leads to a URL that `stop` accepts;
   * returns that URL, not yet requested.
   */
  async navigate(url: string, login: string, stop: (url: URL) => boolean, extra: Record<string, string> = {}): Promise<URL> {
    let next = new URL(url);
    for (let step = 0; step < 20; step++) {
      if (stop(next)) return next;
      let response = await this.request(next.href);
      if (response.status === 200) {
        const html = await response.text();
        const form = /<form([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
        const action = form && /action="([^"]+)"/.exec(form[1]!)?.[1];
        if (!form || !action) throw new Error(`no form on ${next.href}: ${html.slice(0, 300)}`);
        const fields: Record<string, string> = { ...extra };
        for (const [, name, value] of form[2]!.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[name!] = value!;
        if (/name="login"/.test(form[2]!)) Object.assign(fields, { login, password: "any password" });
        response = await this.request(new URL(action, next).href, { form: fields });
      }
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || !location) throw new Error(`unexpected ${response.status} at ${next.href}: ${(await response.text()).slice(0, 300)}`);
      next = new URL(location, next);
    }
    throw new Error("too many redirects");
  }
}
