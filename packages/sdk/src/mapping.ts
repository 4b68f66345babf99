import { ECMValidationError } from "./errors.js";
import { malformed } from "./json-split.js";
import type {
  ECMGroup,
  ECMUserGroup,
  ECMRole,
  ECMUser,
  ECMUserSource,
  RestGroup,
  RestRole,
  RestUser,
  UserFields,
  CreateUserFields,
} from "./types.js";

/** A date of the REST view, built once; null when unset. */
function toDate(v: string | null | undefined): Date | null {
  if (v === null || v === undefined || v === "") return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** One frozen empty list for every user of a plain list (its groups are not read; typed read-only). */
const NO_GROUPS = Object.freeze([]) as readonly string[] & { length: 0 };

/**
 * Group names repeat across a directory's users: each distinct name is kept once (a few thousand
 * groups, not a string per membership). Bounded, so that a stream of ever new names cannot grow it.
 */
const groupNames = new Map<string, string>();
const GROUP_NAMES_KEPT = 100_000;
function groupName(name: string): string {
  const kept = groupNames.get(name);
  if (kept !== undefined) return kept;
  if (groupNames.size < GROUP_NAMES_KEPT) groupNames.set(name, name);
  return name;
}

function groupsOf(groups: string[] | undefined): string[] {
  // A list of its own, as every extended user's groups are a list the script may change.
  if (!Array.isArray(groups) || groups.length === 0) return [];
  const out = new Array<string>(groups.length);
  for (let i = 0; i < groups.length; i++) out[i] = groupName(groups[i]!);
  return out;
}

/**
 * The REST fields an ECMUser is made of, in the order of the server's view (the order of its user
 * schema, the extended fields last), which is the order of the values in a `shape=arrays` list.
 */
const PLAIN_ROW = ["id", "username", "email", "enabled", "numericId", "loginName", "displayName", "profileId"] as const;
const EXTENDED_ROW = [
  "id", "username", "email", "description", "enabled", "numericId", "loginName", "displayName", "profileId",
  "groups", "validFrom", "validTo", "lockedOutUntil", "serviceAccount",
] as const;
type RowField = (typeof EXTENDED_ROW)[number];

/** Where each field sits in a row (-1: not in a plain one). */
function positions(row: readonly RowField[]): Record<RowField, number> {
  return Object.fromEntries(EXTENDED_ROW.map((f) => [f, row.indexOf(f)])) as Record<RowField, number>;
}
const PLAIN_AT = positions(PLAIN_ROW);
const EXTENDED_AT = positions(EXTENDED_ROW);

/**
 * The REST fields an ECMUser is made of, asked for with the list's `fields=`: the server then leaves
 * out the rest (firstName, dn, builtin, source, …), which the SDK would only decode and parse to drop.
 */
export function restUserFields(extended: boolean): string {
  return (extended ? EXTENDED_ROW : PLAIN_ROW).join(",");
}

/**
 * Maps a user of a `shape=arrays` list (the values of restUserFields, in that order) to the seed's
 * ECMUser; extended fields only when `extended`. Lean, as a million of them may be held: one plain
 * object of one shape (no closures, no copies), a login name equal to the username shares its string,
 * dates are built once, and the users of a plain list share one frozen empty list. About 300 bytes of heap
 * a user (docs/benchmarks.md says how that was measured).
 */
export function rowToECMUser<E extends boolean>(row: readonly unknown[], extended: E): ECMUser<E> {
  const ext = extended as boolean;
  const at = ext ? EXTENDED_AT : PLAIN_AT;
  const username = row[at.username] as string;
  const loginName = row[at.loginName] as string | null;
  return {
    id: row[at.numericId] as number,
    username,
    loginName: loginName === username || loginName == null ? username : loginName,
    displayName: (row[at.displayName] as string | null) ?? username,
    email: (row[at.email] as string | null) ?? "",
    guid: row[at.id] as string,
    profileId: (row[at.profileId] as number | null) ?? -1,
    locked: !row[at.enabled],
    remark: ext ? ((row[at.description] as string | null) ?? "") : "",
    validFrom: ext ? toDate(row[at.validFrom] as string | null) : null,
    validTo: ext ? toDate(row[at.validTo] as string | null) : null,
    groups: ext ? groupsOf(row[at.groups] as string[] | undefined) : NO_GROUPS,
    lockedOut: ext && row[at.lockedOutUntil] != null,
    lockedOutUntil: ext ? toDate(row[at.lockedOutUntil] as string | null) : null,
    serviceAccount: ext && row[at.serviceAccount] === true,
  } as ECMUser<E>;
}

/** Maps a REST user (an object, as single users and pages come) to the seed's ECMUser, as rowToECMUser does. */
export function toECMUser<E extends boolean>(u: RestUser, extended: E): ECMUser<E> {
  const fields = u as unknown as Record<RowField, unknown>;
  return rowToECMUser((extended ? EXTENDED_ROW : PLAIN_ROW).map((f) => fields[f]), extended);
}

/** Where a REST user (read extended) comes from, and the identity providers it logs in through (`security.userSource`). */
export function toUserSource(u: RestUser): ECMUserSource {
  const source = u.source ?? { type: u.builtin ? "builtin" : "local", id: null, name: null };
  return { type: source.type, id: source.id, name: source.name, dn: u.dn, federatedIdentities: u.federatedIdentities ?? [] };
}

export function toECMGroup(g: RestGroup): ECMGroup {
  return {
    id: g.numericId,
    name: g.name,
    guid: g.id,
    profileUserId: g.profileUserId ?? -1,
    description: g.description ?? "",
  };
}

/** A group of a user's groups list, with how its membership was made when not by hand. */
export function toECMUserGroup(g: RestGroup): ECMUserGroup {
  return { ...toECMGroup(g), ...(g.syncedBy !== undefined ? { syncedBy: g.syncedBy } : {}), ...(g.mappedBy !== undefined ? { mappedBy: g.mappedBy } : {}) };
}

export function toECMRole(r: RestRole): ECMRole {
  return {
    id: String(r.id),
    name: r.name,
    description: r.description ?? "",
    builtin: Boolean(r.builtin),
    essential: Boolean(r.essential),
  };
}

/**
 * A time the server takes, from a Date or an ISO 8601 string (a date alone the server reads as its
 * midnight UTC); a string is passed as it is (the server says what is wrong with one). The CLI's date
 * flags come here too.
 */
export function isoOrNull(v: Date | string | null, field: string): string | null {
  if (v === null) return null;
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new FieldTypeError(`${field} is an invalid Date`, field);
    return v.toISOString();
  }
  return v;
}

const USER_FIELDS = new Set([
  "loginName", "displayName", "firstName", "lastName", "email", "remark", "profileId",
  "locked", "validFrom", "validTo", "changePwd", "neverExpire", "password", "serviceAccount",
]);
/** Options that travel in the same object as the fields. */
const CALL_OPTIONS = new Set(["signal", "timeout", "ifMatch"]);
/** REST names a caller may reach for instead of the seed's names. */
const REST_NAMES: Record<string, string> = {
  description: "remark",
  enabled: "locked (inverted)",
  changePassword: "changePwd",
  passwordNeverExpires: "neverExpire",
};

/** A field the SDK refuses before sending anything: which one, for an import's failed row. */
export class FieldTypeError extends TypeError {
  constructor(message: string, readonly field: string) {
    super(message);
  }
}

/** An unknown name (a typo, the seed's snake_case, a REST name), or a value JSON has no form for, would be dropped silently: refuse it. */
function checkFieldNames(f: object): void {
  if (typeof f !== "object" || f === null || Array.isArray(f)) throw new TypeError(`the user's fields must be an object such as { email: "…" }, not ${f === null ? "null" : Array.isArray(f) ? "an array" : typeof f}`);
  for (const k of Object.keys(f)) {
    if (USER_FIELDS.has(k) || CALL_OPTIONS.has(k)) continue;
    const camel = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hint = REST_NAMES[k] ?? REST_NAMES[camel] ?? (USER_FIELDS.has(camel) ? camel : undefined);
    throw new FieldTypeError(`unknown user field "${k}"${hint ? `; use ${hint}` : ""}`, k);
  }
  // JSON would leave them out: the field silently not set.
  for (const [k, v] of Object.entries(f)) {
    if (typeof v === "function" || typeof v === "symbol") throw new FieldTypeError(`${k} is a ${typeof v}, not a value${typeof v === "function" ? ' (a call without its "()"?)' : ""}`, k);
  }
}

/** The flags, whose other values a JavaScript caller could pass: `locked: "no"` would lock the account. */
const BOOLEAN_FIELDS = ["locked", "changePwd", "neverExpire", "serviceAccount"] as const;

/** Maps SDK field names to the REST body; fields left undefined are left out. */
export function toRestUserBody(f: UserFields | CreateUserFields): Record<string, unknown> {
  checkFieldNames(f);
  for (const k of BOOLEAN_FIELDS) {
    const v = (f as Record<string, unknown>)[k];
    if (v !== undefined && typeof v !== "boolean") throw new FieldTypeError(`${k} must be true or false`, k);
  }
  const body: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) body[k] = v;
  };
  set("loginName", f.loginName);
  set("displayName", f.displayName);
  set("firstName", f.firstName);
  set("lastName", f.lastName);
  set("email", f.email);
  set("description", f.remark);
  set("profileId", f.profileId);
  if (f.locked !== undefined) body.enabled = !f.locked;
  if (f.validFrom !== undefined) body.validFrom = isoOrNull(f.validFrom, "validFrom");
  if (f.validTo !== undefined) body.validTo = isoOrNull(f.validTo, "validTo");
  set("changePassword", f.changePwd);
  set("passwordNeverExpires", f.neverExpire);
  // createUser's fields only: updateUser's type has neither.
  if ("password" in f) set("password", f.password);
  if ("serviceAccount" in f) set("serviceAccount", f.serviceAccount);
  return body;
}

/** The users count's answer. Not Number(…): an empty page (a proxy's, a baseUrl off by a path) would be a count of 0. */
export function countOf(data: unknown): number {
  if (typeof data !== "number" || !Number.isSafeInteger(data) || data < 0) throw malformed("a count is a JSON number");
  return data;
}

/** Parses an RFC 8288 Link header and returns the URL of `rel` (default "next"), or null. */
export function parseLinkHeader(header: string | null | undefined, rel = "next"): string | null {
  if (!header) return null;
  // Split on commas that start a new link-value (`, <`), not commas inside URLs or quoted params.
  const parts = header.split(/,\s*(?=<)/);
  for (const part of parts) {
    const m = /^\s*<([^>]*)>(.*)$/s.exec(part);
    if (!m) continue;
    const params = m[2]!;
    const relMatch = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
    const rels = (relMatch?.[1] ?? relMatch?.[2] ?? "").toLowerCase().split(/\s+/);
    if (rels.includes(rel.toLowerCase())) return m[1]!;
  }
  return null;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isGuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** The SDK's name of each REST field that has another one (toRestUserBody maps them the other way). */
// Not `enabled`: `locked` means its opposite, and the SDK refuses a flag that is not a boolean itself.
const SDK_NAMES: Record<string, string> = { description: "remark", changePassword: "changePwd", passwordNeverExpires: "neverExpire" };

/** The SDK's name of a reset password's REST field. */
export const PASSWORD_NAMES: Record<string, string> = { value: "password" };
/** The SDK's name of a users page's REST query parameter. */
export const PAGE_NAMES: Record<string, string> = { max: "pageSize" };

/**
 * The server's refusal of fields, in the SDK's names (`names`: a user's by default): `remark` is too
 * long, not `description`. Any other error is returned as it is.
 */
export function inSdkFieldNames(error: unknown, names: Record<string, string> = SDK_NAMES): unknown {
  if (!(error instanceof ECMValidationError)) return error;
  const info = error.additionalInfo as { field?: unknown } | undefined;
  const rename = renamerOf(info?.field, names);
  if (!rename) return error;
  return new ECMValidationError(rename.text(error.message), { status: error.status, code: error.code, serverMessage: rename.text(error.serverMessage), additionalInfo: { ...info, field: rename.field }, cause: error });
}

/** An import row's failure in the SDK's names, as inSdkFieldNames gives a call's (for rows the SDK made from records). */
export function rowErrorInSdkNames<E extends { message: string; field?: unknown }>(error: E): E {
  const rename = renamerOf(error.field, SDK_NAMES);
  return rename ? { ...error, message: rename.text(error.message), field: rename.field } : error;
}

/** The SDK's name of a REST field a refusal names, and its messages with that name; undefined when it has no other. */
function renamerOf(field: unknown, names: Record<string, string>): { field: string; text: (text: string) => string } | undefined {
  const sdk = typeof field === "string" && Object.hasOwn(names, field) ? names[field] : undefined;
  if (sdk === undefined) return undefined;
  return { field: sdk, text: (text) => text.replace(new RegExp(`\\b${field as string}\\b`, "g"), sdk) };
}
