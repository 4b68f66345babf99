import { Readable } from "node:stream";
import fastJson from "fast-json-stringify";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import type { UserRow } from "../../storage/schema.js";
import type { UserFilter } from "../../storage/user-queries.js";
import type { AppDeps } from "../deps.js";
import { notFound } from "../errors.js";
import { decodeCursor, encodeCursor, nextLink } from "../paging.js";
import { errorResponses, IdParams, UUID_PATTERN } from "../schemas.js";
import { toExtendedUserView, toUserView, UserSchema, type UserView } from "../user-view.js";

const FilterQuery = {
  search: Type.Optional(Type.String({ maxLength: 256, description: "Case-insensitive substring of username, first name, last name or email; taken literally" })),
  enabled: Type.Optional(Type.Boolean()),
  expired: Type.Optional(Type.Boolean({ description: "true: only accounts whose valid-to has passed" })),
  lockedOut: Type.Optional(Type.Boolean({ description: "true: only accounts locked out after failed logins" })),
  profileId: Type.Optional(Type.Integer({ minimum: -1 })),
};

const ListQuery = Type.Object({
  ...FilterQuery,
  extendedInfo: Type.Optional(Type.Boolean({ default: false })),
  max: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: "Page size; more pages are announced in a Link header" })),
  cursor: Type.Optional(Type.String({ maxLength: 2048 })),
});

const CountQuery = Type.Object(FilterQuery);

function filterOf(query: Static<typeof CountQuery>): UserFilter {
  const { search, enabled, expired, lockedOut, profileId } = query;
  return { search, enabled, expired, lockedOut, profileId };
}

const serializeUser = fastJson(UserSchema);

const usersRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { users, guard }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);

  /** The REST view of a batch of rows, with their identity-provider links (and groups when extended). */
  async function render(rows: UserRow[], extended: boolean) {
    const ids = rows.map((r) => r.id);
    const federated = await users.federatedIdentities(ids);
    if (!extended) return rows.map((r) => toUserView(r, federated.get(r.id)));
    const groups = await users.groupNames(rows);
    const now = new Date().toISOString();
    return rows.map((r) => toExtendedUserView(r, federated.get(r.id), groups.get(r.id) ?? [], now));
  }

  /** Streams the JSON array batch by batch, so a million users never sit in memory at once. */
  async function* streamArray(filter: UserFilter, extended: boolean, after: string | undefined) {
    yield "[";
    let first = true;
    for await (const batch of users.listAll(filter, after)) {
      const views = await render(batch, extended);
      yield (first ? "" : ",") + views.map(serializeUser).join(",");
      first = false;
    }
    yield "]";
  }

  app.get(
    "/security/v1/users",
    {
      preHandler: adminOnly,
      schema: {
        summary: "List users",
        description: "All users in username order, streamed. With `max`, one page and a `Link: <…>; rel=\"next\"` header when more follow.",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        querystring: ListQuery,
        response: { 200: Type.Array(UserSchema), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const filter = filterOf(request.query);
      const extended = request.query.extendedInfo ?? false;
      const { max, cursor } = request.query;
      if (max === undefined) {
        const after = cursor === undefined ? undefined : decodeCursor(cursor);
        // Streams pass through Fastify's serializer untouched; the route schema still documents the shape.
        const body = Readable.from(streamArray(filter, extended, after)) as unknown as UserView[];
        return reply.type("application/json; charset=utf-8").send(body);
      }
      const rows = await users.listPage(filter, cursor === undefined ? undefined : decodeCursor(cursor), max + 1);
      const page = rows.slice(0, max);
      if (rows.length > max) reply.header("link", nextLink(request, encodeCursor(page[page.length - 1]!.username)));
      return render(page, extended);

    },
  );

  app.get(
    "/security/v1/users/count",
    {
      preHandler: adminOnly,
      schema: {
        summary: "Count users",
        description: "Number of users matching the same filters as the list, as a bare integer.",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        querystring: CountQuery,
        response: { 200: Type.Integer(), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => users.count(filterOf(request.query)),
  );

  app.get(
    "/security/v1/users/:id",
    {
      preHandler: adminOnly,
      schema: {
        summary: "Get a user",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        params: IdParams,
        querystring: Type.Object({ extendedInfo: Type.Optional(Type.Boolean({ default: false })) }),
        response: { 200: UserSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const row = UUID_PATTERN.test(id) ? await users.findByUuid(id) : undefined;
      if (!row) throw notFound("user", id);
      const [view] = await render([row], request.query.extendedInfo ?? false);
      return view!;
    },
  );
};

export default usersRoutes;
