import { Type, type Static } from "typebox";
import type { Kysely } from "kysely";
import { requireDirectory, requireGroup, requireProfile, requireProvider } from "../domain/lookups.js";
import type { GroupQueries } from "../storage/group-queries.js";
import type { Database } from "../storage/schema.js";
import type { UserFilter } from "../storage/user-queries.js";
import { PATTERN_MESSAGE } from "./validation.js";

/** Largest numericId: integer columns are 32-bit on PostgreSQL, so a larger profileId names no user (and must not reach the store). */
export const NUMERIC_ID_MAX = 2_147_483_647;

/** The users list's filters: query parameters of the list, its count and its CSV, and the `filter` of a bulk action. */
export const UserFilterFields = {
  search: Type.Optional(Type.String({ maxLength: 256, description: "Case-insensitive substring of username, first name, last name or email, case folded as Unicode folds it (WEISS finds Weiß, İZMİR İzmir); taken literally" })),
  enabled: Type.Optional(Type.Boolean()),
  expired: Type.Optional(Type.Boolean({ description: "true: only accounts whose valid-to has passed" })),
  lockedOut: Type.Optional(Type.Boolean({ description: "true: only accounts locked out after failed logins" })),
  profileId: Type.Optional(Type.Integer({ minimum: -1, maximum: NUMERIC_ID_MAX, description: "-1: users with no profile; 0: the profiles; >0: the users assigned to the profile of this numericId (404 when no profile has it)" })),
  groupId: Type.Optional(Type.String({ maxLength: 64, description: "Only members of this group (its id), directly or through their profile (404 when no group has it)" })),
  source: Type.Optional(
    Type.String({
      pattern: "^(builtin|local|(directory|identity-provider)(:.{1,256})?)$",
      [PATTERN_MESSAGE]: "must be builtin, local, directory, identity-provider, directory:<id> or identity-provider:<alias>",
      description: "Where the accounts come from: `builtin`, `local`, `directory`, `identity-provider`; `directory:<id>` or `identity-provider:<alias>` for one of them (the id and the alias in any case; 404 when there is no such directory or identity provider)",
    }),
  ),
  linkedTo: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description: "Only accounts linked to this identity provider (its alias, in any case): those its logins made and local accounts linked to it, by verified email or by an administrator (`source=identity-provider:<alias>` gives only the former); 404 when no identity provider has the alias",
    }),
  ),
};

export const UserFilterSchema = Type.Object(UserFilterFields, { additionalProperties: false });

export type UserFilterInput = Static<typeof UserFilterSchema>;

/** The filter's own parameters of a query that holds others too (the list's paging and fields): what an export's audit event records. */
export function filterInputOf(query: UserFilterInput): UserFilterInput {
  return Object.fromEntries(Object.keys(UserFilterFields).map((name) => [name, query[name as keyof UserFilterInput]])) as UserFilterInput;
}

/**
 * The store's filter for these parameters. A filter that names something — a group, a profile, a
 * directory, an identity provider — that does not exist is a 404 saying which, as that thing's own
 * URL answers: an empty list would not tell a mistyped id or alias from one nobody matches.
 */
export async function userFilterOf(db: Kysely<Database>, groups: GroupQueries, input: UserFilterInput): Promise<UserFilter> {
  const { search, enabled, expired, lockedOut, profileId, groupId, linkedTo } = input;
  const group = groupId === undefined ? undefined : await requireGroup(groups, groupId);
  if (profileId !== undefined && profileId > 0) await requireProfile(db, profileId);
  const source = sourceOf(input.source);
  if (source?.id !== undefined) await (source.type === "directory" ? requireDirectory(db, source.id) : requireProvider(db, source.id));
  if (linkedTo !== undefined) await requireProvider(db, linkedTo);
  return { search, enabled, expired, lockedOut, profileId, groupId: group?.id, source, linkedTo };
}

/** `type` or `type:id` (the pattern checked the type). */
function sourceOf(value: string | undefined): UserFilter["source"] {
  if (value === undefined) return undefined;
  const colon = value.indexOf(":");
  const type = (colon < 0 ? value : value.slice(0, colon)) as NonNullable<UserFilter["source"]>["type"];
  return colon < 0 ? { type } : { type, id: value.slice(colon + 1) };
}
