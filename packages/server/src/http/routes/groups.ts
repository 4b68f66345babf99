import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { GROUP_NAME_MAX, GROUP_NAME_PATTERN, GROUP_NAME_RULE, normalizeName } from "../../domain/names.js";
import { hasSystemAdministratorMember } from "../../domain/role-rules.js";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import { DESCRIPTION_MAX } from "../../domain/user-fields.js";
import { actorOf, adminActorOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { etagOf, IfMatchHeaders, ifMatchVersions } from "../etag.js";
import { GroupSchema, toGroupView } from "../group-view.js";
import { jsonBody } from "../../storage/json-body.js";
import type { GroupRow } from "../../storage/schema.js";
import { jsonArray, sendJsonStream, sendJsonText } from "../json-stream.js";
import { requireGroup, requireRole } from "../../domain/lookups.js";
import { decodeCursor, keysetPage } from "../paging.js";
import { ApiError } from "../errors.js";
import { assertReadOnlyUnchanged } from "../read-only-fields.js";
import { errorResponses, IdParams, Nullable } from "../schemas.js";
import { UserSchema } from "../user-view.js";
import { PATTERN_MESSAGE } from "../validation.js";

/** 1 to 255 characters, no `/` (the path is `/name`), no control characters, no leading or trailing space. */
const GroupName = Type.String({ minLength: 1, maxLength: GROUP_NAME_MAX, pattern: GROUP_NAME_PATTERN, [PATTERN_MESSAGE]: GROUP_NAME_RULE });
const Description = Nullable(Type.String({ maxLength: DESCRIPTION_MAX }));

const CreateBody = Type.Object({ name: GroupName, description: Type.Optional(Description) }, { additionalProperties: false });
/**
 * A group read with GET may be sent back as it is (as a user may): its read-only fields are taken when
 * they hold the group's values, and another value is a 400 that says why, never silently dropped.
 */
const UpdateBody = Type.Object(
  {
    name: Type.Optional(GroupName),
    description: Type.Optional(Description),
    id: Type.Optional(Type.String()),
    path: Type.Optional(Type.Unknown()),
    numericId: Type.Optional(Type.Unknown()),
    dn: Type.Optional(Type.Unknown()),
    builtin: Type.Optional(Type.Unknown()),
    essential: Type.Optional(Type.Unknown()),
    external: Type.Optional(Type.Unknown()),
    profileUserId: Type.Optional(Type.Unknown()),
    // Follows the group's members: whatever a read said moments ago is taken.
    systemAdministratorMember: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, description: "Fields left out keep their value; the read-only fields of a GET may be sent back unchanged" },
);

/** The read-only fields a PUT may repeat, and why each one cannot change. */
const READ_ONLY: Record<string, string> = {
  numericId: "it is given when the group is created",
  builtin: "it is given when the group is created",
  essential: "it is given when the group is created",
  profileUserId: "it is given when the group is created",
  dn: "it comes from the group's directory",
  external: "it comes from the group's directory",
};
/** Groups: list, create, read, rename, delete, members. */
const groupsRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { store, users, groups, groupAdmin, guard }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);
  const common = { tags: ["groups"], security: [{ bearerAuth: [] }] };
  /** One group's view, with whether the server's rule on groups of system administrators applies: a few queries, so not in lists. */
  const oneGroup = async (row: GroupRow) => ({ ...toGroupView(row), systemAdministratorMember: await hasSystemAdministratorMember(store.db, row.id) });

  app.get(
    "/security/v1/user-groups",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "List groups",
        description:
          "All groups in name order. `search` is a case-insensitive substring of the name, taken literally; `role` keeps the groups that grant that role (404 when there is no role of that name). " +
          "With `max`, one page and a `Link: <…>; rel=\"next\"` header when more follow (a group picker asks for the first few matches).",
        querystring: Type.Object({
          search: Type.Optional(Type.String({ maxLength: 256 })),
          role: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: "A role's name" })),
          max: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "Page size; more pages are announced in a Link header" })),
          cursor: Type.Optional(Type.String({ maxLength: 2048 })),
        }),
        response: { 200: Type.Array(GroupSchema), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { search, role, max, cursor } = request.query;
      // A role that does not exist is said (404), not answered as "no group grants it".
      if (role !== undefined) await requireRole(groups, role);
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      if (max === undefined) return (await groups.list(search, role, after)).map(toGroupView);
      const rows = await groups.list(search, role, after, max + 1);
      return keysetPage(request, reply, rows, max, (g) => g.name).map(toGroupView);
    },
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
      const row = await groupAdmin.create(actorOf(request), { name: request.body.name, description: request.body.description ?? null });
      return reply.code(201).header("location", `${request.url.split("?")[0]}/${row.uuid}`).header("etag", etagOf(row.version)).send(await oneGroup(row));
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
      return reply.header("etag", etagOf(row.version)).send(await oneGroup(row));
    },
  );

  app.put(
    "/security/v1/user-groups/:id",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Update a group",
        description: "Renames a group or changes its description. A group read with GET may be sent back as it is: its read-only fields (`id`, `path`, `dn`, `builtin`, …) are taken when they hold the group's values (`path` the old name's or the new one's), and another value is a 400 that says why. Built-in groups cannot be renamed; a group a directory imported keeps the name and description its directory gives (409). Only a system administrator may change a group that grants system-administrator (its description too), or rename one that a system administrator is in (itself or through its profile). With `If-Match`, a stale version is a 412; without it, concurrent writes apply one after another.",
        params: IdParams,
        headers: IfMatchHeaders,
        body: UpdateBody,
        response: { 200: GroupSchema, ...errorResponses(400, 401, 403, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      const { name, description, id, path, systemAdministratorMember, ...readOnly } = request.body;
      if (id !== undefined || path !== undefined || Object.keys(readOnly).length > 0) {
        const current = await requireGroup(groups, request.params.id);
        if (id !== undefined && id.toLowerCase() !== current.uuid) throw new ApiError("invalidRequest", "The id in the body is not the id in the path.", { field: "id" });
        // The path follows the name: the one read before a rename, or the new one.
        if (path !== undefined && path !== `/${current.name}` && (name === undefined || path !== `/${normalizeName(name)}`)) throw new ApiError("invalidRequest", "path cannot be changed with PUT: it follows the name.", { field: "path" });
        assertReadOnlyUnchanged(readOnly, toGroupView(current), READ_ONLY);
      }
      const row = await groupAdmin.update(adminActorOf(request), request.params.id, { name, description }, ifMatchVersions(request.headers["if-match"]));
      return reply.header("etag", etagOf(row.version)).send(await oneGroup(row));
    },
  );

  app.delete(
    "/security/v1/user-groups/:id",
    {
      onRequest: adminOnly,
      schema: {
        ...common,
        summary: "Delete a group",
        description: "Built-in groups cannot be deleted, nor groups an identity provider or a directory names in its settings (409, naming them); nor can the last group through which an enabled user holds system-administrator. Only a system administrator may delete a group that grants system-administrator, or one that a system administrator is in (itself or through its profile). With `If-Match`, a stale version is a 412 and nothing is deleted.",
        params: IdParams,
        headers: IfMatchHeaders,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      await groupAdmin.remove(adminActorOf(request), request.params.id, ifMatchVersions(request.headers["if-match"]));
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

export default groupsRoutes;
