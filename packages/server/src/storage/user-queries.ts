import { sql, type ExpressionBuilder, type Kysely, type SelectQueryBuilder } from "kysely";
import { fold, FIELD_SEPARATOR, searchFold } from "../domain/user-fields.js";
import { confusableKey, normalizeName } from "../domain/names.js";
import type { Database, NewUserRow, UserRow } from "./schema.js";
import type { Store } from "./store.js";
import { jsonBody, type JsonBody } from "./json-body.js";
import { keysetBatches } from "./keyset.js";
import { groupsGranting } from "./group-queries.js";
import { isoNow } from "./time.js";
import { documentJson, userJson } from "./user-documents.js";

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
  /** Members of this group (its serial id), directly or through their profile. */
  groupId?: number;
  /** Where the accounts come from: a type, and optionally which directory (id) or identity provider (alias). */
  source?: { type: UserSource["type"]; id?: string };
  /** Accounts linked to this identity provider (its alias): those its logins made and local accounts linked to it. */
  linkedTo?: string;
}

/** Where an account comes from: the extended view's `source`. */
export interface UserSource {
  type: "builtin" | "local" | "directory" | "identity-provider";
  /** The directory's id (UUID) or the identity provider's alias; null for built-in and local accounts. */
  id: string | null;
  /** The directory's name or the identity provider's display name. */
  name: string | null;
}

/** A user's username (the keyset cursor) and its REST JSON. */
export interface UserJson {
  username: string;
  json: string;
}

export interface FederatedIdentityRef {
  alias: string;
  displayName: string;
}

type UsersQuery<O> = SelectQueryBuilder<Database, "users", O>;

/** How a search chooses between collecting index hits and walking username order (tests use small values). */
export interface SearchPlanLimits {
  /** A search with at most this many index hits collects and sorts them; more, and it walks username order first. */
  probeCap: number;
  /** Rows a search walks in username order before it collects the remaining hits from the index. */
  walkRows: number;
  /**
   * The largest page a 1–2 character needle walks for first. A walk of walkRows fills a page of 100
   * (the console's) where 5 % of the rows match; a page of a thousand (a bulk run's, an export's) only
   * where half of them do, and each row walked is read: such a page goes by the index first.
   */
  walkFirstMaxLimit: number;
  /** The hits a search with other filters reads in username order after its walk, first (filteredInOrder); each further chunk doubles. */
  orderedChunk: number;
  /** Chunks read that way before it collects the remaining hits instead (a filter few of them pass). */
  orderedChunks: number;
}

const SEARCH_PLAN_LIMITS: SearchPlanLimits = { probeCap: 2000, walkRows: 2000, walkFirstMaxLimit: 500, orderedChunk: 1000, orderedChunks: 3 };

/** From this many users on, holdingRole first reads the members of the groups that grant the role. */
const HOLDERS_BY_GROUPS_FROM = 100;

/**
 * Username order of both stores: code points. JavaScript's `<` compares UTF-16 units, which differs
 * only for surrogates (characters above U+FFFF), moved here above U+E000–U+FFFF.
 */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** No filter but (perhaps) `search`: the stores' own search and count serve it. */
const isSearchOnly = (filter: UserFilter) => Object.entries(filter).every(([key, value]) => key === "search" || value === undefined);

const codePointRank = (unit: number) => (unit < 0xd800 ? unit : unit < 0xe000 ? unit + 0x2000 : unit - 0x800);

/**
 * The id of the provider of this alias, in any case: aliases are told apart without regard to case
 * (ASCII, folded alike by `lower` on both stores; migration 014q's index keeps them so).
 */
function providerIdOf(alias: string) {
  return sql<number>`(select id from identity_providers where lower(alias) = ${alias.toLowerCase()})`;
}

/** The `source` filter as a condition on `users` (storage/user-documents.ts decides the type the same way). */
function sourceCondition({ type, id }: NonNullable<UserFilter["source"]>) {
  return (eb: ExpressionBuilder<Database, "users">) => {
    switch (type) {
      case "builtin":
        return eb("users.builtin", "=", 1);
      case "local":
        return eb.and([eb("users.builtin", "=", 0), eb("users.directory_id", "is", null), eb("users.identity_provider_id", "is", null)]);
      case "directory":
        return id === undefined
          ? eb("users.directory_id", "is not", null)
          : eb("users.directory_id", "=", eb.selectFrom("directories").select("directories.id").where("directories.uuid", "=", id.toLowerCase()));
      case "identity-provider":
        return eb.and([
          eb("users.builtin", "=", 0),
          eb("users.directory_id", "is", null),
          id === undefined
            ? eb("users.identity_provider_id", "is not", null)
            : eb("users.identity_provider_id", "=", providerIdOf(id)),
        ]);
    }
  };
}

/** Positions this close to the start or the end of the list are found exactly (an index walk that short costs what the estimate does). */
const EXACT_POSITIONS = 5000;

export function createUserQueries({ db, dialect, userDocuments }: Store, limits: SearchPlanLimits = SEARCH_PLAN_LIMITS) {
  /** Every filter but `search`, which needs a plan of its own (see searchIds); with `after`, only the users after that username. */
  function applyFilter<O>(query: UsersQuery<O>, filter: UserFilter, after?: string): UsersQuery<O> {
    let q = after === undefined ? query : query.where("users.username", ">", after);
    if (filter.enabled !== undefined) q = q.where(dialect.enabledIs(filter.enabled, after));
    if (filter.profileId !== undefined) q = q.where("users.profile_id", "=", filter.profileId);
    if (filter.groupId !== undefined) {
      const members = db.selectFrom("group_members").select("group_members.user_id").where("group_members.group_id", "=", filter.groupId);
      q = q.where((eb) => eb.or([eb("users.id", "in", members), eb("users.profile_id", "in", members)]));
    }
    if (filter.source !== undefined) q = q.where(sourceCondition(filter.source));
    if (filter.linkedTo !== undefined) {
      // The links' primary key starts with the provider: its accounts are read from that index.
      q = q.where("users.id", "in", db.selectFrom("federated_identities").select("federated_identities.user_id").where("federated_identities.provider_id", "=", providerIdOf(filter.linkedTo)));
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

  /** The folded search string; undefined without a search, null when it cannot match anything. */
  function searchNeedle(filter: UserFilter): string | null | undefined {
    if (!filter.search) return undefined;
    const needle = searchFold(filter.search);
    // The separator never occurs inside a field, so a needle holding it matches nothing.
    return needle.includes(FIELD_SEPARATOR) ? null : needle;
  }

  /**
   * Ids of one page of a search, in username order. Few index hits: collect them all and sort. Many:
   * walk username order for a bounded stretch, checking each row (a common string fills a page quickly);
   * if the stretch held too few (the hits cluster further on), collect the hits after it and sort.
   * So no search reads much more than its hits or the bounded stretch, whatever the string.
   */
  async function searchIds(needle: string | null, filter: UserFilter, after: string | undefined, limit: number): Promise<number[]> {
    if (needle === null) return [];
    // 1–2 characters are nearly always common: walking first spares reading their long index lists
    // (for a page small next to the walk: walkFirstMaxLimit).
    const short = [...needle].length < 3;
    // A store whose index yields hits in username order answers a plain search directly.
    const orderedPage = (db: Kysely<Database>) => (isSearchOnly(filter) ? dialect.orderedSearch(db, needle, after, limit) : Promise.resolve(null));
    const orderedFirst = !short || limit > limits.walkFirstMaxLimit || dialect.orderedSearchAnyNeedle;
    if (orderedFirst) {
      const page = await orderedPage(db);
      if (page) return page;
    }
    return dialect.withIndexPlans(db, async (db) => {
      const pageOf = async (ids: number[]) => {
        if (ids.length === 0) return [];
        const q = applyFilter(db.selectFrom("users").select("users.id").where("users.id", "in", ids), filter, after);
        return (await q.orderBy("users.username").limit(limit).execute()).map((r) => r.id);
      };
      let indexed = short ? undefined : await dialect.userSearchIndexed(db, needle);
      if (indexed) {
        const hits = await db.selectFrom("users").select("users.id").where(indexed(limits.probeCap + 1)).execute();
        if (hits.length === 0) return [];
        if (hits.length <= limits.probeCap) return pageOf(hits.map((h) => h.id));
      }
      const boundary = await db
        .selectFrom("users")
        .select("username")
        .$if(after !== undefined, (q) => q.where("username", ">", after!))
        .orderBy("username")
        .limit(1)
        .offset(limits.walkRows - 1)
        .executeTakeFirst();
      let walk = applyFilter(db.selectFrom("users").select("users.id"), filter, after).where(dialect.userSearchMatches(needle));
      if (boundary) walk = walk.where("users.username", "<=", boundary.username);
      const found = (await walk.orderBy("users.username").limit(limit).execute()).map((r) => r.id);
      if (found.length === limit || !boundary) return found;
      if (short && !orderedFirst) {
        const page = await orderedPage(db);
        if (page) return page;
      }
      // Only where the walk found some (a filter none of its stretch passed is for the collect step), and
      // not for a plain search, whose ordered search was tried above.
      const inOrder = found.length > 0 && !isSearchOnly(filter) ? await filteredInOrder(db, needle, filter, boundary.username, limit - found.length) : { page: null };
      if (inOrder.page) {
        found.push(...inOrder.page);
        if (inOrder.after === undefined) return found;
      }
      const stretchEnd = inOrder.after ?? boundary.username;
      if (indexed === undefined) indexed = await dialect.userSearchIndexed(db, needle);
      if (indexed === null) {
        // No usable index (a very common short needle): the walk goes on to the end of the page.
        const more = applyFilter(db.selectFrom("users").select("users.id"), filter, stretchEnd).where(dialect.userSearchMatches(needle));
        return [...found, ...(await more.orderBy("users.username").limit(limit - found.length).execute()).map((r) => r.id)];
      }
      const rest = await applyFilter(db.selectFrom("users").select(["users.id", "users.username"]), filter, stretchEnd)
        .where(indexed())
        .execute();
      if (rest.length === 0) return found;
      rest.sort((a, b) => compareCodePoints(a.username, b.username));
      return [...found, ...(await pageOf(rest.slice(0, limit - found.length).map((r) => r.id)))];
    });
  }

  /**
   * The first `limit` users after `after` that match `needle` and pass `filter`, in username order: the
   * store's hits in that order, a chunk at a time (growing), each chunk's users filtered, until the page
   * is full. So a filter a fair share of the hits pass (the disabled, the local users) reads the hits up
   * to its page, not all of them sorted. Where the chunks left would not fill the page at the rate seen
   * (a filter few hits pass: a group's members, the locked out), or after `orderedChunks` chunks, it
   * stops with `after` where it got to, for the caller to collect the rest; `page` null where the store
   * has no ordered search for the needle.
   */
  async function filteredInOrder(db: Kysely<Database>, needle: string, filter: UserFilter, after: string, limit: number): Promise<{ page: number[] | null; after?: string }> {
    const page: number[] = [];
    const taken = new Set<number>();
    let from = after;
    let read = 0;
    for (let n = 0, chunk = limits.orderedChunk; n < limits.orderedChunks; n++, chunk *= 2) {
      const hits = await dialect.orderedSearch(db, needle, from, chunk);
      if (hits === null) return { page: null }; // the needle decides: only a first chunk can be refused
      if (hits.length === 0) return { page };
      read += hits.length;
      // applyFilter's `username > from`: a user renamed back before the cursor since the hits were read is not taken.
      const passed = await applyFilter(db.selectFrom("users").select("users.id").where("users.id", "in", hits), filter, from).orderBy("users.username").limit(limit - page.length).execute();
      for (const { id } of passed) {
        if (taken.has(id)) continue;
        taken.add(id);
        page.push(id);
      }
      if (page.length === limit || hits.length < chunk) return { page };
      // The next chunk starts after this one's greatest name as it is now (users deleted since are left out),
      // never before the cursor. (Taken here, not by max(): PostgreSQL answers that by walking the whole
      // username index backwards for one of the ids.)
      const names = await db.selectFrom("users").select("users.username").where("users.id", "in", hits).execute();
      const last = names.reduce((max, { username }) => (compareCodePoints(username, max) > 0 ? username : max), from);
      if (last === from) break;
      from = last;
      const left = limits.orderedChunk * (2 ** limits.orderedChunks - 2 ** (n + 1));
      if ((page.length / read) * left < limit - page.length) break;
    }
    return { page, after: from };
  }

  /** Usernames and REST JSON of the users `ids` names, in that order, read from their kept documents alone (storage/user-documents.ts). */
  async function renderIds(ids: readonly number[], extended: boolean): Promise<UserJson[]> {
    if (ids.length === 0) return [];
    const rows = await db
      .selectFrom("user_documents as d")
      .select(["d.user_id", "d.username", documentJson(extended, isoNow()).as("json")])
      .where("d.user_id", "in", [...ids])
      .execute();
    const byId = new Map(rows.map((r) => [r.user_id, r]));
    return ids.flatMap((id) => byId.get(id) ?? []); // a user deleted since its id was read is left out
  }

  /** lockForLogin's row, selecting nothing yet: for a statement that reads and writes with it (LoginService's success). */
  function loginRow(trx: Kysely<Database>, userId: number, passwordChangedAt: string | null | undefined) {
    const q = trx
      .selectFrom("users")
      .where("id", "=", userId)
      .where("enabled", "=", 1)
      .$if(passwordChangedAt !== undefined, (q) => q.where("password_changed_at", passwordChangedAt === null ? "is" : "=", passwordChangedAt as string));
    return dialect.lockedForUpdate(q);
  }

  return {
    /** One page in username order, after the given username (keyset paging). */
    async listPage(filter: UserFilter, after: string | undefined, limit: number): Promise<UserRow[]> {
      const needle = searchNeedle(filter);
      if (needle !== undefined) {
        const ids = await searchIds(needle, filter, after, limit);
        if (ids.length === 0) return [];
        return db.selectFrom("users").selectAll("users").where("users.id", "in", ids).orderBy("users.username").execute();
      }
      return applyFilter(db.selectFrom("users").selectAll("users"), filter, after).orderBy("users.username").limit(limit).execute();
    },

    /** Every matching user in username order (after `after`), read in keyset batches so memory stays flat. */
    listAll(filter: UserFilter, after?: string, batchSize = 1000): AsyncGenerator<UserRow[]> {
      return keysetBatches((a, n) => this.listPage(filter, a, n), (u) => u.username, after, batchSize);
    },

    /**
     * `listPage` as REST JSON rendered by the store: what the lists send. Without a search the store
     * reads and renders the page in one query; a search keeps its plan and renders the hits.
     */
    async listPageJson(filter: UserFilter, after: string | undefined, limit: number, extended: boolean): Promise<UserJson[]> {
      const needle = searchNeedle(filter);
      if (needle !== undefined) return renderIds(await searchIds(needle, filter, after, limit), extended);
      if (isSearchOnly(filter)) {
        // No filter: the documents alone, in their own username order.
        let page = db.selectFrom("user_documents as d").select(["d.username", documentJson(extended, isoNow()).as("json")]);
        if (after !== undefined) page = page.where("d.username", ">", after);
        return page.orderBy("d.username").limit(limit).execute();
      }
      return applyFilter(db.selectFrom("users").select(["users.username", userJson(extended, isoNow()).as("json")]), filter, after).orderBy("users.username").limit(limit).execute();
    },

    /** The REST JSON of each user (storage/user-documents.ts), in the order of `ids`. */
    async viewJson(ids: readonly number[], extended: boolean): Promise<string[]> {
      return (await renderIds(ids, extended)).map((r) => r.json);
    },

    /**
     * Every matching user's JSON after `after`, as a JSON body: what the streamed lists send. Without
     * a filter, the store streams its kept documents (Store.userDocuments); else, or where the store's
     * streams are busy, `listPageJson` batch by batch.
     */
    listAllJson(filter: UserFilter, after: string | undefined, extended: boolean, batchSize = 1000): JsonBody {
      const inBatches = () => jsonBody(keysetBatches((a, n) => this.listPageJson(filter, a, n, extended), (u) => u.username, after, batchSize), (rows) => rows.map((r) => r.json));
      return isSearchOnly(filter) && searchNeedle(filter) === undefined ? userDocuments(after, extended, isoNow(), inBatches) : inBatches();
    },

    /**
     * The username after which the list's user at position `at` (0-based) comes, estimated (exact near
     * either end), with its position and the count of all users; after null: from the start.
     */
    async nearPosition(at: number): Promise<{ after: string | null; position: number; total: number }> {
      const total = await dialect.countAllUsers(db);
      const wanted = Math.min(at, total);
      if (wanted === 0) return { after: null, position: 0, total };
      if (wanted > EXACT_POSITIONS && total - wanted > EXACT_POSITIONS) return { ...(await dialect.keyNearPosition(db, wanted, total)), total };
      // Near either end an index walk of a few thousand entries is as cheap: exact there.
      const fromEnd = total - wanted < wanted;
      const row = await db.selectFrom("users").select("username").orderBy("username", fromEnd ? "desc" : "asc").limit(1).offset(fromEnd ? total - wanted : wanted - 1).executeTakeFirst();
      return { after: row?.username ?? null, position: row ? wanted : 0, total };
    },

    async count(filter: UserFilter): Promise<number> {
      const needle = searchNeedle(filter);
      if (needle === null) return 0;
      if (isSearchOnly(filter)) {
        return needle === undefined ? dialect.countAllUsers(db) : dialect.withIndexPlans(db, (db) => dialect.countSearch(db, needle));
      }
      if (needle === undefined && isSearchOnly({ ...filter, enabled: undefined })) return dialect.countEnabled(db, filter.enabled!);
      return dialect.withIndexPlans(db, async (db) => {
        let q = applyFilter(db.selectFrom("users").select((eb) => eb.fn.countAll().as("n")), filter);
        if (needle !== undefined) {
          const indexed = await dialect.userSearchIndexed(db, needle);
          q = q.where(indexed ? indexed() : dialect.userSearchMatches(needle));
        }
        const row = await q.executeTakeFirstOrThrow();
        return Number(row.n);
      });
    },

    findByUuid(uuid: string): Promise<UserRow | undefined> {
      return db.selectFrom("users").selectAll().where("uuid", "=", uuid).executeTakeFirst();
    },

    /** The user who logs in with this name, typed in any letter case or Unicode form (`login_key` is its fold). */
    findByLoginName(loginName: string): Promise<UserRow | undefined> {
      return db.selectFrom("users").selectAll().where("login_key", "=", fold(loginName)).executeTakeFirst();
    },

    /** The user whose username or login name (`column`) looks like `name` (domain/names.ts), if any. */
    findLookalike(column: "username_skeleton" | "login_skeleton", name: string): Promise<UserRow | undefined> {
      return db.selectFrom("users").selectAll().where(column, "=", confusableKey(name)).executeTakeFirst();
    },

    /** The user with this username, typed in any Unicode form (usernames are stored in NFKC). */
    findByUsername(username: string): Promise<UserRow | undefined> {
      return db.selectFrom("users").selectAll().where("username", "=", normalizeName(username)).executeTakeFirst();
    },

    /**
     * The failure counts of the account a login is finishing, while it is as the login found it: there,
     * enabled, and (given `passwordChangedAt`) with the password set when the login read it — a rehash
     * of the same password by a login beside it changes no such time; undefined when not. Read in the
     * login's transaction with the row locked on PostgreSQL: a password reset, disable or delete
     * committed meanwhile refuses the login, and one that comes after it waits for the login's commit,
     * then ends the session it made (SQLite runs one writing transaction at a time). The lock is the one
     * the login's own update of the counts takes (no key update), so two logins of one account queue on
     * it instead of each holding a share the other's update waits for (a deadlock).
     */
    async lockForLogin(trx: Kysely<Database>, userId: number, passwordChangedAt: string | null | undefined) {
      return loginRow(trx, userId, passwordChangedAt).select(["failed_logins", "lockout_count", "locked_out_until"]).executeTakeFirst();
    },

    loginRow,

    /**
     * Locks a user's row for the rest of `trx` (PostgreSQL; SQLite's writer holds all): a transaction
     * that writes the user's login rows takes this first, as a login's does (lockForLogin), so two such
     * transactions queue on the user instead of deadlocking over its rows.
     */
    async lockRow(trx: Kysely<Database>, userId: number): Promise<void> {
      await dialect.lockedForUpdate(trx.selectFrom("users").select("id").where("id", "=", userId)).execute();
    },

    async insert(row: NewUserRow): Promise<UserRow> {
      return db.insertInto("users").values(row).returningAll().executeTakeFirstOrThrow();
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

    /** Each role the user holds with each group that grants it, and whether that membership is its profile's. */
    async roleGrants(user: Pick<UserRow, "id" | "profile_id">): Promise<{ role: string; groupUuid: string; groupName: string; viaProfile: boolean }[]> {
      const owners = user.profile_id > 0 ? [user.id, user.profile_id] : [user.id];
      const rows = await db
        .selectFrom("group_members")
        .innerJoin("group_roles", "group_roles.group_id", "group_members.group_id")
        .innerJoin("roles", "roles.id", "group_roles.role_id")
        .innerJoin("groups", "groups.id", "group_members.group_id")
        .select(["roles.name as role", "groups.uuid as groupUuid", "groups.name as groupName", "group_members.user_id as owner"])
        .where("group_members.user_id", "in", owners)
        .orderBy("roles.name")
        .orderBy("groups.name")
        .orderBy(sql`group_members.user_id <> ${user.id}`) // its own membership before its profile's
        .execute();
      return rows.map(({ owner, ...grant }) => ({ ...grant, viaProfile: owner !== user.id }));
    },

    /** Where each user comes from (the extended view's `source`), as the kept documents render it. */
    async sources(users: readonly Pick<UserRow, "id" | "builtin" | "directory_id" | "identity_provider_id">[]): Promise<Map<number, UserSource>> {
      const directoryIds = [...new Set(users.flatMap((u) => (u.directory_id === null ? [] : [u.directory_id])))];
      const providerIds = [...new Set(users.flatMap((u) => (u.identity_provider_id === null ? [] : [u.identity_provider_id])))];
      const [directories, providers] = await Promise.all([
        directoryIds.length === 0 ? [] : db.selectFrom("directories").select(["id", "uuid as key", "name"]).where("id", "in", directoryIds).execute(),
        providerIds.length === 0 ? [] : db.selectFrom("identity_providers").select(["id", "alias as key", "display_name as name"]).where("id", "in", providerIds).execute(),
      ]);
      const byId = (rows: { id: number; key: string; name: string }[]) => new Map(rows.map((r) => [r.id, { id: r.key, name: r.name }]));
      const [directory, provider] = [byId(directories), byId(providers)];
      const none = { id: null, name: null };
      return new Map(
        users.map((u): [number, UserSource] => {
          if (u.builtin === 1) return [u.id, { type: "builtin", ...none }];
          if (u.directory_id !== null) return [u.id, { type: "directory", ...(directory.get(u.directory_id) ?? none) }];
          if (u.identity_provider_id !== null) return [u.id, { type: "identity-provider", ...(provider.get(u.identity_provider_id) ?? none) }];
          return [u.id, { type: "local", ...none }];
        }),
      );
    },

    /** Which of these users hold the role through their own groups or their profile's (the set-wise `roleNames`). */
    async holdingRole(role: string, users: readonly Pick<UserRow, "id" | "profile_id">[]): Promise<Set<number>> {
      const owners = [...new Set(users.flatMap((u) => (u.profile_id > 0 ? [u.id, u.profile_id] : [u.id])))];
      if (owners.length === 0) return new Set();
      const members = db.selectFrom("group_members").select("user_id").where("group_id", "in", groupsGranting(db, role));
      // A batch's holders are read from the granting groups' side while those have fewer members than
      // the batch has owners: probing each owner's memberships reads a page per user on a cold store.
      const few = owners.length < HOLDERS_BY_GROUPS_FROM ? undefined : await members.limit(owners.length).execute();
      const holders = new Set((few && few.length < owners.length ? few : await members.where("user_id", "in", owners).execute()).map((r) => r.user_id));
      return new Set(users.filter((u) => holders.has(u.id) || holders.has(u.profile_id)).map((u) => u.id));
    },

    /**
     * The profiles among these users that a holder of the role is assigned to: a profile's groups are its
     * users' groups, so changing the profile changes theirs. (A user holding the role through the profile
     * makes the profile a holder itself: holdingRole finds those.)
     */
    async profilesOfHolders(role: string, users: readonly Pick<UserRow, "id" | "profile_id">[]): Promise<Set<number>> {
      const profiles = users.filter((u) => u.profile_id === 0).map((u) => u.id);
      if (profiles.length === 0) return new Set();
      const members = db.selectFrom("group_members").select("user_id").where("group_id", "in", groupsGranting(db, role));
      const rows = await db.selectFrom("users").select("profile_id").distinct().where("profile_id", "in", profiles).where("id", "in", members).execute();
      return new Set(rows.map((r) => r.profile_id));
    },

    /** Names of the roles these groups grant, with those of a profile's groups: a user's roles as groups not yet written would leave them. */
    async roleNamesThrough(groupIds: readonly number[], profileId: number): Promise<string[]> {
      const rows = await db
        .selectFrom("group_roles")
        .innerJoin("roles", "roles.id", "group_roles.role_id")
        .select("roles.name")
        .distinct()
        .where((eb) =>
          eb.or([
            eb("group_roles.group_id", "in", groupIds.length > 0 ? [...groupIds] : [-1]),
            eb("group_roles.group_id", "in", eb.selectFrom("group_members").select("group_id").where("user_id", "=", profileId > 0 ? profileId : -1)),
          ]),
        )
        .orderBy("roles.name")
        .execute();
      return rows.map((r) => r.name);
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
