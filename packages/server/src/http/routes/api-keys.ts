import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { requireUser } from "../../domain/lookups.js";
import { notFound } from "../../domain/errors.js";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import { assertMayAdminister } from "../../domain/users.js";
import { normalizeTime } from "../../domain/users.js";
import { actorOf, adminActorOf, authOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { ifMatchVersions } from "../etag.js";
import { errorResponses, IdParams, Nullable, TimeInput, Uuid } from "../schemas.js";

const ApiKeySchema = Type.Object(
  {
    id: Type.String({ description: "Id of the key (UUID)" }),
    name: Type.String(),
    prefix: Type.String({ description: "The key's first characters, to recognize it" }),
    createdAt: Type.String({ format: "date-time" }),
    expiresAt: Nullable(Type.String({ format: "date-time" })),
    lastUsedAt: Nullable(Type.String({ format: "date-time", description: "To the minute" })),
  },
  {
    $id: "ApiKey",
    examples: [{ id: "3f0c9a52-8f1e-4b7a-9d2c-6e4b1a7c5d90", name: "nightly sync", prefix: "ecm_Zx81Qa0c", createdAt: "2026-11-30T08:00:00.000Z", expiresAt: "2027-11-30T00:00:00.000Z", lastUsedAt: null }],
  },
);

const NewApiKey = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, description: "What the key is for: no line breaks, tabs or other invisible or formatting characters" }),
    expiresAt: Type.Optional(TimeInput("When it stops working (null or left out: never)")),
  },
  { additionalProperties: false },
);

const CreatedApiKey = Type.Object({
  ...ApiKeySchema.properties,
  secret: Type.String({ description: "The key (`ecm_…`), sent as `Authorization: Bearer <secret>`. Shown in this answer only: the server keeps just a hash of it." }),
});

/** API keys of an account, for scripts: create (the secret shown once), list, revoke. */
const apiKeysRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { users, apiKeys, guard }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);
  const common = { tags: ["api keys"] };

  /** The account, which the caller must be allowed to administer (only a system administrator may give a system administrator's powers to a key). */
  async function subject(request: Parameters<typeof authOf>[0], id: string) {
    const user = await requireUser(users, id);
    await assertMayAdminister(users, authOf(request), user, "manage the API keys of a system administrator");
    return user;
  }

  app.post(
    "/security/v1/users/:id/api-keys",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Create an API key",
        description: "Answers 201 with the key's secret (`ecm_…`), which is shown only here. The key authenticates as the user, with the user's roles, while the user may log in.",
        params: IdParams,
        body: NewApiKey,
        response: { 201: CreatedApiKey, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const user = await subject(request, request.params.id);
      const expiresAt = normalizeTime(request.body.expiresAt, "expiresAt") ?? null;
      const { key, secret } = await apiKeys.create(adminActorOf(request), user, request.body.name, expiresAt, ifMatchVersions(request.headers["if-match"]));
      return reply.code(201).header("location", `${request.url.split("?")[0]!.replace(/\/$/, "")}/${key.id}`).send({ ...key, secret });
    },
  );

  app.get(
    "/security/v1/users/:id/api-keys",
    {
      onRequest: adminOnly,
      schema: { ...common, summary: "List a user's API keys", description: "Never the secrets.", params: IdParams, response: { 200: Type.Array(ApiKeySchema) } },
    },
    async (request) => apiKeys.list(await subject(request, request.params.id)),
  );

  app.get(
    "/security/v1/users/:id/api-keys/:keyId",
    {
      onRequest: adminOnly,
      schema: { ...common, summary: "Read an API key", description: "Its name, prefix and dates; never the secret.", params: Type.Object({ id: Uuid, keyId: Uuid }), response: { 200: ApiKeySchema } },
    },
    async (request) => {
      const key = (await apiKeys.list(await subject(request, request.params.id))).find((k) => k.id === request.params.keyId.toLowerCase());
      if (!key) throw notFound("API key", request.params.keyId);
      return key;
    },
  );

  app.delete(
    "/security/v1/users/:id/api-keys/:keyId",
    {
      onRequest: adminOnly,
      schema: { ...common, summary: "Revoke an API key", description: "It stops working at once, on every node.", params: Type.Object({ id: Uuid, keyId: Uuid }), response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      await apiKeys.revoke(actorOf(request), await subject(request, request.params.id), request.params.keyId, ifMatchVersions(request.headers["if-match"]));
      return reply.code(204).send(null);
    },
  );
};

export default apiKeysRoutes;
