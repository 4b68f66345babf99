import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { recordAudit } from "../../domain/audit.js";
import { assertSystemAdministratorRemains } from "../../domain/last-admin.js";
import { assertMayChangeAdministratorGroup } from "../../domain/role-rules.js";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import { DESCRIPTION_MAX } from "../../domain/user-fields.js";
import { isUniqueViolation } from "../../storage/constraints.js";
import type { GroupFieldsInput } from "../../storage/group-queries.js";
import { actorOf, authOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { ApiError } from "../errors.js";
import { etagOf, IfMatchHeaders, ifMatchVersion } from "../etag.js";
import { staleVersion } from "../../domain/errors.js";
import { GroupSchema, toGroupView } from "../group-view.js";
import { jsonBody } from "../../storage/json-body.js";
import { jsonArray, sendJsonStream, sendJsonText } from "../json-stream.js";
import { requireGroup } from "../../domain/lookups.js";
import { decodeCursor, keysetPage } from "../paging.js";
import { errorResponses, IdParams, Nullable } from "../schemas.js";
import { UserSchema } from "../user-view.js";

/** 1 to 255 characters, no `/` (the path is `/name`), no control characters, no leading or trailing space. */
const GroupName = Type.String({ minLength: 1, maxLength: 255, pattern: "^(?!\\s)[^/\\p{Cc}]+(?<!\\s)$" });
const Description = Nullable(Type.String({ maxLength: DESCRIPTION_MAX }));

const CreateBody = Type.Object({ name: GroupName, description: Type.Optional(Description) }, { additionalProperties: false });
const UpdateBody = Type.Object(
  { name: Type.Optional(GroupName), description: Type.Optional(Description) },
  { additionalProperties: false, description: "Fields left out keep their value" },
);



const duplicateName = (name: string) => new ApiError("conflict", "A group with this name already exists.", { name });

/** Groups: list, create, read, rename, delete, members. */
const groupsRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { store, users, groups, guard }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);
  const common = { tags: ["groups"], security: [{ bearerAuth: [] }] };

  app.get(
    "/security/v1/user-groups",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "List groups",
        description: "All groups in name order. `search` is a case-insensitive substring of the name, taken literally.",
        querystring: Type.Object({ search: Type.Optional(Type.String({ maxLength: 256 })) }),
        response: { 200: Type.Array(GroupSchema), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => (await groups.list(request.query.search)).map(toGroupView),
  );

  app.post(
    "/security/v1/user-groups",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Create a group",
        body: CreateBody,
        response: { 201: GroupSchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const fields: GroupFieldsInput = { name: request.body.name, description: request.body.description ?? null };
      const actor = actorOf(request);
      try {
        const row = await store.db.transaction().execute(async (trx) => {
          if (await groups.findByName(fields.name, trx)) throw duplicateName(fields.name);
          const created = await groups.insert(trx, fields);
          await recordAudit(trx, actor, { action: "group.create", target: { type: "group", id: created.uuid, name: created.name }, details: { after: fields } });
          return created;
        });
        return reply.code(201).header("location", `${request.url.split("?")[0]}/${row.uuid}`).header("etag", etagOf(row.version)).send(toGroupView(row));
      } catch (error) {
        throw isUniqueViolation(error) ? duplicateName(fields.name) : error;
      }
    },
  );

  app.get(
    "/security/v1/user-groups/:id",
    {
      onRequest: adminOnly,
      schema: { ...common, summary: "Get a group", params: IdParams, response: { 200: GroupSchema, ...errorResponses(401, 403, 404) } },
    },
    async (request, reply) => {
      const row = await requireGroup(groups, request.params.id);
      return reply.header("etag", etagOf(row.version)).send(toGroupView(row));
    },
  );

  app.put(
    "/security/v1/user-groups/:id",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Update a group",
        description: "Renames a group or changes its description. Built-in groups cannot be renamed; only a system administrator may rename a group that grants system-administrator. With `If-Match`, a stale version is a 412.",
        params: IdParams,
        headers: IfMatchHeaders,
        body: UpdateBody,
        response: { 200: GroupSchema, ...errorResponses(400, 401, 403, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      const expected = ifMatchVersion(request.headers["if-match"]);
      const actor = actorOf(request);
      const { name, description } = request.body;
      try {
        const row = await store.db.transaction().execute(async (trx) => {
          const current = await requireGroup(groups, request.params.id, trx);
          if (expected !== undefined && expected !== current.version) throw staleVersion(current.version);
          const fields: GroupFieldsInput = { name: name ?? current.name, description: description === undefined ? current.description : description };
          if (fields.name !== current.name) {
            if (current.builtin) throw new ApiError("refused", "A built-in group cannot be renamed.", { group: current.name });
            await assertMayChangeAdministratorGroup(groups, trx, current, authOf(request).roles);
            const other = await groups.findByName(fields.name, trx);
            if (other && other.id !== current.id) throw duplicateName(fields.name);
          }
          const updated = await groups.updateIfVersion(trx, current.id, current.version, fields);
          // Someone else wrote between our read and our write: the same answer as a stale If-Match.
          if (!updated) throw staleVersion(current.version + 1);
          await recordAudit(trx, actor, {
            action: "group.update",
            target: { type: "group", id: current.uuid, name: updated.name },
            details: changedFields({ name: current.name, description: current.description }, fields),
          });
          return updated;
        });
        return reply.header("etag", etagOf(row.version)).send(toGroupView(row));
      } catch (error) {
        throw isUniqueViolation(error) ? duplicateName(name ?? "") : error;
      }
    },
  );

  app.delete(
    "/security/v1/user-groups/:id",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Delete a group",
        description: "Built-in groups cannot be deleted; nor can the last group through which an enabled user holds system-administrator.",
        params: IdParams,
        headers: IfMatchHeaders,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      const expected = ifMatchVersion(request.headers["if-match"]);
      const actor = actorOf(request);
      const { roles } = authOf(request);
      await store.db.transaction().execute(async (trx) => {
        const group = await requireGroup(groups, request.params.id, trx);
        if (expected !== undefined && expected !== group.version) throw staleVersion(group.version);
        if (group.builtin) throw new ApiError("refused", "A built-in group cannot be deleted.", { group: group.name });
        await assertMayChangeAdministratorGroup(groups, trx, group, roles);
        await groups.delete(trx, group.id);
        await assertSystemAdministratorRemains(trx);
        await recordAudit(trx, actor, {
          action: "group.delete",
          target: { type: "group", id: group.uuid, name: group.name },
          details: { before: { name: group.name, description: group.description } },
        });
      });
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/security/v1/user-groups/:id/members",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Members of a group",
        description:
          "Users in the group, directly or through their profile, in username order, streamed. With `max`, one page and a `Link: <…>; rel=\"next\"` header when more follow.",
        params: IdParams,
        querystring: Type.Object({
          extendedInfo: Type.Optional(Type.Boolean({ default: false })),
          max: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
          cursor: Type.Optional(Type.String({ maxLength: 2048 })),
        }),
        response: { 200: Type.Array(UserSchema), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const group = await requireGroup(groups, request.params.id);
      const { max, cursor } = request.query;
      const extended = request.query.extendedInfo ?? false;
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      if (max === undefined) {
        return sendJsonStream(reply, jsonArray(jsonBody(groups.allMembers([group.id], after), (rows) => users.viewJson(rows.map((u) => u.id), extended))));
      }
      const rows = await groups.memberPage([group.id], after, max + 1);
      const page = keysetPage(request, reply, rows, max, (u) => u.username);
      // Lists are rendered by the store, paged or streamed (as the users list).
      return sendJsonText(reply, `[${(await users.viewJson(page.map((u) => u.id), extended)).join(",")}]`);
    },
  );
};

/** Before/after of the fields that changed (for the audit log). */
function changedFields<T extends Record<string, unknown>>(before: T, after: T): { before: Partial<T>; after: Partial<T> } {
  const result = { before: {} as Partial<T>, after: {} as Partial<T> };
  for (const key of Object.keys(before) as (keyof T)[]) {
    if (before[key] !== after[key]) {
      result.before[key] = before[key];
      result.after[key] = after[key];
    }
  }
  return result;
}

export default groupsRoutes;
