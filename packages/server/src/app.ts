import { readTlsFiles } from "./setting-file.js";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from "fastify";
import { localCredentials, storeRehash } from "./auth/credentials.js";
import { LoginService } from "./auth/login.js";
import { PasswordHasher } from "./auth/passwords.js";
import { ApiKeys } from "./auth/api-keys.js";
import { loadSecretBox } from "./auth/secret-box.js";
import { Sessions } from "./auth/sessions.js";
import type { Config } from "./config.js";
import { bootstrap } from "./domain/bootstrap.js";
import { SigningKeys } from "./auth/signing-keys.js";
import { createGroupAdmin, type GroupReferences } from "./domain/groups.js";
import { PasswordPolicy } from "./domain/password-policy.js";
import { createUserAdmin } from "./domain/users.js";
import { createBulkActions } from "./domain/bulk-actions.js";
import { JwksCache } from "./federation/jwks.js";
import { createLinking } from "./federation/linking.js";
import { createLoginFlow } from "./federation/login-flow.js";
import { createProviderAdmin, providersNamingGroups } from "./federation/providers.js";
import { createGuard } from "./http/auth-guard.js";
import type { AppDeps } from "./http/deps.js";
import { ApiError } from "./http/errors.js";
import { declaredCharset, writesAsciiAsAscii } from "./http/charset.js";
import { registerSecurityHeaders, DOCS_CSP } from "./http/security-headers.js";
import { boundOpenBody } from "./http/body-limits.js";
import { answerWhatNodeRefuses, clientErrorHandler, closeQuerystring, declaredBodyBytes, refuseBody, frameworkErrors, handleError, MAX_PARAM_LENGTH, methodOfOwnPath, notFoundHandler, noteHeadRequests, staticRouteMethods, wellEncodedQuery } from "./http/error-handling.js";
import auditEventsRoutes from "./http/routes/audit-events.js";
import authRoutes from "./http/routes/auth.js";
import healthRoutes from "./http/routes/health.js";
import identityProvidersRoutes from "./http/routes/identity-providers.js";
import providerLoginRoutes from "./http/routes/provider-login.js";
import meRoutes from "./http/routes/me.js";
import usersRoutes from "./http/routes/users.js";
import usersImportRoutes from "./http/routes/users-import.js";
import apiKeysRoutes from "./http/routes/api-keys.js";
import exportRoutes from "./http/routes/export.js";
import groupsRoutes from "./http/routes/groups.js";
import federatedIdentitiesRoutes from "./http/routes/federated-identities.js";
import membershipsRoutes from "./http/routes/memberships.js";
import roleMappingsRoutes from "./http/routes/role-mappings.js";
import rolesRoutes from "./http/routes/roles.js";
import signingKeysRoutes from "./http/routes/signing-keys.js";
import bulkActionsRoutes from "./http/routes/bulk-actions.js";
import consoleRoutes from "./http/routes/console.js";
import externalUserStorageRoutes, { DirectorySchema } from "./http/routes/external-user-storage.js";
import { createDirectoryService, directoriesNamingGroups } from "./directory/directories.js";
import { accountCredentials } from "./directory/bind.js";
import { GroupSchema, RoleSchema } from "./http/group-view.js";
import { documentRoute, keepsVersion, referencingShared } from "./http/openapi.js";
import { publishedDocument } from "./http/published-document.js";
import { ErrorSchema } from "./http/schemas.js";
import { UserSchema } from "./http/user-view.js";
import { continueBody, deferContinue, limitConnections, timeoutOptions } from "./http/connections.js";
import { warnOfUntrustedForwarding } from "./http/untrusted-forwarding.js";
import { registerRateLimits } from "./http/rate-limit.js";
import { AuditTally, pruneAudit } from "./domain/audit.js";
import { pruneRateCounters, RateCounters } from "./storage/rate-counters.js";
import { keyNamesLeftUnkeyed } from "./storage/audit-names.js";
import { buildSerializer } from "./http/compiled-schemas.js";
import { bounded, jsonNestedDeeperThan, MAX_JSON_DEPTH, validatorCompiler } from "./http/validation.js";
import { busyPolicyOf, openStore, type Store } from "./storage/store.js";
import { createUserQueries } from "./storage/user-queries.js";
import { userPartPrecondition } from "./http/etag.js";
import { createGroupQueries } from "./storage/group-queries.js";

export const BASE_PATH = "/portal";

/** One entry of the route table: a method and a path pattern as registered (`/portal/security/v1/users/:id`). */
export interface RouteEntry {
  method: string;
  url: string;
}

export interface Server {
  app: FastifyInstance;
  deps: AppDeps;
  /** Every route the app serves (tests walk it, so a route added later is covered too). */
  routes: readonly RouteEntry[];
  /** Set when this start created `sysadmin` with a generated password. */
  generatedAdminPassword?: string;
  /** Set when ECM_ADMIN_PASSWORD was given but is not the password of the `sysadmin` an earlier start made. */
  adminPasswordIgnored?: boolean;
  /** What runs every 10 minutes in the background: purges and pruning (tests call it to see it done). */
  housekeeping(): Promise<void>;
  close(): Promise<void>;
}

/** What a server is built with besides its configuration. */
export interface ServerOptions {
  /** The time in milliseconds that token lifetimes (and a directory's reachable note) follow (tests move it instead of waiting). */
  now?: () => number;
}

/** Bytes that are not UTF-8 are refused, not read as U+FFFD and stored. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Builds the service on its store: migrations, first-start bootstrap, routes. Does not listen. */
export async function createServer(config: Config, options: ServerOptions = {}): Promise<Server> {
  const store = await openStore(config.store);
  try {
    return await createServerOn(store, config, options);
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function createServerOn(store: Store, config: Config, options: ServerOptions): Promise<Server> {
  const hasher = new PasswordHasher(config.argon2, config.hashQueue);
  const passwordPolicy = new PasswordPolicy(config.passwordPolicy);
  const secrets = loadSecretBox(config.secretKey);
  const signingKeys = new SigningKeys(store.db, secrets, config.tokenKeyFile, config.sessionMaxSeconds, options.now);
  await signingKeys.init();
  const sessions = new Sessions(store.db, signingKeys, config.tokenTtlSeconds, config.sessionMaxSeconds, options.now);
  const users = createUserQueries(store);
  const apiKeys = new ApiKeys(store.db, (secret) => secrets.tag("api key", secret), { perMinute: config.apiKeyRatePerMinute }, options.now);
  // The settings that name local groups: a group they name is not deleted, alone or with its directory.
  const namedBy: GroupReferences = async (on, uuids) => [...(await providersNamingGroups(on, uuids)), ...(await directoriesNamingGroups(on, uuids))];
  const directories = createDirectoryService(store, secrets, config.directories, namedBy, (error, message) => app.log.warn({ err: error }, message), options.now);
  const credentials = accountCredentials(localCredentials(hasher, storeRehash(store.db)), directories.credentials);
  const auditTally = new AuditTally(store.db, (error) => app.log.warn({ err: error }, "writing counted audit events failed"), 1000, config.auditAnonymousEventsPerMinute);
  const login = new LoginService(store.db, users, credentials, sessions, config.lockout, config.passwordMaxAgeDays, (name) => secrets.tag("audit login name", name), auditTally, store.dialect.writesInWith);
  const groups = createGroupQueries(store);
  const jwks = new JwksCache(config.oidcJwksCooldownSeconds, config.oidcTimeoutSeconds);
  const linking = createLinking(store, groups);
  const deps: AppDeps = {
    config,
    store,
    users,
    groups,
    sessions,
    signingKeys,
    hasher,
    login,
    auditTally,
    guard: createGuard(sessions, users, apiKeys, { counters: new RateCounters(store.db), windowMs: config.rateLimit.windowSeconds * 1000, max: config.rateLimit.refusedApiKeysPerAddress }, busyPolicyOf(config.store)),
    apiKeys,
    passwordPolicy,
    userAdmin: createUserAdmin(store, groups, hasher, login, passwordPolicy),
    groupAdmin: createGroupAdmin(store, groups, users, namedBy),
    secrets,
    bulkActions: createBulkActions(store, users, groups, { sessions, apiKeys }, (error, message) => app.log.warn({ err: error }, message)),
    providers: createProviderAdmin(store, secrets, config.oidcTimeoutSeconds),
    linking,
    loginFlow: createLoginFlow(store, secrets, jwks, linking, sessions, auditTally, config.providerLoginsInProgressMax, config.oidcTimeoutSeconds),
    jwks,
    directories,
  };

  const timeouts = timeoutOptions(config.connections);
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: ["req.headers.authorization", "req.headers.cookie", "*.password", "*.value", "*.access_token", "*.clientSecret", "*.logout_token", "*.bindPassword"], censor: "[redacted]" },
      // A provider's callback carries its authorization code in the query: never logged.
      serializers: { req: (req) => ({ method: req.method, url: loggedUrl(req.url), host: req.host, remoteAddress: req.ip }) },
    },
    bodyLimit: config.bodyLimit,
    trustProxy: trustProxyOption(config.trustProxy),
    // Typed as the plain HTTP server, which the HTTPS one is to everything here.
    // A request without Host is refused by the app, in the error shape (Node's own 400 has no body).
    ...((config.tls ? { https: { ...readTlsFiles(config.tls), ...timeouts.server, requireHostHeader: false } } : { http: { ...timeouts.server, requireHostHeader: false } }) as object),
    requestTimeout: timeouts.requestTimeout,
    connectionTimeout: timeouts.connectionTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors,
    clientErrorHandler,
    // One log line per request costs throughput at scale; it is there at debug level.
    logController: new LogController({ disableRequestLogging: config.logLevel !== "debug" && config.logLevel !== "trace" }),
    schemaController: { compilersFactory: { buildSerializer } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  limitConnections(app.server, config.connections, (address, message) => app.log.warn({ address }, message));
  deferContinue(app.server);
  noteHeadRequests(app.server);
  answerWhatNodeRefuses(app.server);
  const routes: RouteEntry[] = [];
  /** The paths whose objects keep a version, for the OpenAPI document's ETag headers. */
  const versioned = new Set<string>();
  const guardUserParts = userPartPrecondition(users);
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
    closeQuerystring(route);
    boundOpenBody(route, config.bodyLimit);
    guardUserParts(route);
    if (keepsVersion(route)) versioned.add(route.url);
  });
  await registerSecurityHeaders(app, config.tls !== undefined);
  app.setValidatorCompiler(validatorCompiler);
  // The API speaks JSON only: anything else is a 415, not a string handed to a schema.
  app.removeContentTypeParser("text/plain");
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  // What every request must be before any parser sees it.
  app.addHook("onRequest", async (request) => {
    // HTTP/1.0 has no Host (a load balancer's health check may send none); HTTP/1.1 must (RFC 9112 3.2).
    if (!request.headers.host && request.raw.httpVersion === "1.1") throw new ApiError("invalidRequest", "The request has no Host header.", { field: "host" });
    if (!wellEncodedQuery(request.url)) throw new ApiError("invalidRequest", "The query is not valid: it has a malformed percent-encoding (a % not followed by two hex digits, or bytes that are not UTF-8); write a % itself as %25.");
    // A compressed body would be read as if it were not: refused whole.
    const encoding = request.headers["content-encoding"]?.trim().toLowerCase();
    if (hasBody(request) && encoding !== undefined && encoding !== "" && encoding !== "identity") {
      throw new ApiError("unsupportedMediaType", `Send the body uncompressed: this server does not take Content-Encoding ${bounded(encoding)}.`, { contentEncoding: bounded(encoding) });
    }
  });
  warnOfUntrustedForwarding(app);
  // The paths' own methods, read by the hook and the not-found handler alike.
  const ownMethods = staticRouteMethods(routes);
  app.addHook("onRequest", methodOfOwnPath(ownMethods));
  // What a body must be before any parser reads it, once the caller is known (a route's guard runs
  // first): a charset read as UTF-8, and for a route that reads its body itself (an import) one of the
  // types it names (another one, JSON too, is refused unread).
  app.addHook("preParsing", async (request, reply) => {
    const { accepts } = request.routeOptions.config;
    const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    // A JSON body is read as UTF-8, an import in the charset it declares. One in a charset whose ASCII
    // is not ASCII's bytes (UTF-16, UTF-32, EBCDIC) is refused. A JSON body in another reads the same
    // for ASCII, and a byte beyond it that is not UTF-8 is refused where it is read (clients such as
    // Apache HttpClient say ISO-8859-1 by default).
    const charset = declaredCharset(request.headers["content-type"]);
    if (hasBody(request) && charset !== undefined && !writesAsciiAsAscii(charset)) {
      throw new ApiError("unsupportedMediaType", `Send the body as UTF-8: this server reads no ${bounded(charset) || "empty"} charset.`, { charset: bounded(charset) });
    }
    if (hasBody(request) && accepts !== undefined && !accepts.includes(type)) {
      throw new ApiError("unsupportedMediaType", `Send the body as ${accepts.join(" or ")}, not ${bounded(type) || "without a content type"}.`, { contentType: bounded(type) });
    }
    // Taken so far: a client waiting on `Expect: 100-continue` is asked for the body (a parser may still
    // refuse its type) — but for a declared length over the limit, answered 413 unsent. A route that
    // reads its body itself asks when it starts reading.
    if (accepts === undefined && !(Number(request.headers["content-length"]) > request.routeOptions.bodyLimit)) continueBody(reply.raw);
  });
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, bytes, done) => {
    // Clients that always say JSON send it with no body too: a route that takes none (or none needed) reads it as absent.
    // No route (a 404 or 405 follows): the body is not the question.
    const { schema, config: route } = request.routeOptions;
    if (request.is404 || ((bytes as Buffer).length === 0 && (schema?.body === undefined || route.bodyOptional))) return done(null, undefined);
    let body: string;
    try {
      body = strictUtf8.decode(bytes as Buffer);
    } catch {
      return done(new ApiError("invalidRequest", "The body is not valid UTF-8."), undefined);
    }
    if (jsonNestedDeeperThan(body as string, MAX_JSON_DEPTH)) return done(new ApiError("invalidRequest", `The body is nested more than ${MAX_JSON_DEPTH} levels deep.`, { maxDepth: MAX_JSON_DEPTH }), undefined);
    return parseJson(request, body as string, (error, value) => {
      // JSON that the guard against prototype poisoning refused: said as such, not as JSON that is not valid.
      if (error && isJson(body as string)) return done(new ApiError("invalidRequest", "The body has a field named __proto__ or constructor.prototype, which is not taken."), undefined);
      done(error, value);
    });
  });
  app.addHook("preValidation", async (request) => {
    const { schema, config } = request.routeOptions;
    if (request.is404) return;
    if (request.body === undefined) {
      if (config.bodyOptional) request.body = {};
    } else if (schema?.body === undefined && config.accepts === undefined) refuseBody(request.body);
  });
  app.decorateRequest("auth", null);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(notFoundHandler(app, routes, ownMethods));
  // Shared schemas: the OpenAPI document refers to them by name wherever a route embeds them.
  for (const schema of [ErrorSchema, UserSchema, GroupSchema, RoleSchema, DirectorySchema]) app.addSchema(schema);

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: "ECM Security", version: "1.0.0", description: "User, group and role administration of the ECM." },
      servers: [{ url: BASE_PATH }],
      components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", description: "An access token (JWT, from the token endpoint) or an API key (`ecm_…`)" } } },
    },
    // Components are named by their schemas' $id (User, Group, Error, …) instead of def-N.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => ({
      schema: documentRoute(route, referencingShared(schema ?? {}, new Set(Object.keys(app.getSchemas()))), versioned),
      url: url.startsWith(BASE_PATH) ? url.slice(BASE_PATH.length) || "/" : url,
    }),
  });
  const sendDocument = publishedDocument(() => app.swagger());
  // The docs page reads the document at /docs/json: sent as /openapi.json is (made once, compressed).
  const docsJson = `${BASE_PATH}/docs/json`;
  await app.register(swaggerUi, {
    routePrefix: `${BASE_PATH}/docs`,
    staticCSP: DOCS_CSP,
    // After the query is checked (an unknown parameter is a 400, as on every route).
    uiHooks: { preHandler: async (request, reply) => (request.routeOptions.url === docsJson ? sendDocument(request, reply) : undefined) },
  });
  app.get(`${BASE_PATH}/openapi.json`, { schema: { hide: true } }, sendDocument);

  await registerRateLimits(app, store.db);
  for (const routes of [authRoutes, healthRoutes, meRoutes, usersRoutes, auditEventsRoutes, groupsRoutes, membershipsRoutes, rolesRoutes, roleMappingsRoutes, exportRoutes, bulkActionsRoutes, identityProvidersRoutes, federatedIdentitiesRoutes, providerLoginRoutes, usersImportRoutes, apiKeysRoutes, signingKeysRoutes, consoleRoutes, externalUserStorageRoutes]) {
    await app.register(routes, { prefix: BASE_PATH, ...deps });
  }
  // Last of what a setting can fail (the secret key, the token key, the TLS files): a first start that
  // fails makes no sysadmin, whose generated password it would never show.
  const { generatedAdminPassword, adminPasswordIgnored } = await bootstrap(store.db, hasher, passwordPolicy, config.adminPassword);

  // Housekeeping, safe on every node at once: expired sessions, keys and provider logins, audit events past retention, spent counters;
  // and work another node left undone (a node of an earlier version during an upgrade, a release that failed after its commit):
  // audit names without their key, users of removed providers still to be made local. With none, a probe each.
  const housekeeping = async () => {
    await Promise.all([sessions.purgeExpired(), signingKeys.purge(), deps.loginFlow.purgeExpired(), pruneAudit(store.db, config.auditRetentionDays), pruneRateCounters(store.db), login.forgetStaleSources(), keyNamesLeftUnkeyed(store.db), deps.providers.releaseMadeUsers()]);
  };
  const purge = setInterval(() => void housekeeping().catch((e) => app.log.warn({ err: e }, "housekeeping failed")), 600_000);
  purge.unref();
  // Periodic directory syncs: every node looks, the lease lets one run each.
  deps.directories.start();
  // A provider's removal, or the removal of its links, that a stop cut short: its users become local ones now
  // (a close waits for it: the primary of several workers closes its store as soon as it has started).
  const released = deps.providers.releaseMadeUsers().catch((e: unknown) => app.log.warn({ err: e }, "the users of identity providers no longer linked to them could not be made local"));
  // Bulk actions whose node stopped go on here (their progress is in the store).
  const resume = setInterval(() => void deps.bulkActions.resumeStale().catch((e) => app.log.warn({ err: e }, "resuming bulk actions failed")), 30_000);
  resume.unref();

  return {
    app,
    deps,
    routes,
    generatedAdminPassword,
    adminPasswordIgnored,
    housekeeping,
    async close() {
      clearInterval(purge);
      clearInterval(resume);
      await deps.bulkActions.stop();
      await deps.directories.stop();
      await released;
      await app.close();
      await auditTally.close();
      await store.close();
    },
  };
}

/** Fastify takes a hop count too, though its types do not say so: as the function it makes of one (trust the nearest `hops`). */
function trustProxyOption(trust: Config["trustProxy"]): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === "number" ? (_address, hop) => hop < trust : trust;
}

/** Whether a request comes with a body (of any length to come). */
function hasBody(request: FastifyRequest): boolean {
  return declaredBodyBytes(request.raw) > 0;
}

/**
 * A request's URL as the debug log shows it: a provider's callback without its query (code, state), a
 * download link's path without the link, and any query value that could be a credential a client put
 * there (`access_token`, `token`, `code`, …) masked. Each is recognized as the router and the query
 * parser read it, percent-decoded: `csv%2Dlinks/<link>` is the download route, `access%5Ftoken` that field.
 */
function loggedUrl(url: string): string {
  const queryAt = url.indexOf("?");
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const routed = asciiDecoded(path);
  // A download link is its own credential until used; whatever follows `csv-links/` may be one.
  if (/\/csv-links\//i.test(routed)) return routed.replace(/(\/csv-links\/).*$/i, "$1[redacted]") + (queryAt === -1 ? "" : "?[redacted]");
  if (queryAt === -1) return url;
  if (/\/providers\/.*\/callback\/?$/i.test(routed)) return `${path}?[redacted]`;
  const query = url
    .slice(queryAt + 1)
    .split("&")
    .map((pair) => {
      const equals = pair.indexOf("=");
      return equals !== -1 && CREDENTIAL_FIELDS.test(asciiDecoded(pair.slice(0, equals).replace(/\+/g, " "))) ? `${pair.slice(0, equals)}=[redacted]` : pair;
    });
  return `${path}?${query.join("&")}`;
}

/** Query fields whose value the debug log masks. */
const CREDENTIAL_FIELDS = /^(?:access_token|refresh_token|id_token|logout_token|token|code|state|api_key|apikey|password|secret|client_secret|key)$/i;

/** Percent-escapes of ASCII characters decoded, as the router and query parser read them; others, and malformed ones (`%ZZ`), left as they are. */
function asciiDecoded(text: string): string {
  return text.replace(/%([0-7][0-9a-f])/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
