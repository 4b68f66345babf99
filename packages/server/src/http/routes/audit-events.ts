import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import fastJson from "fast-json-stringify";
import { Type, type Static } from "typebox";
import { AUDIT_ACTIONS } from "../../domain/audit.js";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import { normalizeTime } from "../../domain/users.js";
import { createAuditQueries, type AuditEventRow, type AuditFilter } from "../../storage/audit-queries.js";
import type { AppDeps } from "../deps.js";
import { ApiError } from "../errors.js";
import { jsonBody } from "../../storage/json-body.js";
import { jsonArray, sendJsonStream } from "../json-stream.js";
import { decodeCursor, keysetPage } from "../paging.js";
import { UUID_PATTERN } from "../../domain/lookups.js";
import { errorResponses, Nullable } from "../schemas.js";

const AuditEventSchema = Type.Object(
  {
    id: Type.Integer({ description: "Serial number; newer events have larger ones" }),
    time: Type.String({ format: "date-time" }),
    actorNumericId: Nullable(Type.Integer({ description: "numericId of the acting user; null for the system or a login attempt" })),
    actor: Nullable(Type.String({ description: "Username of the actor; null for a login attempt (anonymous: see sourceAddress)" })),
    action: Type.String({ description: "e.g. user.create, user.update, user.delete, user.password-reset, auth.login, user.locked-out; all of them: GET /security/v1/audit-events/actions" }),
    targetType: Nullable(Type.String({ description: "user, group, …; login-name for a login with an unknown name, whose targetId is a keyed hash of the name (never the name)" })),
    targetId: Nullable(Type.String()),
    targetName: Nullable(Type.String()),
    sourceAddress: Nullable(Type.String()),
    outcome: Type.Union([Type.Literal("success"), Type.Literal("failure")]),
    details: Nullable(Type.Object({}, { additionalProperties: true, description: "Before/after of changed fields and other context; never secrets" })),
    count: Type.Integer({ description: "How many like events this one stands for: refused logins from one address on one target for one reason within a minute are one event" }),
  },
  { $id: "AuditEvent" },
);

type AuditEventView = Static<typeof AuditEventSchema>;

const Time = Type.String({ maxLength: 64, description: "ISO 8601 (a date alone is its midnight UTC); `from` is inclusive, `to` exclusive and later than `from`" });

const AuditQuery = Type.Object({
  actor: Type.Optional(Type.String({ maxLength: 256, description: "Username of the actor, in any case (as logins take it: SYSADMIN is sysadmin); the events of a user since deleted too" })),
  target: Type.Optional(Type.String({ maxLength: 256, description: "Id (UUID) or name of the target, a name in any case; every target recorded under that name (renamed, deleted, made again)" })),
  targetType: Type.Optional(Type.String({ maxLength: 64, description: "user, group, …, in any case" })),
  action: Type.Optional(Type.String({ maxLength: 128, description: "The whole action name, in any case (GET /security/v1/audit-events/actions lists them)" })),
  outcome: Type.Optional(Type.Union([Type.Literal("success"), Type.Literal("failure")])),
  from: Type.Optional(Time),
  to: Type.Optional(Time),
  max: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: "Page size; more pages are announced in a Link header" })),
  cursor: Type.Optional(Type.String({ maxLength: 2048 })),
});

function toAuditEventView(row: AuditEventRow): AuditEventView {
  return {
    id: row.id,
    time: row.at,
    actorNumericId: row.actor_id,
    actor: row.actor_name,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    targetName: row.target_name,
    sourceAddress: row.source_ip,
    outcome: row.outcome === "failure" ? "failure" : "success",
    details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null,
    count: row.count,
  };
}

function filterOf(query: Static<typeof AuditQuery>): AuditFilter {
  const { actor, target, targetType, action, outcome } = query;
  // A UUID names the target's id, anything else its name (storage/audit-queries.ts finds the targets of a name).
  const byTarget = target === undefined ? {} : UUID_PATTERN.test(target) ? { targetId: target.toLowerCase() } : { targetName: target };
  const from = normalizeTime(query.from, "from") ?? undefined;
  const to = normalizeTime(query.to, "to") ?? undefined;
  // The range would hold no instant: said, rather than answered as "no event matches".
  if (from !== undefined && to !== undefined && to <= from) throw new ApiError("invalidRequest", `to (${to}) must be later than from (${from}): from is inclusive, to exclusive.`, { field: "to" });
  // Actions and target types are recorded in lower case.
  return { actor, ...byTarget, targetType: targetType?.toLowerCase(), action: action?.toLowerCase(), outcome, from, to };
}

/** The audit cursor carries the id of the last event shown. */
function beforeIdOf(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const id = Number(decodeCursor(cursor));
  if (!Number.isSafeInteger(id)) throw new ApiError("invalidRequest", "The cursor is not valid.", { parameter: "cursor" });
  return id;
}

const serializeEvent = fastJson(AuditEventSchema);

/** The audit log, read-only: there is no route that writes, changes or deletes an event. */
const auditEventsRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { store, guard }) => {
  const audit = createAuditQueries(store);

  app.get(
    "/security/v1/audit-events",
    {
      onRequest: guard(...ADMINISTRATOR_ROLES),
      schema: {
        summary: "Read the audit log",
        description: "Newest first, streamed. With `max`, one page and a `Link: <…>; rel=\"next\"` header when more follow. Filters combine with AND. They match what was recorded, so a name that matches no event (a user who never acted) is an empty list, not a 404.",
        tags: ["audit"],
        security: [{ bearerAuth: [] }],
        querystring: AuditQuery,
        response: { 200: Type.Array(AuditEventSchema), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const filter = filterOf(request.query);
      const { max, cursor } = request.query;
      const beforeId = beforeIdOf(cursor);
      if (max === undefined) return sendJsonStream(reply, jsonArray(jsonBody(audit.listAll(filter, beforeId), (rows) => rows.map((r) => serializeEvent(toAuditEventView(r))))));
      const rows = await audit.listPage(filter, beforeId, max + 1);
      const page = keysetPage(request, reply, rows, max, (e) => String(e.id));
      return page.map(toAuditEventView);
    },
  );

  app.get(
    "/security/v1/audit-events/actions",
    {
      onRequest: guard(...ADMINISTRATOR_ROLES),
      schema: {
        summary: "The actions the audit log records",
        description: "Every action an event may have, sorted: the values the `action` filter matches (it takes a whole name).",
        tags: ["audit"],
        security: [{ bearerAuth: [] }],
        response: { 200: Type.Array(Type.String()), ...errorResponses(401, 403) },
      },
    },
    async () => [...AUDIT_ACTIONS],
  );
};

export default auditEventsRoutes;
