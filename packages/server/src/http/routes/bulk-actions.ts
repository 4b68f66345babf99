import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import { BULK_ACTIONS, BULK_IDS_MAX, type BulkRefusal } from "../../domain/bulk-actions.js";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import type { BulkActionRow } from "../../storage/schema.js";
import { actorOf, adminActorOf, authOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { ApiError } from "../errors.js";
import { errorResponses, IdParams, Nullable, Uuid } from "../schemas.js";
import { UserFilterSchema, userFilterOf } from "../user-filter.js";

const BulkActionBody = Type.Object(
  {
    action: Type.Union(BULK_ACTIONS.map((a) => Type.Literal(a)), { description: "What to do to each selected user" }),
    filter: Type.Optional({ ...UserFilterSchema, description: "The users the list shows for these filters (all matching, not only those loaded)" }),
    ids: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: BULK_IDS_MAX, description: "Or: the users with these ids" })),
    groupId: Type.Optional(Uuid),
  },
  { additionalProperties: false, description: "Exactly one of `filter` and `ids`; `groupId` for add-to-group and remove-from-group" },
);

const BulkActionSchema = Type.Object(
  {
    id: Type.String({ description: "Id of the run (UUID)" }),
    action: Type.String(),
    groupId: Nullable(Type.String()),
    filter: Nullable(Type.Object({}, { additionalProperties: true, description: "The filter, as sent (null when ids were sent)" })),
    status: Type.Union([Type.Literal("running"), Type.Literal("done"), Type.Literal("failed"), Type.Literal("cancelled")]),
    total: Nullable(Type.Integer({ description: "Users selected when the run began; null until counted" })),
    processed: Type.Integer(),
    changed: Type.Integer(),
    unchanged: Type.Integer({ description: "Users that needed no change (already disabled, already a member, …)" }),
    refused: Type.Integer({ description: "Users a rule kept out (a system administrator, a built-in user, a profile in use, the last system administrator), and ids that name no user" }),
    report: Type.Array(Type.Object({ id: Type.String(), username: Type.String({ description: "Empty for an id that names no user" }), reason: Type.String() }), { description: "The first 100 refusals" }),
    error: Nullable(Type.String({ description: "Why a failed run stopped" })),
    actor: Nullable(Type.String()),
    createdAt: Type.String({ format: "date-time" }),
    finishedAt: Nullable(Type.String({ format: "date-time" })),
  },
  { $id: "BulkAction" },
);

type BulkActionView = Static<typeof BulkActionSchema>;

function toView(row: BulkActionRow): BulkActionView {
  const params = JSON.parse(row.params) as { group?: { uuid: string }; filterInput?: Record<string, unknown> };
  return {
    id: row.uuid,
    action: row.action,
    groupId: params.group?.uuid ?? null,
    filter: params.filterInput ?? null,
    status: row.status as BulkActionView["status"],
    total: row.total,
    processed: row.processed,
    changed: row.changed,
    unchanged: row.unchanged,
    refused: row.refused,
    report: JSON.parse(row.report) as BulkRefusal[],
    error: row.error,
    actor: row.actor_name,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

/** Actions over many users, done by the server: start one, follow its progress (from any node). */
const bulkActionsRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { store, groups, bulkActions, guard }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);
  const common = { tags: ["users"], security: [{ bearerAuth: [] }] };
  const path = "/security/v1/users/bulk-actions";

  app.post(
    path,
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Start a bulk action over users",
        description:
          "Answers 202 at once with the run (its URL in `Location`); the server works through the selection in batches, each one transaction with its audit events. " +
          "Every user gets the rules of the single-user routes: users they keep out (a system administrator when the caller is not one, a built-in user for disable and delete, " +
          "a directory's user for enable and disable (its directory decides), a profile in use for delete, the last enabled system administrator) are counted as refused and listed in the report. A group the caller may not change is a 403. " +
          "Before each batch the run asks again whether its starter may go on (still able to log in, still an administrator, still allowed to change the group): if not, it stops as failed, with the reason in `error`.",
        body: BulkActionBody,
        response: { 202: BulkActionSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { action, filter, ids, groupId } = request.body;
      if ((filter === undefined) === (ids === undefined)) throw new ApiError("invalidRequest", "Send exactly one of filter and ids.", { fields: ["filter", "ids"] });
      const selection = ids !== undefined ? { ids } : { filter: await userFilterOf(store.db, groups, filter!) };
      const { sessionId, apiKeyId } = authOf(request);
      const row = await bulkActions.start(adminActorOf(request), { sessionId, apiKeyId }, { action, selection, groupId }, filter);
      return reply.code(202).header("location", `${request.url.split("?")[0]!.replace(/\/$/, "")}/${row.uuid}`).send(toView(row));
    },
  );

  app.get(
    path,
    {
      onRequest: adminOnly,
      schema: { ...common, summary: "The latest bulk actions", description: "Newest first, at most 50.", response: { 200: Type.Array(BulkActionSchema), ...errorResponses(401, 403) } },
    },
    async () => (await bulkActions.recent(50)).map(toView),
  );

  app.get(
    `${path}/:id`,
    {
      onRequest: adminOnly,
      schema: { ...common, summary: "A bulk action and its progress", params: IdParams, response: { 200: BulkActionSchema, ...errorResponses(401, 403, 404) } },
    },
    async (request) => toView(await bulkActions.get(request.params.id)),
  );

  app.post(
    `${path}/:id/cancel`,
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Cancel a running bulk action",
        description:
          "Stops the run on whichever node runs it: the batch on its way is rolled back, the batches before it stay done (the counts say how far it went). " +
          "Any administrator may cancel a run; audited. A run that has ended already is a 409.",
        params: IdParams,
        response: { 200: BulkActionSchema, ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request) => toView(await bulkActions.cancel(actorOf(request), request.params.id)),
  );
};

export default bulkActionsRoutes;
