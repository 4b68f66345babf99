import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import type { AppDeps } from "../deps.js";
import { RoleSchema, toRoleView } from "../group-view.js";
import { requireUser } from "../../domain/lookups.js";
import { errorResponses, IdParams } from "../schemas.js";

/** Roles: all of them, and the effective roles of a user. */
const rolesRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { users, groups, guard }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);
  const common = { tags: ["roles"], security: [{ bearerAuth: [] }] };

  app.get(
    "/security/v1/roles",
    {
      onRequest: adminOnly,
      schema: { ...common, summary: "List roles", response: { 200: Type.Array(RoleSchema), ...errorResponses(401, 403) } },
    },
    async () => (await groups.roles()).map(toRoleView),
  );

  app.get(
    "/security/v1/users/:id/roles",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Effective roles of a user",
        description: "The roles of the user's groups and of its profile's groups.",
        params: IdParams,
        response: { 200: Type.Array(RoleSchema), ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const user = await requireUser(users, request.params.id);
      return (await groups.rolesByName(await users.roleNames(user))).map(toRoleView);
    },
  );
};

export default rolesRoutes;
