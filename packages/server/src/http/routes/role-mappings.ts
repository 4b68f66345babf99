import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { recordAudit, groupTarget } from "../../domain/audit.js";
import { assertSystemAdministratorRemains } from "../../domain/last-admin.js";
import { assertMayChangeAdministratorGroup, assertMayChangeGroupOfAdministrators, assertMayGrantOrRevoke, assertMayGrantTo } from "../../domain/role-rules.js";
import { ADMINISTRATOR_ROLES, SYSTEM_ADMINISTRATOR, USER, USERS_GROUP } from "../../domain/roles.js";
import { isForeignKeyViolation } from "../../storage/constraints.js";
import { actorOf, authOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { notFound } from "../../domain/errors.js";
import { ApiError } from "../errors.js";
import { RoleSchema, toRoleView } from "../group-view.js";
import { requireGroup } from "../../domain/lookups.js";
import { errorResponses, IdParams, Uuid } from "../schemas.js";

const MappingParams = Type.Object({ id: Uuid, roleName: Type.String({ minLength: 1, maxLength: 255 }) });

/** Roles granted to groups (the ECM's "portal" client): list, available, grant, revoke. */
const roleMappingsRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { store, groups, guard }) => {
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

  /** The role a grant or revoke names (404 when unknown), once the caller may hand it out. */
  async function grantableRole(roleName: string, callerRoles: readonly string[]) {
    const role = await groups.findRole(roleName);
    if (!role) throw notFound("role", roleName);
    assertMayGrantOrRevoke(role.name, callerRoles);
    return role;
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
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { roles } = authOf(request);
      const role = await grantableRole(request.params.roleName, roles);
      const actor = actorOf(request);
      try {
        await store.db.transaction().execute(async (trx) => {
          const group = await requireGroup(groups, request.params.id, trx);
          assertMayGrantTo(group, role.name);
          await assertMayChangeAdministratorGroup(groups, trx, group, roles);
          await assertMayChangeGroupOfAdministrators(trx, group, roles, "change the roles of this group");
          if (await groups.grantRole(trx, group.id, role.id)) {
            await recordAudit(trx, actor, { action: "group.role.grant", target: groupTarget(group), details: { role: role.name } });
          }
        });
      } catch (error) {
        // The group was deleted between our read and our insert.
        throw isForeignKeyViolation(error) ? notFound("group", request.params.id) : error;
      }
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
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { roles } = authOf(request);
      const role = await grantableRole(request.params.roleName, roles);
      const actor = actorOf(request);
      await store.db.transaction().execute(async (trx) => {
        const group = await requireGroup(groups, request.params.id, trx);
        await assertMayChangeAdministratorGroup(groups, trx, group, roles);
        await assertMayChangeGroupOfAdministrators(trx, group, roles, "change the roles of this group");
        if (group.builtin && group.name === USERS_GROUP && role.name === USER) {
          throw new ApiError("refused", "The user role cannot be removed from the built-in users group.", { group: group.name, role: role.name });
        }
        if (!(await groups.revokeRole(trx, group.id, role.id))) return;
        if (role.name === SYSTEM_ADMINISTRATOR) await assertSystemAdministratorRemains(trx);
        await recordAudit(trx, actor, { action: "group.role.revoke", target: groupTarget(group), details: { role: role.name } });
      });
      return reply.code(204).send(null);
    },
  );
};

export default roleMappingsRoutes;
