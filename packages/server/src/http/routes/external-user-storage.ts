import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type, type TSchema } from "typebox";
import { mergeDirectory, toDirectoryView, type Directory } from "../../directory/config.js";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import { adminActorOf } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { ApiError } from "../errors.js";
import { etagOf, IfMatchHeaders, ifMatchVersions } from "../etag.js";
import { errorResponses, IdParams, Nullable, Uuid } from "../schemas.js";
import { PATTERN_MESSAGE } from "../validation.js";

/** An LDAP attribute name (or OID). */
const Attribute = Type.String({ minLength: 1, maxLength: 128, pattern: "^([A-Za-z][A-Za-z0-9-]*|\\d+(\\.\\d+)+)$", [PATTERN_MESSAGE]: "is not an LDAP attribute name (a letter, then letters, digits and -) or OID (such as 2.5.4.3)" });
const Dn = Type.String({ minLength: 1, maxLength: 2048 });
const Filter = Type.String({ minLength: 3, maxLength: 4096, description: "An LDAP filter (RFC 4515); escaped bytes that are not UTF-8 (a binary value) in an equality only" });

const Mapping = {
  username: Attribute,
  loginName: Attribute,
  firstName: Attribute,
  lastName: Attribute,
  email: Attribute,
  displayName: Attribute,
  uniqueId: Type.String({ ...Attribute, description: "The stable key of users: objectGUID (Active Directory), entryUUID (elsewhere); cannot change once the directory has users" }),
};

const Fields = {
  name: Type.String({ minLength: 1, maxLength: 255, description: "As a group's name (it names imported groups whose names are taken): no /, control, invisible or formatting characters, no blank edges" }),
  priority: Type.Integer({ minimum: 0, maximum: 1_000_000, description: "Lower first: a directory of lower number takes over a username or login name that a user of a higher-numbered one holds; also the order of periodic syncs that are due together" }),
  vendor: Type.Union([Type.Literal("ACTIVE_DIRECTORY"), Type.Literal("OTHER")], { description: "OTHER: OpenLDAP and the like" }),
  connectionUrl: Type.String({ minLength: 1, maxLength: 4096, description: "ldap:// or ldaps:// URLs, space-separated, tried in order (one that could not be reached is tried after the others for a minute; a connection test tries each in order)" }),
  startTls: Type.Boolean({ description: "Upgrade ldap:// connections with StartTLS" }),
  caCertificate: Nullable(Type.String({ maxLength: 65_536, description: "PEM of the CA(s) that sign the directory's certificate, besides the system's" })),
  allowUnencryptedPasswords: Type.Boolean({ description: "Let passwords cross a connection that is neither LDAPS nor StartTLS (never by default)" }),
  baseDn: Dn,
  bindDn: Nullable(Dn),
  userSearchBase: Nullable(Type.String({ ...Dn, description: "Where users are searched: baseDn or an entry under it; null: baseDn" })),
  userFilter: Filter,
  groupFilter: Filter,
  attributeMapping: Type.Object(Mapping, { additionalProperties: false }),
  groupEntryDnList: Type.Array(Dn, { maxItems: 1000, uniqueItems: true, description: "The directory groups to import; the groups nested in them come along" }),
  groupMappings: Type.Array(Type.Object({ groupDn: Dn, localGroupId: Uuid }, { additionalProperties: false }), { maxItems: 1000, description: "Members of a directory group (nested ones too) join a local group" }),
  syncPeriodSeconds: Type.Object(
    { full: Type.Integer({ minimum: 0, maximum: 31_536_000 }), changed: Type.Integer({ minimum: 0, maximum: 31_536_000 }) },
    { additionalProperties: false, description: "Seconds between periodic syncs (0: only when started); after a run that failed or was interrupted, the next try waits ECM_DIRECTORY_SCHEDULER_SECONDS, doubled with each such run in a row, at most the period" },
  ),
  disableLimitPercent: Type.Integer({ minimum: 0, maximum: 100, description: "A full sync that would disable more than this share of the directory's users disables nobody unless forced" }),
  pageSize: Type.Integer({ minimum: 1, maximum: 1000, description: "Entries per page of a search (Active Directory answers at most 1 000)" }),
  timeoutSeconds: Type.Integer({ minimum: 1, maximum: 300 }),
  enabled: Type.Boolean(),
};

const nullable = <T extends Record<string, TSchema>>(fields: T) => Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Nullable(v)])) as { [K in keyof T]: ReturnType<typeof Nullable<T[K]>> };
const optional = <T extends Record<string, TSchema>>(fields: T) => Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Type.Optional(v)])) as { [K in keyof T]: ReturnType<typeof Type.Optional<T[K]>> };

const BindPassword = Nullable(
  Type.String({
    maxLength: 1024,
    description:
      "Write-only (read as null); left out or null keeps the stored one, \"\" removes it. Required with a bindDn (a DN with no password is an unauthenticated bind); sent again when bindDn, caCertificate or the servers of connectionUrl change, or startTls is turned off while connectionUrl names an ldap:// server, or allowUnencryptedPasswords turned on",
  }),
);

const Input = {
  ...optional(Fields),
  attributeMapping: Type.Optional(Type.Object(optional(nullable(Mapping)), { additionalProperties: false, description: "Fields left out keep their value (the vendor's default on create); null sets the vendor's default" })),
  syncPeriodSeconds: Type.Optional(Type.Object(optional(Fields.syncPeriodSeconds.properties), { additionalProperties: false })),
  bindPassword: Type.Optional(BindPassword),
  userFilter: Type.Optional(Nullable(Type.String({ ...Filter, description: "An LDAP filter (RFC 4515); left out keeps the stored one, null sets the vendor's default" }))),
  groupFilter: Type.Optional(Nullable(Type.String({ ...Filter, description: "An LDAP filter (RFC 4515); left out keeps the stored one, null sets the vendor's default" }))),
};

const CreateBody = Type.Object({ ...Input, name: Fields.name, connectionUrl: Fields.connectionUrl, baseDn: Fields.baseDn }, { additionalProperties: false });
/** An unsaved configuration tested: nothing is stored, so it may not be named yet. */
const TestBody = Type.Object({ ...Input, connectionUrl: Fields.connectionUrl, baseDn: Fields.baseDn }, { additionalProperties: false });
/** A directory read with GET may be sent back as it is: `id` must be its own. */
const UpdateBody = Type.Object(
  {
    ...Input,
    id: Type.Optional(Type.String()),
    // It moves with the syncs, perhaps since the GET: only its type is checked (a user's lockedOutUntil likewise), never a value of any kind let through.
    lastSyncStartedAt: Type.Optional(Nullable(Type.String({ format: "date-time", maxLength: 64, description: "Read-only: as a GET answered it, or any other time (it follows the syncs)" }))),
  },
  { additionalProperties: false },
);

/** Added by app.ts with the other shared schemas: a plugin that adds a schema gets Fastify's default validator (which drops unknown fields instead of refusing them). */
export const DirectorySchema = Type.Object(
  {
    id: Type.String(),
    ...Fields,
    bindPassword: Type.Null({ description: "Write-only: always null" }),
    lastSyncStartedAt: Nullable(Type.String({ format: "date-time", description: "Read-only: when its last sync started (`GET …/sync` shows it); null: it never synced" })),
  },
  { $id: "Directory" },
);

const Problem = Type.Object({ dn: Type.String(), message: Type.String() });
const RunSchema = Type.Object({
  id: Type.Integer(),
  state: Type.Union([Type.Literal("running"), Type.Literal("succeeded"), Type.Literal("failed"), Type.Literal("interrupted")]),
  mode: Type.Union([Type.Literal("full"), Type.Literal("changed")]),
  forced: Type.Boolean(),
  startedBy: Nullable(Type.String()),
  startedAt: Type.String({ format: "date-time" }),
  finishedAt: Nullable(Type.String({ format: "date-time" })),
  seen: Type.Integer(),
  created: Type.Integer(),
  updated: Type.Integer(),
  disabled: Type.Integer(),
  unchanged: Type.Integer(),
  failed: Type.Integer(),
  joined: Type.Integer({ description: "Memberships the run added: users who joined a group (a new user's users group not counted)" }),
  left: Type.Integer({ description: "Memberships the run removed (only ever ones a sync made, never one added by hand)" }),
  usersPerSecond: Type.Integer(),
  problems: Type.Array(Problem, { description: "The first problems, with the entry's DN" }),
  message: Nullable(Type.String({ description: "What the run says in words: why it failed, why it disabled nobody" })),
});

const SyncBody = Type.Object(
  {
    mode: Type.Optional(Type.Union([Type.Literal("full"), Type.Literal("changed")], { description: "full (default) reads every user and disables those gone; changed reads what changed since the last sync — every user when attributeMapping, userFilter, userSearchBase or groupFilter changed since then (the run's message says so)" })),
    force: Type.Optional(Type.Boolean({ description: "Disable gone users even past disableLimitPercent, and all of them when the directory answers none (a full sync only: with `changed`, a 400)" })),
  },
  { additionalProperties: false },
);

const SampleUser = Type.Object({
  uniqueId: Type.String(),
  dn: Type.String(),
  username: Type.String(),
  loginName: Type.String(),
  firstName: Nullable(Type.String()),
  lastName: Nullable(Type.String()),
  displayName: Type.String(),
  email: Nullable(Type.String()),
  enabled: Type.Boolean(),
  changePassword: Type.Boolean(),
});

const TestSchema = Type.Object({
  ok: Type.Boolean(),
  message: Type.String(),
  server: Nullable(Type.String()),
  steps: Type.Array(Type.Object({ step: Type.String(), ok: Type.Boolean(), message: Type.String() })),
  usersFound: Nullable(Type.Integer()),
  usersFoundCapped: Type.Boolean(),
  sample: Type.Array(SampleUser),
});

const DeleteQuery = Type.Object({
  users: Type.Optional(
    Type.Union([Type.Literal("disable"), Type.Literal("delete")], {
      description: "disable (default): its users stay as disabled local users without a password, which a directory that brings them again takes over; delete: they and its groups are deleted",
    }),
  ),
});

const PATH = "/security/v1/external-user-storage";
const TAGS = ["external user storage"];

const externalUserStorageRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { guard, directories, secrets }) => {
  const adminOnly = guard(...ADMINISTRATOR_ROLES);
  const security = [{ bearerAuth: [] }];
  const DirectoryRef = Type.Ref("Directory");
  /** The directories as answered: their settings, and when each last synced (a page then knows whether to ask for its run). */
  const views = async (ds: Directory[]) => {
    const started = await directories.lastSyncStarts(ds);
    return ds.map((d) => ({ ...toDirectoryView(d), lastSyncStartedAt: started.get(d.id) ?? null }));
  };
  const send = async (reply: { header(k: string, v: string): unknown }, d: Directory) => {
    reply.header("etag", etagOf(d.version));
    return (await views([d]))[0]!;
  };

  app.get(PATH, {
    onRequest: adminOnly,
    schema: { summary: "List directories (Active Directory, LDAP)", tags: TAGS, security, response: { 200: Type.Array(DirectoryRef), ...errorResponses(401, 403) } },
  }, async () => views(await directories.list()));

  app.post(PATH, {
    onRequest: adminOnly,
    schema: {
      summary: "Add a directory",
      description: "Fields left out take their defaults (the attribute mapping and filters by vendor). The bind password is stored sealed and never shown.",
      tags: TAGS,
      security,
      body: CreateBody,
      response: { 201: DirectoryRef, ...errorResponses(400, 401, 403, 409) },
    },
  }, async (request, reply) => {
    const d = await directories.create(adminActorOf(request), request.body);
    return reply.code(201).header("location", `${request.url.split("?")[0]!.replace(/\/$/, "")}/${d.uuid}`).send(await send(reply, d));
  });

  app.post(`${PATH}/test`, {
    onRequest: adminOnly,
    schema: {
      summary: "Test an unsaved directory configuration",
      description: "Connects, binds, reads the base and searches with the configuration sent (nothing is stored, and `name` may be left out): what happened in words, the number of users the filter finds and three of them as they would be imported.",
      tags: TAGS,
      security,
      body: TestBody,
      response: { 200: TestSchema, ...errorResponses(400, 401, 403) },
    },
  }, async (request) => {
    // Unsaved, the password is not sealed: the configuration holds it as sent, checked as on create.
    const d = { ...mergeDirectory(undefined, { name: "unsaved", ...request.body }, (p) => p), id: 0, uuid: "", version: 0 };
    return directories.test(d, d.sealedBindPassword);
  });

  app.get(`${PATH}/:id`, {
    onRequest: adminOnly,
    schema: { summary: "Get a directory", tags: TAGS, security, params: IdParams, response: { 200: DirectoryRef, ...errorResponses(401, 403, 404) } },
  }, async (request, reply) => send(reply, await directories.load(request.params.id)));

  app.put(`${PATH}/:id`, {
    onRequest: adminOnly,
    schema: {
      summary: "Change a directory",
      description: "Partial: fields left out keep their value (the bind password too). With `If-Match`, a stale version is a 412.",
      tags: TAGS,
      security,
      params: IdParams,
      headers: IfMatchHeaders,
      body: UpdateBody,
      response: { 200: DirectoryRef, ...errorResponses(400, 401, 403, 404, 409, 412) },
    },
  }, async (request, reply) => {
    const { id, lastSyncStartedAt, ...changes } = request.body;
    if (id !== undefined && id.toLowerCase() !== request.params.id.toLowerCase()) throw new ApiError("invalidRequest", "The id in the body is not the id in the path.", { field: "id" });
    return send(reply, await directories.update(adminActorOf(request), request.params.id, changes, ifMatchVersions(request.headers["if-match"])));
  });

  app.delete(`${PATH}/:id`, {
    onRequest: adminOnly,
    schema: {
      summary: "Remove a directory",
      description:
        "`users=disable` (default) keeps its users as disabled local users without a password (their groups and history with them), and its groups as local groups: " +
        "a directory that brings the same entry again (the same uniqueId: this one added anew, or another configuration of the same directory) takes it over at its next sync that reads it " +
        "(another directory's entry of the same name is a clash in its run's report), " +
        "enabled as that directory says, unless an administrator has given it a password of its own meanwhile. `users=delete` deletes both. Each user's change is audited. Refused while a sync runs. With `If-Match`, a stale version is a 412 and nothing is removed.",
      tags: TAGS,
      security,
      params: IdParams,
      headers: IfMatchHeaders,
      querystring: DeleteQuery,
      response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409, 412) },
    },
  }, async (request, reply) => {
    await directories.remove(adminActorOf(request), request.params.id, request.query.users ?? "disable", ifMatchVersions(request.headers["if-match"]));
    return reply.code(204).send(null);
  });

  app.post(`${PATH}/:id/test`, {
    onRequest: adminOnly,
    schema: { summary: "Test a directory's connection", description: "As the test of an unsaved configuration, with the stored one.", tags: TAGS, security, params: IdParams, response: { 200: TestSchema, ...errorResponses(401, 403, 404) } },
  }, async (request) => {
    const d = await directories.load(request.params.id);
    return directories.test(d, d.sealedBindPassword === null ? null : secrets.open(d.sealedBindPassword));
  });

  app.post(`${PATH}/:id/sync`, {
    onRequest: adminOnly,
    schema: {
      summary: "Start a sync",
      description:
        "Answers 202 at once; the sync runs in the background on this node (`GET …/sync` shows it on every node). 409 while one runs. " +
        "Only a system administrator may `force` a sync of a directory through which accounts hold the system-administrator role (a user of it, or a group it fills).",
      tags: TAGS,
      security,
      params: IdParams,
      body: SyncBody,
      response: { 202: RunSchema, ...errorResponses(400, 401, 403, 404, 409) },
    },
    config: { bodyOptional: true },
  }, async (request, reply) => {
    await directories.startSync(adminActorOf(request), request.params.id, request.body.mode ?? "full", request.body.force ?? false);
    return reply.code(202).header("location", request.url.split("?")[0]!).send(await directories.lastRun(request.params.id));
  });

  app.get(`${PATH}/:id/sync`, {
    onRequest: adminOnly,
    schema: { summary: "The current or last sync", tags: TAGS, security, params: IdParams, response: { 200: RunSchema, ...errorResponses(401, 403, 404) } },
  }, async (request) => directories.lastRun(request.params.id));
};

export default externalUserStorageRoutes;
