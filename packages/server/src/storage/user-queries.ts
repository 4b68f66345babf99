import { sql, type SelectQueryBuilder } from "kysely";
import { fold, FIELD_SEPARATOR } from "../domain/user-fields.js";
import type { Database, NewUserRow, UserRow, UserUpdate } from "./schema.js";
import type { Store } from "./store.js";
import { isoNow } from "./time.js";

/** Filters shared by the users list, its count and the export. */
export interface UserFilter {
  /** Case-insensitive literal substring of username, first name, last name or email. */
  search?: string;
  enabled?: boolean;
  /** true: valid-to has passed; false: it has not (or is unset). */
  expired?: boolean;
  /** true: locked out right now after failed logins. */
  lockedOut?: boolean;
  profileId?: number;
  /** Members of any of these groups (by group id), directly or through their profile. Non-empty. */
  groupIds?: readonly number[];
}

export interface FederatedIdentityRef {
  alias: string;
  displayName: string;
}

type UsersQuery<O> = SelectQueryBuilder<Database, "users", O>;

export function createUserQueries({ db, dialect }: Store) {
  function applyFilter<O>(query: UsersQuery<O>, filter: UserFilter): UsersQuery<O> {
    let q = query;
    if (filter.search) {
      const needle = fold(filter.search);
      // The separator never occurs inside a field, so a needle holding it matches nothing.
      q = needle.includes(FIELD_SEPARATOR) ? q.where(sql<boolean>`1 = 0`) : q.where(dialect.userSearchMatches(needle));
    }
    if (filter.enabled !== undefined) q = q.where("users.enabled", "=", filter.enabled ? 1 : 0);
    if (filter.profileId !== undefined) q = q.where("users.profile_id", "=", filter.profileId);
    if (filter.groupIds !== undefined) {
      const groupIds = [...filter.groupIds];
      const members = db.selectFrom("group_members").select("group_members.user_id").where("group_members.group_id", "in", groupIds);
      q = q.where((eb) => eb.or([eb("users.id", "in", members), eb("users.profile_id", "in", members)]));
    }
    if (filter.expired !== undefined) {
      const now = isoNow();
      q = filter.expired
        ? q.where("users.valid_to", "<", now)
        : q.where((eb) => eb.or([eb("users.valid_to", "is", null), eb("users.valid_to", ">=", now)]));
    }
    if (filter.lockedOut !== undefined) {
      const now = isoNow();
      q = filter.lockedOut
        ? q.where("users.locked_out_until", ">", now)
        : q.where((eb) => eb.or([eb("users.locked_out_until", "is", null), eb("users.locked_out_until", "<=", now)]));
    }
    return q;
  }

  return {
    /** One page in username order, after the given username (keyset paging). */
    listPage(filter: UserFilter, after: string | undefined, limit: number): Promise<UserRow[]> {
      let q = applyFilter(db.selectFrom("users").selectAll("users"), filter);
      if (after !== undefined) q = q.where("users.username", ">", after);
      return q.orderBy("users.username").limit(limit).execute();
    },

    /** Every matching user in username order (after `after`), read in keyset batches so memory stays flat. */
    async *listAll(filter: UserFilter, after?: string, batchSize = 1000): AsyncGenerator<UserRow[]> {
      for (;;) {
        const batch = await this.listPage(filter, after, batchSize);
        if (batch.length > 0) yield batch;
        if (batch.length < batchSize) return;
        after = batch[batch.length - 1]!.username;
      }
    },

    async count(filter: UserFilter): Promise<number> {
      const row = await applyFilter(db.selectFrom("users").select((eb) => eb.fn.countAll().as("n")), filter).executeTakeFirstOrThrow();
      return Number(row.n);
    },

    findByUuid(uuid: string): Promise<UserRow | undefined> {
      return db.selectFrom("users").selectAll().where("uuid", "=", uuid).executeTakeFirst();
    },

    findById(id: number): Promise<UserRow | undefined> {
      return db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
    },

    findByLoginKey(loginKey: string): Promise<UserRow | undefined> {
      return db.selectFrom("users").selectAll().where("login_key", "=", loginKey).executeTakeFirst();
    },

    findByUsername(username: string): Promise<UserRow | undefined> {
      return db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
    },

    async insert(row: NewUserRow): Promise<UserRow> {
      return db.insertInto("users").values(row).returningAll().executeTakeFirstOrThrow();
    },

    async update(id: number, changes: UserUpdate): Promise<void> {
      await db.updateTable("users").set(changes).where("id", "=", id).execute();
    },

    /** Names of the groups of each user: its own memberships and those of its profile. */
    async groupNames(users: readonly Pick<UserRow, "id" | "profile_id">[]): Promise<Map<number, string[]>> {
      const result = new Map<number, string[]>(users.map((u) => [u.id, []]));
      if (users.length === 0) return result;
      const owners = new Set<number>();
      for (const u of users) {
        owners.add(u.id);
        if (u.profile_id > 0) owners.add(u.profile_id);
      }
      const rows = await db
        .selectFrom("group_members")
        .innerJoin("groups", "groups.id", "group_members.group_id")
        .select(["group_members.user_id", "groups.name"])
        .where("group_members.user_id", "in", [...owners])
        .orderBy("groups.name")
        .execute();
      const byOwner = new Map<number, string[]>();
      for (const r of rows) {
        const list = byOwner.get(r.user_id) ?? [];
        list.push(r.name);
        byOwner.set(r.user_id, list);
      }
      for (const u of users) {
        const own = byOwner.get(u.id) ?? [];
        const inherited = u.profile_id > 0 ? byOwner.get(u.profile_id) ?? [] : [];
        result.set(u.id, inherited.length ? [...new Set([...own, ...inherited])].sort() : own);
      }
      return result;
    },

    /** Identity-provider links of each user (absent from the map when the user has none). */
    async federatedIdentities(userIds: readonly number[]): Promise<Map<number, FederatedIdentityRef[]>> {
      const result = new Map<number, FederatedIdentityRef[]>();
      if (userIds.length === 0) return result;
      const rows = await db
        .selectFrom("federated_identities")
        .innerJoin("identity_providers", "identity_providers.id", "federated_identities.provider_id")
        .select(["federated_identities.user_id", "identity_providers.alias", "identity_providers.display_name"])
        .where("federated_identities.user_id", "in", [...userIds])
        .orderBy("identity_providers.alias")
        .execute();
      for (const r of rows) {
        const list = result.get(r.user_id) ?? [];
        list.push({ alias: r.alias, displayName: r.display_name });
        result.set(r.user_id, list);
      }
      return result;
    },

    /** Names of the roles the user holds through its groups and its profile's groups. */
    async roleNames(user: Pick<UserRow, "id" | "profile_id">): Promise<string[]> {
      const owners = user.profile_id > 0 ? [user.id, user.profile_id] : [user.id];
      const rows = await db
        .selectFrom("group_members")
        .innerJoin("group_roles", "group_roles.group_id", "group_members.group_id")
        .innerJoin("roles", "roles.id", "group_roles.role_id")
        .select("roles.name")
        .distinct()
        .where("group_members.user_id", "in", owners)
        .orderBy("roles.name")
        .execute();
      return rows.map((r) => r.name);
    },
  };
}

export type UserQueries = ReturnType<typeof createUserQueries>;
