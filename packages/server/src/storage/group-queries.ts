import { randomUUID } from "node:crypto";
import { sql, type Kysely, type OnConflictBuilder } from "kysely";
import { fold, searchFold } from "../domain/user-fields.js";
import { confusableKey, groupNameColumns } from "../domain/names.js";
import type { Database, GroupRow, RoleRow, UserRow } from "./schema.js";
import { keysetBatches } from "./keyset.js";
import type { Store } from "./store.js";
import { isoNow } from "./time.js";
import { containsPattern } from "./like.js";

/** On an add by hand of a membership that exists: one a sync or a provider's mapping made becomes one by hand. */
/** The ids of the groups that grant the role of this name, as a subquery. */
export function groupsGranting(db: Kysely<Database>, role: string) {
  return db.selectFrom("group_roles").innerJoin("roles", "roles.id", "group_roles.role_id").select("group_roles.group_id").where("roles.name", "=", role);
}

export function becomeByHand(oc: OnConflictBuilder<Database, "group_members">) {
  return oc
    .columns(["group_id", "user_id"])
    .doUpdateSet({ synced_by: null, mapped_by: null })
    .where((eb) => eb.or([eb("group_members.synced_by", "is not", null), eb("group_members.mapped_by", "is not", null)]));
}

/** The stores' username order (code points: PostgreSQL's "C" collation, SQLite's binary), not UTF-16's. */
function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export interface GroupFieldsInput {
  name: string;
  description: string | null;
}

export interface MembershipRef {
  userId: string;
  groupId: string;
}

export interface RoleMappingRef {
  groupId: string;
  roleName: string;
}

/**
 * Groups, memberships and role mappings. Methods that change data take the transaction's `db`, so the
 * change commits together with its audit event and rule checks.
 */
export function createGroupQueries({ db }: Store) {
  /**
   * The groups of `userId` whose membership a directory's sync or a provider's group mapping made: each
   * with that directory's name (`directory`) or that provider's alias (`provider`).
   */
  async function membershipOrigins(on: Kysely<Database>, userId: number): Promise<Map<number, { directory: string | null; provider: string | null }>> {
    const rows = await on
      .selectFrom("group_members")
      .leftJoin("directories", "directories.id", "group_members.synced_by")
      .leftJoin("identity_providers", "identity_providers.id", "group_members.mapped_by")
      .select(["group_members.group_id", "directories.name as directory", "identity_providers.alias as provider"])
      .where("group_members.user_id", "=", userId)
      .where((eb) => eb.or([eb("group_members.synced_by", "is not", null), eb("group_members.mapped_by", "is not", null)]))
      .execute();
    return new Map(rows.map((r) => [r.group_id, { directory: r.directory, provider: r.provider }]));
  }

  return {
    membershipOrigins,

    /**
     * Groups in name order; `search` is a case-insensitive literal substring of the name; `role`: only
     * the groups granting it; `after`: those whose name follows it; `limit`: at most that many. Names
     * are unique (their folded key is), so the name alone is the keyset; the walk of the name index
     * stops at `limit`, and a `search` filters the names it walks (at 50 000 groups, a few ms).
     */
    list(search?: string, role?: string, after?: string, limit?: number): Promise<GroupRow[]> {
      let q = db.selectFrom("groups").selectAll();
      if (search) q = q.where(sql<boolean>`search_key like ${containsPattern(searchFold(search))} escape '\\'`);
      if (role) q = q.where("id", "in", groupsGranting(db, role));
      if (after !== undefined) q = q.where("name", ">", after);
      if (limit !== undefined) q = q.limit(limit);
      return q.orderBy("name").execute();
    },

    findByUuid(uuid: string, on: Kysely<Database> = db): Promise<GroupRow | undefined> {
      return on.selectFrom("groups").selectAll().where("uuid", "=", uuid).executeTakeFirst();
    },

    /** Groups with these uuids (those that exist). */
    /** Groups by id (UUID) or numericId, by name. */
    findByIds(uuids: readonly string[], numericIds: readonly number[] = []): Promise<GroupRow[]> {
      if (uuids.length === 0 && numericIds.length === 0) return Promise.resolve([]);
      return db
        .selectFrom("groups")
        .selectAll()
        .where((eb) => eb.or([...(uuids.length > 0 ? [eb("uuid", "in", [...uuids])] : []), ...(numericIds.length > 0 ? [eb("id", "in", [...numericIds])] : [])]))
        .orderBy("name")
        .execute();
    },

    findByName(name: string, on: Kysely<Database> = db): Promise<GroupRow | undefined> {
      return on.selectFrom("groups").selectAll().where("name_key", "=", fold(name)).executeTakeFirst();
    },

    /** The group whose name looks like `name` (domain/names.ts), if any. */
    findLookalike(name: string, on: Kysely<Database> = db): Promise<GroupRow | undefined> {
      return on.selectFrom("groups").selectAll().where("name_skeleton", "=", confusableKey(name)).executeTakeFirst();
    },

    insert(on: Kysely<Database>, fields: GroupFieldsInput): Promise<GroupRow> {
      const now = isoNow();
      return on
        .insertInto("groups")
        .values({ uuid: randomUUID(), ...groupNameColumns(fields.name), description: fields.description, created_at: now, updated_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    /** Writes the fields only if the group still has `version` (no lost update); undefined when it has not. */
    updateIfVersion(on: Kysely<Database>, id: number, version: number, fields: GroupFieldsInput): Promise<GroupRow | undefined> {
      return on
        .updateTable("groups")
        .set({ ...groupNameColumns(fields.name), description: fields.description, version: version + 1, updated_at: isoNow() })
        .where("id", "=", id)
        .where("version", "=", version)
        .returningAll()
        .executeTakeFirst();
    },

    /** Deletes the group; memberships and role mappings go with it (foreign keys cascade). False when it was gone already. */
    async delete(on: Kysely<Database>, id: number): Promise<boolean> {
      return Number((await on.deleteFrom("groups").where("id", "=", id).executeTakeFirst()).numDeletedRows) > 0;
    },

    /** The groups of a user: its own and, when it is assigned to a profile, the profile's (as the extended user view). */
    groupsOfUser(user: Pick<UserRow, "id" | "profile_id">): Promise<GroupRow[]> {
      const owners = user.profile_id > 0 ? [user.id, user.profile_id] : [user.id];
      return db
        .selectFrom("groups")
        .selectAll()
        .where("id", "in", (eb) => eb.selectFrom("group_members").select("group_id").where("user_id", "in", owners))
        .orderBy("name")
        .execute();
    },

    /** The groups the user is itself a member of (not those of its profile). */
    directGroupsOfUser(on: Kysely<Database>, userId: number): Promise<GroupRow[]> {
      return on
        .selectFrom("groups")
        .selectAll()
        .where("id", "in", (eb) => eb.selectFrom("group_members").select("group_id").where("user_id", "=", userId))
        .orderBy("name")
        .execute();
    },

    /**
     * Adds the membership; false when it already existed. `by`: an administrator's add (`"hand"`) makes
     * one that a directory's sync or a provider's mapping made one by hand, which they no longer remove
     * (true then too); `{ mappedBy }`: a provider's group mapping makes it, and may remove it at a later login.
     */
    async addMember(on: Kysely<Database>, groupId: number, userId: number, by?: "hand" | { mappedBy: number }): Promise<boolean> {
      const row = await on
        .insertInto("group_members")
        .values({ group_id: groupId, user_id: userId, mapped_by: typeof by === "object" ? by.mappedBy : null })
        .onConflict((oc) => (by === "hand" ? becomeByHand(oc) : oc.columns(["group_id", "user_id"]).doNothing()))
        .returning("group_id")
        .executeTakeFirst();
      return row !== undefined;
    },

    /** The groups of `userId` whose membership a directory's sync made, each with that directory's name. */
    async syncedGroupsOf(on: Kysely<Database>, userId: number): Promise<Map<number, string>> {
      const origins = await membershipOrigins(on, userId);
      return new Map([...origins].flatMap(([groupId, o]) => (o.directory === null ? [] : [[groupId, o.directory] as [number, string]])));
    },

    /** Which of `userIds` are in `groupId` by a directory's sync. */
    async syncedMembersOf(on: Kysely<Database>, groupId: number, userIds: readonly number[]): Promise<Set<number>> {
      if (userIds.length === 0) return new Set();
      const rows = await on.selectFrom("group_members").select("user_id").where("group_id", "=", groupId).where("user_id", "in", [...userIds]).where("synced_by", "is not", null).execute();
      return new Set(rows.map((r) => r.user_id));
    },

    /** Removes the memberships of the user in these groups; returns how many there were. */
    async removeMember(on: Kysely<Database>, groupIds: readonly number[], userId: number): Promise<number> {
      if (groupIds.length === 0) return 0;
      const result = await on.deleteFrom("group_members").where("user_id", "=", userId).where("group_id", "in", [...groupIds]).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    /**
     * One keyset page of the users in any of these groups, directly or through their profile, in
     * username order after `after`. Two index-friendly queries (direct members; users whose profile
     * is a member) merged here: one query with an OR of the two made PostgreSQL hash every member of
     * the group on each page, so streaming a big group grew with the square of its size.
     */
    async memberPage(groupIds: readonly number[], after: string | undefined, limit: number): Promise<UserRow[]> {
      const ids = [...groupIds];
      let direct = db
        .selectFrom("users")
        .selectAll("users")
        .where((eb) => eb.exists(eb.selectFrom("group_members").select("group_members.user_id").whereRef("group_members.user_id", "=", "users.id").where("group_members.group_id", "in", ids)));
      // The profiles among the members, read first (they are few): with no profile the second query is
      // skipped, and a literal list keeps SQLite from walking every username to test a subquery.
      const profileIds = (
        await db
          .selectFrom("users as profiles")
          .select("profiles.id")
          .where("profiles.profile_id", "=", 0)
          .where((eb) => eb.exists(eb.selectFrom("group_members").select("group_members.user_id").whereRef("group_members.user_id", "=", "profiles.id").where("group_members.group_id", "in", ids)))
          .execute()
      ).map((p) => p.id);
      if (after !== undefined) direct = direct.where("users.username", ">", after);
      const queries = [direct];
      if (profileIds.length > 0) {
        let inherited = db.selectFrom("users").selectAll("users").where("users.profile_id", "in", profileIds);
        if (after !== undefined) inherited = inherited.where("users.username", ">", after);
        queries.push(inherited);
      }
      const sources = await Promise.all(queries.map((q) => q.orderBy("users.username").limit(limit).execute()));
      // Past the last row of a full source that source may hold more: only rows up to there are complete.
      const cutoff = sources.filter((rows) => rows.length === limit).map((rows) => rows[rows.length - 1]!.username).sort(byCodePoint)[0];
      const merged = new Map<number, UserRow>();
      for (const row of sources.flat()) if (cutoff === undefined || byCodePoint(row.username, cutoff) <= 0) merged.set(row.id, row);
      return [...merged.values()].sort((a, b) => byCodePoint(a.username, b.username)).slice(0, limit);
    },

    /** Every member (as memberPage) in keyset batches, so memory stays flat. */
    allMembers(groupIds: readonly number[], after?: string, batchSize = 1000): AsyncGenerator<UserRow[]> {
      return keysetBatches((a, n) => this.memberPage(groupIds, a, n), (u) => u.username, after, batchSize);
    },

    /**
     * Every direct membership (optionally in some groups only) by uuids, in keyset batches so memory
     * stays flat. The walk reads only the (user, group) index; uuids are looked up per batch, since a
     * join would make each batch scan users from the start.
     */
    async *memberships(groupIds?: readonly number[], batchSize = 1000): AsyncGenerator<MembershipRef[]> {
      const groupUuids = new Map((await db.selectFrom("groups").select(["id", "uuid"]).execute()).map((g) => [g.id, g.uuid]));
      let after: [number, number] = [0, 0];
      for (;;) {
        let q = db.selectFrom("group_members").select(["user_id", "group_id"]);
        if (groupIds) q = q.where("group_id", "in", [...groupIds]);
        const rows = await q
          .where((eb) => eb(eb.refTuple("user_id", "group_id"), ">", eb.tuple(after[0], after[1])))
          .orderBy("user_id")
          .orderBy("group_id")
          .limit(batchSize)
          .execute();
        if (rows.length === 0) return;
        const userUuids = new Map(
          (await db.selectFrom("users").select(["id", "uuid"]).where("id", "in", [...new Set(rows.map((r) => r.user_id))]).execute()).map((u) => [u.id, u.uuid]),
        );
        // Rows of users or groups deleted (or groups created) since the walk began are left out.
        yield rows
          .filter((r) => userUuids.has(r.user_id) && groupUuids.has(r.group_id))
          .map((r) => ({ userId: userUuids.get(r.user_id)!, groupId: groupUuids.get(r.group_id)! }));
        if (rows.length < batchSize) return;
        const last = rows[rows.length - 1]!;
        after = [last.user_id, last.group_id];
      }
    },

    roles(): Promise<RoleRow[]> {
      return db.selectFrom("roles").selectAll().orderBy("name").execute();
    },

    findRole(name: string): Promise<RoleRow | undefined> {
      return db.selectFrom("roles").selectAll().where("name", "=", name).executeTakeFirst();
    },

    rolesByName(names: readonly string[]): Promise<RoleRow[]> {
      if (names.length === 0) return Promise.resolve([]);
      return db.selectFrom("roles").selectAll().where("name", "in", [...names]).orderBy("name").execute();
    },

    /** Roles granted to the group (`granted`) or not yet granted to it. */
    rolesOfGroup(groupId: number, granted = true): Promise<RoleRow[]> {
      const ofGroup = db.selectFrom("group_roles").select("role_id").where("group_id", "=", groupId);
      return db
        .selectFrom("roles")
        .selectAll()
        .where("id", granted ? "in" : "not in", ofGroup)
        .orderBy("name")
        .execute();
    },

    /** Grants the role; false when the group already had it. */
    async grantRole(on: Kysely<Database>, groupId: number, roleId: number): Promise<boolean> {
      const row = await on
        .insertInto("group_roles")
        .values({ group_id: groupId, role_id: roleId })
        .onConflict((oc) => oc.columns(["group_id", "role_id"]).doNothing())
        .returning("group_id")
        .executeTakeFirst();
      return row !== undefined;
    },

    /** Revokes the role; false when the group did not have it. */
    async revokeRole(on: Kysely<Database>, groupId: number, roleId: number): Promise<boolean> {
      const result = await on.deleteFrom("group_roles").where("group_id", "=", groupId).where("role_id", "=", roleId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** Every role mapping (optionally of some groups only), by group uuid and role name. */
    async roleMappings(groupIds?: readonly number[]): Promise<RoleMappingRef[]> {
      let q = db
        .selectFrom("group_roles")
        .innerJoin("groups", "groups.id", "group_roles.group_id")
        .innerJoin("roles", "roles.id", "group_roles.role_id")
        .select(["groups.uuid as groupId", "roles.name as roleName"]);
      if (groupIds) q = q.where("group_roles.group_id", "in", [...groupIds]);
      return q.orderBy("groups.name").orderBy("roles.name").execute();
    },

    /** Whether the group grants this role. */
    async groupHasRole(on: Kysely<Database>, groupId: number, roleName: string): Promise<boolean> {
      const row = await on
        .selectFrom("group_roles")
        .innerJoin("roles", "roles.id", "group_roles.role_id")
        .select("group_roles.group_id")
        .where("group_roles.group_id", "=", groupId)
        .where("roles.name", "=", roleName)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}

export type GroupQueries = ReturnType<typeof createGroupQueries>;
