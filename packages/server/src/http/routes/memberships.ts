import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { requireUser } from "../../domain/lookups.js";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import { adminActorOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { ifMatchVersions } from "../etag.js";
import { GroupSchema, toGroupView } from "../group-view.js";
import { errorResponses, IdParams, Uuid } from "../schemas.js";

const MembershipParams = Type.Object({ id: Uuid, groupId: Uuid });


/** A user's group memberships: list, add, remove, remove from all. */
const membershipsRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { store, users, groups, groupAdmin, guard }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);
  const common = { tags: ["groups"], security: [{ bearerAuth: [] }] };

  app.get(
    "/security/v1/users/:id/user-groups",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Groups of a user",
        description:
          "The user's own groups and, when it is assigned to a profile, the profile's groups; with `direct=true` its own only. " +
          "A membership a directory's sync made says which directory (`syncedBy`): it changes there, not here; one an identity provider's group mapping made says which provider (`mappedBy`): its logins add and remove it.",
        params: IdParams,
        querystring: Type.Object({ direct: Type.Optional(Type.Boolean({ description: "Only the user's own memberships, not its profile's" })) }),
        response: { 200: Type.Array(GroupSchema), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const user = await requireUser(users, request.params.id);
      const origins = await groups.membershipOrigins(store.db, user.id);
      return (request.query.direct ? await groups.directGroupsOfUser(store.db, user.id) : await groups.groupsOfUser(user)).map((g) => {
        const origin = origins.get(g.id);
        return { ...toGroupView(g), ...(origin?.directory ? { syncedBy: origin.directory } : {}), ...(origin?.provider ? { mappedBy: origin.provider } : {}) };
      });
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
      await groupAdmin.addMember(adminActorOf(request), request.params.id, request.params.groupId, ifMatchVersions(request.headers["if-match"]));
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
        description:
          "Idempotent. This is the only way out of the built-in `users` group. Refused (409) when it would leave no enabled system administrator, " +
          "and for a membership a directory's sync made (`syncedBy`): that one changes in the directory.",
        params: MembershipParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await groupAdmin.removeMember(adminActorOf(request), request.params.id, request.params.groupId, ifMatchVersions(request.headers["if-match"]));
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
          "groups it has through its profile, and memberships a directory's sync made, stay. Answers the groups it was removed from. All or nothing.",
        params: IdParams,
        response: { 200: Type.Array(GroupSchema), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request) => (await groupAdmin.removeFromAll(adminActorOf(request), request.params.id, ifMatchVersions(request.headers["if-match"]))).map(toGroupView),
  );
};

export default membershipsRoutes;
