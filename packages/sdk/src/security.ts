import { SERVER_CODES } from "./codes.js";
import { ECMAbortError, ECMNotFoundError, ECMValidationError } from "./errors.js";
import { ExportReader, exportRecords, type ExportRecord } from "./export-records.js";
import { malformed } from "./json-split.js";
import { readAgainAfter, sleep, type RequestOptions, type Transport } from "./http.js";
import { ImportResults, RefusedRecords, startImport } from "./import-users.js";
import { countOf, inSdkFieldNames, isGuid, PAGE_NAMES, PASSWORD_NAMES, isoOrNull, parseLinkHeader, toECMGroup, toECMUserGroup, toECMRole, toECMUser, toRestUserBody, toUserSource } from "./mapping.js";
import type {
  CallOptions,
  ECMApiKey,
  CreateUserFields,
  DirectoryConfigToTest,
  DirectoryFields,
  DirectorySyncMode,
  ECMDirectory,
  ECMDirectorySync,
  ECMDirectoryTest,
  ECMIdentityProviderTest,
  ECMExport,
  ECMGroup,
  ECMUserGroup,
  ECMIdentityProvider,
  ECMImportResult,
  ECMImportSummary,
  ECMLockout,
  ECMUserSource,
  ECMUserLink,
  ECMLoginProvider,
  ECMRole,
  ECMUser,
  GroupFields,
  IdentityProviderFields,
  LinkFate,
  ImportOptions,
  ImportSource,
  IterUsersOptions,
  NewDirectoryFields,
  RestGroup,
  RestMe,
  RestRole,
  RestUser,
  UserFields,
  UsersOptions,
  UsersPage,
  UsersPageOptions,
} from "./types.js";
import { checkCursorList, checkListOptions, listQuery, STREAM_OPTIONS, USERS_PATH, UsersStream, usersQuery } from "./users-stream.js";
import { callOptions as call, checkFields } from "./options.js";
import { DIRECTORY_FIELDS, DIRECTORY_UPDATE_FIELDS, PROVIDER_FIELDS, PROVIDER_UPDATE_FIELDS } from "./config-fields.js";

/** A user given by guid or by any object carrying one (an ECMUser). */
export type UserRef = string | { guid: string };
/** A group given by guid or name, or by an ECMGroup. */
export type GroupRef = string | { guid: string };

const enc = encodeURIComponent;

/** How the server compares names: compatibility forms as plain ones (NFKC, as names are stored), then case. */
const nameKey = (name: string) => name.normalize("NFKC").toLowerCase();

/** A name that matches nothing: the server's not-found, with its code, found by the SDK. */
function notFound(what: "user" | "group", name: string): ECMNotFoundError {
  const text = `${what} "${name}" does not exist`;
  return new ECMNotFoundError(`${SERVER_CODES.notFound}-E ${text}`, { status: 404, code: SERVER_CODES.notFound, serverMessage: text, additionalInfo: { name } });
}

/** A name the server would not even search for (too long for a search) is no user's or group's: not found, not the search's refusal. */
function unsearchable(error: unknown, what: "user" | "group", name: string): unknown {
  const field = error instanceof ECMValidationError ? (error.additionalInfo as { field?: unknown } | undefined)?.field : undefined;
  return field === "search" ? notFound(what, name) : error;
}

function guidOf(ref: UserRef | GroupRef, what: string): string {
  const g = typeof ref === "string" ? ref : ref?.guid;
  if (typeof g !== "string" || g === "") throw new TypeError(`a ${what} is named by its guid (a string, or an object with guid such as a ${what} a call returned), not ${describeRef(ref)}`);
  return g;
}

/** What was passed instead of a guid, in words (a script that passed the seed's numeric id learns why it is refused). */
function describeRef(ref: unknown): string {
  if (ref === "") return "an empty string";
  if (typeof ref === "number") return `the number ${ref} (the numeric id is not taken: use the guid)`;
  if (ref !== null && typeof ref === "object") return "guid" in ref ? `an object whose guid is ${JSON.stringify((ref as { guid: unknown }).guid) ?? "undefined"}` : "an object without guid";
  return String(ref);
}

/**
 * A user's guid. Users are not found by name here (groups are): a username would be a 404, which a
 * script that deletes or checks users would take for "not there".
 */
function userGuidOf(ref: UserRef): string {
  const g = guidOf(ref, "user");
  if (!isGuid(g)) throw new TypeError(`a user's guid (or ECMUser) is expected, not ${JSON.stringify(g)}: find a user by username with user(username)`);
  return g;
}

/**
 * The id of an API key or a directory, from the object or its id. A name would be a 404, which a script
 * that revokes keys or deletes directories would take for "gone already" while the thing works on.
 * `what`: its name with "'s"; `from`: the calls that answer such objects; `list`: the call that lists them.
 */
function idOf(ref: string | { id: string }, what: string, from: string, list: string): string {
  const id = typeof ref === "string" ? ref : ref?.id;
  if (typeof id !== "string" || !isGuid(id)) throw new TypeError(`${what} id (or the ${from}) is expected, not ${JSON.stringify(id ?? ref)}: ${list}`);
  return id;
}
const apiKeyIdOf = (key: string | ECMApiKey) => idOf(key, "an API key's", "key from apiKeys or createApiKey", "apiKeys(user) lists the keys with their ids");
const directoryIdOf = (dir: string | ECMDirectory) => idOf(dir, "a directory's", "directory from directories or directory", "directories() lists them with their ids");

interface RestApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

interface RestLockout {
  lockedOutUntil: string | null;
  failedLogins: number;
  addresses: { address: string; failedLogins: number; lockedOutUntil: string | null; lastLoginAt: string | null }[];
}

const dateOrNull = (value: string | null) => (value === null ? null : new Date(value));
const apiKeyOf = (k: RestApiKey): ECMApiKey => ({ id: k.id, name: k.name, prefix: k.prefix, createdAt: new Date(k.createdAt), expiresAt: dateOrNull(k.expiresAt), lastUsedAt: dateOrNull(k.lastUsedAt) });


const DIRECTORIES = "/security/v1/external-user-storage";

/** The wait before a streamed answer that broke off is read again; the caller's signal ends it. */
function waitToReadAgain(ms: number, path: string, signal: AbortSignal | undefined): Promise<void> {
  return sleep(ms, signal).catch(() => {
    throw new ECMAbortError(`GET ${path}: aborted`, { cause: signal?.reason });
  });
}

/** A group's guid when the reference itself says it (an ECMGroup or a guid); undefined for a name to look up. */
export function knownGroupGuid(ref: GroupRef): string | undefined {
  if (typeof ref !== "string") return guidOf(ref, "group");
  return isGuid(ref) ? ref : undefined;
}

/** A group of an export: as everywhere (ECMGroup, guid, name), or by its numeric id (`ECMGroup.id`, the seed's `group_ids`). */
export type ExportGroupRef = GroupRef | number;

/** The id an export's query names a group by, when the reference says it; undefined for a name to look up. */
export function knownExportGroupId(ref: ExportGroupRef): string | undefined {
  if (typeof ref !== "number") return knownGroupGuid(ref);
  if (!Number.isSafeInteger(ref) || ref < 1) throw new TypeError(`a group's numeric id is a whole number from 1: ${ref}`);
  return String(ref);
}

export const EXPORT_PATH = "/security/v1/export";

/** An export's groups: null (or left out) for everything; an empty list would export everything too, which a script whose list came out empty does not mean. */
export function checkExportGroups(groupIds: unknown): void {
  if (groupIds === undefined || groupIds === null) return;
  if (!Array.isArray(groupIds)) throw new TypeError("groupIds must be a list of groups, or null to export everything");
  if (groupIds.length === 0) throw new TypeError("groupIds is an empty list: name at least one group, or pass null to export everything");
}

/** The export's query for these groups (all when none). */
export function exportQuery(groupGuids: string[]): Record<string, string | undefined> {
  return { groupIds: groupGuids.length > 0 ? groupGuids.join(",") : undefined };
}

/** True when a write answered with the whole extended user (as the server does). */
function isFullUser(data: unknown): data is RestUser {
  return (
    !!data &&
    typeof data === "object" &&
    typeof (data as RestUser).id === "string" &&
    typeof (data as RestUser).numericId === "number" &&
    Array.isArray((data as RestUser).groups)
  );
}

function asArray<T>(data: unknown, what: string): T[] {
  if (Array.isArray(data)) return data as T[];
  throw malformed(`${what} come as a JSON array`);
}

/**
 * The items of async batches one at a time, as an async generator would hand them out, at a third of
 * its cost: an async generator awaits at each `yield` (1 M users: ~300-800 ms of ticks here), this
 * answers an item of the batch at hand at once. Calls made while a batch is awaited wait for it.
 */
class EachOf<T> implements AsyncGenerator<T, void, undefined> {
  #batch: readonly T[] = [];
  #at = 0;
  #waiting: Promise<unknown> | undefined;

  constructor(readonly batches: AsyncGenerator<readonly T[], void, undefined>) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, void>> {
    if (this.#waiting === undefined && this.#at < this.#batch.length) return Promise.resolve({ value: this.#batch[this.#at++]!, done: false });
    return this.#after(() => this.#take());
  }

  async #take(): Promise<IteratorResult<T, void>> {
    if (this.#at < this.#batch.length) return { value: this.#batch[this.#at++]!, done: false };
    for (let r = await this.batches.next(); !r.done; r = await this.batches.next()) {
      this.#batch = r.value;
      this.#at = 0;
      if (r.value.length > 0) return { value: r.value[this.#at++]!, done: false };
    }
    this.#batch = [];
    return { value: undefined, done: true };
  }

  return(): Promise<IteratorResult<T, void>> {
    return this.#after(async () => {
      this.#batch = [];
      await this.batches.return();
      return { value: undefined, done: true };
    });
  }

  throw(err: unknown): Promise<IteratorResult<T, void>> {
    return this.#after(async () => {
      this.#batch = [];
      await this.batches.return();
      throw err;
    });
  }

  /** Runs `step` once what is awaited now has settled, and makes later calls wait for it. */
  #after<R>(step: () => Promise<R>): Promise<R> {
    const result = (this.#waiting ?? Promise.resolve()).then(step, step);
    const settled = result.then(() => undefined, () => undefined);
    this.#waiting = settled;
    void settled.then(() => {
      if (this.#waiting === settled) this.#waiting = undefined;
    });
    return result;
  }
}

/** The `security` namespace: users, groups, roles, memberships, export. */
export class Security {
  readonly #http: Transport;

  constructor(http: Transport) {
    this.#http = http;
  }

  /**
   * All user accounts. With `extendedInfo: true`, groups, remark, validFrom, validTo, the lockout and
   * serviceAccount are populated. One streamed request, parsed as it arrives (see iterUsers).
   */
  users(opts: UsersOptions<true> & { extendedInfo: true }): Promise<ECMUser<true>[]>;
  users(opts?: UsersOptions<false>): Promise<ECMUser<false>[]>;
  users(opts?: UsersOptions): Promise<ECMUser[]>;
  async users(opts?: UsersOptions): Promise<ECMUser[]> {
    const all: ECMUser[] = [];
    // By batch: a million awaits of a generator's yields would cost more than the parse.
    for await (const batch of this.iterUserBatches(opts)) for (const u of batch) all.push(u);
    return all;
  }

  /** One page of users; pass `next` from the previous page as `cursor` to continue. */
  usersPage(opts: UsersPageOptions<true> & { extendedInfo: true }): Promise<UsersPage<true>>;
  usersPage(opts?: UsersPageOptions<false>): Promise<UsersPage<false>>;
  usersPage(opts?: UsersPageOptions): Promise<UsersPage>;
  async usersPage(opts?: UsersPageOptions): Promise<UsersPage> {
    const c = checkListOptions(opts, ["pageSize", "cursor"]);
    const pageSize = opts?.pageSize ?? 500;
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new TypeError("pageSize must be a positive integer");
    const res = await (opts?.cursor
      ? this.#http.request("GET", this.#pageUrl(opts.cursor, opts), c)
      : this.#http.request("GET", USERS_PATH, { query: { ...listQuery(opts), max: pageSize }, ...c })
    ).catch((error: unknown) => Promise.reject(inSdkFieldNames(error, PAGE_NAMES)));
    // A cursor carries its list's query: its users are extended when that list's are.
    const ext = opts?.cursor ? new URL(res.url).searchParams.get("extendedInfo") === "true" : opts?.extendedInfo === true;
    const users = asArray<RestUser>(res.data, "users").map((u) => toECMUser(u, ext));
    const link = parseLinkHeader(res.headers.get("link"), "next");
    const next = link === null ? null : new URL(link, res.url).toString();
    return { users, next };
  }

  /**
   * The URL of a page's `next`: anything else (ecm.admin's opaque cursor, another path) would be a request
   * that has nothing to do with the list. Its list's options stay; a `pageSize` given sizes this page.
   */
  #pageUrl(cursor: string, opts: UsersPageOptions): string {
    const url = new URL(cursor, this.#http.baseUrl + "/");
    if (url.pathname !== new URL(this.#http.baseUrl + USERS_PATH).pathname) throw new TypeError(`cursor must be the next of an earlier usersPage (a URL of the users list), not ${JSON.stringify(cursor)}`);
    checkCursorList(url, opts);
    if (opts.pageSize !== undefined) url.searchParams.set("max", String(opts.pageSize));
    return url.toString();
  }

  /**
   * Every (matching) user, from one streamed request parsed as it arrives: the loop holds only the
   * users not yet handed out. A dropped connection is read on after the last user handed out (up to
   * `retries` times); after an error, `{ after: lastUser.username }` continues where it stopped.
   */
  iterUsers(opts: IterUsersOptions<true> & { extendedInfo: true }): AsyncGenerator<ECMUser<true>, void, undefined>;
  iterUsers(opts?: IterUsersOptions<false>): AsyncGenerator<ECMUser<false>, void, undefined>;
  iterUsers(opts?: IterUsersOptions): AsyncGenerator<ECMUser, void, undefined>;
  iterUsers(opts?: IterUsersOptions): AsyncGenerator<ECMUser, void, undefined> {
    return new EachOf(this.iterUserBatches(opts));
  }

  /**
   * iterUsers by batch: the users each piece of the answer completes (a few hundred), in order, for a
   * loop that handles many users at once rather than awaiting each (a million awaits cost about as much
   * as the parse). Resumes as iterUsers does; `{ after: lastBatch.at(-1).username }` goes on after an error.
   */
  iterUserBatches(opts: IterUsersOptions<true> & { extendedInfo: true }): AsyncGenerator<ECMUser<true>[], void, undefined>;
  iterUserBatches(opts?: IterUsersOptions<false>): AsyncGenerator<ECMUser<false>[], void, undefined>;
  iterUserBatches(opts?: IterUsersOptions): AsyncGenerator<ECMUser[], void, undefined>;
  async *iterUserBatches(opts?: IterUsersOptions): AsyncGenerator<ECMUser[], void, undefined> {
    const stream = new UsersStream(opts, this.#http);
    try {
      for (;;) {
        const res = await this.#http.request<AsyncIterable<Uint8Array>>("GET", USERS_PATH, { query: stream.query, stream: true, ...stream.call });
        try {
          for await (const chunk of res.data) {
            const batch = stream.push(chunk);
            if (batch.length > 0) yield batch;
          }
          return stream.end();
        } catch (err) {
          await waitToReadAgain(stream.resume(err), USERS_PATH, opts?.signal);
        }
      }
    } catch (err) {
      throw stream.ended(err);
    }
  }

  /** Number of (matching) users. */
  async countUsers(opts?: Omit<UsersOptions, "extendedInfo">): Promise<number> {
    const c = checkListOptions(opts, []);
    const res = await this.#http.request("GET", "/security/v1/users/count", {
      query: usersQuery({ ...opts, extendedInfo: false }),
      ...c,
    });
    return countOf(res.data);
  }

  /** The user with this username (ignoring case and Unicode form: ｓｙｓａｄｍｉｎ is sysadmin), extended. Throws ECMNotFoundError. */
  async user(username: string, opts?: CallOptions): Promise<ECMUser<true>> {
    if (typeof username !== "string" || username === "") throw new TypeError("username is required");
    const key = nameKey(username);
    // `search` also matches names and emails: read the matches as they stream and stop at the user.
    try {
      for await (const u of this.iterUsers({ search: username, extendedInfo: true, ...call(opts) })) {
        if (nameKey(u.username) === key) return u;
      }
    } catch (error) {
      throw unsearchable(error, "user", username);
    }
    throw notFound("user", username);
  }

  /** The user with this guid, extended. */
  async getUser(userGuid: UserRef, opts?: CallOptions): Promise<ECMUser<true>> {
    const res = await this.#getUserRaw(userGuidOf(userGuid), opts);
    return toECMUser(res.data, true);
  }

  async #getUserRaw(guid: string, opts?: CallOptions) {
    return this.#http.request<RestUser>("GET", `/security/v1/users/${enc(guid)}`, {
      query: { extendedInfo: true },
      ...call(opts),
    });
  }

  /** The signed-in account; `hasPassword`: whether it has a password here, which `changeMyPassword` changes. */
  async me(opts?: CallOptions): Promise<ECMUser<true> & { hasPassword?: boolean }> {
    const res = await this.#http.request<RestMe>("GET", "/security/v1/me", call(opts));
    const u = toECMUser(res.data, true) as ECMUser<true> & { hasPassword?: boolean };
    if (typeof res.data.hasPassword === "boolean") u.hasPassword = res.data.hasPassword;
    return u;
  }

  /** Changes the signed-in user's own password. */
  async changeMyPassword(currentPassword: string, newPassword: string, opts?: CallOptions): Promise<void> {
    await this.#http.request("PUT", "/security/v1/me/password", {
      body: { currentPassword, newPassword },
      idempotent: false,
      ...call(opts),
    });
    this.#http.passwordChanged(newPassword);
  }

  /** All roles, or with `userGuid` the user's effective roles (from its groups and profile). */
  async roles(userGuid?: UserRef | "", opts?: CallOptions): Promise<ECMRole[]> {
    const path =
      userGuid === undefined || userGuid === ""
        ? "/security/v1/roles"
        : `/security/v1/users/${enc(userGuidOf(userGuid))}/roles`;
    const res = await this.#http.request("GET", path, call(opts));
    return asArray<RestRole>(res.data, "roles").map(toECMRole);
  }

  /** All groups (optionally matching `search`). */
  async groups(opts?: CallOptions & { search?: string }): Promise<ECMGroup[]> {
    const res = await this.#http.request("GET", "/security/v1/user-groups", {
      query: { search: opts?.search || undefined },
      ...call(opts, ["search"]),
    });
    return asArray<RestGroup>(res.data, "groups").map(toECMGroup);
  }

  /** The group with this name (ignoring case and Unicode form). Throws ECMNotFoundError. */
  async group(name: string, opts?: CallOptions): Promise<ECMGroup> {
    if (typeof name !== "string" || name === "") throw new TypeError("group name is required");
    const list = await this.groups({ search: name, ...call(opts) }).catch((error: unknown) => Promise.reject(unsearchable(error, "group", name)));
    const key = nameKey(name);
    const found = list.find((g) => nameKey(g.name) === key);
    if (!found) throw notFound("group", name);
    return found;
  }

  /** The group with this guid (or name, or the ECMGroup itself: read again). */
  async getGroup(groupGuid: GroupRef, opts?: CallOptions): Promise<ECMGroup> {
    const c = call(opts);
    const res = await this.#http.request<RestGroup>("GET", `/security/v1/user-groups/${enc(await this.#groupGuid(groupGuid, c))}`, c);
    return toECMGroup(res.data);
  }

  /** `c`: the call's checked signal and timeout (its other options are not the lookup's). */
  async #groupGuid(group: GroupRef, c: CallOptions): Promise<string> {
    return knownGroupGuid(group) ?? (await this.group(group as string, c)).guid;
  }

  /** Members of a group (an ECMGroup, a group guid or a group name), directly or through their profile: users({ groupId }), streamed. */
  groupMembers(group: GroupRef, opts: UsersOptions<true> & { extendedInfo: true }): Promise<ECMUser<true>[]>;
  groupMembers(group: GroupRef, opts?: UsersOptions<false>): Promise<ECMUser<false>[]>;
  groupMembers(group: GroupRef, opts?: UsersOptions): Promise<ECMUser[]>;
  async groupMembers(group: GroupRef, opts?: UsersOptions): Promise<ECMUser[]> {
    return this.users({ ...opts, groupId: await this.#groupGuid(group, checkListOptions(opts, STREAM_OPTIONS)) });
  }

  /** Groups the user belongs to: its own and its profile's; with `direct: true` its own only. */
  async userGroups(userGuid: UserRef, opts?: CallOptions & { direct?: boolean }): Promise<ECMUserGroup[]> {
    const res = await this.#http.request("GET", `/security/v1/users/${enc(userGuidOf(userGuid))}/user-groups`, {
      query: { direct: opts?.direct || undefined },
      ...call(opts, ["direct"], ["direct"]),
    });
    return asArray<RestGroup>(res.data, "groups").map(toECMUserGroup);
  }

  /** Creates a user and returns it (extended). */
  async createUser(username: string, fields: CreateUserFields & CallOptions = {}): Promise<ECMUser<true>> {
    if (typeof username !== "string" || username === "") throw new TypeError("username is required");
    // The fields' names are checked by toRestUserBody, the user's fields among them.
    const c = { signal: fields.signal, timeout: fields.timeout };
    const res = await this.#http
      .request<unknown>("POST", "/security/v1/users", {
        body: { username, ...toRestUserBody(fields) },
        ...c,
      })
      .catch((error: unknown) => Promise.reject(inSdkFieldNames(error)));
    if (isFullUser(res.data)) return toECMUser(res.data, true);
    const body = res.data as { id?: unknown } | null | undefined;
    let guid: string | undefined = body && typeof body === "object" && typeof body.id === "string" ? body.id : undefined;
    if (!guid) {
      const loc = res.headers.get("location");
      guid = loc ? decodeURIComponent(loc.replace(/\/+$/, "").split("/").pop() ?? "") : undefined;
    }
    if (!guid) throw new TypeError("the server did not say which user it created");
    return this.getUser(guid, c);
  }

  /** Updates a user; fields left out keep their value. Returns the updated user (extended). */
  async updateUser(
    userGuid: UserRef,
    fields: UserFields & CallOptions & { ifMatch?: string },
  ): Promise<ECMUser<true>> {
    const guid = userGuidOf(userGuid);
    const path = `/security/v1/users/${enc(guid)}`;
    const body = toRestUserBody(fields);
    // The fields' names are checked by toRestUserBody, the user's fields among them.
    const c = { signal: fields.signal, timeout: fields.timeout };
    const put = (etag?: string) =>
      this.#http
        .request<unknown>("PUT", path, {
          body,
          headers: etag ? { "if-match": etag } : {},
          ...c,
        })
        .catch((error: unknown) => Promise.reject(inSdkFieldNames(error)));
    let res;
    try {
      res = await put(fields.ifMatch);
    } catch (err) {
      // Should the server insist on If-Match (428): read the current version and try once with it.
      if (fields.ifMatch === undefined && (err as { status?: number }).status === 428) {
        const cur = await this.#getUserRaw(guid, c);
        res = await put(cur.headers.get("etag") ?? undefined);
      } else {
        throw err;
      }
    }
    // The server answers with the updated user (extended view); older servers may not.
    if (isFullUser(res.data)) return toECMUser(res.data, true);
    return this.getUser(guid, c);
  }

  /**
   * Creates or updates (by username) the users of a file, stream or iterable, in one request that the
   * server reads as it arrives and answers row by row as each batch of rows commits: the results come
   * while the source is still being sent (in Node), so a million rows take one call and little memory.
   * A bad row is a `failed` result, not an exception; the iteration's return value is the summary. An
   * error that ends the import early is thrown after the results of the rows before it (which are
   * imported). The call's timeout is for the answer to start and then for each next piece of it.
   * Nothing is sent until the generator is iterated: `await importUsers(…)` alone imports nothing.
   *
   * ```ts
   * for await (const r of ecm.security.importUsers("users.csv", { dryRun: true })) if (r.error) console.log(r.line, r.error.message);
   * ```
   */
  async *importUsers(source: ImportSource, opts: ImportOptions = {}): AsyncGenerator<ECMImportResult, ECMImportSummary, undefined> {
    const refused = new RefusedRecords();
    const results = new ImportResults(refused);
    for await (const chunk of await startImport(this.#http, source, opts, refused)) yield* results.push(chunk);
    return results.end();
  }

  /** Locks (disables) a user. */
  async lockUser(userGuid: UserRef, opts?: CallOptions): Promise<ECMUser<true>> {
    return this.updateUser(userGuid, { ...call(opts), locked: true });
  }

  /** Unlocks (enables) a user. */
  async unlockUser(userGuid: UserRef, opts?: CallOptions): Promise<ECMUser<true>> {
    return this.updateUser(userGuid, { ...call(opts), locked: false });
  }

  /** Clears a temporary lockout after failed logins. */
  async clearLockout(userGuid: UserRef, opts?: CallOptions): Promise<void> {
    await this.#http.request("DELETE", `/security/v1/users/${enc(userGuidOf(userGuid))}/lockout`, call(opts));
  }

  /** Why failed logins refuse a user's logins: the account-wide lockout and each address locked out of the account (or counting failures toward it). */
  async lockout(userGuid: UserRef, opts?: CallOptions): Promise<ECMLockout> {
    const { data } = await this.#http.request<RestLockout>("GET", `/security/v1/users/${enc(userGuidOf(userGuid))}/lockout`, call(opts));
    return {
      lockedOutUntil: dateOrNull(data.lockedOutUntil),
      failedLogins: data.failedLogins,
      addresses: data.addresses.map((a) => ({ address: a.address, failedLogins: a.failedLogins, lockedOutUntil: dateOrNull(a.lockedOutUntil), lastLoginAt: dateOrNull(a.lastLoginAt) })),
    };
  }

  /** Where a user comes from (builtin, local, a directory with its DN, an identity provider) and the providers it is linked to. */
  async userSource(userGuid: UserRef, opts?: CallOptions): Promise<ECMUserSource> {
    return toUserSource((await this.#getUserRaw(userGuidOf(userGuid), opts)).data);
  }

  /** Sets a new password for a user (administrators). */
  async resetPassword(userGuid: UserRef, password: string, opts?: CallOptions): Promise<void> {
    await this.#http
      .request("PUT", `/security/v1/users/${enc(userGuidOf(userGuid))}/reset-password`, {
        body: { type: "password", value: password },
        ...call(opts),
      })
      .catch((error: unknown) => Promise.reject(inSdkFieldNames(error, PASSWORD_NAMES)));
  }

  /** Deletes a user (built-in users cannot be deleted: ECMConflictError). */
  async deleteUser(userGuid: UserRef, opts?: CallOptions): Promise<void> {
    await this.#http.request("DELETE", `/security/v1/users/${enc(userGuidOf(userGuid))}`, call(opts));
  }

  /** A user's API keys (administrators), never their secrets. */
  async apiKeys(userGuid: UserRef, opts?: CallOptions): Promise<ECMApiKey[]> {
    const res = await this.#http.request<RestApiKey[]>("GET", `/security/v1/users/${enc(userGuidOf(userGuid))}/api-keys`, call(opts));
    return res.data.map(apiKeyOf);
  }

  /** A new API key for a user; its `secret` (`ecm_…`, for `new ECM({ apiKey })`) is in this answer only. */
  async createApiKey(userGuid: UserRef, name: string, opts: CallOptions & { expiresAt?: Date | string | null } = {}): Promise<ECMApiKey & { secret: string }> {
    const res = await this.#http.request<RestApiKey & { secret: string }>("POST", `/security/v1/users/${enc(userGuidOf(userGuid))}/api-keys`, {
      ...call(opts, ["expiresAt"]),
      body: { name, ...(opts.expiresAt !== undefined && { expiresAt: isoOrNull(opts.expiresAt, "expiresAt") }) },
    });
    return { ...apiKeyOf(res.data), secret: res.data.secret };
  }

  /** Revokes an API key (the key, or its id): it stops working at once. */
  async revokeApiKey(userGuid: UserRef, key: string | ECMApiKey, opts?: CallOptions): Promise<void> {
    await this.#http.request("DELETE", `/security/v1/users/${enc(userGuidOf(userGuid))}/api-keys/${enc(apiKeyIdOf(key))}`, call(opts));
  }

  async addUserToGroup(userGuid: UserRef, groupGuid: GroupRef, opts?: CallOptions): Promise<void> {
    const c = call(opts);
    const g = await this.#groupGuid(groupGuid, c);
    await this.#http.request(
      "PUT",
      `/security/v1/users/${enc(userGuidOf(userGuid))}/user-groups/${enc(g)}`,
      c,
    );
  }

  async removeUserFromGroup(userGuid: UserRef, groupGuid: GroupRef, opts?: CallOptions): Promise<void> {
    const c = call(opts);
    const g = await this.#groupGuid(groupGuid, c);
    await this.#http.request(
      "DELETE",
      `/security/v1/users/${enc(userGuidOf(userGuid))}/user-groups/${enc(g)}`,
      c,
    );
  }

  /**
   * Removes the user from every group it is a member of itself, the built-in `users` group too (as the
   * name says); groups through its profile stay. The server takes it out of the others in one request,
   * all or nothing, then out of `users`. Returns the groups it was removed from.
   */
  async removeUserFromAllGroups(userGuid: UserRef, opts?: CallOptions): Promise<ECMGroup[]> {
    const guid = userGuidOf(userGuid);
    const own = await this.#http.request("GET", `/security/v1/users/${enc(guid)}/user-groups`, { query: { direct: true }, ...call(opts) });
    const everyone = asArray<RestGroup>(own.data, "groups").filter((g) => g.builtin && g.name === "users");
    const res = await this.#http.request("DELETE", `/security/v1/users/${enc(guid)}/user-groups`, call(opts));
    for (const g of everyone) await this.removeUserFromGroup(guid, g.id, opts);
    return [...asArray<RestGroup>(res.data, "groups"), ...everyone].map(toECMGroup);
  }

  /** Creates a group. */
  async createGroup(name: string, fields: Omit<GroupFields, "name"> & CallOptions = {}): Promise<ECMGroup> {
    const c = call(fields, ["description"]);
    const res = await this.#http.request<RestGroup>("POST", "/security/v1/user-groups", {
      body: { name, ...(fields.description !== undefined ? { description: fields.description } : {}) },
      ...c,
    });
    if (res.data && typeof res.data === "object" && res.data.id) return toECMGroup(res.data);
    const loc = res.headers.get("location");
    const guid = loc ? decodeURIComponent(loc.replace(/\/+$/, "").split("/").pop() ?? "") : "";
    return this.getGroup(guid, c);
  }

  /** Updates a group's name and/or description. */
  async updateGroup(groupGuid: GroupRef, fields: GroupFields & CallOptions & { ifMatch?: string }): Promise<ECMGroup> {
    const c = call(fields, ["name", "description", "ifMatch"]);
    const guid = await this.#groupGuid(groupGuid, c);
    const body: Record<string, unknown> = {};
    if (fields.name !== undefined) body.name = fields.name;
    if (fields.description !== undefined) body.description = fields.description;
    const path = `/security/v1/user-groups/${enc(guid)}`;
    const put = (etag?: string) =>
      this.#http.request<RestGroup>("PUT", path, { body, headers: etag ? { "if-match": etag } : {}, ...c });
    try {
      await put(fields.ifMatch);
    } catch (err) {
      if (fields.ifMatch === undefined && (err as { status?: number }).status === 428) {
        const cur = await this.#http.request("GET", path, c);
        await put(cur.headers.get("etag") ?? undefined);
      } else {
        throw err;
      }
    }
    return this.getGroup(guid, c);
  }

  /** Deletes a group. */
  async deleteGroup(groupGuid: GroupRef, opts?: CallOptions): Promise<void> {
    const c = call(opts);
    const guid = await this.#groupGuid(groupGuid, c);
    await this.#http.request("DELETE", `/security/v1/user-groups/${enc(guid)}`, c);
  }

  /** Roles granted to a group. */
  async groupRoles(groupGuid: GroupRef, opts?: CallOptions): Promise<ECMRole[]> {
    const c = call(opts);
    const guid = await this.#groupGuid(groupGuid, c);
    const res = await this.#http.request("GET", `/security/v1/user-groups/${enc(guid)}/role-mappings/portal`, c);
    return asArray<RestRole>(res.data, "roles").map(toECMRole);
  }

  /** Roles that could still be granted to a group. */
  async availableGroupRoles(groupGuid: GroupRef, opts?: CallOptions): Promise<ECMRole[]> {
    const c = call(opts);
    const guid = await this.#groupGuid(groupGuid, c);
    const res = await this.#http.request(
      "GET",
      `/security/v1/user-groups/${enc(guid)}/role-mappings/portal/available`,
      c,
    );
    return asArray<RestRole>(res.data, "roles").map(toECMRole);
  }

  /** Grants a role to a group. */
  async grantRole(groupGuid: GroupRef, roleName: string, opts?: CallOptions): Promise<void> {
    const c = call(opts);
    const guid = await this.#groupGuid(groupGuid, c);
    await this.#http.request(
      "PUT",
      `/security/v1/user-groups/${enc(guid)}/role-mappings/portal/${enc(roleName)}`,
      c,
    );
  }

  /** Revokes a role from a group. */
  async revokeRole(groupGuid: GroupRef, roleName: string, opts?: CallOptions): Promise<void> {
    const c = call(opts);
    const guid = await this.#groupGuid(groupGuid, c);
    await this.#http.request(
      "DELETE",
      `/security/v1/user-groups/${enc(guid)}/role-mappings/portal/${enc(roleName)}`,
      c,
    );
  }

  /**
   * Exports users, groups, memberships and role mappings, optionally only of some groups (ECMGroups,
   * their numeric ids, guids or names), as one object. Read as it streams, so only the result itself takes memory;
   * {@link iterExport} hands out one record at a time instead.
   */
  async exportSecuritySystem(groupIds?: ExportGroupRef[] | null, opts?: CallOptions): Promise<ECMExport> {
    const query = await this.#exportQuery(groupIds, opts);
    // The export has no cursor to read on from: a dropped connection reads it again from its start.
    for (let attempt = 0; ; attempt++) {
      const res = await this.#exportRequest(query, opts);
      const reader = new ExportReader();
      try {
        for await (const chunk of res.data) reader.push(chunk);
        return reader.end();
      } catch (err) {
        await waitToReadAgain(readAgainAfter(err, attempt, this.#http), EXPORT_PATH, opts?.signal);
      }
    }
  }

  /**
   * The export document's JSON bytes as they arrive (to write to a file). ECM only. A connection that
   * drops in the middle is an ECMConnectionError: the export cannot be read on from where it broke off.
   */
  async *exportSecuritySystemStream(groupIds?: ExportGroupRef[] | null, opts?: CallOptions): AsyncGenerator<Uint8Array, void, undefined> {
    yield* (await this.#exportRequest(await this.#exportQuery(groupIds, opts), opts)).data;
  }

  async #exportQuery(groupIds: ExportGroupRef[] | null | undefined, opts: CallOptions | undefined): Promise<Record<string, string | undefined>> {
    checkExportGroups(groupIds);
    const guids: string[] = [];
    for (const g of groupIds ?? []) guids.push(knownExportGroupId(g) ?? (await this.group(g as string, opts)).guid);
    return exportQuery(guids);
  }

  #exportRequest(query: Record<string, string | undefined>, opts: CallOptions | undefined) {
    return this.#http.request<AsyncIterable<Uint8Array>>("GET", EXPORT_PATH, { query, stream: true, ...call(opts) });
  }

  /**
   * The export one record at a time (`{ kind: "users", value: RestUser }`, …), read as it streams:
   * memory stays small however many users there are. ECM only. A dropped connection ends it with an
   * ECMConnectionError, as exportSecuritySystemStream.
   */
  iterExport(groupIds?: ExportGroupRef[] | null, opts?: CallOptions): AsyncGenerator<ExportRecord, void, undefined> {
    return exportRecords(this.exportSecuritySystemStream(groupIds, opts));
  }

  /** The identity providers (OpenID Connect), client secrets masked. */
  async identityProviders(opts?: CallOptions): Promise<ECMIdentityProvider[]> {
    return asArray<ECMIdentityProvider>((await this.#http.request("GET", "/idp/v1/external-identity-provider", call(opts))).data, "identity providers");
  }

  /** One identity provider by alias (ECMNotFoundError when there is none). */
  async identityProvider(alias: string, opts?: CallOptions): Promise<ECMIdentityProvider> {
    return (await this.#http.request<ECMIdentityProvider>("GET", `/idp/v1/external-identity-provider/${enc(alias)}`, call(opts))).data;
  }

  /** Adds an OpenID Connect provider; endpoints not given are read from `fromUrl`'s discovery document. */
  async createIdentityProvider(alias: string, fields: IdentityProviderFields & { clientId: string } & CallOptions): Promise<ECMIdentityProvider> {
    const { signal, timeout, ...body } = fields;
    checkFields(body, "identity provider", PROVIDER_FIELDS);
    return (await this.#http.request<ECMIdentityProvider>("POST", "/idp/v1/external-identity-provider", { body: { alias, ...body }, signal, timeout })).data;
  }

  /**
   * Changes an identity provider; fields left out keep their value (the alias never changes). A change of
   * the issuer (a new `fromUrl`, `config.issuer`) or `clientId` of a provider with links needs `links`:
   * `keep` (the same people, with the same subjects) or `remove`; without it, an ECMConflictError (409).
   */
  async updateIdentityProvider(alias: string, fields: IdentityProviderFields & CallOptions & { links?: LinkFate }): Promise<ECMIdentityProvider> {
    const { signal, timeout, links, ...body } = fields;
    checkFields(body, "identity provider", PROVIDER_UPDATE_FIELDS);
    return (await this.#http.request<ECMIdentityProvider>("PUT", `/idp/v1/external-identity-provider/${enc(alias)}`, { body, query: { links }, signal, timeout })).data;
  }

  /** Removes an identity provider and its links; its sessions end. */
  async deleteIdentityProvider(alias: string, opts?: CallOptions): Promise<void> {
    await this.#http.request("DELETE", `/idp/v1/external-identity-provider/${enc(alias)}`, call(opts));
  }

  /** Tests a provider as a login would use it (its keys, this service's client id and secret), changing nothing: the answer in words. */
  async testIdentityProvider(alias: string, opts?: CallOptions): Promise<ECMIdentityProviderTest> {
    return (await this.#http.request<ECMIdentityProviderTest>("POST", `/idp/v1/external-identity-provider/${enc(alias)}/test`, call(opts))).data;
  }

  /** The enabled providers a login page offers (public). */
  async loginProviders(opts?: CallOptions): Promise<ECMLoginProvider[]> {
    return asArray<ECMLoginProvider>((await this.#http.request("GET", "/auth/v1/providers", { ...call(opts), auth: false })).data, "login providers");
  }

  /** A user's links to identity providers, each with its subject (what `unlinkUser`'s `subject` names); [] when none. */
  async userLinks(userGuid: UserRef, opts?: CallOptions): Promise<ECMUserLink[]> {
    return asArray<ECMUserLink>((await this.#http.request("GET", `/security/v1/users/${enc(userGuidOf(userGuid))}/federated-identities`, call(opts))).data, "links");
  }

  /** Links a user to a provider: whoever is `subject` (`sub`) there logs in as this user. */
  async linkUser(userGuid: UserRef, alias: string, subject: string, opts?: CallOptions): Promise<void> {
    await this.#http.request("PUT", `/security/v1/users/${enc(userGuidOf(userGuid))}/federated-identities/${enc(alias)}`, { body: { subject }, ...call(opts) });
  }

  /**
   * Removes a user's link to a provider; the sessions it opened through it end. With `subject`, only a
   * link to that subject is removed (another is an ECMConflictError and stays).
   */
  async unlinkUser(userGuid: UserRef, alias: string, opts?: CallOptions & { subject?: string }): Promise<void> {
    const c = call(opts, ["subject"]);
    const body = opts?.subject === undefined ? undefined : { subject: opts.subject };
    await this.#http.request("DELETE", `/security/v1/users/${enc(userGuidOf(userGuid))}/federated-identities/${enc(alias)}`, { ...c, body });
  }

  /** The directories (external user storage), bind passwords never shown. */
  async directories(opts?: CallOptions): Promise<ECMDirectory[]> {
    return asArray<ECMDirectory>((await this.#http.request("GET", DIRECTORIES, call(opts))).data, "directories");
  }

  /** One directory by id (ECMNotFoundError when there is none). */
  async directory(id: string | ECMDirectory, opts?: CallOptions): Promise<ECMDirectory> {
    return (await this.#http.request<ECMDirectory>("GET", `${DIRECTORIES}/${enc(directoryIdOf(id))}`, call(opts))).data;
  }

  /** Adds a directory; fields left out take their defaults (filters and attribute mapping by vendor). */
  async createDirectory(fields: NewDirectoryFields & CallOptions): Promise<ECMDirectory> {
    const { signal, timeout, ...body } = fields;
    checkFields(body, "directory", DIRECTORY_FIELDS);
    return (await this.#http.request<ECMDirectory>("POST", DIRECTORIES, { body, signal, timeout })).data;
  }

  /** Changes a directory; fields left out keep their value (the bind password too). */
  async updateDirectory(id: string | ECMDirectory, fields: DirectoryFields & CallOptions): Promise<ECMDirectory> {
    const { signal, timeout, ...body } = fields;
    checkFields(body, "directory", DIRECTORY_UPDATE_FIELDS);
    return (await this.#http.request<ECMDirectory>("PUT", `${DIRECTORIES}/${enc(directoryIdOf(id))}`, { body, signal, timeout })).data;
  }

  /** Removes a directory; its users are kept disabled (`users: "disable"`, the default) or deleted with its groups. */
  async deleteDirectory(id: string | ECMDirectory, opts?: CallOptions & { users?: "disable" | "delete" }): Promise<void> {
    const c = call(opts, ["users"]);
    await this.#http.request("DELETE", `${DIRECTORIES}/${enc(directoryIdOf(id))}`, { query: { users: opts?.users }, ...c });
  }

  /** Tests a stored directory's connection: connects, binds, reads the base, searches; the answer in words. */
  async testDirectory(id: string | ECMDirectory, opts?: CallOptions): Promise<ECMDirectoryTest> {
    return (await this.#http.request<ECMDirectoryTest>("POST", `${DIRECTORIES}/${enc(directoryIdOf(id))}/test`, call(opts))).data;
  }

  /** Tests a configuration that is not stored (nothing is saved). */
  async testDirectoryConfig(fields: DirectoryConfigToTest & CallOptions): Promise<ECMDirectoryTest> {
    const { signal, timeout, ...body } = fields;
    checkFields(body, "directory", DIRECTORY_FIELDS);
    return (await this.#http.request<ECMDirectoryTest>("POST", `${DIRECTORIES}/test`, { body, signal, timeout })).data;
  }

  /** Starts a sync in the background (`full` by default; `force` disables gone users past the safety share, and all of them when the directory answers no users); answers the run as it begins. */
  async startDirectorySync(id: string | ECMDirectory, opts?: CallOptions & { mode?: DirectorySyncMode; force?: boolean }): Promise<ECMDirectorySync> {
    const c = call(opts, ["mode", "force"]);
    const body = { mode: opts?.mode, force: opts?.force };
    return (await this.#http.request<ECMDirectorySync>("POST", `${DIRECTORIES}/${enc(directoryIdOf(id))}/sync`, { body, ...c })).data;
  }

  /** The directory's current or last sync: counts, users per second, the first problems (ECMNotFoundError before the first). */
  async directorySync(id: string | ECMDirectory, opts?: CallOptions): Promise<ECMDirectorySync> {
    return (await this.#http.request<ECMDirectorySync>("GET", `${DIRECTORIES}/${enc(directoryIdOf(id))}/sync`, call(opts))).data;
  }}
