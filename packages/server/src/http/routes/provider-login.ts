import cookie from "@fastify/cookie";
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { backchannelLogout } from "../../federation/backchannel.js";
import { DomainError } from "../../domain/errors.js";
import { ProviderLoginFailed, sameSecret } from "../../federation/login-flow.js";
import { publicBaseOf, redirectUriOf } from "../../federation/providers.js";
import type { AppDeps } from "../deps.js";
import { ApiError } from "../errors.js";
import { addressLimit } from "../rate-limit.js";
import { errorResponses } from "../schemas.js";
import { sharedWhileRunning } from "../shared-read.js";
import { PATTERN_MESSAGE } from "../validation.js";
import { TokenResponse } from "./auth.js";

const LOGIN_COOKIE = "ecm_provider_login";
/** The one-time code, kept by the browser the login ran in: only that browser exchanges it. */
const CODE_COOKIE = "ecm_provider_code";
const AliasParams = Type.Object({ alias: Type.String({ maxLength: 64 }) });

/**
 * The browser login through an identity provider, and what providers call: the login page's list,
 * the redirect to the provider, its callback, the one-time code's exchange, back-channel logout.
 */
const providerLoginRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { loginFlow, providers, secrets, config, jwks, store, auditTally }) => {
  // Signed with a key derived from the secret key: every node reads the cookies of the others.
  await app.register(cookie, { secret: secrets.deriveKey("provider-login-cookie") });

  // Starting a login writes a pending login and sends the browser on; an exchange looks a code up: both are anonymous.
  const providerLoginLimit = addressLimit(app, config.rateLimit, "provider login", config.rateLimit.providerLoginsPerAddress);
  const refusedLogouts = addressLimit(app, config.rateLimit, "refused back-channel logout", config.rateLimit.providerLoginsPerAddress);
  const strayCallbacks = addressLimit(app, config.rateLimit, "callback without a login in progress", config.rateLimit.providerLoginsPerAddress);
  const cookiePath = (alias: string) => `${app.prefix}/auth/v1/providers/${encodeURIComponent(alias)}/`;
  /** Cookies only over https: this request's, or the public URL's (a TLS proxy in front that the server is not told to trust). */
  const secureCookies = (request: FastifyRequest) => request.protocol === "https" || config.publicUrl?.startsWith("https:") === true;
  /** The console, where a browser goes when nothing better is known: a path, so no Host header chooses the origin. */
  const consolePath = `${app.prefix}/console/`;
  /** Where a login opened directly (a bookmark, a portal's link) comes back: no page of the console began it, so it is told the provider. */
  const openedDirectly = (alias: string) => `${consolePath}?provider=${encodeURIComponent(alias)}`;

  /**
   * `returnTo` must stay on this service's origin (an open redirect would hand the one-time code to anyone),
   * and off its API but for the console: a route that redirects (another provider's login) would carry the
   * code's fragment on to wherever it sends the browser.
   */
  function sameOrigin(publicBase: string, returnTo: string): string {
    const base = urlOrNull(publicBase);
    if (base === null) throw new ApiError("invalidRequest", "This service's public URL is not valid here (ECM_PUBLIC_URL, or the origin the provider was added through, or this request's Host header).", { field: "host" });
    // What URL cannot read ("//") is no URL of this service either.
    const target = urlOrNull(returnTo, base);
    if (target === null || target.origin !== base.origin) throw new ApiError("invalidRequest", "returnTo must be a URL of this service.", { field: "returnTo" });
    // The origin behind a user name reads as another site in an address bar (http://evil.example%2F@this-service/…).
    if (target.username || target.password) throw new ApiError("invalidRequest", "returnTo must not hold a user name or password.", { field: "returnTo" });
    // The console's address typed without its closing slash, which the server sends on to the console.
    if (decodedPath(target.pathname, base) === consolePath.slice(0, -1)) target.pathname = consolePath;
    // As typed and as the router reads it (percent-decoded: `/%70ortal/auth/…` is `/portal/auth/…`).
    const decoded = decodedPath(target.pathname, base);
    const isRoute = (path: string) => (path === app.prefix || path.startsWith(`${app.prefix}/`)) && !path.startsWith(consolePath);
    if (decoded === null || isRoute(target.pathname) || isRoute(decoded)) {
      throw new ApiError("invalidRequest", "returnTo must be a page (the console's, or one outside this API), not a route of this API.", { field: "returnTo" });
    }
    target.hash = "";
    return target.href;
  }

  /** A browser (`Accept: text/html`) shows a refused login on the page it came from, `#error=` in words, not as a JSON body; other clients get the error. */
  function refused(request: FastifyRequest, reply: FastifyReply, alias: string, error: ProviderLoginFailed, page = consolePath): FastifyReply {
    // The libraries' words help an operator, not the person logging in: the log has them, the answer not.
    if (error.detail) request.log.warn({ alias, reason: error.refusal.details.reason, detail: error.detail }, "a provider login was refused");
    if (!request.headers.accept?.includes("text/html")) throw error.refusal;
    const back = `${error.returnTo?.replace(/#.*$/, "") ?? page}#error=${encodeURIComponent(error.refusal.message)}`;
    return reply.header("cache-control", "no-store").header("referrer-policy", "no-referrer").redirect(back, 303);
  }

  app.get("/auth/v1/providers", {
    schema: {
      summary: "Identity providers a login page offers",
      description: "The enabled providers, in their gui order. Public: no token needed.",
      tags: ["auth"],
      response: { 200: Type.Array(Type.Object({ alias: Type.String(), displayName: Type.String(), guiOrder: Type.Integer() })) },
    },
  }, sharedWhileRunning(async () => (await providers.list()).filter((p) => p.enabled).map(({ alias, displayName, guiOrder }) => ({ alias, displayName, guiOrder }))));

  app.get("/auth/v1/providers/:alias/login", {
    schema: {
      summary: "Log in through an identity provider (browser)",
      description: "Redirects to the provider (authorization code with PKCE). After the login the browser comes back to `returnTo` (this service's origin only; without one, the console, told the provider by `?provider=`) with a one-time `#code=…` to exchange at `…/exchange`. A disabled provider's refusal redirects a browser (`Accept: text/html`) to `returnTo` with `#error=` and the reason in words, an unknown provider's to the console; other clients get the error.",
      tags: ["auth"],
      params: AliasParams,
      querystring: Type.Object({ returnTo: Type.Optional(Type.String({ maxLength: 2048 })) }, { additionalProperties: false }),
      response: { 302: Type.Null(), 303: Type.Null(), ...errorResponses(400, 404, 429) },
    },
    preHandler: providerLoginLimit,
  }, async (request, reply) => {
    const { alias } = request.params;
    let start;
    try {
      // The redirect URI is the one shown to the administrators, whatever Host this anonymous request names.
      start = await loginFlow.begin(alias, (p) => {
        const base = publicBaseOf(p, config.publicUrl, `${request.protocol}://${request.host}`);
        const returnTo = request.query.returnTo ?? openedDirectly(alias);
        return { redirectUri: redirectUriOf(base, alias), returnTo: sameOrigin(base, returnTo) };
      }, request.ip);
    } catch (error) {
      // A provider that does not exist has no page to check returnTo against: the console's.
      if (error instanceof ProviderLoginFailed) return refused(request, reply, alias, error, request.query.returnTo === undefined ? openedDirectly(alias) : consolePath);
      throw error;
    }
    return reply
      .setCookie(LOGIN_COOKIE, start.loginId, { path: cookiePath(alias), httpOnly: true, sameSite: "lax", secure: secureCookies(request), maxAge: 600, signed: true })
      .header("cache-control", "no-store")
      .redirect(start.authorizationUrl, 302);
  });

  app.get("/auth/v1/providers/:alias/callback", {
    schema: {
      summary: "Where the identity provider sends the browser back",
      description: "Checks the answer (state, issuer, code, ID token and its signature), finds or creates the user, and redirects to `returnTo` with a one-time code in the fragment. Register this URL at the provider. A refused login redirects a browser (`Accept: text/html`) to `returnTo` (the console when the login in progress is unknown) with `#error=` and the reason in words; other clients get the error.",
      tags: ["auth"],
      params: AliasParams,
      // The provider's answer: code, state, iss, or error; providers may add their own parameters.
      querystring: Type.Object({}, { additionalProperties: Type.String({ maxLength: 4096 }) }),
      response: { 303: Type.Null(), ...errorResponses(400, 401, 404, 429, 503) },
    },
  }, async (request, reply) => {
    const { alias } = request.params;
    const signed = request.cookies[LOGIN_COOKIE];
    const unsigned = signed === undefined ? undefined : request.unsignCookie(signed);
    const loginId = unsigned?.valid ? unsigned.value ?? undefined : undefined;
    // Spent once its own answer came, whatever the outcome (not by another's: see loginStays).
    const forgetLogin = () => reply.clearCookie(LOGIN_COOKIE, { path: cookiePath(alias) });
    reply.header("cache-control", "no-store");
    // A callback that follows a login started here is limited by the login's own limit; one that
    // follows none (anyone can send it) counts against its address, a 429 past the limit — before
    // any work when it names no login at all.
    if (loginId === undefined) await strayCallbacks.call(app, request, reply);
    const query = new URLSearchParams(request.query as Record<string, string>);
    let done;
    try {
      done = await loginFlow.complete(alias, loginId, query, request.ip);
    } catch (error) {
      if (!(error instanceof ProviderLoginFailed) || !error.loginStays) forgetLogin();
      if (!(error instanceof ProviderLoginFailed)) throw error;
      // It named a login that is not in progress (used, expired): counted too.
      if (error.withoutLogin && loginId !== undefined) await strayCallbacks.call(app, request, reply);
      return refused(request, reply, alias, error);
    }
    forgetLogin();
    const target = new URL(done.returnTo);
    target.hash = `code=${encodeURIComponent(done.code)}`;
    reply.setCookie(CODE_COOKIE, done.code, { path: cookiePath(alias), httpOnly: true, sameSite: "lax", secure: secureCookies(request), maxAge: 60, signed: true });
    // How long the provider took, apart from the callback's own work (operators and the bench read it).
    return reply.header("referrer-policy", "no-referrer").header("server-timing", `idp;dur=${done.providerMs.toFixed(1)};desc="identity provider"`).redirect(target.href, 303);
  });

  app.post("/auth/v1/providers/:alias/exchange", {
    schema: {
      summary: "Exchange a provider login's one-time code for a token",
      description: "Once, within 60 seconds of the login.",
      tags: ["auth"],
      params: AliasParams,
      body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
      response: { 200: TokenResponse, ...errorResponses(400, 401, 429) },
    },
    preHandler: providerLoginLimit,
  }, async (request, reply) => {
    const signed = request.cookies[CODE_COOKIE];
    const held = signed === undefined ? undefined : request.unsignCookie(signed);
    const browserHolds = held?.valid !== true || held.value === null ? "no-code" : sameSecret(held.value, request.body.code) ? "this-code" : "another-code";
    const token = await loginFlow.exchange(request.params.alias, request.body.code, request.ip, browserHolds);
    return reply.clearCookie(CODE_COOKIE, { path: cookiePath(request.params.alias) }).header("cache-control", "no-store").send(token);
  });

  // Back-channel logout tokens come as a form (OpenID Connect Back-Channel Logout 1.0, 2.5): that route
  // alone takes one (a form is what a cross-site page can post; the exchange and the others take JSON).
  await app.register(async (child) => {
    const logout = child.withTypeProvider<TypeBoxTypeProvider>();
    logout.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    logout.post("/auth/v1/providers/:alias/backchannel-logout", {
      schema: {
        summary: "OpenID Connect Back-Channel Logout",
        description: "The provider posts a signed `logout_token`; the sessions opened through that provider session (`sid`) or subject (`sub`) end on every node. Register this URL at the provider.",
        tags: ["auth"],
        params: AliasParams,
        // A JWT's compact form (base64url parts joined by dots): ASCII, which bounds the body this route reads (http/body-limits.ts).
        body: Type.Object({ logout_token: Type.String({ minLength: 1, maxLength: 16_384, pattern: "^[A-Za-z0-9_.-]+$", [PATTERN_MESSAGE]: "is not a JWT (base64url parts joined by dots)" }) }, { additionalProperties: false }),
        response: { 200: Type.Null(), ...errorResponses(400, 404, 429, 503) },
      },
    }, async (request, reply) => {
      // Refused tokens count against the address (a 429 past the limit); valid ones never do: a
      // provider posts the logouts of all its users from one address. A post for an alias this
      // process has not found enabled is counted before the store is read for it (past the limit,
      // a 429 that reads nothing), a provider's first one after a start too.
      const known = loginFlow.knownProvider(request.params.alias);
      if (!known) await refusedLogouts.call(app, request, reply);
      try {
        const p = await loginFlow.enabledProvider(request.params.alias);
        await backchannelLogout(store.db, jwks, auditTally, p, request.body.logout_token, request.ip);
      } catch (error) {
        if (known && error instanceof DomainError && (error.kind === "invalid" || error.kind === "not-found")) await refusedLogouts.call(app, request, reply);
        throw error;
      }
      return reply.header("cache-control", "no-store").code(200).send(null);
    });
  });
};

export default providerLoginRoutes;

/** `new URL`, or null where it throws (URL.parse needs Node 20.18). */
function urlOrNull(text: string, base?: URL): URL | null {
  try {
    return new URL(text, base);
  } catch {
    return null;
  }
}

/** A path percent-decoded, its dot segments then resolved; null when it does not decode. */
function decodedPath(pathname: string, base: URL): string | null {
  try {
    return new URL(decodeURIComponent(pathname), base).pathname;
  } catch {
    return null;
  }
}
