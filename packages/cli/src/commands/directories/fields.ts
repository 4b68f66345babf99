/** The options `directories create`, `update` and `test` share, the directory and sync rows, and finding a directory by id or name. */
import { readFile } from "node:fs/promises";
import { isGuid, type DirectoryAttributeMapping, type DirectoryFields, type ECMDirectory, type ECMDirectorySync } from "ecm-sdk";
import { flagPair, str } from "../../args.js";
import type { Ctx, OptionHelp, Options } from "../../command.js";
import { CliError, ExitCode, fileProblem, UsageError } from "../../errors.js";
import { findGroup, groupNamer } from "../../lookup.js";
import { textCells, type OutputFormat, type Row } from "../../output.js";
import { readStdin } from "../../prompt.js";

export const DIRECTORY_COLUMNS = ["id", "name", "vendor", "enabled", "priority", "connectionUrl", "baseDn", "lastSyncStartedAt"];
export const DIRECTORY_DETAIL_COLUMNS = [
  ...DIRECTORY_COLUMNS, "startTls", "caCertificate", "allowUnencryptedPasswords", "bindDn", "bindPassword", "userSearchBase", "userFilter", "groupFilter",
  "attributeMapping", "groupEntryDnList", "groupMappings", "syncPeriodSeconds", "disableLimitPercent", "pageSize", "timeoutSeconds",
];

/** The directory as listed; JSON and NDJSON keep the API's answer. */
export const directoryRow = (d: ECMDirectory, format: OutputFormat): Row =>
  textCells(format)
    ? {
        ...d,
        // The PEM's first line says whether there is one; the whole of it would fill the screen.
        caCertificate: d.caCertificate === null ? null : "(PEM set)",
        // The API reads it as null; a table says why.
        bindPassword: format === "table" ? "(write-only)" : d.bindPassword,
      }
    : { ...d };

/** The directory in full: a table or CSV names the local groups it maps to (`cn=admins,…=staff`), JSON keeps the API's guids. */
export async function directoryDetailRow(ctx: Ctx, d: ECMDirectory): Promise<Row> {
  const row = directoryRow(d, ctx.format);
  if (!textCells(ctx.format)) return row;
  const name = await groupNamer(ctx, d.groupMappings.map((m) => m.localGroupId));
  return { ...row, groupMappings: d.groupMappings.map((m) => `${m.groupDn}=${name(m.localGroupId)}`) };
}

export const SYNC_COLUMNS = [
  "id", "state", "mode", "forced", "startedBy", "startedAt", "finishedAt", "seen", "created", "updated", "disabled", "unchanged", "failed", "joined", "left", "usersPerSecond", "message", "problems",
];
export const syncRow = (s: ECMDirectorySync, format: OutputFormat): Row => (textCells(format) ? { ...s, problems: s.problems.map((p) => `${p.dn}: ${p.message}`) } : { ...s });

/** A directory by id, or by its name (exact, else the only one whose name matches ignoring case). */
export async function findDirectory(ctx: Ctx, ref: string): Promise<ECMDirectory> {
  const sec = ctx.ecm().security;
  if (isGuid(ref)) return sec.directory(ref);
  const all = await sec.directories();
  const exact = all.find((d) => d.name === ref);
  if (exact) return exact;
  const folded = all.filter((d) => d.name.toLowerCase() === ref.toLowerCase());
  if (folded.length === 1) return folded[0]!;
  throw new CliError(`no directory named ${ref} (ecm directories list)`, ExitCode.notFound);
}

const VENDORS: Record<string, ECMDirectory["vendor"]> = { ad: "ACTIVE_DIRECTORY", active_directory: "ACTIVE_DIRECTORY", other: "OTHER", openldap: "OTHER" };

/** Plain text options by option name → the field they set. */
const TEXT_OPTIONS = {
  "connection-url": "connectionUrl",
  "base-dn": "baseDn",
  "user-search-base": "userSearchBase",
  "user-filter": "userFilter",
  "group-filter": "groupFilter",
} as const;

/** Integer options → the field, and the smallest value. */
const INTEGER_OPTIONS = {
  priority: ["priority", Number.MIN_SAFE_INTEGER],
  "disable-limit": ["disableLimitPercent", 0],
  "page-size": ["pageSize", 1],
  "ldap-timeout": ["timeoutSeconds", 1],
} as const;

const MAPPED_FIELDS = ["username", "loginName", "firstName", "lastName", "email", "displayName", "uniqueId"] as const;

export const DIRECTORY_OPTIONS: Options = {
  vendor: { type: "string" },
  ...Object.fromEntries([...Object.keys(TEXT_OPTIONS), ...Object.keys(INTEGER_OPTIONS)].map((o) => [o, { type: "string" as const }])),
  "bind-dn": { type: "string" },
  "bind-password-stdin": { type: "boolean" },
  "start-tls": { type: "boolean" },
  "no-start-tls": { type: "boolean" },
  "ca-file": { type: "string" },
  "allow-unencrypted-passwords": { type: "boolean" },
  "no-allow-unencrypted-passwords": { type: "boolean" },
  attribute: { type: "string", short: "a", multiple: true },
  group: { type: "string", short: "g", multiple: true },
  map: { type: "string", short: "m", multiple: true },
  "full-every": { type: "string" },
  "changed-every": { type: "string" },
  enable: { type: "boolean" },
  disable: { type: "boolean" },
};

/** Where the bind password comes from, said when the server asks for it. */
export const BIND_PASSWORD_OPTIONS = "--bind-password-stdin or ECM_BIND_PASSWORD";

export const DIRECTORY_OPTION_HELP: OptionHelp[] = [
  ["--vendor ad|other", "Active Directory, or OpenLDAP and the like (sets the default filters and attributes)"],
  ["--connection-url \"URL …\"", "ldap:// or ldaps:// URLs, space-separated, tried in order"],
  ["--base-dn DN", "the directory's base"],
  ["--bind-dn DN", "the service account that reads the directory (\"\": anonymous); it needs its password"],
  ["--bind-password-stdin", "read its password from standard input (else ECM_BIND_PASSWORD; never an argument); sent again\nwhen the bind DN, CA or servers change, StartTLS is turned off for an ldap:// server or unencrypted\npasswords allowed"],
  ["--start-tls | --no-start-tls", "upgrade an ldap:// connection with StartTLS"],
  ["--ca-file FILE", "PEM of the CA(s) that sign the directory's certificate (\"\": the system's only)"],
  ["--allow-unencrypted-passwords | --no-allow-unencrypted-passwords", "let logins bind without TLS"],
  ["--user-search-base DN, --user-filter FILTER, --group-filter FILTER", "(\"\": the base DN, the vendor's filters)"],
  ["-a, --attribute FIELD=ATTR", "which attribute fills a user field: username, loginName, firstName, lastName,\nemail, displayName, uniqueId (repeatable; the others keep theirs)"],
  ["-g, --group DN", "a directory group to import, its nested groups too (repeatable; replaces the list; \"\": none)"],
  ["-m, --map GROUPDN=GROUP", "members of a directory group join a local group (repeatable; replaces the list; \"\": none)"],
  ["--full-every SECONDS, --changed-every SECONDS", "periodic syncs (0: only when started)"],
  ["--disable-limit PERCENT", "a full sync that would disable more of the users disables nobody (default 10)"],
  ["--priority N", "the lower number wins a username or login name two directories have (default 0)"],
  ["--page-size N, --ldap-timeout SECONDS"],
  ["--enable | --disable"],
];

function integer(text: string, option: string, min: number): number {
  if (!/^-?\d+$/.test(text) || Number(text) < min) throw new UsageError(`--${option} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` of at least ${min}` : ""}`);
  return Number(text);
}

/** Splits FIRST=SECOND at its last `=` (DNs have `=` of their own). */
function pair(text: string, option: string, shape: string): [string, string] {
  const eq = text.lastIndexOf("=");
  if (eq <= 0 || eq === text.length - 1) throw new UsageError(`--${option} ${text}: expected ${shape}`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** The fields the options set; the bind password comes from stdin or ECM_BIND_PASSWORD, never from an argument. */
export async function directoryFields(ctx: Ctx): Promise<DirectoryFields> {
  const v = ctx.values;
  const fields: DirectoryFields = {};
  const name = str(v, "name");
  if (name !== undefined) fields.name = name;
  const vendor = str(v, "vendor");
  if (vendor !== undefined) {
    fields.vendor = VENDORS[vendor.toLowerCase()];
    if (!fields.vendor) throw new UsageError("--vendor must be ad or other");
  }
  for (const [option, field] of Object.entries(TEXT_OPTIONS)) {
    const value = str(v, option);
    if (value === undefined) continue;
    // "" clears: the base DN for the search base, the vendor's default for a filter.
    if (field === "connectionUrl" || field === "baseDn") fields[field] = value;
    else fields[field] = value === "" ? null : value;
  }
  for (const [option, [field, min]] of Object.entries(INTEGER_OPTIONS)) {
    const value = str(v, option);
    if (value !== undefined) fields[field] = integer(value, option, min);
  }
  const bindDn = str(v, "bind-dn");
  if (bindDn !== undefined) fields.bindDn = bindDn === "" ? null : bindDn;
  if (v["bind-password-stdin"]) fields.bindPassword = (await readStdin(ctx.io.stdin)).replace(/\r?\n$/, "");
  // Anonymous reads: the stored password was the former account's, and the server keeps none without a
  // bindDn (ECM_BIND_PASSWORD, kept in the environment for other commands, is not sent with --bind-dn "").
  else if (fields.bindDn === null) fields.bindPassword = "";
  else if (ctx.io.env.ECM_BIND_PASSWORD) fields.bindPassword = ctx.io.env.ECM_BIND_PASSWORD;
  const startTls = flagPair(v, "start-tls", "no-start-tls");
  if (startTls !== undefined) fields.startTls = startTls;
  const unencrypted = flagPair(v, "allow-unencrypted-passwords", "no-allow-unencrypted-passwords");
  if (unencrypted !== undefined) fields.allowUnencryptedPasswords = unencrypted;
  const enabled = flagPair(v, "enable", "disable");
  if (enabled !== undefined) fields.enabled = enabled;
  const caFile = str(v, "ca-file");
  if (caFile !== undefined) {
    try {
      fields.caCertificate = caFile === "" ? null : await readFile(caFile, "utf8");
    } catch (err) {
      throw new CliError(`cannot read ${caFile}: ${fileProblem(err, true)}`, ExitCode.error);
    }
  }
  const attributes = v.attribute as string[] | undefined;
  if (attributes) {
    const mapping: Partial<DirectoryAttributeMapping> = {};
    for (const a of attributes) {
      const [field, attribute] = pair(a, "attribute", "FIELD=ATTRIBUTE");
      if (!(MAPPED_FIELDS as readonly string[]).includes(field)) throw new UsageError(`--attribute ${a}: the field is one of ${MAPPED_FIELDS.join(", ")}`);
      mapping[field as keyof DirectoryAttributeMapping] = attribute;
    }
    fields.attributeMapping = mapping;
  }
  // "" empties a list (no value of either is empty).
  const groups = v.group as string[] | undefined;
  if (groups) fields.groupEntryDnList = groups.filter((g) => g !== "");
  const maps = v.map as string[] | undefined;
  if (maps) {
    fields.groupMappings = await Promise.all(
      maps.filter((m) => m !== "").map(async (m) => {
        const [groupDn, local] = pair(m, "map", "GROUPDN=GROUP");
        return { groupDn, localGroupId: (await findGroup(ctx, local)).guid };
      }),
    );
  }
  const full = str(v, "full-every");
  const changed = str(v, "changed-every");
  if (full !== undefined || changed !== undefined) {
    fields.syncPeriodSeconds = {
      ...(full !== undefined ? { full: integer(full, "full-every", 0) } : {}),
      ...(changed !== undefined ? { changed: integer(changed, "changed-every", 0) } : {}),
    };
  }
  return fields;
}

/** The fields of a new directory (create, or a test of a configuration that is not stored). */
export async function newDirectoryFields(ctx: Ctx, name: string) {
  const fields = await directoryFields(ctx);
  if (fields.connectionUrl === undefined) throw new UsageError("missing --connection-url");
  if (fields.baseDn === undefined) throw new UsageError("missing --base-dn");
  return { ...fields, name, connectionUrl: fields.connectionUrl, baseDn: fields.baseDn };
}
