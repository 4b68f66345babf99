import type { Kysely } from "kysely";
import type { GroupQueries } from "../storage/group-queries.js";
import type { Database, GroupRow, UserRow } from "../storage/schema.js";
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
