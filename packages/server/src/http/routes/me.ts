import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { authOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { errorResponses } from "../schemas.js";
import { toExtendedUserView, UserSchema } from "../user-view.js";

/** The logged-in user's own account: open to every role. */
const meRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { users, guard }) => {
  app.get(
    "/security/v1/me",
    {
      preHandler: guard(),
      schema: {
        summary: "The logged-in user",
        tags: ["me"],
        security: [{ bearerAuth: [] }],
        response: { 200: UserSchema, ...errorResponses(401) },
      },
    },
    async (request) => {
      const { user } = authOf(request);
      const [federated, groups] = await Promise.all([users.federatedIdentities([user.id]), users.groupNames([user])]);
      return toExtendedUserView(user, federated.get(user.id), groups.get(user.id) ?? []);
    },
  );
};

export default meRoutes;
