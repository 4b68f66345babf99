import type { Kysely } from "kysely";
import type { GroupQueries } from "../storage/group-queries.js";
import type { Database, GroupRow, UserRow } from "../storage/schema.js";
import type { UserQueries } from "../storage/user-queries.js";
import { notFound } from "./errors.js";
import { UUID_PATTERN } from "./schemas.js";

/** The user with this id (UUID, in any case: ids are stored lowercase), or a 404 — also for an id that is not even a UUID. */
export async function userOr404(users: UserQueries, id: string): Promise<UserRow> {
  const row = UUID_PATTERN.test(id) ? await users.findByUuid(id.toLowerCase()) : undefined;
  if (!row) throw notFound("user", id);
  return row;
}

/** The group with this id (UUID, in any case), or a 404. Pass the transaction's `db` to read inside it. */
export async function groupOr404(groups: GroupQueries, id: string, on?: Kysely<Database>): Promise<GroupRow> {
  const row = UUID_PATTERN.test(id) ? await groups.findByUuid(id.toLowerCase(), on) : undefined;
  if (!row) throw notFound("group", id);
  return row;
}
