import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { SYSTEM_ADMINISTRATOR } from "../../domain/roles.js";
import { actorOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { errorResponses } from "../schemas.js";
import { sharedWhileRunning } from "../shared-read.js";

const Jwks = Type.Object(
  { keys: Type.Array(Type.Object({ kid: Type.String(), kty: Type.String(), alg: Type.String(), use: Type.String() }, { additionalProperties: true })) },
  { description: "JSON Web Key Set (RFC 7517)" },
);

const KeyView = Type.Object({
  kid: Type.String(),
  algorithm: Type.String(),
  createdAt: Type.String(),
  retiredAt: Type.Union([Type.String(), Type.Null()], { description: "When a newer key took over signing; the key verifies until its tokens have expired" }),
  source: Type.Union([Type.Literal("store"), Type.Literal("file")], { description: "Where the private key lives: sealed in the store, or ECM_TOKEN_KEY_FILE" }),
});

/** The public token keys for other services, and their rotation by a system administrator. */
const signingKeysRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { signingKeys, guard }) => {
  const systemAdminOnly = guard(SYSTEM_ADMINISTRATOR);
  const common = { tags: ["auth"], security: [{ bearerAuth: [] }] };
  const publishedKeys = sharedWhileRunning(() => signingKeys.jwks());

  app.get(
    "/auth/v1/certs",
    {
      schema: {
        summary: "Public keys that verify access tokens (JWKS)",
        description: "Every key whose tokens may still be valid, by `kid`. Other services verify tokens offline with these (ES256 or EdDSA, issuer `ecm-security`); fetch again when a token names an unknown `kid`.",
        tags: ["auth"],
        response: { 200: Jwks },
      },
    },
    async (_request, reply) => {
      void reply.header("cache-control", "public, max-age=60");
      return publishedKeys();
    },
  );

  app.get(
    "/security/v1/signing-keys",
    { onRequest: systemAdminOnly, schema: { ...common, summary: "Token signing keys (never their private part)", response: { 200: Type.Array(KeyView), ...errorResponses(401, 403) } } },
    async () => signingKeys.list(),
  );

  app.post(
    "/security/v1/signing-keys/rotate",
    {
      onRequest: systemAdminOnly,
      schema: {
        ...common,
        summary: "Rotate the token signing key",
        description: "A new key signs from now on, on every node within a minute; the old keys verify until their tokens have expired. Refused (409) when the key comes from ECM_TOKEN_KEY_FILE. Answers the keys, newest first.",
        response: { 200: Type.Array(KeyView), ...errorResponses(401, 403, 409) },
      },
    },
    async (request) => signingKeys.rotate(actorOf(request)),
  );
};

export default signingKeysRoutes;
