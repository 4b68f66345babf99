import { Type, type Static } from "typebox";
import { DocumentFields, EXTENDED_FIELDS, PLAIN_FIELDS, type UserField, type UserShape } from "../storage/document-fields.js";
import type { UserRow } from "../storage/schema.js";
import type { FederatedIdentityRef, UserQueries, UserSource } from "../storage/user-queries.js";
import { ApiError } from "./errors.js";
import { Nullable } from "./schemas.js";
import { PATTERN_MESSAGE } from "./validation.js";

/**
 * The users list of the seed's API description (seed 003), its fields and values as they are, with
 * the fields this API adds: the example of the list and of a user in the OpenAPI document.
 */
export const USERS_LIST_EXAMPLE = [
  { id: "a010279b-ae66-4c1d-b066-c45d50c9f75a", username: "sysadmin", firstName: "firstName", lastName: null, email: "sysadmin@example.com", dn: null, description: "Built-in user", enabled: true, builtin: true, federatedIdentities: null,
    numericId: 1, loginName: "sysadmin", displayName: "firstName", profileId: -1 },
  { id: "82576381-e765-4645-a697-782111f8f5b5", username: "user_1", firstName: "1", lastName: "user", email: "user_1@example.com", dn: null, description: "description user_1", enabled: true, builtin: false,
    federatedIdentities: [{ alias: "dummy_alias", displayName: "DUMMY DISPLAY NAME" }], numericId: 2, loginName: "user_1", displayName: "1 user", profileId: -1 },
];

/** A user as the REST API shows it: the seed's fields first, exactly, then the spec's additions. */
export const UserSchema = Type.Object(
  {
    id: Type.String({ description: "Object ID of the user (UUID)" }),
    username: Type.String(),
    firstName: Nullable(Type.String()),
    lastName: Nullable(Type.String()),
    email: Nullable(Type.String()),
    dn: Nullable(Type.String({ description: "Distinguished name; null unless imported from a directory" })),
    description: Nullable(Type.String()),
    enabled: Type.Boolean(),
    builtin: Type.Boolean(),
    federatedIdentities: Nullable(
      Type.Array(Type.Object({ alias: Type.String(), displayName: Type.String() }), { description: "null unless linked to an identity provider" }),
    ),
    numericId: Type.Integer({ description: "Serial number (the SDK's `id`)" }),
    loginName: Type.String(),
    displayName: Type.String(),
    profileId: Type.Integer({ description: "-1 no profile, 0 is a profile, >0 the assigned profile's numericId" }),
    groups: Type.Optional(Type.Array(Type.String(), { description: "extendedInfo only" })),
    validFrom: Type.Optional(Nullable(Type.String({ format: "date-time" }))),
    validTo: Type.Optional(Nullable(Type.String({ format: "date-time" }))),
    source: Type.Optional(
      Type.Object(
        {
          type: Type.Union([Type.Literal("builtin"), Type.Literal("local"), Type.Literal("directory"), Type.Literal("identity-provider")]),
          id: Nullable(Type.String({ description: "The directory's id or the identity provider's alias" })),
          name: Nullable(Type.String({ description: "The directory's name or the identity provider's display name" })),
        },
        { description: "extendedInfo only: where the account comes from (filter with `source=`)" },
      ),
    ),
    expired: Type.Optional(Type.Boolean({ description: "extendedInfo only: valid-to has passed" })),
    lockedOutUntil: Type.Optional(Nullable(Type.String({ format: "date-time" }))),
    changePassword: Type.Optional(Type.Boolean()),
    passwordNeverExpires: Type.Optional(Type.Boolean()),
    serviceAccount: Type.Optional(Type.Boolean({ description: "No password: authenticates with API keys only (set at creation)" })),
  },
  { $id: "User", examples: [USERS_LIST_EXAMPLE[1]] },
);

export type UserView = Static<typeof UserSchema>;

function toUserView(row: UserRow, federated: FederatedIdentityRef[] | undefined): UserView {
  return {
    id: row.uuid,
    username: row.username,
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    dn: row.dn,
    description: row.description,
    enabled: row.enabled === 1,
    builtin: row.builtin === 1,
    federatedIdentities: federated && federated.length > 0 ? federated : null,
    numericId: row.id,
    loginName: row.login_name,
    displayName: row.display_name,
    profileId: row.profile_id,
  };
}

/** The fields `?extendedInfo=true` adds; `source` as users.sources gave it. */
function toExtendedUserView(row: UserRow, federated: FederatedIdentityRef[] | undefined, groups: string[], source: UserSource, now = new Date().toISOString()): UserView {
  const lockedOut = row.locked_out_until && row.locked_out_until > now ? row.locked_out_until : null;
  return {
    ...toUserView(row, federated),
    groups,
    validFrom: row.valid_from,
    validTo: row.valid_to,
    source,
    expired: row.valid_to !== null && row.valid_to < now,
    lockedOutUntil: lockedOut,
    changePassword: row.change_password === 1,
    passwordNeverExpires: row.password_never_expires === 1,
    serviceAccount: row.service_account === 1,
  };
}

/** The REST views of a batch of rows, with their identity-provider links (and groups when extended). */
export async function renderUserViews(users: UserQueries, rows: UserRow[], extended: boolean): Promise<UserView[]> {
  const federated = await users.federatedIdentities(rows.map((r) => r.id));
  if (!extended) return rows.map((r) => toUserView(r, federated.get(r.id)));
  const [groups, sources] = await Promise.all([users.groupNames(rows), users.sources(rows)]);
  const now = new Date().toISOString();
  return rows.map((r) => toExtendedUserView(r, federated.get(r.id), groups.get(r.id) ?? [], sources.get(r.id)!, now));
}

const FIELD_NAME = `(${[...PLAIN_FIELDS, ...EXTENDED_FIELDS].join("|")})`;

/** The list's `fields`: names of the view's fields, comma-separated. */
export const UserFieldsParam = Type.String({
  pattern: `^${FIELD_NAME}(,${FIELD_NAME})*$`,
  [PATTERN_MESSAGE]: `must be field names separated by commas, of: ${[...PLAIN_FIELDS, ...EXTENDED_FIELDS].join(", ")}`,
  description: "Only these fields of each user, comma-separated (in the view's order whatever the order named); the extended ones need `extendedInfo=true`",
  examples: ["id,username,email"],
});

/** The list's `shape`: each user as an object, or as an array of its fields' values. */
export const UserShapeParam = Type.Union([Type.Literal("objects"), Type.Literal("arrays")], {
  default: "objects",
  description:
    "`arrays`: each user is an array of the values of its fields (those of `fields`, else all of the view) in the view's order — the order of the user's schema, the extended fields last — without their names: fewer bytes to send and parse, for clients that know the view.",
});

/**
 * The cutter of the fields and shape a list asked for, or undefined for whole users as they are kept;
 * an extended field without extendedInfo is a 400.
 */
export function documentFieldsOf(param: string | undefined, extended: boolean, shape: UserShape = "objects"): DocumentFields | undefined {
  if (param === undefined && shape === "objects") return undefined;
  const fields = param === undefined ? [...PLAIN_FIELDS, ...(extended ? EXTENDED_FIELDS : [])] : (param.split(",") as UserField[]);
  const needExtended = fields.filter((f) => (EXTENDED_FIELDS as readonly string[]).includes(f));
  if (!extended && needExtended.length > 0) {
    throw new ApiError("invalidRequest", `fields names ${needExtended.join(", ")}, shown with extendedInfo=true only.`, { field: "fields", fields: needExtended });
  }
  return new DocumentFields(fields, extended, shape);
}
