import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { recordAudit, userTarget } from "../../domain/audit.js";
import { assertSystemAdministratorRemains } from "../../domain/last-admin.js";
import { assertMayChangeAdministratorGroup } from "../../domain/role-rules.js";
import { ADMINISTRATOR_ROLES, USERS_GROUP } from "../../domain/roles.js";
import { assertMayAdminister } from "../../domain/users.js";
import { isForeignKeyViolation } from "../../storage/constraints.js";
import type { GroupRow } from "../../storage/schema.js";
import { actorOf, authOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { ApiError } from "../errors.js";
import { GroupSchema, toGroupView } from "../group-view.js";
import { requireGroup, requireUser } from "../../domain/lookups.js";
import { errorResponses, IdParams, Uuid } from "../schemas.js";

const MembershipParams = Type.Object({ id: Uuid, groupId: Uuid });

const groupDetails = (group: GroupRow) => ({ groupId: group.uuid, group: group.name });

/** A user's group memberships: list, add, remove, remove from all. */
const membershipsRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { store, users, groups, guard }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);
  const common = { tags: ["groups"], security: [{ bearerAuth: [] }] };

  app.get(
    "/security/v1/users/:id/user-groups",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Groups of a user",
        description: "The user's own groups and, when it is assigned to a profile, the profile's groups; with `direct=true` its own only (those it can be removed from).",
        params: IdParams,
        querystring: Type.Object({ direct: Type.Optional(Type.Boolean({ description: "Only the user's own memberships, not its profile's" })) }),
        response: { 200: Type.Array(GroupSchema), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const user = await requireUser(users, request.params.id);
      return (request.query.direct ? await groups.directGroupsOfUser(store.db, user.id) : await groups.groupsOfUser(user)).map(toGroupView);
    },
  );

  app.put(
    "/security/v1/users/:id/user-groups/:groupId",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Add a user to a group",
        description: "Idempotent: adding a member again changes nothing, except that a membership a directory's sync made becomes one by hand, which the sync no longer removes.",
        params: MembershipParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const user = await requireUser(users, request.params.id);
      const actor = actorOf(request);
      const { roles } = authOf(request);
      await assertMayAdminister(users, { roles }, user, "change the groups of a system administrator");
      try {
        await store.db.transaction().execute(async (trx) => {
          const group = await requireGroup(groups, request.params.groupId, trx);
          await assertMayChangeAdministratorGroup(groups, trx, group, roles);
          if (await groups.addMember(trx, group.id, user.id, true)) {
            await recordAudit(trx, actor, { action: "group.member.add", target: userTarget(user), details: groupDetails(group) });
          }
        });
      } catch (error) {
        // The user or the group was deleted between our read and our insert.
        throw isForeignKeyViolation(error) ? new ApiError("notFound", "The user or the group was deleted meanwhile.", { id: request.params.id, groupId: request.params.groupId }) : error;
      }
      return reply.code(204).send(null);
    },
  );

  app.delete(
    "/security/v1/users/:id/user-groups/:groupId",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Remove a user from a group",
        description: "Idempotent. This is the only way out of the built-in `users` group. Refused (409) when it would leave no enabled system administrator.",
        params: MembershipParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const user = await requireUser(users, request.params.id);
      const actor = actorOf(request);
      const { roles } = authOf(request);
      await assertMayAdminister(users, { roles }, user, "change the groups of a system administrator");
      await store.db.transaction().execute(async (trx) => {
        const group = await requireGroup(groups, request.params.groupId, trx);
        await assertMayChangeAdministratorGroup(groups, trx, group, roles);
        if ((await groups.removeMember(trx, [group.id], user.id)) > 0) {
          await assertSystemAdministratorRemains(trx);
          await recordAudit(trx, actor, { action: "group.member.remove", target: userTarget(user), details: groupDetails(group) });
        }
      });
      return reply.code(204).send(null);
    },
  );

  app.delete(
    "/security/v1/users/:id/user-groups",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Remove a user from all groups",
        description:
          "Removes the user's own memberships in every group except the built-in `users` group (leave that one with an explicit DELETE of it); " +
          "groups it has through its profile stay. Answers the groups it was removed from. All or nothing.",
        params: IdParams,
        response: { 200: Type.Array(GroupSchema), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const user = await requireUser(users, request.params.id);
      const actor = actorOf(request);
      const { roles } = authOf(request);
      await assertMayAdminister(users, { roles }, user, "change the groups of a system administrator");
      const removed = await store.db.transaction().execute(async (trx) => {
        const leaving = (await groups.directGroupsOfUser(trx, user.id)).filter((g) => !(g.builtin && g.name === USERS_GROUP));
        for (const group of leaving) await assertMayChangeAdministratorGroup(groups, trx, group, roles);
        await groups.removeMember(trx, leaving.map((g) => g.id), user.id);
        if (leaving.length > 0) await assertSystemAdministratorRemains(trx);
        for (const group of leaving) {
          await recordAudit(trx, actor, { action: "group.member.remove", target: userTarget(user), details: groupDetails(group) });
        }
        return leaving;
      });
      return removed.map(toGroupView);
    },
  );
};

export default membershipsRoutes;
