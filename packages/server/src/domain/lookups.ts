import { sql, type Kysely } from "kysely";
import type { GroupQueries } from "../storage/group-queries.js";
import type { Database, GroupRow, RoleRow, UserRow } from "../storage/schema.js";
import type { UserQueries } from "../storage/user-queries.js";
import { notFound } from "./errors.js";

/** Object ids are UUIDs, stored lowercase and accepted in any case. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The user with this id, or not-found — also for an id that is not even a UUID. */
export async function requireUser(users: UserQueries, id: string): Promise<UserRow> {
  const row = UUID_PATTERN.test(id) ? await users.findByUuid(id.toLowerCase()) : undefined;
  if (!row) throw notFound("user", id);
  return row;
}

/** The group with this id, or not-found. Pass the transaction's `db` to read inside it. */
export async function requireGroup(groups: GroupQueries, id: string, on?: Kysely<Database>): Promise<GroupRow> {
  const row = UUID_PATTERN.test(id) ? await groups.findByUuid(id.toLowerCase(), on) : undefined;
  if (!row) throw notFound("group", id);
  return row;
}

/** The role of this name, or not-found. */
export async function requireRole(groups: GroupQueries, name: string): Promise<RoleRow> {
  const row = await groups.findRole(name);
  if (!row) throw notFound("role", name);
  return row;
}

/** The directory with this id, or not-found. */
export async function requireDirectory(db: Kysely<Database>, id: string): Promise<{ id: number }> {
  const row = UUID_PATTERN.test(id) ? await db.selectFrom("directories").select("id").where("uuid", "=", id.toLowerCase()).executeTakeFirst() : undefined;
  if (!row) throw notFound("directory", id);
  return row;
}

/** The identity provider of this alias, in any case (aliases are told apart so: migration 014q), or not-found. */
export async function requireProvider(db: Kysely<Database>, alias: string): Promise<{ id: number }> {
  const row = await db.selectFrom("identity_providers").select("id").where(sql<string>`lower(alias)`, "=", alias.toLowerCase()).executeTakeFirst();
  if (!row) throw notFound("identity provider", alias);
  return row;
}

/** The profile with this numericId (a user that is a profile), or not-found. */
export async function requireProfile(db: Kysely<Database>, numericId: number): Promise<{ id: number }> {
  const row = await db.selectFrom("users").select("id").where("id", "=", numericId).where("profile_id", "=", 0).executeTakeFirst();
  if (!row) throw notFound("profile", String(numericId));
  return row;
}
