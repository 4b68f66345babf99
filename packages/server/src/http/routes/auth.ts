import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type, type Static } from "typebox";
import { recordAudit, userTarget } from "../../domain/audit.js";
import { authOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { ApiError } from "../errors.js";
import { attemptLimits } from "../rate-limit.js";
import { errorResponses } from "../schemas.js";

const TokenRequest = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 256 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

export const TokenResponse = Type.Object({
  access_token: Type.String({ description: "JWT to send as `Authorization: Bearer <token>`" }),
  expires_in: Type.Integer({ description: "Seconds of idle time before the token expires; each use restarts it" }),
  token_type: Type.Literal("bearer"),
});

const authRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { login, sessions, guard, store, config }) => {
  const username = (request: FastifyRequest) => (request.body as Static<typeof TokenRequest>).username;
  app.post(
    "/auth/v1/providers/builtin/token",
    {
      preHandler: attemptLimits(app, config.rateLimit, "login", {
        key: (request) => login.nameKey(username(request)),
        familiar: (request) => login.isFamiliar(username(request), request.ip),
        refused: (request, limit) => login.loginLimited(username(request), request.ip, limit),
      }),
      schema: {
        summary: "Log in with username and password",
        description:
          "Unknown user, wrong password, disabled, locked-out or out-of-validity accounts all get the same 401. Attempts are limited per client address and per account (429 with Retry-After); a server busy checking passwords answers 503 with Retry-After.",
        tags: ["auth"],
        body: TokenRequest,
        response: { 200: TokenResponse, ...errorResponses(400, 401, 429, 503) },
      },
    },
    async (request) => login.login(request.body.username, request.body.password, request.ip),
  );

  app.post(
    "/auth/v1/logout",
    {
      onRequest: guard(),
      schema: {
        summary: "Revoke the token used for this request",
        tags: ["auth"],
        security: [{ bearerAuth: [] }],
        response: { 204: Type.Null(), ...errorResponses(400, 401) },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      if (auth.sessionId === null) throw new ApiError("invalidRequest", "An API key is not a login session: revoke it with DELETE /security/v1/users/{id}/api-keys/{keyId}.");
      await sessions.revoke(auth.sessionId, (trx) => recordAudit(trx, { id: auth.user.id, name: auth.user.username, sourceIp: request.ip }, { action: "auth.logout", target: userTarget(auth.user) }));
      return reply.code(204).send(null);
    },
  );
};

export default authRoutes;
