import type { ClientMetadata } from "oidc-provider";
import { Browser, startTestProvider, type TestProvider } from "./oidc-provider.js";
import type { TestServer } from "./server.js";

export const CLIENT_ID = "ecm-security";
export const CLIENT_SECRET = "provider-client-secret-4711";

/** The provider's client for this ECM server (its redirect and back-channel logout URIs). */
export function clientFor(s: Pick<TestServer, "baseUrl">, alias: string): ClientMetadata {
  return {
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [`${s.baseUrl}/auth/v1/providers/${alias}/callback`],
    backchannel_logout_uri: `${s.baseUrl}/auth/v1/providers/${alias}/backchannel-logout`,
    backchannel_logout_session_required: true,
    grant_types: ["authorization_code"],
    response_types: ["code"],
  };
}

/** A provider on loopback and its configuration in the ECM server under `alias`. */
export async function providerFor(s: TestServer, token: string, alias: string, settings: Record<string, unknown> = {}): Promise<TestProvider> {
  const provider = await startTestProvider([clientFor(s, alias)]);
  const r = await s.api("POST", "/idp/v1/external-identity-provider", {
    token,
    body: { alias, displayName: `${alias} SSO`, fromUrl: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...settings },
  });
  if (r.status !== 201) throw new Error(`creating provider ${alias} failed: ${r.status} ${r.text}`);
  return provider;
}

/** A browser's login through `alias` as `account`, driven up to the provider's redirect back to our callback (not yet followed). */
export async function toCallback(s: Pick<TestServer, "baseUrl">, alias: string, account: string, browser = new Browser(), returnTo = "/portal/console/"): Promise<{ browser: Browser; callback: URL }> {
  const start = `${s.baseUrl}/auth/v1/providers/${alias}/login?returnTo=${encodeURIComponent(returnTo)}`;
  const callback = await browser.navigate(start, account, (url) => url.pathname.endsWith(`/providers/${alias}/callback`) && url.origin === new URL(s.baseUrl).origin);
  return { browser, callback };
}

/** Follows the callback; on success its answer is a redirect to returnTo with `#code=`. */
export async function followCallback(browser: Browser, callback: URL): Promise<{ status: number; code?: string; location?: string; retryAfter?: string; body: any }> {
  const r = await browser.request(callback.href);
  const location = r.headers.get("location") ?? undefined;
  const text = await r.text();
  const code = location ? new URL(location).hash.match(/^#code=(.+)$/)?.[1] : undefined;
  return { status: r.status, code: code && decodeURIComponent(code), location, retryAfter: r.headers.get("retry-after") ?? undefined, body: text ? JSON.parse(text) : undefined };
}

/** The console's exchange of a code, from the browser the login ran in (its cookies go along), or from another address. */
export function exchangeCode(s: TestServer, browser: Browser, alias: string, code: string, from?: string) {
  const path = `/auth/v1/providers/${alias}/exchange`;
  const cookie = browser.cookieHeader(`${s.baseUrl}${path}`);
  return s.api("POST", path, { from, body: { code }, headers: cookie ? { cookie } : {} });
}

/** A whole provider login as `account`, ending in an access token. */
export async function providerLogin(s: TestServer, alias: string, account: string, browser?: Browser): Promise<string> {
  const { browser: b, callback } = await toCallback(s, alias, account, browser);
  const done = await followCallback(b, callback);
  if (done.status !== 303 || !done.code) throw new Error(`callback answered ${done.status}: ${JSON.stringify(done.body)}`);
  const r = await exchangeCode(s, b, alias, done.code);
  if (r.status !== 200) throw new Error(`exchange answered ${r.status}: ${r.text}`);
  return r.body.access_token;
}
