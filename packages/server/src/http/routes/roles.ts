import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import { assertActsAs, authOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { RoleSchema, toRoleView } from "../group-view.js";
import { requireUser } from "../../domain/lookups.js";
import { errorResponses, IdParams } from "../schemas.js";

/** A user's role and where it comes from. */
const EffectiveRoleSchema = Type.Object({
  ...RoleSchema.properties,
  grantedBy: Type.Array(
    Type.Object({
      groupId: Type.String(),
      group: Type.String(),
      viaProfile: Type.Boolean({ description: "true: the group is the user's profile's, not its own" }),
    }),
    { description: "The groups that grant the role to this user" },
  ),
});

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
      // Every account may read its own (a client learns what to offer it); others' are an administrator's.
      onRequest: guard(),
      schema: {
        ...common,
        summary: "Effective roles of a user",
        description: "The roles of the user's groups and of its profile's groups; `grantedBy` says which groups grant each, and whether through the profile. Any account may read its own; other users' need an administrator.",
        params: IdParams,
        response: { 200: Type.Array(EffectiveRoleSchema), ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const auth = authOf(request);
      if (request.params.id.toLowerCase() !== auth.user.uuid) assertActsAs(auth, ADMINISTRATOR_ROLES);
      const user = await requireUser(users, request.params.id);
      const grants = await users.roleGrants(user);
      const roles = await groups.rolesByName([...new Set(grants.map((g) => g.role))]);
      return roles.map((role) => ({
        ...toRoleView(role),
        grantedBy: grants.filter((g) => g.role === role.name).map((g) => ({ groupId: g.groupUuid, group: g.groupName, viaProfile: g.viaProfile })),
      }));
    },
  );
};

export default rolesRoutes;
