import type {
  ECMGroup,
  ECMRole,
  ECMUser,
  RestGroup,
  RestRole,
  RestUser,
  UserFields,
  CreateUserFields,
} from "./types.js";

function toDate(v: string | null | undefined): Date | null {
  if (v === null || v === undefined || v === "") return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Maps a REST user to the seed's ECMUser. Extended fields only when `extended`. */
export function toECMUser<E extends boolean>(u: RestUser, extended: E): ECMUser<E> {
  const base = {
    id: u.numericId,
    username: u.username,
    loginName: u.loginName ?? u.username,
    displayName: u.displayName ?? u.username,
    email: u.email ?? "",
    guid: u.id,
    profileId: u.profileId ?? -1,
    locked: !u.enabled,
  };
  if (extended) {
    return {
      ...base,
      remark: u.description ?? "",
      validFrom: toDate(u.validFrom),
      validTo: toDate(u.validTo),
      groups: Array.isArray(u.groups) ? [...u.groups] : [],
      lockedOut: u.lockedOutUntil != null,
      lockedOutUntil: toDate(u.lockedOutUntil),
    } as ECMUser<E>;
  }
  return { ...base, remark: "", validFrom: null, validTo: null, groups: [], lockedOut: false, lockedOutUntil: null } as unknown as ECMUser<E>;
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

export function toECMRole(r: RestRole): ECMRole {
  return {
    id: String(r.id),
    name: r.name,
    description: r.description ?? "",
    builtin: Boolean(r.builtin),
    essential: Boolean(r.essential),
  };
}

function isoOrNull(v: Date | string | null): string | null {
  if (v === null) return null;
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new TypeError("invalid Date");
    return v.toISOString();
  }
  return v;
}

const USER_FIELDS = new Set([
  "loginName", "displayName", "firstName", "lastName", "email", "remark", "profileId",
  "locked", "validFrom", "validTo", "changePwd", "neverExpire", "password",
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

/** An unknown name (a typo, the seed's snake_case, a REST name) would be dropped silently: refuse it. */
function checkFieldNames(f: object): void {
  for (const k of Object.keys(f)) {
    if (USER_FIELDS.has(k) || CALL_OPTIONS.has(k)) continue;
    const camel = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hint = REST_NAMES[k] ?? REST_NAMES[camel] ?? (USER_FIELDS.has(camel) ? camel : undefined);
    throw new TypeError(`unknown user field "${k}"${hint ? `; use ${hint}` : ""}`);
  }
}

/** Maps SDK field names to the REST body; fields left undefined are left out. */
export function toRestUserBody(f: UserFields | CreateUserFields): Record<string, unknown> {
  checkFieldNames(f);
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
  if (f.validFrom !== undefined) body.validFrom = isoOrNull(f.validFrom);
  if (f.validTo !== undefined) body.validTo = isoOrNull(f.validTo);
  set("changePassword", f.changePwd);
  set("passwordNeverExpires", f.neverExpire);
  if ("password" in f) set("password", f.password);
  return body;
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
