/**
 * The users list as one stream: `GET /security/v1/users` without `max` sends every matching user as one
 * JSON array, each user as the array of the values an ECMUser is made of (`shape=arrays`: 40 % fewer
 * bytes than objects, and cheaper to parse), which is parsed as it arrives. ECM and ECMSync drive a UsersStream, each waiting for
 * bytes its own way; after a dropped connection it reads on after the last user it handed out.
 */
import { ECMAbortError, ECMError } from "./errors.js";
import { readAgainAfter, type RetryPolicy } from "./http.js";
import { JsonSplitter } from "./json-split.js";
import { callOptions } from "./options.js";
import { isGuid, restUserFields, rowToECMUser } from "./mapping.js";
import type { ECMUser, IterUsersOptions, UsersOptions } from "./types.js";

export const USERS_PATH = "/security/v1/users";

/** The options every users list takes. */
const LIST_OPTIONS = ["extendedInfo", "search", "locked", "lockedOut", "expired", "profileId", "groupId", "linkedTo", "source"] as const;
const FLAGS = ["extendedInfo", "locked", "lockedOut", "expired"];

/** What a streamed list (iterUsers, users) takes besides the filters. */
// pageSize: taken from scripts written for paged lists, and meaningless for one streamed answer.
export const STREAM_OPTIONS = ["after", "pageSize"];

/**
 * A users list's options, checked: a name it does not take (a typo, the seed's `extended_info`) or a
 * flag that is not a boolean would otherwise be dropped silently — plain users where extended ones
 * were asked for. `more`: the names this call takes besides. Returns its requests' signal and timeout.
 */
export function checkListOptions(opts: UsersOptions | undefined, more: readonly string[]): { signal?: AbortSignal; timeout?: number } {
  return callOptions(opts, [...LIST_OPTIONS, ...more], FLAGS);
}

/**
 * The guid a list's groupId names (an ECMGroup's too). A name or the numeric id would be the server's
 * "the group does not exist" of a group that does: a TypeError saying what was given instead.
 */
function groupIdOf(ref: unknown): string {
  const guid = ref !== null && typeof ref === "object" && "guid" in ref ? ref.guid : ref;
  if (typeof guid === "string" && isGuid(guid)) return guid;
  const given = typeof ref === "number" ? `the number ${ref} (the numeric id is not taken)` : JSON.stringify(guid) ?? String(guid);
  throw new TypeError(`groupId is a group's guid (or an ECMGroup), not ${given}: groupMembers(group) takes a group's name too`);
}

/** A text option (search, linkedTo): a list or an object would be sent as "a,b" or "[object Object]", a search that finds no one. */
function textOf(name: string, value: unknown): string | number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string" || typeof value === "number") return value;
  throw new TypeError(`${name} is text, not ${JSON.stringify(value) ?? String(value)}`);
}

/** A profileId: -1, 0 or a user's id; anything else would be the server's 400 after the call began, or a filter on nothing. */
function profileIdOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= -1) return value;
  throw new TypeError(`profileId is -1 (no profile), 0 (the profiles) or a profile's id, not ${JSON.stringify(value) ?? String(value)}`);
}

export function usersQuery(opts: UsersOptions | undefined): Record<string, string | number | boolean | undefined> {
  return {
    search: textOf("search", opts?.search),
    extendedInfo: opts?.extendedInfo ? true : undefined,
    enabled: opts?.locked === undefined ? undefined : !opts.locked,
    lockedOut: opts?.lockedOut,
    expired: opts?.expired,
    profileId: profileIdOf(opts?.profileId),
    groupId: opts?.groupId === undefined ? undefined : groupIdOf(opts.groupId),
    linkedTo: textOf("linkedTo", opts?.linkedTo),
    source: textOf("source", opts?.source),
  };
}

/** The query parameter of each list option, as usersQuery sends it (typed so that an option added to the list must be named here). */
const LIST_PARAMS: Record<(typeof LIST_OPTIONS)[number], string> = { extendedInfo: "extendedInfo", search: "search", locked: "enabled", lockedOut: "lockedOut", expired: "expired", profileId: "profileId", groupId: "groupId", linkedTo: "linkedTo", source: "source" };

/**
 * A page's `next` carries its list's query, which the page read with it keeps: a list option given
 * with it that says another list (another search, `extendedInfo: false` for an extended list) is a
 * TypeError, not an option silently ignored. The same options as the list's may come along.
 */
export function checkCursorList(cursor: URL, opts: UsersOptions | undefined): void {
  for (const name of LIST_OPTIONS) {
    const value = (opts as Record<string, unknown> | undefined)?.[name];
    if (value === undefined) continue;
    const param = LIST_PARAMS[name];
    const given = usersQuery({ [name]: value })[param];
    const had = cursor.searchParams.get(param);
    if ((given === undefined ? null : String(given)) === had) continue;
    const list = had === null ? `read without ${param}` : `read with ${param}=${had}`;
    throw new TypeError(`${name} ${JSON.stringify(value)} is not that of the cursor's list (${list}): a cursor reads on the list it came from; give that list's options or none, or start a new list without cursor`);
  }
}

/** The query of the users list itself (not of the count): the filters, and only the fields an ECMUser shows. */
export function listQuery(opts: UsersOptions | undefined): Record<string, string | number | boolean | undefined> {
  return { ...usersQuery(opts), fields: restUserFields(opts?.extendedInfo === true) };
}

/**
 * The list's cursor after a username: what the server's own cursors hold (base64url of `{"a": username}`,
 * packages/server/src/http/paging.ts). Written out here because a resumed stream has no Link to follow.
 */
export function cursorAfter(username: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(JSON.stringify({ a: username }))) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export class UsersStream {
  /** The requests' signal and timeout. */
  readonly call: { signal?: AbortSignal; timeout?: number };
  readonly #extended: boolean;
  #splitter = new JsonSplitter("array", "arrays");
  /** The username of the last user handed out: a resumed read starts after it. */
  #after: string | undefined;
  /** Users handed out so far. */
  #count = 0;
  #attempt = 0;

  constructor(
    readonly opts: IterUsersOptions | undefined,
    readonly retry: RetryPolicy,
  ) {
    this.call = checkListOptions(opts, STREAM_OPTIONS);
    this.#extended = opts?.extendedInfo === true;
    if (opts?.after !== undefined && typeof opts.after !== "string") throw new TypeError("after must be a username (a string), or left out to start from the first user");
    this.#after = opts?.after;
  }

  /** The query of the (next) request. */
  get query(): Record<string, string | number | boolean | undefined> {
    return { ...listQuery(this.opts), shape: "arrays", cursor: this.#after === undefined ? undefined : cursorAfter(this.#after) };
  }

  /** The users the next bytes complete. */
  push(chunk: Uint8Array): ECMUser[] {
    const users: ECMUser[] = [];
    for (const batch of this.#splitter.push(chunk)) {
      for (const row of batch.values) {
        // A server that does not know shape=arrays sends objects: said, not mapped into empty users.
        if (!Array.isArray(row)) throw new ECMError("the server's answer is not the JSON expected: a user is not an array of values (a server older than this SDK?)");
        users.push(rowToECMUser(row, this.#extended));
      }
    }
    if (users.length > 0) {
      this.#count += users.length;
      this.#after = users[users.length - 1]!.username;
      // Users came since the last drop: the retries count the drops in a row, not over an hours-long read.
      this.#attempt = 0;
    }
    return users;
  }

  /** The answer ended: throws unless the list was complete. */
  end(): void {
    this.#splitter.end();
  }

  /**
   * After `err` while reading: rethrows it, unless the connection dropped and retries are left (`retries`
   * drops in a row with no user read between them); then
   * the milliseconds to wait before reading on (the next `query` starts after the last user handed out).
   */
  resume(err: unknown): number {
    const delay = readAgainAfter(err, this.#attempt++, this.retry);
    this.#splitter = new JsonSplitter("array", "arrays");
    return delay;
  }

  /**
   * The error that ends the list, of its own class and code; once users were handed out, it also says
   * how many and where to read on: a script that lost a long read to a server restart goes on from there.
   */
  ended(err: unknown): unknown {
    if (this.#count === 0 || !(err instanceof ECMError) || err instanceof ECMAbortError) return err;
    const last = JSON.stringify(this.#after);
    const Class = err.constructor as typeof ECMError;
    const note = `the list broke off after ${this.#count} users, the last ${last}: iterUsers({ after: ${last} }) reads on after it (the client's retries and maxRetryDelay wait longer for a server that restarts)`;
    return new Class(`${err.message}; ${note}`, { status: err.status, code: err.code, serverMessage: err.serverMessage, additionalInfo: err.additionalInfo, retryAfterSeconds: err.retryAfterSeconds, cause: err });
  }
}
