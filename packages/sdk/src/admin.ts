import type { RequestOptions, Transport } from "./http.js";
import { countOf, inSdkFieldNames, parseLinkHeader, PASSWORD_NAMES } from "./mapping.js";
import { DIRECTORY_UPDATE_FIELDS, PROVIDER_UPDATE_FIELDS } from "./config-fields.js";
import { callOptions as call, checkFields } from "./options.js";
import type { CallOptions, DirectoryFields, ECMDirectory, ECMIdentityProvider, IdentityProviderFields, LinkFate, RestGroup, RestMe, RestRole, RestUser } from "./types.js";

/** Filters of the users list, its count, its CSV and a bulk action (REST names). */
export interface RestUserFilter {
  search?: string;
  enabled?: boolean;
  expired?: boolean;
  lockedOut?: boolean;
  profileId?: number;
  /** Members of this group (its id), directly or through their profile. */
  groupId?: string;
  /** Where users come from: `builtin`, `local`, `directory`, `identity-provider`, or `directory:<id>` / `identity-provider:<alias>`. */
  source?: string;
  /** Users linked to this identity provider (its alias): those its logins made and local accounts linked to it. */
  linkedTo?: string;
}

/** One keyset page; `next` is the cursor of the following page, or null on the last one. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** A versioned resource and its ETag, to send back as `ifMatch`. */
export interface Versioned<T> {
  value: T;
  etag: string | null;
}

/** A role of a user and the groups that grant it. */
export interface RestEffectiveRole extends RestRole {
  grantedBy: { groupId: string; group: string; viaProfile: boolean }[];
}

export interface RestAuditEvent {
  id: number;
  time: string;
  actorNumericId: number | null;
  actor: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  targetName: string | null;
  sourceAddress: string | null;
  outcome: "success" | "failure";
  details: Record<string, unknown> | null;
  /** How many like events this one stands for (refused logins from one address on one target for one reason within a minute are one event). */
  count: number;
}

/** Filters of the audit log, combined with AND; they match what was recorded (a name no event has: none, not an error). */
export interface RestAuditFilter {
  /** The actor's username, in any case (as logins take it). */
  actor?: string;
  /** The target's id, or a name it was recorded under, in any case. */
  target?: string;
  targetType?: string;
  /** The whole action name (auditActions() lists them). */
  action?: string;
  outcome?: "success" | "failure";
  from?: string;
  to?: string;
}

export type BulkActionName = "disable" | "enable" | "clear-lockout" | "add-to-group" | "remove-from-group" | "delete";

export interface RestBulkAction {
  id: string;
  action: BulkActionName;
  groupId: string | null;
  filter: RestUserFilter | null;
  status: "running" | "done" | "failed" | "cancelled";
  total: number | null;
  processed: number;
  changed: number;
  unchanged: number;
  refused: number;
  report: { id: string; username: string; reason: string }[];
  error: string | null;
  actor: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** Writable user fields by their REST names (`""` clears a text field). */
export type RestUserChanges = Partial<
  Pick<RestUser, "loginName" | "firstName" | "lastName" | "displayName" | "email" | "description" | "enabled" | "profileId" | "validFrom" | "validTo" | "changePassword" | "passwordNeverExpires">
>;

const enc = encodeURIComponent;

function filterQuery(filter: RestUserFilter | undefined): RequestOptions["query"] {
  return { ...filter, search: filter?.search === "" ? undefined : filter?.search };
}

/**
 * The REST API as it is — every field, ETags, cursors, bulk actions — for administration tools that
 * show and edit everything (the web console). `ecm.security` keeps the seed's shapes for scripts.
 */
export class Admin {
  readonly #http: Transport;

  constructor(http: Transport) {
    this.#http = http;
  }

  /** `c`: the call's checked signal and timeout. */
  async #page<T>(path: string, query: RequestOptions["query"], max: number, cursor: string | null | undefined, c: CallOptions): Promise<Page<T>> {
    const res = await this.#http.request<T[]>("GET", path, { query: { ...query, max, cursor: cursor ?? undefined }, ...c });
    const link = parseLinkHeader(res.headers.get("link"), "next");
    return { items: res.data, next: link === null ? null : new URL(link, res.url).searchParams.get("cursor") };
  }

  async #versioned<T>(method: string, path: string, opts: RequestOptions): Promise<Versioned<T>> {
    const res = await this.#http.request<T>(method, path, opts);
    return { value: res.data, etag: res.headers.get("etag") };
  }

  /**
   * Trades the one-time code an identity provider's login brought back (`#code=…`) for a token (public).
   * In the browser the login ran in only (the server checks the cookie its callback left there).
   */
  async exchangeProviderCode(alias: string, code: string, opts?: CallOptions): Promise<string> {
    const res = await this.#http.request<{ access_token: string }>("POST", `/auth/v1/providers/${enc(alias)}/exchange`, { body: { code }, auth: false, idempotent: false, ...call(opts) });
    return res.data.access_token;
  }

  /** One page of users in username order (extended view). */
  async users(filter: RestUserFilter, page: { max: number; cursor?: string | null }, opts?: CallOptions): Promise<Page<RestUser>> {
    return this.#page("/security/v1/users", { ...filterQuery(filter), extendedInfo: true }, page.max, page.cursor, call(opts));
  }

  async countUsers(filter: RestUserFilter, opts?: CallOptions): Promise<number> {
    return countOf((await this.#http.request("GET", "/security/v1/users/count", { query: filterQuery(filter), ...call(opts) })).data);
  }

  /** The cursor of the page at about `at` in the unfiltered list (approximate: see the OpenAPI). */
  async userPosition(at: number, opts?: CallOptions): Promise<{ position: number; total: number; cursor: string | null }> {
    return (await this.#http.request<{ position: number; total: number; cursor: string | null }>("GET", "/security/v1/users/position", { query: { at }, ...call(opts) })).data;
  }

  /** Every user of the filter as CSV bytes, streamed by the server. */
  async *usersCsv(filter: RestUserFilter, opts?: CallOptions): AsyncGenerator<Uint8Array> {
    const c = call(opts);
    const res = await this.#http.request<AsyncIterable<Uint8Array>>("GET", "/security/v1/users", { query: filterQuery(filter), headers: { accept: "text/csv" }, stream: true, ...c, timeout: c.timeout ?? Number.POSITIVE_INFINITY });
    yield* res.data;
  }

  /**
   * A link to the CSV of usersCsv for a browser, whose download saves it to disk as it comes but sends
   * no token: the link is the credential, used once within a minute, for this session (not an API key).
   * `url` is a path on the server.
   */
  async usersCsvLink(filter: RestUserFilter, opts?: CallOptions): Promise<{ url: string; expiresAt: string }> {
    return (await this.#http.request<{ url: string; expiresAt: string }>("POST", "/security/v1/users/csv-links", { query: filterQuery(filter), ...call(opts) })).data;
  }

  async user(id: string, opts?: CallOptions): Promise<Versioned<RestUser>> {
    return this.#versioned("GET", `/security/v1/users/${enc(id)}`, { query: { extendedInfo: true }, ...call(opts) });
  }

  async createUser(fields: RestUserChanges & { username: string; password?: string }, opts?: CallOptions): Promise<Versioned<RestUser>> {
    return this.#versioned("POST", "/security/v1/users", { body: fields, ...call(opts) });
  }

  /** Changes the fields given; with `ifMatch`, a stale version is an ECMPreconditionError (412). */
  async updateUser(id: string, changes: RestUserChanges, ifMatch: string | null, opts?: CallOptions): Promise<Versioned<RestUser>> {
    return this.#versioned("PUT", `/security/v1/users/${enc(id)}`, { body: changes, headers: ifMatch ? { "if-match": ifMatch } : {}, idempotent: false, ...call(opts) });
  }

  async deleteUser(id: string, ifMatch: string | null, opts?: CallOptions): Promise<void> {
    await this.#http.request("DELETE", `/security/v1/users/${enc(id)}`, { headers: ifMatch ? { "if-match": ifMatch } : {}, ...call(opts) });
  }

  async resetPassword(id: string, value: string, temporary: boolean, opts?: CallOptions): Promise<void> {
    await this.#http
      .request("PUT", `/security/v1/users/${enc(id)}/reset-password`, { body: { type: "password", value, temporary }, ...call(opts) })
      .catch((error: unknown) => Promise.reject(inSdkFieldNames(error, PASSWORD_NAMES)));
  }

  async clearLockout(id: string, opts?: CallOptions): Promise<void> {
    await this.#http.request("DELETE", `/security/v1/users/${enc(id)}/lockout`, call(opts));
  }

  /** A user's groups, its profile's included; `opts.direct`: its own memberships only. */
  async userGroups(id: string, opts?: CallOptions & { direct?: boolean }): Promise<RestGroup[]> {
    return (await this.#http.request<RestGroup[]>("GET", `/security/v1/users/${enc(id)}/user-groups`, { query: { direct: opts?.direct || undefined }, ...call(opts, ["direct"], ["direct"]) })).data;
  }

  async effectiveRoles(id: string, opts?: CallOptions): Promise<RestEffectiveRole[]> {
    return (await this.#http.request<RestEffectiveRole[]>("GET", `/security/v1/users/${enc(id)}/roles`, call(opts))).data;
  }

  async addToGroup(userId: string, groupId: string, opts?: CallOptions): Promise<void> {
    await this.#http.request("PUT", `/security/v1/users/${enc(userId)}/user-groups/${enc(groupId)}`, call(opts));
  }

  async removeFromGroup(userId: string, groupId: string, opts?: CallOptions): Promise<void> {
    await this.#http.request("DELETE", `/security/v1/users/${enc(userId)}/user-groups/${enc(groupId)}`, call(opts));
  }

  /**
   * Groups in name order: `search` in the name; `opts.role`: only those granting that role. With
   * `opts.max`, one page of at most that many (1–1000): `next` is the cursor of the next page, null when no more match.
   */
  groups(search: string | undefined, opts: CallOptions & { role?: string; max: number; cursor?: string | null }): Promise<Page<RestGroup>>;
  groups(search?: string, opts?: CallOptions & { role?: string }): Promise<RestGroup[]>;
  async groups(search?: string, opts?: CallOptions & { role?: string; max?: number; cursor?: string | null }): Promise<RestGroup[] | Page<RestGroup>> {
    const c = call(opts, ["role", "max", "cursor"]);
    const query = { search: search || undefined, role: opts?.role };
    if (opts?.max !== undefined) return this.#page("/security/v1/user-groups", query, opts.max, opts.cursor, c);
    return (await this.#http.request<RestGroup[]>("GET", "/security/v1/user-groups", { query, ...c })).data;
  }

  async group(id: string, opts?: CallOptions): Promise<Versioned<RestGroup>> {
    return this.#versioned("GET", `/security/v1/user-groups/${enc(id)}`, call(opts));
  }

  async createGroup(fields: { name: string; description?: string | null }, opts?: CallOptions): Promise<Versioned<RestGroup>> {
    return this.#versioned("POST", "/security/v1/user-groups", { body: fields, ...call(opts) });
  }

  async updateGroup(id: string, fields: { name?: string; description?: string | null }, ifMatch: string | null, opts?: CallOptions): Promise<Versioned<RestGroup>> {
    return this.#versioned("PUT", `/security/v1/user-groups/${enc(id)}`, { body: fields, headers: ifMatch ? { "if-match": ifMatch } : {}, idempotent: false, ...call(opts) });
  }

  /** With `ifMatch`, a group changed since that version is not deleted: an ECMPreconditionError (412). */
  async deleteGroup(id: string, ifMatch: string | null, opts?: CallOptions): Promise<void> {
    await this.#http.request("DELETE", `/security/v1/user-groups/${enc(id)}`, { headers: ifMatch ? { "if-match": ifMatch } : {}, ...call(opts) });
  }

  /** One page of a group's members (directly or through their profile), in username order. */
  async groupMembers(id: string, page: { max: number; cursor?: string | null }, opts?: CallOptions): Promise<Page<RestUser>> {
    return this.#page(`/security/v1/user-groups/${enc(id)}/members`, {}, page.max, page.cursor, call(opts));
  }

  /** Roles granted to a group, or (`granted: false`) the ones it could still get. */
  async groupRoles(id: string, granted = true, opts?: CallOptions): Promise<RestRole[]> {
    return (await this.#http.request<RestRole[]>("GET", `/security/v1/user-groups/${enc(id)}/role-mappings/portal${granted ? "" : "/available"}`, call(opts))).data;
  }

  async grantRole(groupId: string, role: string, opts?: CallOptions): Promise<void> {
    await this.#http.request("PUT", `/security/v1/user-groups/${enc(groupId)}/role-mappings/portal/${enc(role)}`, call(opts));
  }

  async revokeRole(groupId: string, role: string, opts?: CallOptions): Promise<void> {
    await this.#http.request("DELETE", `/security/v1/user-groups/${enc(groupId)}/role-mappings/portal/${enc(role)}`, call(opts));
  }

  /** One directory (external user storage) and its ETag, to send back as `ifMatch`. */
  async directory(id: string, opts?: CallOptions): Promise<Versioned<ECMDirectory>> {
    return this.#versioned("GET", `/security/v1/external-user-storage/${enc(id)}`, call(opts));
  }

  /** Changes the fields given (the bind password left out is kept); with `ifMatch`, a stale version is an ECMPreconditionError (412). */
  async updateDirectory(id: string, fields: DirectoryFields, ifMatch: string | null, opts?: CallOptions): Promise<Versioned<ECMDirectory>> {
    checkFields(fields, "directory", DIRECTORY_UPDATE_FIELDS);
    return this.#versioned("PUT", `/security/v1/external-user-storage/${enc(id)}`, { body: fields, headers: ifMatch ? { "if-match": ifMatch } : {}, idempotent: false, ...call(opts) });
  }

  /**
   * Removes a directory; its users are kept disabled (`users: "disable"`, the default) or deleted with
   * its groups. With `ifMatch`, one changed since that version stays: an ECMPreconditionError (412).
   */
  async deleteDirectory(id: string, ifMatch: string | null, opts?: CallOptions & { users?: "disable" | "delete" }): Promise<void> {
    await this.#http.request("DELETE", `/security/v1/external-user-storage/${enc(id)}`, { query: { users: opts?.users }, headers: ifMatch ? { "if-match": ifMatch } : {}, ...call(opts, ["users"]) });
  }

  /** One identity provider (its secret masked) and its ETag, to send back as `ifMatch`. */
  async identityProvider(alias: string, opts?: CallOptions): Promise<Versioned<ECMIdentityProvider>> {
    return this.#versioned("GET", `/idp/v1/external-identity-provider/${enc(alias)}`, call(opts));
  }

  /**
   * Changes the fields given (the secret left out is kept); with `ifMatch`, a stale version is an ECMPreconditionError (412).
   * A change of the issuer or client id of a provider with links needs `links` (`keep` or `remove`): without it, an ECMConflictError (409).
   */
  async updateIdentityProvider(alias: string, fields: IdentityProviderFields, ifMatch: string | null, opts?: CallOptions & { links?: LinkFate }): Promise<Versioned<ECMIdentityProvider>> {
    checkFields(fields, "identity provider", PROVIDER_UPDATE_FIELDS);
    const c = call(opts, ["links"]);
    return this.#versioned("PUT", `/idp/v1/external-identity-provider/${enc(alias)}`, { body: fields, query: { links: opts?.links }, headers: ifMatch ? { "if-match": ifMatch } : {}, idempotent: false, ...c });
  }

  /** Removes an identity provider and its links; its sessions end. With `ifMatch`, one changed since that version stays: an ECMPreconditionError (412). */
  async deleteIdentityProvider(alias: string, ifMatch: string | null, opts?: CallOptions): Promise<void> {
    await this.#http.request("DELETE", `/idp/v1/external-identity-provider/${enc(alias)}`, { headers: ifMatch ? { "if-match": ifMatch } : {}, ...call(opts) });
  }

  async roles(opts?: CallOptions): Promise<RestRole[]> {
    return (await this.#http.request<RestRole[]>("GET", "/security/v1/roles", call(opts))).data;
  }

  /** One page of the audit log, newest first. */
  async auditEvents(filter: RestAuditFilter, page: { max: number; cursor?: string | null }, opts?: CallOptions): Promise<Page<RestAuditEvent>> {
    return this.#page("/security/v1/audit-events", { ...filter }, page.max, page.cursor, call(opts));
  }

  /** Every action the audit log records (what `auditEvents`' `action` filter takes), sorted. */
  async auditActions(opts?: CallOptions): Promise<string[]> {
    return (await this.#http.request<string[]>("GET", "/security/v1/audit-events/actions", call(opts))).data;
  }

  async me(opts?: CallOptions): Promise<RestMe> {
    return (await this.#http.request<RestMe>("GET", "/security/v1/me", call(opts))).data;
  }

  async changeMyPassword(currentPassword: string, newPassword: string, opts?: CallOptions): Promise<void> {
    await this.#http.request("PUT", "/security/v1/me/password", { body: { currentPassword, newPassword }, idempotent: false, ...call(opts) });
  }

  /** Starts a server-side action over the users of a filter or of a list of ids; answers at once (202). */
  async startBulkAction(request: { action: BulkActionName; groupId?: string } & ({ filter: RestUserFilter } | { ids: string[] }), opts?: CallOptions): Promise<RestBulkAction> {
    return (await this.#http.request<RestBulkAction>("POST", "/security/v1/users/bulk-actions", { body: request, idempotent: false, ...call(opts) })).data;
  }

  async bulkAction(id: string, opts?: CallOptions): Promise<RestBulkAction> {
    return (await this.#http.request<RestBulkAction>("GET", `/security/v1/users/bulk-actions/${enc(id)}`, call(opts))).data;
  }

  /** Stops a running action: the batch on its way is rolled back, those before it stay done (409 once it has ended). */
  async cancelBulkAction(id: string, opts?: CallOptions): Promise<RestBulkAction> {
    // Sent again after a broken connection it finds the run cancelled already: a 409, not a second cancel.
    return (await this.#http.request<RestBulkAction>("POST", `/security/v1/users/bulk-actions/${enc(id)}/cancel`, { idempotent: false, ...call(opts) })).data;
  }

  async bulkActions(opts?: CallOptions): Promise<RestBulkAction[]> {
    return (await this.#http.request<RestBulkAction[]>("GET", "/security/v1/users/bulk-actions", call(opts))).data;
  }
}
