import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { recordAudit } from "../../domain/audit.js";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import type { GroupQueries } from "../../storage/group-queries.js";
import type { GroupRow } from "../../storage/schema.js";
import type { UserQueries } from "../../storage/user-queries.js";
import { actorOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { notFound } from "../../domain/errors.js";
import { NUMERIC_ID_MAX } from "../user-filter.js";
import { ApiError } from "../errors.js";
import { GroupSchema, RoleSchema, toGroupView, toRoleView } from "../group-view.js";
import { jsonBody } from "../../storage/json-body.js";
import { jsonArray, sendJsonStream } from "../json-stream.js";
import { UUID_PATTERN } from "../../domain/lookups.js";
import { errorResponses } from "../schemas.js";
import { UserSchema } from "../user-view.js";

const MAX_GROUP_IDS = 1000;

const MembershipSchema = Type.Object({ userId: Type.String(), groupId: Type.String() });
const RoleMappingSchema = Type.Object({ groupId: Type.String(), roleName: Type.String() });

const ExportSchema = Type.Object({
  exportedAt: Type.String({ format: "date-time" }),
  roles: Type.Array(RoleSchema),
  groups: Type.Array(GroupSchema),
  roleMappings: Type.Array(RoleMappingSchema),
  users: Type.Array(UserSchema, { description: "Extended view" }),
  memberships: Type.Array(MembershipSchema, { description: "Direct memberships; profile users carry their profile's groups in `groups`" }),
});


/** The groups `groupIds` names (comma-separated UUIDs), or undefined for all; 400 for a malformed list, 404 for an unknown group. */
async function selectedGroups(groups: GroupQueries, groupIds: string | undefined): Promise<GroupRow[] | undefined> {
  if (groupIds === undefined) return undefined;
  const ids = [...new Set(groupIds.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== ""))];
  if (ids.length === 0 || ids.length > MAX_GROUP_IDS) {
    throw new ApiError("invalidRequest", `groupIds must name 1 to ${MAX_GROUP_IDS} groups.`, { parameter: "groupIds" });
  }
  // A group's id (UUID) or its numericId (the SDK's ECMGroup.id).
  const numeric = (id: string) => /^[1-9]\d{0,9}$/.test(id) && Number(id) <= NUMERIC_ID_MAX;
  const bad = ids.find((id) => !UUID_PATTERN.test(id) && !numeric(id));
  if (bad !== undefined) throw notFound("group", bad);
  const rows = await groups.findByIds(ids.filter((id) => !numeric(id)), ids.filter(numeric).map(Number));
  const found = new Set(rows.flatMap((g) => [g.uuid, String(g.id)]));
  const missing = ids.find((id) => !found.has(id));
  if (missing !== undefined) throw notFound("group", missing);
  return rows;
}

/** The export document, written piece by piece: users and memberships come from keyset batches. */
async function* exportDocument(users: UserQueries, groups: GroupQueries, selected: GroupRow[] | undefined): AsyncGenerator<string | Buffer> {
  const groupIds = selected?.map((g) => g.id);
  const groupRows = selected ?? (await groups.list());
  yield `{"exportedAt":${JSON.stringify(new Date().toISOString())}`;
  yield `,"roles":${JSON.stringify((await groups.roles()).map(toRoleView))}`;
  yield `,"groups":${JSON.stringify(groupRows.map(toGroupView))}`;
  yield `,"roleMappings":${JSON.stringify(await groups.roleMappings(groupIds))}`;
  yield `,"users":`;
  yield* jsonArray(groupIds ? jsonBody(groups.allMembers(groupIds), (rows) => users.viewJson(rows.map((u) => u.id), true)) : users.listAllJson({}, undefined, true));
  yield `,"memberships":`;
  yield* jsonArray(jsonBody(groups.memberships(groupIds), (batch) => batch.map((m) => JSON.stringify(m))));
  yield "}";
}

/** The whole security system (or the part of some groups) as one JSON document: the SDK's export_security_system. */
const exportRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { store, users, groups, guard }) => {
  app.get(
    "/security/v1/export",
    {
      onRequest: guard(...ADMINISTRATOR_ROLES),
      schema: {
        summary: "Export users, groups, memberships and role mappings",
        description:
          "Streamed. With `groupIds` (comma-separated group ids or numericIds), only those groups, their members (directly or through a profile), their memberships and role mappings.",
        tags: ["export"],
        security: [{ bearerAuth: [] }],
        querystring: Type.Object({ groupIds: Type.Optional(Type.String({ maxLength: 40_000 })) }),
        response: { 200: ExportSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const selected = await selectedGroups(groups, request.query.groupIds);
      // Reading every account is itself worth a trace.
      await recordAudit(store.db, actorOf(request), { action: "security.export", details: { groupIds: selected?.map((g) => g.uuid) ?? null } });
      return sendJsonStream(reply, exportDocument(users, groups, selected));
    },
  );
};

export default exportRoutes;
