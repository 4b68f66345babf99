/** Options shared by the users commands: the writable fields and the list filters. */
import type { UserFields, UsersOptions } from "ecm-sdk";

type UserFilter = Pick<UsersOptions, "search" | "locked" | "lockedOut" | "expired" | "profileId" | "groupId" | "linkedTo" | "source">;
import { flagPair, str } from "../../args.js";
import type { Ctx, OptionHelp, Options, Values } from "../../command.js";
import { UsageError } from "../../errors.js";
import { findGroup } from "../../lookup.js";
import { findDirectory } from "../directories/fields.js";

export const USER_FIELD_OPTIONS: Options = {
  "login-name": { type: "string" },
  "display-name": { type: "string" },
  "first-name": { type: "string" },
  "last-name": { type: "string" },
  email: { type: "string" },
  remark: { type: "string" },
  "profile-id": { type: "string" },
  "valid-from": { type: "string" },
  "valid-to": { type: "string" },
  locked: { type: "boolean" },
  unlocked: { type: "boolean" },
  "change-password": { type: "boolean" },
  "no-change-password": { type: "boolean" },
  "never-expire": { type: "boolean" },
  "no-never-expire": { type: "boolean" },
};
export const USER_FIELD_HELP: OptionHelp[] = [
  ["--login-name NAME, --display-name NAME", "\"\" sets one back to its default"],
  ["--first-name NAME, --last-name NAME, --email ADDRESS, --remark TEXT", "\"\" clears"],
  ["--profile-id N"],
  ["--valid-from DATE, --valid-to DATE", "ISO 8601 date (its midnight UTC) or time with a zone; \"\" clears"],
  ["--locked | --unlocked", "disable / enable the account"],
  ["--change-password | --no-change-password", "must change the password at next login"],
  ["--never-expire | --no-never-expire", "password never expires"],
];

/** The filters `users list` and `users count` share. */
export const USER_FILTER_OPTIONS: Options = {
  search: { type: "string", short: "s" },
  locked: { type: "boolean" },
  unlocked: { type: "boolean" },
  "locked-out": { type: "boolean" },
  expired: { type: "boolean" },
  "not-expired": { type: "boolean" },
  "profile-id": { type: "string" },
  group: { type: "string" },
  "linked-to": { type: "string" },
  source: { type: "string" },
};
export const USER_FILTER_HELP: OptionHelp[] = [
  ["-s, --search TEXT", "substring of username, first or last name or email (case-insensitive)"],
  ["--locked", "only locked accounts, that is disabled ones (see users lock)"],
  ["--unlocked", "only enabled accounts"],
  ["--locked-out", "only accounts locked out after failed logins (users unlock ends it)"],
  ["--expired", "only accounts whose valid-to has passed (they can no longer log in)"],
  ["--not-expired", "only accounts whose valid-to has not passed, or that have none"],
  ["--profile-id N", "-1: only accounts with no profile; 0: only the profiles; else only the accounts\nassigned to the profile with this id"],
  ["--group GROUP", "only members of this group (by name or guid), directly or through their profile"],
  ["--linked-to ALIAS", "only accounts linked to this identity provider: those it made and local ones linked to it"],
  ["--source SOURCE", "only accounts from builtin, local, directory, identity-provider,\nor one: directory:NAME (or its id), identity-provider:ALIAS"],
];

const SOURCES = ["builtin", "local", "directory", "identity-provider"];

/** The filters given; a group, and a directory named in --source, are found by their name or id (the server takes their ids). */
export async function userFilter(ctx: Ctx): Promise<UserFilter> {
  const v = ctx.values;
  const group = str(v, "group");
  return {
    search: str(v, "search"),
    locked: flagPair(v, "locked", "unlocked"),
    ...(v["locked-out"] ? { lockedOut: true } : {}),
    expired: flagPair(v, "expired", "not-expired"),
    profileId: filterProfileId(str(v, "profile-id")),
    groupId: group === undefined ? undefined : (await findGroup(ctx, group)).guid,
    linkedTo: str(v, "linked-to"),
    source: await sourceOf(ctx, str(v, "source")),
  };
}

/** `--profile-id` of a filter: -1, 0 or a profile's id. */
function filterProfileId(given: string | undefined): number | undefined {
  const id = profileIdOf(given);
  if (id !== undefined && id < -1) throw new UsageError(`--profile-id is -1 (no profile), 0 (the profiles) or a profile's id, not ${id}`);
  return id;
}

/** `--profile-id`, a whole number (create and update take it so too). */
function profileIdOf(given: string | undefined): number | undefined {
  if (given === undefined) return undefined;
  if (!/^-?\d+$/.test(given)) throw new UsageError(`--profile-id: not an integer: ${given}`);
  return Number(given);
}

async function sourceOf(ctx: Ctx, given: string | undefined): Promise<string | undefined> {
  if (given === undefined) return undefined;
  const colon = given.indexOf(":");
  const type = (colon < 0 ? given : given.slice(0, colon)).toLowerCase();
  if (!SOURCES.includes(type) || (colon >= 0 && (type === "builtin" || type === "local" || colon === given.length - 1))) {
    throw new UsageError(`--source must be ${SOURCES.join(", ")}, directory:NAME or identity-provider:ALIAS`);
  }
  if (colon < 0) return type;
  const ref = given.slice(colon + 1);
  return `${type}:${type === "directory" ? (await findDirectory(ctx, ref)).id : ref}`;
}

export function userFieldsFrom(v: Values): UserFields {
  const f: UserFields = {};
  const nullable = (s: string | undefined) => (s === undefined ? undefined : s === "" ? null : s);
  if (str(v, "login-name") !== undefined) f.loginName = nullable(str(v, "login-name"));
  if (str(v, "display-name") !== undefined) f.displayName = nullable(str(v, "display-name"));
  if (str(v, "first-name") !== undefined) f.firstName = nullable(str(v, "first-name"));
  if (str(v, "last-name") !== undefined) f.lastName = nullable(str(v, "last-name"));
  if (str(v, "email") !== undefined) f.email = nullable(str(v, "email"));
  if (str(v, "remark") !== undefined) f.remark = nullable(str(v, "remark"));
  const pid = profileIdOf(str(v, "profile-id"));
  if (pid !== undefined) f.profileId = pid;
  // Dates as they are: the SDK reads a date alone as its midnight UTC, and the server refuses what is no time.
  if (str(v, "valid-from") !== undefined) f.validFrom = nullable(str(v, "valid-from"));
  if (str(v, "valid-to") !== undefined) f.validTo = nullable(str(v, "valid-to"));
  const pair = (yes: string, no: string) => flagPair(v, yes, no);
  const locked = pair("locked", "unlocked");
  if (locked !== undefined) f.locked = locked;
  const cp = pair("change-password", "no-change-password");
  if (cp !== undefined) f.changePwd = cp;
  const ne = pair("never-expire", "no-never-expire");
  if (ne !== undefined) f.neverExpire = ne;
  return f;
}
