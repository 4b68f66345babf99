import { X509Certificate } from "node:crypto";
import { DomainError } from "../domain/errors.js";
import { definedOnly } from "../domain/users.js";
import { dnKey, isDn, isWithin } from "./dn.js";
import { parsedFilter, unsendable } from "./filters.js";
import type { DirectoryRow } from "../storage/schema.js";

/**
 * A directory's configuration (external user storage), in Ops Center's field names where it has
 * them. The `directories` row keeps the name, the vendor (`kind`) and `enabled`; its `config` JSON
 * the rest, with the bind password sealed (auth/secret-box.ts).
 */

export type Vendor = "ACTIVE_DIRECTORY" | "OTHER";

/** Which entry attribute fills each user field; `uniqueId` keys the user across renames and moves. */
export interface AttributeMapping {
  username: string;
  loginName: string;
  firstName: string;
  lastName: string;
  email: string;
  displayName: string;
  uniqueId: string;
}

export interface GroupMapping {
  /** A directory group: its members (nested ones too) join the local group. */
  groupDn: string;
  localGroupId: string;
}

export interface SyncPeriods {
  /** Seconds between periodic full syncs; 0: manual only. */
  full: number;
  /** Seconds between periodic syncs of the changes; 0: manual only. */
  changed: number;
}

/** Everything but the row's columns, as the `config` JSON keeps it. */
export interface DirectorySettings {
  /** Lower first: the order in which directories that are due sync. */
  priority: number;
  /** `ldap://` or `ldaps://` URLs, space-separated, tried in order. */
  connectionUrl: string;
  /** Upgrade ldap:// connections with StartTLS (ldaps:// ones are encrypted from the start). */
  startTls: boolean;
  /** PEM of the CA(s) to trust for LDAPS/StartTLS, besides the system's. */
  caCertificate: string | null;
  /** Passwords (the bind password, users' passwords at login) may cross an unencrypted connection. */
  allowUnencryptedPasswords: boolean;
  baseDn: string;
  /** null: anonymous reads. */
  bindDn: string | null;
  /** The bind password sealed with the server's secret key; never shown. */
  sealedBindPassword: string | null;
  /** Where users are searched (the base DN or an entry under it); null: the base DN. */
  userSearchBase: string | null;
  userFilter: string;
  groupFilter: string;
  attributeMapping: AttributeMapping;
  /** The directory groups to import (their nested groups come along). */
  groupEntryDnList: string[];
  groupMappings: GroupMapping[];
  syncPeriodSeconds: SyncPeriods;
  /** A full sync that would disable more than this share of the directory's users disables nobody, unless forced. */
  disableLimitPercent: number;
  /** Entries per page of a search (Active Directory answers at most 1 000). */
  pageSize: number;
  /** Seconds a connection, bind or search may take. */
  timeoutSeconds: number;
}

export interface Directory extends DirectorySettings {
  id: number;
  uuid: string;
  name: string;
  vendor: Vendor;
  enabled: boolean;
  version: number;
}

/** The API's view: the password is write-only (always null). */
export type DirectoryView = Omit<Directory, "id" | "uuid" | "version" | "sealedBindPassword"> & { id: string; bindPassword: null };

/** What a create or an update sends; on update, fields left out keep their value. */
export type DirectoryInput = Partial<Omit<DirectoryView, "id" | "bindPassword" | "attributeMapping" | "syncPeriodSeconds" | "userFilter" | "groupFilter">> & {
  /** Absent or null keeps the stored password; "" removes it. */
  bindPassword?: string | null;
  /** Absent keeps the stored filter; null sets the vendor's default again. */
  userFilter?: string | null;
  groupFilter?: string | null;
  /** Absent keeps the stored attribute; null sets the vendor's default again. */
  attributeMapping?: { [K in keyof AttributeMapping]?: string | null };
  syncPeriodSeconds?: Partial<SyncPeriods>;
};

const KIND_OF: Record<Vendor, string> = { ACTIVE_DIRECTORY: "active-directory", OTHER: "ldap" };
const VENDOR_OF: Record<string, Vendor> = { "active-directory": "ACTIVE_DIRECTORY", ldap: "OTHER" };

/** The fields whose default depends on the vendor. */
interface VendorDefaults {
  userFilter: string;
  groupFilter: string;
  attributeMapping: AttributeMapping;
}

export const VENDOR_DEFAULTS: Record<Vendor, VendorDefaults> = {
  ACTIVE_DIRECTORY: {
    userFilter: "(&(objectCategory=person)(objectClass=user))",
    groupFilter: "(objectClass=group)",
    attributeMapping: { username: "sAMAccountName", loginName: "sAMAccountName", firstName: "givenName", lastName: "sn", email: "mail", displayName: "displayName", uniqueId: "objectGUID" },
  },
  OTHER: {
    userFilter: "(objectClass=inetOrgPerson)",
    groupFilter: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))",
    attributeMapping: { username: "uid", loginName: "uid", firstName: "givenName", lastName: "sn", email: "mail", displayName: "cn", uniqueId: "entryUUID" },
  },
};

const DEFAULTS = {
  priority: 0,
  startTls: false,
  caCertificate: null,
  allowUnencryptedPasswords: false,
  bindDn: null,
  userSearchBase: null,
  groupEntryDnList: [],
  groupMappings: [],
  syncPeriodSeconds: { full: 0, changed: 0 },
  disableLimitPercent: 10,
  pageSize: 500,
  timeoutSeconds: 10,
  enabled: true,
} as const;

export function toDirectory(row: DirectoryRow): Directory {
  const settings = JSON.parse(row.config) as DirectorySettings;
  return {
    ...settings,
    // Saved before bare filters were parenthesized on the way in: read as they are stored now.
    userFilter: filterTerm(settings.userFilter)!,
    groupFilter: filterTerm(settings.groupFilter)!,
    id: row.id,
    uuid: row.uuid,
    name: row.name,
    vendor: VENDOR_OF[row.kind] ?? "OTHER",
    enabled: row.enabled === 1,
    version: row.version,
  };
}

export function toDirectoryView(d: Directory): DirectoryView {
  const { id, uuid, version, sealedBindPassword, ...rest } = d;
  return { id: uuid, ...rest, bindPassword: null };
}

/** The row's columns and its config JSON. */
export function toRowValues(d: Omit<Directory, "id" | "uuid" | "version">): { name: string; kind: string; enabled: number; config: string } {
  const { name, vendor, enabled, ...settings } = d;
  return { name, kind: KIND_OF[vendor], enabled: enabled ? 1 : 0, config: JSON.stringify(settings satisfies DirectorySettings) };
}

/** The settings an audit event shows: all but the password, of which only whether one is set. */
export function auditedSettings(d: Omit<Directory, "id" | "uuid" | "version">): Record<string, unknown> {
  const { sealedBindPassword, ...rest } = d;
  return { ...rest, bindPasswordSet: sealedBindPassword !== null };
}

/**
 * The next configuration from the current one (none on create) and the request. A field whose
 * default depends on the vendor follows a vendor change unless it was set to something else.
 */
export function mergeDirectory(current: Omit<Directory, "id" | "uuid" | "version"> | undefined, input: DirectoryInput, seal: (plain: string) => string): Omit<Directory, "id" | "uuid" | "version"> {
  const vendor = input.vendor ?? current?.vendor ?? "OTHER";
  const fresh = VENDOR_DEFAULTS[vendor];
  const old = current ? VENDOR_DEFAULTS[current.vendor] : undefined;
  /** The current value, or the new vendor's default where it was the old vendor's. */
  const kept = <T>(value: T | undefined, oldDefault: T | undefined, newDefault: T): T =>
    value === undefined || JSON.stringify(value) === JSON.stringify(oldDefault) ? newDefault : value;
  const mapping = Object.fromEntries(
    (Object.keys(fresh.attributeMapping) as (keyof AttributeMapping)[]).map((k) => [
      k,
      input.attributeMapping?.[k] === null ? fresh.attributeMapping[k] : input.attributeMapping?.[k] ?? kept(current?.attributeMapping[k], old?.attributeMapping[k], fresh.attributeMapping[k]),
    ]),
  ) as unknown as AttributeMapping;
  let sealedBindPassword = current?.sealedBindPassword ?? null;
  const passwordSent = input.bindPassword !== undefined && input.bindPassword !== null;
  if (passwordSent) sealedBindPassword = input.bindPassword === "" ? null : seal(input.bindPassword!);
  const pick = <K extends keyof typeof DEFAULTS>(k: K) => (input[k] ?? current?.[k] ?? DEFAULTS[k]) as Directory[K];
  const next: Omit<Directory, "id" | "uuid" | "version"> = {
    name: input.name ?? current?.name ?? "",
    vendor,
    enabled: pick("enabled"),
    priority: pick("priority"),
    connectionUrl: (input.connectionUrl ?? current?.connectionUrl ?? "").trim().split(/\s+/).join(" "),
    startTls: pick("startTls"),
    caCertificate: input.caCertificate !== undefined ? input.caCertificate : current?.caCertificate ?? null,
    allowUnencryptedPasswords: pick("allowUnencryptedPasswords"),
    baseDn: input.baseDn ?? current?.baseDn ?? "",
    bindDn: input.bindDn !== undefined ? input.bindDn : current?.bindDn ?? null,
    sealedBindPassword,
    userSearchBase: input.userSearchBase !== undefined ? input.userSearchBase : current?.userSearchBase ?? null,
    userFilter: input.userFilter === null ? fresh.userFilter : filterTerm(input.userFilter) ?? kept(current?.userFilter, old?.userFilter, fresh.userFilter),
    groupFilter: input.groupFilter === null ? fresh.groupFilter : filterTerm(input.groupFilter) ?? kept(current?.groupFilter, old?.groupFilter, fresh.groupFilter),
    attributeMapping: mapping,
    groupEntryDnList: pick("groupEntryDnList"),
    groupMappings: (input.groupMappings ?? current?.groupMappings ?? []).map((m) => ({ groupDn: m.groupDn, localGroupId: m.localGroupId.toLowerCase() })),
    syncPeriodSeconds: { ...DEFAULTS.syncPeriodSeconds, ...current?.syncPeriodSeconds, ...definedOnly(input.syncPeriodSeconds ?? {}) },
    disableLimitPercent: pick("disableLimitPercent"),
    pageSize: pick("pageSize"),
    timeoutSeconds: pick("timeoutSeconds"),
  };
  checkDirectory(next, current);
  const elsewhere = current && current.sealedBindPassword !== null && !passwordSent ? passwordElsewhere(current, next) : [];
  if (elsewhere.length > 0) {
    throw new DomainError(
      "invalid",
      `bindPassword must be sent again: ${elsewhere.join(", ")}. The stored password is sent only for the account, to the servers and as safely as it was given for: bindPassword must be sent again when bindDn changes, connectionUrl names a server (or scheme) not among the current ones, caCertificate changes, startTls is turned off for an ldap:// server or allowUnencryptedPasswords turned on.`,
      { field: "bindPassword" },
    );
  }
  return next;
}

/**
 * The server a URL names, as compared wherever that matters: the host in lower case and the port,
 * LDAP's default where left out. `ldap://DC1.corp.example/` is `ldap://dc1.corp.example:389`.
 */
export function serverOf(url: URL): string {
  return `${url.hostname.toLowerCase()}:${url.port || (url.protocol === "ldaps:" ? "636" : "389")}`;
}

/** What in a change would send the stored bind password to a server, over a connection, or for an account it was not given for (none: nothing). */
function passwordElsewhere(current: DirectorySettings, next: DirectorySettings): string[] {
  const named = (text: string) => {
    const url = new URL(text);
    return `${url.protocol}//${serverOf(url)}`;
  };
  const known = new Set(current.connectionUrl.split(" ").map(named));
  const changes: [boolean, string][] = [
    // The service account's password is that account's: not to be tried as another entry's.
    [(next.bindDn ?? "").toLowerCase() !== (current.bindDn ?? "").toLowerCase(), "bindDn changes"],
    [next.connectionUrl.split(" ").some((u) => !known.has(named(u))), "connectionUrl names a server (or scheme) not among the current ones"],
    [certificates(next.caCertificate) !== certificates(current.caCertificate), "caCertificate changes"],
    // Only the weaker direction: the password given for an encrypted connection may go over one as safe or safer.
    // To ldaps:// servers alone it crosses TLS with or without StartTLS (which applies to ldap:// only).
    [current.startTls && !next.startTls && connectionUrls(next).some((u) => u.protocol === "ldap:"), "startTls is turned off for an ldap:// server"],
    [!current.allowUnencryptedPasswords && next.allowUnencryptedPasswords, "allowUnencryptedPasswords is turned on"],
  ];
  return changes.filter(([changed]) => changed).map(([, what]) => what);
}

/** The connection URLs, in the order they are tried. */
export function connectionUrls(d: Pick<DirectorySettings, "connectionUrl">): URL[] {
  return d.connectionUrl.split(" ").map((u) => new URL(u));
}

/** The rules a configuration must follow beyond its fields' types (the route's schema checks those). */
function checkDirectory(d: Omit<Directory, "id" | "uuid" | "version">, current: Omit<Directory, "id" | "uuid" | "version"> | undefined): void {
  const invalid = (field: string, message: string) => new DomainError("invalid", message, { field });
  if (!d.name) throw invalid("name", "name is required.");
  if (!d.connectionUrl) throw invalid("connectionUrl", "connectionUrl is required.");
  // A password there would be kept, shown and audited in the clear: refused before any part is said back
  // (one holding a space or an @ splits or garbles the URL, so no part of it is safe to repeat). A host has no @.
  if (d.connectionUrl.includes("@")) throw invalid("connectionUrl", "connectionUrl must not hold a user name or password: the account goes in bindDn, its password in bindPassword (write-only).");
  for (const text of d.connectionUrl.split(" ")) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      // The URL parser refuses a port past 65535 as it refuses any garbage: a mistyped port is said as one.
      const port = /^ldaps?:\/\/[^/:]+:(\d+)\/?$/.exec(text)?.[1];
      throw invalid("connectionUrl", `connectionUrl: "${text}" ${port !== undefined && Number(port) > 65535 ? `has port ${port}: a port is 1 to 65535` : "is not a URL"}.`);
    }
    // A host name is at most 253 characters (RFC 1035); port 0 is no port one connects to.
    if ((url.protocol !== "ldap:" && url.protocol !== "ldaps:") || !url.hostname || url.hostname.length > 253 || url.port === "0" || (url.pathname !== "" && url.pathname !== "/") || url.search || text.includes("#")) {
      throw invalid("connectionUrl", `connectionUrl: "${text}" must be ldap://host[:port] or ldaps://host[:port].`);
    }
  }
  if (!d.baseDn) throw invalid("baseDn", "baseDn is required.");
  // (Not bindDn: Active Directory also binds as user@domain.)
  const dns: [string, string | null][] = [["baseDn", d.baseDn], ["userSearchBase", d.userSearchBase], ...d.groupEntryDnList.map((dn): [string, string] => ["groupEntryDnList", dn]), ...d.groupMappings.map((m): [string, string] => ["groupMappings", m.groupDn])];
  for (const [field, dn] of dns) {
    if (dn !== null && !isDn(dn)) throw invalid(field, `${field}: "${dn}" is not a distinguished name (attribute=value pairs separated by commas, such as ou=people,dc=example,dc=com; a backslash comes before one of , + = ; < > # " \\ or a space, or before two hex digits).`);
  }
  // One entry in two spellings is the same twice (the schema's uniqueItems compares the text); a list saved before this rule stops no other change.
  const once = <T>(field: "groupEntryDnList" | "groupMappings", items: T[], dn: (item: T) => string, rest: (item: T) => string) => {
    if (JSON.stringify(items) === JSON.stringify(current?.[field])) return;
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const key = `${dnKey(dn(item))}${rest(item)}`;
      const first = seen.get(key);
      if (first !== undefined) throw invalid(field, `${field} lists "${dn(items[first]!)}"${rest(item)} twice (items ${first + 1} and ${i + 1}${dn(item) === dn(items[first]!) ? ")." : `, spelled "${dn(item)}"): a DN's case and the spaces after its commas name no other entry.`}`);
      seen.set(key, i);
    });
  };
  once("groupEntryDnList", d.groupEntryDnList, (dn) => dn, () => "");
  once("groupMappings", d.groupMappings, (m) => m.groupDn, (m) => ` → ${m.localGroupId}`);
  // baseDn is the part of the directory the configuration reads (the connection test checks it, groups are
  // found under it): users searched outside it are a mistyped DN, or users whose groups are never found.
  // (A pair saved before this rule stops no other change.)
  if (d.userSearchBase !== null && !isWithin(d.userSearchBase, d.baseDn) && (d.userSearchBase !== current?.userSearchBase || d.baseDn !== current.baseDn)) {
    throw invalid("userSearchBase", `userSearchBase: "${d.userSearchBase}" is not under baseDn (${d.baseDn}): it must be the base DN or an entry under it, such as ou=people,${d.baseDn}.`);
  }
  if (d.caCertificate !== null) checkPem(d.caCertificate);
  for (const field of ["userFilter", "groupFilter"] as const) {
    try {
      parsedFilter(d[field]);
    } catch (error) {
      // ldapts's message repeats the whole filter ("… Full string: …"): the part before says what is wrong.
      const problem = (error as Error).message.split(/[.:] Full string:/)[0]!.replace(/:\s.*$/, "");
      throw invalid(field, `${field} is not an LDAP filter (RFC 4515, such as (objectClass=person)): ${problem.toLowerCase()}.`);
    }
    // (A filter saved before this rule stops no other change: such bytes are sent as they always were.)
    const problem = d[field] === current?.[field] ? null : unsendable(d[field]);
    if (problem !== null) throw invalid(field, `${field} cannot be sent to the directory as written: ${problem}.`);
  }
  if (d.bindDn === null && d.sealedBindPassword !== null) throw invalid("bindDn", 'A bind password needs a bindDn: to read anonymously, send "bindPassword": "" too, which removes the stored one.');
  // A DN with no password is an unauthenticated bind (RFC 4513 5.1.2), which some directories take as anonymous:
  // a configuration that would never read as that account. (A pair saved before this rule stops no other change.)
  if (d.bindDn !== null && d.sealedBindPassword === null && (d.bindDn !== current?.bindDn || current.sealedBindPassword !== null)) {
    throw invalid("bindPassword", `bindDn ${d.bindDn} needs its bindPassword: a bind with a DN and no password is an unauthenticated bind (RFC 4513 5.1.2), which some directories take as anonymous. Send bindPassword, or remove bindDn to read anonymously.`);
  }
}

/**
 * A filter as one parenthesized term: searches and logins put it inside `(&…(…))`, where the bare
 * `objectClass=person` that LDAP tools (and the filter parser) also take would be no filter at all.
 */
function filterTerm(filter: string | undefined): string | undefined {
  const f = filter?.trim();
  return f === undefined || f.startsWith("(") ? f : `(${f})`;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM text, without the whitespace a form may change. */
const certificates = (pem: string | null) => (pem ?? "").match(PEM_BLOCK)?.join("").replace(/\s+/g, "") ?? "";

/** One or more PEM certificates, each of which must parse. */
function checkPem(pem: string): void {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new DomainError("invalid", "caCertificate must hold PEM certificates (-----BEGIN CERTIFICATE-----).", { field: "caCertificate" });
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      throw new DomainError("invalid", "caCertificate holds a certificate that cannot be read.", { field: "caCertificate" });
    }
  }
}
