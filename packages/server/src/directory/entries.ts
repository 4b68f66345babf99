import type { Entry } from "ldapts";
import { GROUP_NAME_RULE, invisibleCharacter, isGroupName, normalizeName } from "../domain/names.js";
import { defaultDisplayName, DESCRIPTION_MAX, EMAIL_MAX, fold, LOGIN_NAME_MAX, NAME_MAX, USERNAME_PATTERN, USERNAME_RULE } from "../domain/user-fields.js";
import type { Directory } from "./config.js";
import { dnKey } from "./dn.js";

/**
 * Directory entries as users and groups: the attribute mapping, the stable key, the disabled flags
 * of both kinds of directory, the change marks.
 */

/** A user entry as it would be imported. */
export interface MappedUser {
  /** `uniqueId`: objectGUID as GUID text, other bytes that are not text escaped (bytesKey), entryUUID and other text lower-cased. */
  key: string;
  dn: string;
  dnKey: string;
  /** The username and login name in their stored form (NFKC). */
  username: string;
  loginName: string;
  firstName: string | null;
  lastName: string | null;
  displayName: string;
  email: string | null;
  enabled: boolean;
  changePassword: boolean;
  /** Active Directory's primaryGroupID: the RID of the group it is a member of without being listed (primaryMemberKey). */
  primaryGroup: number | null;
}

export interface MappedGroup {
  key: string;
  dn: string;
  dnKey: string;
  /** NFKC, as stored. */
  name: string;
  description: string | null;
}

/** Why an entry is not imported (a problem of the run's report), or, for `warning`, imported with less. */
export interface EntryProblem {
  dn: string;
  message: string;
}

/** Attributes that say an account is disabled or must change its password, in Active Directory and in OpenLDAP (ppolicy, 389/Netscape). */
const STATE_ATTRIBUTES = ["userAccountControl", "accountExpires", "pwdLastSet", "nsAccountLock", "pwdAccountLockedTime", "pwdReset"];

/** The attribute whose value orders changes: `uSNChanged` on Active Directory, `modifyTimestamp` elsewhere. */
export function changeAttribute(d: Pick<Directory, "vendor">): string {
  return d.vendor === "ACTIVE_DIRECTORY" ? "uSNChanged" : "modifyTimestamp";
}

/** Active Directory's binary anchors, by lower-case name: their spelling as the directory names them. */
const BINARY_ANCHORS = new Map([
  ["objectguid", "objectGUID"],
  ["objectsid", "objectSid"],
  ["ms-ds-consistencyguid", "mS-DS-ConsistencyGuid"],
]);

/**
 * Binary attributes: read as bytes, not text (ldapts matches the names as the directory spells them).
 * Read as text, an anchor's bytes that happen to be UTF-8 would be lower-cased into another key.
 */
export function binaryAttributes(d: Pick<Directory, "attributeMapping">): string[] {
  const configured = d.attributeMapping.uniqueId;
  const canonical = BINARY_ANCHORS.get(configured.toLowerCase());
  return canonical === undefined ? [] : [...new Set([configured, canonical])];
}

const isGuid = (attribute: string) => attribute.toLowerCase() === "objectguid";

/** Active Directory's security identifier: a group's last sub-authority (its RID) is what its primary members' primaryGroupID holds. */
const SID = "objectSid";
const PRIMARY_GROUP = "primaryGroupID";

/**
 * What a user search asks for: on Active Directory its primaryGroupID too, read with the user (a
 * `changed` sync reads the users whose primary group changed, and no group needs a search of its primary members).
 */
export function userAttributes(d: Pick<Directory, "attributeMapping" | "vendor">): string[] {
  return [...new Set([...Object.values(d.attributeMapping), ...STATE_ATTRIBUTES, changeAttribute(d), ...(d.vendor === "ACTIVE_DIRECTORY" ? [PRIMARY_GROUP] : [])])];
}

/** What a group read asks for (members are read by memberValues, in ranges where the directory splits them); each name once, whatever its case (uniqueId may be objectSid). */
export function groupAttributes(d: Pick<Directory, "attributeMapping" | "vendor">): string[] {
  const names = ["cn", "description", d.attributeMapping.uniqueId, changeAttribute(d), ...(d.vendor === "ACTIVE_DIRECTORY" ? [SID] : [])];
  return [...new Map(names.map((n) => [n.toLowerCase(), n])).values()];
}

/** The binary attributes of a group read (binaryAttributes keeps a configured spelling beside the canonical one on purpose). */
export function groupBinaryAttributes(d: Pick<Directory, "attributeMapping" | "vendor">): string[] {
  return [...new Set([...binaryAttributes(d), ...(d.vendor === "ACTIVE_DIRECTORY" ? [SID] : [])])];
}

/**
 * The RID of an Active Directory group (its objectSid's last sub-authority), or null: the users whose
 * primaryGroupID it is are its members (Domain Users, 513, is every new user's), which its `member`
 * does not list. The group holds primaryMemberKey(rid) among its member keys, and so does each user
 * with that primaryGroupID (directory/sync.ts): the graph resolves them as any other member.
 */
export function primaryGroupRid(values: EntryValues, d: Pick<Directory, "vendor">): number | null {
  const sid = values.all(SID)[0];
  // Revision, the number of sub-authorities, a 6-byte authority, then the sub-authorities (32-bit, little-endian).
  if (d.vendor !== "ACTIVE_DIRECTORY" || !Buffer.isBuffer(sid) || sid.length < 12 || sid.length !== 8 + 4 * sid[1]!) return null;
  return sid.readUInt32LE(sid.length - 4);
}

/**
 * The member attributes of a group: `member` (groupOfNames, Active Directory) and `uniqueMember`
 * (groupOfUniqueNames) name members by DN; `memberUid` (posixGroup, RFC 2307) by login name.
 */
export const MEMBER_ATTRIBUTES = ["member", "uniqueMember", "memberUid"];
export const LOGIN_MEMBER_ATTRIBUTE = "memberUid";

/** Member keys of login names start so: a DN's key starts with an attribute's name, which holds no colon. */
const LOGIN_MEMBER = "memberuid:";
/** Member keys of primary groups (primaryGroupRid) start so. */
const PRIMARY_MEMBER = "primarygroupid:";

/** The member key that joins the users whose primaryGroupID is `rid` to the group of that RID. */
export function primaryMemberKey(rid: number): string {
  return PRIMARY_MEMBER + rid;
}

export function isPrimaryMemberKey(memberKey: string): boolean {
  return memberKey.startsWith(PRIMARY_MEMBER);
}

/** The RID a primary group's member key names, or null for another key. */
export function ridOfPrimaryMember(memberKey: string): number | null {
  return isPrimaryMemberKey(memberKey) ? Number(memberKey.slice(PRIMARY_MEMBER.length)) : null;
}

/** The member key of a user a group names by login name (memberUid): the name folded as logins compare it. */
export function loginMemberKey(loginName: string): string {
  return LOGIN_MEMBER + fold(normalizeName(loginName));
}

/** The folded login name (a user's login_key) a member key names, or null for a DN's key. */
export function loginKeyOfMember(memberKey: string): string | null {
  return memberKey.startsWith(LOGIN_MEMBER) ? memberKey.slice(LOGIN_MEMBER.length) : null;
}

/**
 * An entry's attributes by lower-cased name (servers answer in their own spelling). The values are kept
 * as ldapts gives them — one value alone, several in an array — and made a list only when asked for
 * all of them: a sync reads a page of a thousand entries of a dozen attributes each, most with one value.
 */
export class EntryValues {
  private readonly values = new Map<string, string | Buffer | (string | Buffer)[]>();
  constructor(readonly entry: Entry) {
    for (const name in entry) {
      if (name !== "dn") this.values.set(name.toLowerCase(), entry[name]!);
    }
  }

  all(attribute: string): (string | Buffer)[] {
    const value = this.values.get(attribute.toLowerCase());
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  }

  /** The first value as text (trimmed), or null. */
  text(attribute: string): string | null {
    const values = this.values.get(attribute.toLowerCase());
    const value = Array.isArray(values) ? values[0] : values;
    if (value === undefined) return null;
    const text = (typeof value === "string" ? value : value.toString("utf8")).trim();
    return text === "" ? null : text;
  }

  /** Attribute names present, lower-cased (ranged ones included, e.g. `member;range=0-1499`). */
  names(): string[] {
    return [...this.values.keys()];
  }
}

/** Active Directory's objectGUID bytes as GUID text: the first three groups are little-endian. */
function guidText(bytes: Buffer): string {
  if (bytes.length !== 16) return bytes.toString("hex");
  const hex = (from: number, to: number, reverse: boolean) => {
    const part = [...bytes.subarray(from, to)];
    return (reverse ? part.reverse() : part).map((b) => b.toString(16).padStart(2, "0")).join("");
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`;
}

/** The key of a uniqueId value read as bytes (objectSid, mS-DS-ConsistencyGuid, or another attribute's value that is not UTF-8): escaped as in a filter, `\ff\01…`. */
const bytesKey = (bytes: Buffer) => [...bytes].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");
const BYTES_KEY = /^(?:\\[0-9a-f]{2})+$/;

/** The bytes of a binary key (entryKey's text: objectGUID's, or bytesKey's), to look its entry up by; null for a key kept as text. */
export function keyBytes(d: Pick<Directory, "attributeMapping">, key: string): Buffer | null {
  if (!isGuid(d.attributeMapping.uniqueId)) return BYTES_KEY.test(key) ? Buffer.from(key.replace(/\\/g, ""), "hex") : null;
  const guid = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/.exec(key);
  // Not 16 bytes: guidText kept them as hex.
  if (!guid) return /^(?:[0-9a-f]{2})+$/.test(key) ? Buffer.from(key, "hex") : null;
  const littleEndian = (hex: string) => Buffer.from(hex, "hex").reverse();
  return Buffer.concat([littleEndian(guid[1]!), littleEndian(guid[2]!), littleEndian(guid[3]!), Buffer.from(guid[4]! + guid[5]!, "hex")]);
}

/** The stable key of an entry, or null when it has none. */
function entryKey(values: EntryValues, d: Pick<Directory, "attributeMapping">): string | null {
  const attribute = d.attributeMapping.uniqueId;
  const raw = values.all(attribute)[0];
  if (raw === undefined) return null;
  if (isGuid(attribute)) return guidText(Buffer.isBuffer(raw) ? raw : Buffer.from(raw, "binary"));
  // Bytes: a binary anchor's (binaryAttributes), or a value ldapts could not read as UTF-8. As text, each byte
  // that is not UTF-8 became U+FFFD, and lower-casing changed others: different anchors one key.
  return typeof raw === "string" ? raw.toLowerCase() : bytesKey(raw);
}

/** 100-nanosecond intervals from 1601 to 1970 (Active Directory's FILETIME). */
const FILETIME_EPOCH = 116_444_736_000_000_000n;
/** accountExpires values that mean "never". */
const NEVER = new Set(["0", "9223372036854775807"]);

/** pwdAccountLockedTime of an account an administrator locked (draft-behera-ldap-password-policy). */
const LOCKED_FOR_GOOD = "000001010000Z";

/** Disabled or expired in the directory, by whichever flags the entry carries. */
function isDisabled(values: EntryValues, now: number): boolean {
  const control = Number(values.text("userAccountControl") ?? "0");
  if (Number.isInteger(control) && (control & 2) !== 0) return true;
  const expires = values.text("accountExpires");
  if (expires !== null && !NEVER.has(expires) && /^\d+$/.test(expires)) {
    const at = Number((BigInt(expires) - FILETIME_EPOCH) / 10_000n);
    if (at <= now) return true;
  }
  if (values.text("nsAccountLock")?.toLowerCase() === "true") return true;
  // ppolicy's lock for good; any other time is a lockout after wrong passwords, which the directory's
  // bind ends once it ran out (the attribute stays until then): that bind decides, not we.
  return values.text("pwdAccountLockedTime") === LOCKED_FOR_GOOD;
}

/** A user entry's primaryGroupID (a RID, 32 bits), or null. */
function primaryGroupOf(values: EntryValues): number | null {
  const rid = values.text(PRIMARY_GROUP);
  return rid !== null && /^\d{1,10}$/.test(rid) && Number(rid) <= 0xffffffff ? Number(rid) : null;
}

/** Must change the password at the next login: Active Directory's pwdLastSet=0, ppolicy's pwdReset. */
function mustChangePassword(values: EntryValues): boolean {
  return values.text("pwdLastSet") === "0" || values.text("pwdReset")?.toLowerCase() === "true";
}

const USERNAME = new RegExp(USERNAME_PATTERN, "u");
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * A user entry mapped to the fields it would be imported with, or the reason it cannot be. An email
 * that is not one is left out (a warning: the user is imported without it).
 */
export function mapUser(
  values: EntryValues,
  d: Pick<Directory, "attributeMapping">,
  now = Date.now(),
): { key: string; user: MappedUser; warning?: string } | { key: string | null; problem: string; enabled: boolean } {
  const { entry } = values;
  const m = d.attributeMapping;
  const key = entryKey(values, d);
  // Whether the account may log in is read even so: a user imported before still follows it (directory/sync.ts).
  const refuse = (problem: string) => ({ key, problem, enabled: !isDisabled(values, now) });
  if (key === null) return refuse(`The entry has no ${m.uniqueId}.`);
  const typed = values.text(m.username);
  if (typed === null) return refuse(`The entry has no ${m.username} (the username).`);
  // As the user API refuses them (domain/names.ts): the entry is reported and left out, not imported under a name that passes for another.
  const hidden = invisibleCharacter(typed);
  if (hidden !== null) return refuse(`The username (${m.username}) holds an invisible or formatting character (${hidden}), which would let it pass for another name.`);
  // Names are stored in NFKC, as the API stores them (ｊｏｈｎ is john), and checked in that form.
  const username = normalizeName(typed);
  if (!USERNAME.test(username)) return refuse(`The username "${username.slice(0, 100)}" (${m.username}) is not valid here: a username ${USERNAME_RULE}, at most 64 characters.`);
  const typedLogin = values.text(m.loginName);
  const hiddenInLogin = typedLogin === null ? null : invisibleCharacter(typedLogin);
  if (hiddenInLogin !== null) return refuse(`The login name (${m.loginName}) holds an invisible or formatting character (${hiddenInLogin}), which would let it pass for another name.`);
  const loginName = typedLogin === null ? username : normalizeName(typedLogin);
  if (loginName.length > LOGIN_NAME_MAX) return refuse(`The login name (${m.loginName}) is longer than ${LOGIN_NAME_MAX} characters.`);
  const firstName = values.text(m.firstName);
  const lastName = values.text(m.lastName);
  const displayName = values.text(m.displayName) ?? defaultDisplayName(firstName, lastName, username);
  for (const [field, value] of [["firstName", firstName], ["lastName", lastName], ["displayName", displayName]] as const) {
    if (value !== null && value.length > NAME_MAX) return refuse(`${field} is longer than ${NAME_MAX} characters.`);
  }
  let email = values.text(m.email);
  let warning: string | undefined;
  if (email !== null && (email.length > EMAIL_MAX || !EMAIL.test(email))) {
    warning = `The email "${email.slice(0, 100)}" (${m.email}) is not an email address: imported without it.`;
    email = null;
  }
  const user: MappedUser = {
    key,
    dn: entry.dn,
    dnKey: dnKey(entry.dn),
    username,
    loginName,
    firstName,
    lastName,
    displayName,
    email,
    enabled: !isDisabled(values, now),
    changePassword: mustChangePassword(values),
    primaryGroup: primaryGroupOf(values),
  };
  return warning === undefined ? { key, user } : { key, user, warning };
}

/**
 * A group entry mapped to the local group it would be imported as, or the reason it cannot be; with a
 * name refused, what else the entry says (`rest`): a group imported before keeps its name and follows that.
 */
export function mapGroup(values: EntryValues, d: Pick<Directory, "attributeMapping">): { group: MappedGroup } | { problem: string; rest?: Omit<MappedGroup, "name"> } {
  const key = entryKey(values, d);
  if (key === null) return { problem: `The group has no ${d.attributeMapping.uniqueId}.` };
  const description = values.text("description");
  const rest = { key, dn: values.entry.dn, dnKey: dnKey(values.entry.dn), description: description === null ? null : description.slice(0, DESCRIPTION_MAX) };
  const refuse = (problem: string) => ({ problem, rest });
  const typed = values.text("cn");
  if (typed === null) return refuse("The group has no cn (its name).");
  const hidden = invisibleCharacter(typed);
  if (hidden !== null) return refuse(`The group's name (cn) holds an invisible or formatting character (${hidden}), which would let it pass for another name.`);
  const name = normalizeName(typed);
  // As the group API refuses it (domain/names.ts): a `/` would make the group's path another.
  if (!isGroupName(name)) return refuse(`The group's name "${name.slice(0, 100)}" (cn) is not valid here: a group's name ${GROUP_NAME_RULE}.`);
  if (name.length > NAME_MAX) return refuse(`The group's name is longer than ${NAME_MAX} characters.`);
  return { group: { ...rest, name } };
}
