import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import { testProvider } from "../../federation/provider-test.js";
import { publicBaseOf, redirectUriOf, toProviderView, URL_MAX, type Provider } from "../../federation/providers.js";
import { adminActorOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { ApiError } from "../errors.js";
import { etagOf, IfMatchHeaders, ifMatchVersions } from "../etag.js";
import { errorResponses, Nullable, Uuid } from "../schemas.js";
import { PATTERN_MESSAGE } from "../validation.js";

/** URL-safe, fixed once created; `builtin` names the password login. */
const ALIAS_PATTERN = "^(?![Bb][Uu][Ii][Ll][Tt][Ii][Nn]$)[A-Za-z0-9][A-Za-z0-9_-]{0,63}$";
const Url = Type.String({ minLength: 1, maxLength: URL_MAX });
const ClaimName = Type.String({ minLength: 1, maxLength: 256 });

const GroupMapping = Type.Object(
  {
    // Matched exactly: a pasted value's stray space would make a mapping no login ever uses.
    idpGroupName: Type.String({
      minLength: 1,
      maxLength: 1024,
      pattern: "^\\S([\\s\\S]*\\S)?$",
      [PATTERN_MESSAGE]: "must not start or end with white space: give the value of the groups claim as it is",
      description: "A value of the groups claim, matched exactly",
    }),
    localGroupId: Uuid,
  },
  { additionalProperties: false },
);

const Settings = {
  issuer: Type.String({ minLength: 1, maxLength: URL_MAX, description: "The provider's issuer identifier (`iss`)" }),
  authorizationUrl: Url,
  tokenUrl: Url,
  userInfoUrl: Nullable(Url),
  jwksUrl: Type.String({ minLength: 1, maxLength: URL_MAX, description: "Where the provider's signing keys are published; ID tokens are always checked against them" }),
  scopes: Type.Array(Type.String({ minLength: 1, maxLength: 256, pattern: "^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$", [PATTERN_MESSAGE]: "may hold only printable ASCII characters other than space, \" and \\" }), { minItems: 1, maxItems: 50, uniqueItems: true }),
  clientAuthMethod: Type.Union([Type.Literal("client_secret_basic"), Type.Literal("client_secret_post"), Type.Literal("none")]),
  usernameClaim: ClaimName,
  emailClaim: ClaimName,
  firstNameClaim: ClaimName,
  lastNameClaim: ClaimName,
  groupsClaim: ClaimName,
  trustEmail: Type.Boolean({ description: "Link a first login to the one local user with the same email, when the provider says the email is verified" }),
};

const optional = <T extends Record<string, any>>(fields: T) => Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Type.Optional(v)])) as { [K in keyof T]: ReturnType<typeof Type.Optional<T[K]>> };

const SettingsInput = Type.Object(
  { ...optional(Settings), redirectUri: Type.Optional(Type.String({ description: "Read-only: sent back as read it is taken, another value is refused" })) },
  { additionalProperties: false, description: "Endpoints left out are read from fromUrl's discovery document" },
);

const Fields = {
  providerType: Type.Literal("oidc"),
  displayName: Type.String({ minLength: 1, maxLength: 255, description: "The login page's button: no blank edges, line breaks, invisible or formatting characters" }),
  fromUrl: Nullable(Type.String({ minLength: 1, maxLength: URL_MAX, description: "The issuer or its discovery document (`/.well-known/openid-configuration`)" })),
  enabled: Type.Boolean(),
  guiOrder: Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 }),
  defaultGroupList: Type.Array(Uuid, { maxItems: 1000, uniqueItems: true, description: "Ids of the local groups every user of this provider joins" }),
  customGroupList: Type.Array(GroupMapping, { maxItems: 1000, uniqueItems: true, description: "A value of the groups claim → a local group, brought up to date at every login" }),
  clientId: Type.String({ minLength: 1, maxLength: 1024 }),
  clientSecret: Nullable(Type.String({ maxLength: 4096, description: "Write-only: read as \"**********\"; sending that back keeps the stored secret. Refused with clientAuthMethod none (a public client keeps no secret)" })),
  config: SettingsInput,
};

const CreateBody = Type.Object(
  { ...optional(Fields), alias: Type.String({ pattern: ALIAS_PATTERN, [PATTERN_MESSAGE]: "must be 1 to 64 letters (A-Z, a-z), digits, _ or -, starting with a letter or digit, and not builtin", description: "URL-safe name; cannot change later" }), clientId: Fields.clientId },
  { additionalProperties: false },
);

/** A provider read with GET may be sent back as it is: `id` and `alias` must be its own. */
const UpdateBody = Type.Object({ ...optional(Fields), id: Type.Optional(Type.String()), alias: Type.Optional(Type.String()) }, { additionalProperties: false });

const ProviderSchema = Type.Object({
  id: Type.String(),
  ...Fields,
  fromUrl: Fields.fromUrl,
  alias: Type.String(),
  config: Type.Object({ ...Settings, redirectUri: Type.String({ description: "Register this redirect URI at the provider" }) }),
});

const AliasParams = Type.Object({ alias: Type.String({ maxLength: 64 }) });
const UpdateQuery = Type.Object({
  links: Type.Optional(
    Type.Union([Type.Literal("keep"), Type.Literal("remove")], {
      description:
        "Asked when the change moves the issuer (`fromUrl`'s discovery document or `config.issuer`) or `clientId` of a provider that has links: keep (the same people, with the same subjects, at the new issuer) or remove (as when the provider is deleted). Without it such a change is a 409; other changes ignore it",
    }),
  ),
});
const TestSchema = Type.Object({
  ok: Type.Boolean(),
  message: Type.String({ description: "The first failed step's message, or that all worked" }),
  steps: Type.Array(Type.Object({ step: Type.Union([Type.Literal("keys"), Type.Literal("client")]), ok: Type.Boolean(), message: Type.String() })),
});

const PATH = "/idp/v1/external-identity-provider";

const identityProvidersRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { guard, providers, config, secrets }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);
  const security = [{ bearerAuth: [] }];
  /** This (an administrator's) request's origin: where a provider added now sends its users' browsers back, unless ECM_PUBLIC_URL says otherwise. */
  const publicBase = (request: FastifyRequest) => `${request.protocol}://${request.host}`;
  const view = (request: FastifyRequest, p: Provider) => toProviderView(p, publicBaseOf(p, config.publicUrl, publicBase(request)));
  /** `config.redirectUri` follows the alias and this service's address: sent as a GET shows it, it is taken; another value is refused, not silently ignored. */
  const assertRedirectUri = (sent: string | undefined, shown: string) => {
    if (sent !== undefined && sent !== shown) {
      throw new ApiError("invalidRequest", `config.redirectUri cannot be set: this provider's is ${shown} (it follows the alias and this service's address, ECM_PUBLIC_URL). Register that one at the provider, and leave the field out.`, { field: "config.redirectUri" });
    }
  };

  app.get(PATH, {
    onRequest: adminOnly,
    schema: { summary: "List identity providers", tags: ["identity providers"], security, response: { 200: Type.Array(ProviderSchema), ...errorResponses(401, 403) } },
  }, async (request) => (await providers.list()).map((p) => view(request, p)));

  app.get(`${PATH}/:alias`, {
    onRequest: adminOnly,
    schema: { summary: "Get an identity provider", tags: ["identity providers"], security, params: AliasParams, response: { 200: ProviderSchema, ...errorResponses(401, 403, 404) } },
  }, async (request, reply) => {
    const p = await providers.load(request.params.alias);
    return reply.header("etag", etagOf(p.version)).send(view(request, p));
  });

  app.post(PATH, {
    onRequest: adminOnly,
    schema: {
      summary: "Add an OpenID Connect identity provider",
      description: "Endpoints not given in `config` are read from `fromUrl`'s discovery document. The client secret is stored sealed and never shown again.",
      tags: ["identity providers"],
      security,
      body: CreateBody,
      response: { 201: ProviderSchema, ...errorResponses(400, 401, 403, 409) },
    },
  }, async (request, reply) => {
    // The administrator's origin is where its users' browsers come back, unless ECM_PUBLIC_URL says otherwise.
    assertRedirectUri(request.body.config?.redirectUri, redirectUriOf(config.publicUrl ?? publicBase(request), request.body.alias));
    const p = await providers.create(adminActorOf(request), { ...request.body, callbackBase: publicBase(request) });
    return reply.code(201).header("location", `${request.url.split("?")[0]!.replace(/\/$/, "")}/${encodeURIComponent(p.alias)}`).header("etag", etagOf(p.version)).send(view(request, p));
  });

  app.put(`${PATH}/:alias`, {
    onRequest: adminOnly,
    schema: {
      summary: "Change an identity provider",
      description:
        "Partial: fields left out keep their value; the alias cannot change. A new `fromUrl` is read again. Disabling it ends the sessions opened through it. " +
        "A subject is unique only at its issuer: a change of the issuer or `clientId` of a provider that has links is a 409 unless `links` says what becomes of them.",
      tags: ["identity providers"],
      security,
      params: AliasParams,
      querystring: UpdateQuery,
      headers: IfMatchHeaders,
      body: UpdateBody,
      response: { 200: ProviderSchema, ...errorResponses(400, 401, 403, 404, 409, 412) },
    },
  }, async (request, reply) => {
    const { id, alias, ...changes } = request.body;
    if (alias !== undefined && alias !== request.params.alias) throw new ApiError("invalidRequest", "The alias of an identity provider cannot be changed.", { field: "alias" });
    const current = await providers.load(request.params.alias);
    if (id !== undefined && id.toLowerCase() !== current.uuid) throw new ApiError("invalidRequest", "The id in the body is not the provider's.", { field: "id" });
    assertRedirectUri(changes.config?.redirectUri, view(request, current).config.redirectUri);
    // A provider added before its origin was kept takes this one (an update never moves a kept one).
    const p = await providers.update(adminActorOf(request), request.params.alias, { ...changes, callbackBase: publicBase(request) }, ifMatchVersions(request.headers["if-match"]), request.query.links);
    return reply.header("etag", etagOf(p.version)).send(view(request, p));
  });

  app.post(`${PATH}/:alias/test`, {
    onRequest: adminOnly,
    schema: {
      summary: "Test an identity provider",
      description: "Reads the provider's keys and sends its token endpoint this service's client credentials (with a code no login made): a wrong client secret shows here rather than at a user's login. Changes nothing.",
      tags: ["identity providers"],
      security,
      params: AliasParams,
      response: { 200: TestSchema, ...errorResponses(401, 403, 404) },
    },
  }, async (request) => {
    const p = await providers.load(request.params.alias);
    return testProvider(p, secrets, redirectUriOf(publicBaseOf(p, config.publicUrl, publicBase(request)), p.alias), config.oidcTimeoutSeconds);
  });

  app.delete(`${PATH}/:alias`, {
    onRequest: adminOnly,
    schema: {
      summary: "Remove an identity provider",
      description: "Removes its links and ends the sessions opened through it; the audit event lists the users left without a way to log in. With `If-Match`, a stale version is a 412 and nothing is removed.",
      tags: ["identity providers"],
      security,
      params: AliasParams,
      headers: IfMatchHeaders,
      response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 412) },
    },
  }, async (request, reply) => {
    await providers.remove(adminActorOf(request), request.params.alias, ifMatchVersions(request.headers["if-match"]));
    return reply.code(204).send(null);
  });
};

export default identityProvidersRoutes;
