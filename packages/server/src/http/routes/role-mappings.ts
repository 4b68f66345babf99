import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { requireGroup } from "../../domain/lookups.js";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import { adminActorOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { IfMatchHeaders, ifMatchVersions } from "../etag.js";
import { RoleSchema, toRoleView } from "../group-view.js";
import { errorResponses, IdParams, Uuid } from "../schemas.js";

const MappingParams = Type.Object({ id: Uuid, roleName: Type.String({ minLength: 1, maxLength: 255 }) });

/** Roles granted to groups (the ECM's "portal" client): list, available, grant, revoke. */
const roleMappingsRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { groups, groupAdmin, guard }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);
  const common = { tags: ["roles"], security: [{ bearerAuth: [] }] };
  const base = "/security/v1/user-groups/:id/role-mappings/portal";

  for (const [path, granted] of [[base, true], [`${base}/available`, false]] as const) {
    app.get(
      path,
      {
        onRequest: adminOnly,
        schema: {
          ...common,
          summary: granted ? "Roles granted to a group" : "Roles not yet granted to a group",
          params: IdParams,
          response: { 200: Type.Array(RoleSchema), ...errorResponses(401, 403, 404) },
        },
      },
      async (request) => {
        const group = await requireGroup(groups, request.params.id);
        return (await groups.rolesOfGroup(group.id, granted)).map(toRoleView);
      },
    );
  }

  app.put(
    `${base}/:roleName`,
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Grant a role to a group",
        description:
          "Idempotent. Only a system administrator may grant system-administrator, or change the roles of a group that grants it or that a system administrator is in (itself or through its profile). " +
          "No administrator role can be granted to the built-in `users` group (every account is in it).",
        params: MappingParams,
        headers: IfMatchHeaders,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      await groupAdmin.grantRole(adminActorOf(request), request.params.id, request.params.roleName, ifMatchVersions(request.headers["if-match"]));
      return reply.code(204).send(null);
    },
  );

  app.delete(
    `${base}/:roleName`,
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Revoke a role from a group",
        description:
          "Idempotent. Only a system administrator may revoke system-administrator, or change the roles of a group that grants it or that a system administrator is in (itself or through its profile); " +
          "it is refused (409) when no enabled system administrator would remain. " +
          "The `user` role stays with the built-in `users` group.",
        params: MappingParams,
        headers: IfMatchHeaders,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      await groupAdmin.revokeRole(adminActorOf(request), request.params.id, request.params.roleName, ifMatchVersions(request.headers["if-match"]));
      return reply.code(204).send(null);
    },
  );
};

export default roleMappingsRoutes;
