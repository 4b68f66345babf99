import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { createHash, randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { Type } from "typebox";
import { recordAudit } from "../../domain/audit.js";
import { DomainError } from "../../domain/errors.js";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import { DESCRIPTION_MAX, EMAIL_MAX, EMAIL_PATTERN, LOGIN_NAME_MAX, NAME_MAX, USERNAME_MAX, USERNAME_PATTERN, USERNAME_RULE } from "../../domain/user-fields.js";
import type { UserRow } from "../../storage/schema.js";
import type { UserFilter } from "../../storage/user-queries.js";
import { actorOf, adminActorOf, authOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { ApiError } from "../errors.js";
import { assertReadOnlyUnchanged } from "../read-only-fields.js";
import { etagOf, IfMatchHeaders, ifMatchVersions } from "../etag.js";
import { jsonArray, sendJsonStream, sendJsonText } from "../json-stream.js";
import { requireUser } from "../../domain/lookups.js";
import { decodeCursor, encodeCursor, keysetPage } from "../paging.js";
import { errorResponses, IdParams, Nullable, Password, TimeInput } from "../schemas.js";
import { filterInputOf, NUMERIC_ID_MAX, UserFilterFields, userFilterOf, type UserFilterInput } from "../user-filter.js";
import { sendUsersCsv, wantsCsv } from "../users-csv.js";
import { documentFieldsOf, renderUserViews, UserFieldsParam, UserShapeParam, USERS_LIST_EXAMPLE, UserSchema, type UserView } from "../user-view.js";
import { PATTERN_MESSAGE } from "../validation.js";
import { addressLimit } from "../rate-limit.js";

const ListQuery = Type.Object({
  ...UserFilterFields,
  extendedInfo: Type.Optional(Type.Boolean({ default: false })),
  fields: Type.Optional(UserFieldsParam),
  shape: Type.Optional(UserShapeParam),
  max: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: "Page size; more pages are announced in a Link header" })),
  cursor: Type.Optional(Type.String({ maxLength: 2048 })),
});

const CountQuery = Type.Object(UserFilterFields);

/** How long a download link waits for the browser to fetch it: the browser does at once. */
const DOWNLOAD_LINK_SECONDS = 60;
const sha256 = (text: string) => createHash("sha256").update(text).digest("base64url");

/** ISO 8601 date or date-time with a zone (a date alone is its midnight UTC); null clears it. */
const Time = TimeInput("When the account may log in from / until");

/** The fields POST and PUT may set (the spec's writable fields); "" clears an optional text field. */
const WritableFields = {
  loginName: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: LOGIN_NAME_MAX, pattern: "^\\S(.*\\S)?$", [PATTERN_MESSAGE]: "must not start or end with white space" }), { description: "What one logs in with (case-insensitive); defaults to the username, and null sets it back to it" })),
  firstName: Type.Optional(Nullable(Type.String({ maxLength: NAME_MAX }))),
  lastName: Type.Optional(Nullable(Type.String({ maxLength: NAME_MAX }))),
  displayName: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: NAME_MAX }), { description: "Defaults to \"first last\", else the username, and follows the names while it is the default; null sets it back to the default" })),
  email: Type.Optional(Nullable(Type.String({ maxLength: EMAIL_MAX, pattern: `^(|${EMAIL_PATTERN})$`, [PATTERN_MESSAGE]: "is not an e-mail address" }))),
  description: Type.Optional(Nullable(Type.String({ maxLength: DESCRIPTION_MAX }))),
  enabled: Type.Optional(Type.Boolean({ description: "false locks the account and revokes its tokens at once" })),
  profileId: Type.Optional(Type.Integer({ minimum: -1, maximum: NUMERIC_ID_MAX, description: "-1 no profile, 0 this user is a profile, >0 the numericId of the profile to take groups and roles from" })),
  validFrom: Type.Optional(Time),
  validTo: Type.Optional(Time),
  changePassword: Type.Optional(Type.Boolean({ description: "The user must change the password at the next login" })),
  passwordNeverExpires: Type.Optional(Type.Boolean()),
};


/** The fields of a new user (POST, and each row of an import). */
export const NewUserFields = {
  username: Type.String({ pattern: USERNAME_PATTERN, [PATTERN_MESSAGE]: USERNAME_RULE, maxLength: USERNAME_MAX, description: "Letters (with their marks) and digits of any script and . _ - @, 1 to 64 characters; cannot change later" }),
  ...WritableFields,
  password: Type.Optional(Password),
  serviceAccount: Type.Optional(Type.Boolean({ description: "A service account: no password, it authenticates with API keys only; cannot change later" })),
};

const CreateUserBody = Type.Object(NewUserFields, { additionalProperties: false });

/**
 * A user read with GET may be sent back as it is: the read-only fields are accepted when they hold what the
 * user has (`id` and `username` the user's own; the username never changes). A different value is a 400
 * that says where it is changed, never silently dropped.
 */
const UpdateUserBody = Type.Object(
  {
    ...WritableFields,
    id: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    numericId: Type.Optional(Type.Unknown()),
    builtin: Type.Optional(Type.Unknown()),
    dn: Type.Optional(Type.Unknown()),
    federatedIdentities: Type.Optional(Type.Unknown()),
    groups: Type.Optional(Type.Unknown()),
    source: Type.Optional(Type.Unknown()),
    expired: Type.Optional(Type.Boolean()),
    lockedOutUntil: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    serviceAccount: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

/** The read-only fields a PUT may repeat, and where each one is changed instead. */
const READ_ONLY: Record<string, string> = {
  numericId: "it is given when the user is created",
  builtin: "it is given when the user is created",
  serviceAccount: "it is chosen when the user is created",
  dn: "it comes from the user's directory",
  source: "it is where the user comes from",
  groups: "use PUT or DELETE /security/v1/users/{id}/user-groups/{groupId}",
  federatedIdentities: "use PUT or DELETE /security/v1/users/{id}/federated-identities/{alias}",
};

/** Whether a read-only field sent back holds the user's value (group names in any order). */
function sameValue(sent: unknown, current: unknown, field: string): boolean {
  const sorted = (v: unknown) => (field === "groups" && Array.isArray(v) ? [...v].sort() : v);
  return isDeepStrictEqual(sorted(sent), sorted(current));
}

const ResetPasswordBody = Type.Object(
  {
    type: Type.Literal("password"),
    value: Password,
    temporary: Type.Optional(Type.Boolean({ description: "true: the user must change it at the next login" })),
  },
  { additionalProperties: false },
);


const usersRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { store, users, groups, userAdmin, guard, config }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);
  // Anyone may open a link, and each one opened is a write (the link taken): counted per address, as the
  // other one-time codes anonymous callers send (a browser opens one per export).
  const downloadLinkLimit = addressLimit(app, config.rateLimit, "download link", config.rateLimit.providerLoginsPerAddress);

  /** The users CSV of a filter (read from `query`), streamed, the export audited. */
  async function exportCsv(request: FastifyRequest, reply: FastifyReply, query: UserFilterInput, filter: UserFilter): Promise<FastifyReply> {
    await recordAudit(store.db, actorOf(request), { action: "users.export-csv", details: { filter: filterInputOf(query) } });
    return sendUsersCsv(reply, users, filter);
  }

  /** The view of one user with its version as ETag: the answer of GET and of every write that returns the user (extended). */
  async function sendUser(reply: FastifyReply, row: UserRow, extended = true): Promise<UserView> {
    const [view] = await renderUserViews(users, [row], extended);
    void reply.header("etag", etagOf(row.version));
    return view!;
  }

  app.get(
    "/security/v1/users",
    {
      onRequest: adminOnly,
      schema: {
        summary: "List users",
        description:
          "All users in username order, streamed. With `max`, one page and a `Link: <…>; rel=\"next\"` header when more follow. " +
          "With `fields`, only those fields of each user; with `shape=arrays`, each user as the array of its fields' values. " +
          "With `Accept: text/csv`, every matching user as CSV (extended fields, a header line; `max` and `cursor` are a 400, the CSV being every matching user; text a spreadsheet would run as a formula is prefixed with `'`); the export is audited.",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        querystring: ListQuery,
        response: {
          200: {
            description: "The users",
            content: {
              "application/json": {
                schema: Type.Union(
                  [
                    Type.Array(UserSchema),
                    Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: "With `fields`: each user with those fields only" }),
                    Type.Array(Type.Array(Type.Unknown()), { description: "With `shape=arrays`: each user as the array of its fields' values, in the order of the user's schema" }),
                  ],
                ),
                example: USERS_LIST_EXAMPLE,
              },
              "text/csv": { schema: Type.String({ description: "With `Accept: text/csv`: a header line, then a line per user (extended fields)" }) },
            },
          },
          // 404: a filter naming a group, profile, directory or identity provider that does not exist (http/user-filter.ts).
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const filter = await userFilterOf(store.db, groups, request.query);
      if (wantsCsv(request.headers.accept)) {
        if (request.query.fields !== undefined) throw new ApiError("invalidRequest", "fields applies to the JSON list; the CSV has its own columns.", { field: "fields" });
        if (request.query.shape === "arrays") throw new ApiError("invalidRequest", "shape applies to the JSON list; the CSV has its own columns.", { field: "shape" });
        // Said, not ignored: a script that pages the CSV would get every user on each page.
        for (const field of ["max", "cursor"] as const) {
          if (request.query[field] !== undefined) throw new ApiError("invalidRequest", `${field} pages the JSON list; the CSV export sends every matching user at once.`, { field });
        }
        return exportCsv(request, reply, request.query, filter);
      }
      const extended = request.query.extendedInfo ?? false;
      const { max, cursor } = request.query;
      const fields = documentFieldsOf(request.query.fields, extended, request.query.shape);
      if (max === undefined) {
        const after = cursor === undefined ? undefined : decodeCursor(cursor);
        const body = users.listAllJson(filter, after, extended);
        return sendJsonStream(reply, jsonArray(fields ? fields.ofBody(body) : body));
      }
      const rows = await users.listPageJson(filter, cursor === undefined ? undefined : decodeCursor(cursor), max + 1, extended);
      const page = keysetPage(request, reply, rows, max, (u) => u.username).map((u) => u.json).join(",");
      return sendJsonText(reply, `[${fields && page !== "" ? fields.ofDocuments(page) : page}]`);
    },
  );

  app.get(
    "/security/v1/users/count",
    {
      onRequest: adminOnly,
      schema: {
        summary: "Count users",
        description: "Number of users matching the same filters as the list, as a bare integer.",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        querystring: CountQuery,
        response: { 200: Type.Integer(), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => users.count(await userFilterOf(store.db, groups, request.query)),
  );

  app.post(
    "/security/v1/users/csv-links",
    {
      onRequest: adminOnly,
      schema: {
        summary: "Make a download link for the users CSV",
        description:
          `For a browser, which saves a download to disk as it comes but sends no Authorization header with it: a link to the CSV of \`GET /security/v1/users\` with \`Accept: text/csv\` for these filters, which the browser then opens. ` +
          `The link is the credential: it works once, for ${DOWNLOAD_LINK_SECONDS} s, and acts for the session that made it (logged out, or the account no longer an administrator, it is refused, and so is the rest of an answer under way). ` +
          "Only a login session makes one: a script with an API key reads the CSV itself.",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        querystring: CountQuery,
        response: {
          201: Type.Object({ url: Type.String({ description: "The link's path, under this server" }), expiresAt: Type.String({ format: "date-time" }) }, { description: "The link" }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      // The filter's refusals (an unknown group) now, not in a browser's failed download.
      await userFilterOf(store.db, groups, request.query);
      const { sessionId } = authOf(request);
      if (sessionId === null) throw new ApiError("invalidRequest", "A download link is for a browser's login session: with an API key, read GET /security/v1/users with Accept: text/csv.");
      const secret = randomBytes(32).toString("base64url");
      const now = Date.now();
      const expiresAt = new Date(now + DOWNLOAD_LINK_SECONDS * 1000).toISOString();
      await store.db.deleteFrom("download_links").where("expires_at", "<", new Date(now).toISOString()).execute();
      await store.db.insertInto("download_links").values({ link_hash: sha256(secret), session_id: sessionId, filter: JSON.stringify(request.query), expires_at: expiresAt }).execute();
      const url = `${request.url.split("?")[0]!.replace(/\/$/, "")}/${secret}`;
      return reply.code(201).header("location", url).send({ url, expiresAt });
    },
  );

  app.get(
    "/security/v1/users/csv-links/:link",
    {
      // A HEAD (a link checker) would take the link, and its export, for nothing.
      exposeHeadRoute: false,
      preHandler: downloadLinkLimit,
      schema: {
        summary: "Download the users CSV of a link",
        description:
          "The CSV of the link's filters, as `GET /security/v1/users` with `Accept: text/csv` sends it, as an attachment. The link is taken at its first use: another is a 404. " +
          "A refused link redirects a browser (`Accept: text/html`) to the console's users list of its filters with `notice=export-refused`, which the console says in words (a browser would show a failed download); other clients get the error. " +
          "Links opened count per client address (`ECM_RATE_LIMIT_PROVIDER_LOGINS_PER_ADDRESS` a window): past that, a 429 for every client, browsers too.",
        tags: ["users"],
        params: Type.Object({ link: Type.String({ maxLength: 64 }) }),
        response: {
          200: { description: "The users", content: { "text/csv": { schema: Type.String({ description: "A header line, then a line per user (extended fields)" }) } } },
          303: Type.Null({ description: "A browser's refused link: to the console" }),
          ...errorResponses(401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const row = await store.db.deleteFrom("download_links").where("link_hash", "=", sha256(request.params.link)).returningAll().executeTakeFirst();
      const query = row ? (JSON.parse(row.filter) as UserFilterInput) : {};
      let filter: UserFilter;
      try {
        if (!row || row.expires_at < new Date().toISOString()) throw new ApiError("notFound", "This download link is unknown, used already or expired: export again.");
        await guard.admitSession(request, row.session_id, ADMINISTRATOR_ROLES);
        // A group, directory or provider the filter names may have gone since the link was made.
        filter = await userFilterOf(store.db, groups, query);
      } catch (error) {
        if (!(error instanceof ApiError || error instanceof DomainError) || !request.headers.accept?.includes("text/html")) throw error;
        // The console says why in its own words (the URL names only the case): a link of anyone's sets no text on its page.
        const back = new URLSearchParams([...Object.entries(query).map(([key, value]) => [key, String(value)]), ["notice", "export-refused"]]);
        return reply.header("cache-control", "no-store").header("referrer-policy", "no-referrer").redirect(`${app.prefix}/console/#/users?${back}`, 303);
      }
      return exportCsv(request, reply, query, filter);
    },
  );

  app.get(
    "/security/v1/users/position",
    {
      onRequest: adminOnly,
      schema: {
        summary: "Where a position in the unfiltered list starts",
        description:
          "For jumping anywhere in the whole list (a scrollbar dragged over a million users): the cursor of the page that starts at about position `at` " +
          "(0-based, username order). Within 5 000 of either end it is exact (a short index walk); elsewhere it is read from what the store's search index keeps in " +
          "username order (SQLite: its evenly spread order keys; PostgreSQL: its buckets' counts) in a few index reads, and **approximate**: `position` is then the " +
          "estimated position of the cursor's first user, and may be off by a few thousand at a million users (a bucket, or the unevenness of keys since the last rebuild). " +
          "Pass `cursor` to the list with `max`; null means from the start.",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        querystring: Type.Object({ at: Type.Integer({ minimum: 0, maximum: NUMERIC_ID_MAX, description: "Wanted position, 0-based" }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            position: Type.Integer({ description: "Estimated position of the first user after the cursor" }),
            total: Type.Integer({ description: "All users" }),
            cursor: Nullable(Type.String({ description: "`cursor` of the list; null: from the start" })),
          }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const near = await users.nearPosition(request.query.at);
      return { position: near.position, total: near.total, cursor: near.after === null ? null : encodeCursor(near.after) };
    },
  );

  app.get(
    "/security/v1/users/:id",
    {
      onRequest: adminOnly,
      schema: {
        summary: "Get a user",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        params: IdParams,
        querystring: Type.Object({ extendedInfo: Type.Optional(Type.Boolean({ default: false })) }),
        response: { 200: UserSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      return sendUser(reply, await requireUser(users, request.params.id), request.query.extendedInfo ?? false);
    },
  );

  app.post(
    "/security/v1/users",
    {
      onRequest: adminOnly,
      schema: {
        summary: "Create a user",
        description: "Answers 201 with the new user (extended view), its URL in `Location` and its version in `ETag`. The user joins the `users` group.",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        body: CreateUserBody,
        response: { 201: UserSchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const row = await userAdmin.create(adminActorOf(request), request.body);
      const view = await sendUser(reply, row);
      return reply.code(201).header("location", `${request.url.split("?")[0]!.replace(/\/$/, "")}/${row.uuid}`).send(view);
    },
  );

  app.put(
    "/security/v1/users/:id",
    {
      onRequest: adminOnly,
      schema: {
        summary: "Update a user",
        description: "Partial: fields left out keep their value; the username cannot change. A user read with GET may be sent back as it is: its read-only fields (`groups`, `serviceAccount`, `dn`, …) are taken when they hold the user's values, and another value is a 400 that says where that field is changed (`expired` and `lockedOutUntil`, which follow the clock and failed logins, are only type-checked). `enabled: false` revokes the user's tokens. With `If-Match`, a stale version is a 412.",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        params: IdParams,
        headers: IfMatchHeaders,
        body: UpdateUserBody,
        response: { 200: UserSchema, ...errorResponses(400, 401, 403, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      const { id, username, numericId, builtin, dn, federatedIdentities, groups, source, expired, lockedOutUntil, serviceAccount, ...changes } = request.body;
      const precondition = ifMatchVersions(request.headers["if-match"]);
      const current = await requireUser(users, request.params.id);
      if (id !== undefined && id.toLowerCase() !== current.uuid) throw new ApiError("invalidRequest", "The id in the body is not the id in the path.", { field: "id" });
      if (username !== undefined && username !== current.username) throw new ApiError("invalidRequest", "The username cannot be changed.", { field: "username" });
      // `expired` and `lockedOutUntil` (typed by the schema) follow the clock and failed logins: whatever a read said moments ago is taken.
      const readOnly = { numericId, builtin, serviceAccount, dn, source, groups, federatedIdentities };
      if (Object.values(readOnly).some((value) => value !== undefined)) {
        const [view] = await renderUserViews(users, [current], true);
        assertReadOnlyUnchanged(readOnly, view as Record<string, unknown>, READ_ONLY, sameValue);
      }
      const row = await userAdmin.update(adminActorOf(request), current.uuid, changes, precondition);
      return sendUser(reply, row);
    },
  );

  app.delete(
    "/security/v1/users/:id",
    {
      onRequest: adminOnly,
      schema: {
        summary: "Delete a user",
        description: "Built-in users and profiles still assigned to users are refused (409). With `If-Match`, a stale version is a 412.",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        params: IdParams,
        headers: IfMatchHeaders,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      await userAdmin.remove(adminActorOf(request), request.params.id, ifMatchVersions(request.headers["if-match"]));
      return reply.code(204).send(null);
    },
  );

  app.put(
    "/security/v1/users/:id/reset-password",
    {
      onRequest: adminOnly,
      schema: {
        summary: "Set a user's password",
        description: "Revokes every token of the user.",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        params: IdParams,
        body: ResetPasswordBody,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await userAdmin.resetPassword(adminActorOf(request), request.params.id, request.body.value, request.body.temporary, ifMatchVersions(request.headers["if-match"]));
      return reply.code(204).send(null);
    },
  );

  const Lockout = Type.Object({
    lockedOutUntil: Nullable(Type.String({ format: "date-time", description: "Until when every address the account does not know is locked out (after failed logins from such addresses); null: not locked out" })),
    failedLogins: Type.Integer({ description: "Failed logins in a row from unfamiliar addresses" }),
    addresses: Type.Array(
      Type.Object({
        address: Type.String({ description: "A client address (an IPv6 client by its /64 network, as the lockout counts it)" }),
        failedLogins: Type.Integer({ description: "Failed logins in a row from it" }),
        lockedOutUntil: Nullable(Type.String({ format: "date-time", description: "Until when it is locked out of the account; null: not locked out" })),
        lastLoginAt: Nullable(Type.String({ format: "date-time", description: "The account's last login from it (recent: a familiar address)" })),
      }),
      { description: "Addresses locked out of the account or with failed logins in a row, latest first (at most 100)" },
    ),
  });

  app.get(
    "/security/v1/users/:id/lockout",
    {
      onRequest: adminOnly,
      schema: {
        summary: "Why failed logins refuse a user's logins",
        description: "The account-wide lockout and each client address locked out of the account (or counting failures toward it). DELETE clears them all.",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        params: IdParams,
        response: { 200: Lockout, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => userAdmin.lockout(request.params.id),
  );

  app.delete(
    "/security/v1/users/:id/lockout",
    {
      onRequest: adminOnly,
      schema: {
        summary: "Clear a lockout after failed logins",
        tags: ["users"],
        security: [{ bearerAuth: [] }],
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await userAdmin.clearLockout(adminActorOf(request), request.params.id, ifMatchVersions(request.headers["if-match"]));
      return reply.code(204).send(null);
    },
  );
};

export default usersRoutes;
