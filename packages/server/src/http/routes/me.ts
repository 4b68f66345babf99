import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { actorOf, authOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { attemptLimits } from "../rate-limit.js";
import { errorResponses, Password } from "../schemas.js";
import { renderUserViews, UserSchema } from "../user-view.js";

/** The own account: the extended user view, and whether it has a password here to change (a page offers the change only then). */
const MeSchema = Type.Object({
  ...UserSchema.properties,
  hasPassword: Type.Boolean({ description: "The account has a password of its own here, which PUT /security/v1/me/password changes; false when it logs in through its directory or identity providers only" }),
});

/** The logged-in user's own account: open to every role. */
const ChangePasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
    newPassword: Password,
  },
  { additionalProperties: false },
);

const meRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { users, userAdmin, guard, login, config }) => {
  app.get(
    "/security/v1/me",
    {
      onRequest: guard(),
      schema: {
        summary: "The logged-in user",
        tags: ["me"],
        security: [{ bearerAuth: [] }],
        response: { 200: MeSchema, ...errorResponses(401) },
      },
    },
    async (request) => {
      const { user } = authOf(request);
      const [view] = await renderUserViews(users, [user], true);
      return { ...view!, hasPassword: user.password_hash !== null };
    },
  );

  app.put(
    "/security/v1/me/password",
    {
      onRequest: guard(),
      preHandler: attemptLimits(app, config.rateLimit, "password change", {
        key: (request) => String(authOf(request).user.id),
        familiar: (request) => login.isFamiliar(authOf(request).user.login_name, request.ip),
        refused: (request, limit) => login.reauthenticationLimited(authOf(request).user, actorOf(request), limit),
      }),
      schema: {
        summary: "Change the logged-in user's password",
        description:
          "Needs the current password; the new one must meet the password policy. Clears `changePassword`; the user's other tokens are revoked, this one stays valid. Attempts are limited like logins (429 with Retry-After).",
        tags: ["me"],
        security: [{ bearerAuth: [] }],
        body: ChangePasswordBody,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      const { user, sessionId } = authOf(request);
      await userAdmin.changeOwnPassword(actorOf(request), user, sessionId, request.body.currentPassword, request.body.newPassword);
      return reply.code(204).send(null);
    },
  );
};

export default meRoutes;
