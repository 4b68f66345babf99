/** REST shapes (server JSON) and SDK shapes (seed 000, camelCased). */

export interface RestFederatedIdentity {
  alias: string;
  displayName: string;
}

/** A user as the REST API returns it. Extended fields are present with `extendedInfo=true`. */
export interface RestUser {
  id: string;
  numericId: number;
  username: string;
  loginName: string;
  firstName: string | null;
  lastName: string | null;
  displayName: string;
  email: string | null;
  dn: string | null;
  description: string | null;
  enabled: boolean;
  builtin: boolean;
  federatedIdentities: RestFederatedIdentity[] | null;
  profileId: number;
  groups?: string[];
  validFrom?: string | null;
  validTo?: string | null;
  /** Where the account comes from (extended): a directory's id and name, an identity provider's alias and display name. */
  source?: { type: "builtin" | "local" | "directory" | "identity-provider"; id: string | null; name: string | null };
  /** Extended: `validTo` has passed. */
  expired?: boolean;
  lockedOutUntil?: string | null;
  changePassword?: boolean;
  passwordNeverExpires?: boolean;
  serviceAccount?: boolean;
}

export interface RestGroup {
  id: string;
  numericId: number;
  name: string;
  path: string;
  dn: string | null;
  description: string | null;
  builtin: boolean;
  essential: boolean;
  external: boolean;
  profileUserId: number;
  /**
   * Only in the answers about one group (`group`, `createGroup`, `updateGroup`), not in lists: whether a user
   * who holds system-administrator is in it, itself or through its profile. Then only a system administrator
   * may rename or delete it or change its roles.
   */
  systemAdministratorMember?: boolean;
  /** Only in a user's groups (`userGroups`): the directory whose sync made this membership; it changes there, not here. */
  syncedBy?: string;
  /** Only in a user's groups: the identity provider (alias) whose group mapping made this membership at a login. */
  mappedBy?: string;
}

export interface RestRole {
  id: string;
  name: string;
  description: string | null;
  builtin: boolean;
  essential: boolean;
}

/** Fields of every ECMUser. */
export interface ECMUserBase {
  /** Numeric user ID (REST `numericId`). */
  id: number;
  /** Short internal user name. */
  username: string;
  /** Login credential name used for authentication. */
  loginName: string;
  /** Full display name. */
  displayName: string;
  /** E-mail address ("" when unset). */
  email: string;
  /** Globally unique identifier of the user account (REST `id`). */
  guid: string;
  /** -1 = no profile, 0 = user profile, >0 = assigned profile. */
  profileId: number;
  /** True if the account is locked (disabled; REST `enabled: false`). Not a lockout: see `lockedOut`. */
  locked: boolean;
}

/** Fields populated only with `extendedInfo: true`. */
export interface ECMUserExtendedFields {
  /** Remark (REST `description`), "" when unset. */
  remark: string;
  validFrom: Date | null;
  validTo: Date | null;
  /** Names of groups the user belongs to. */
  groups: string[];
  /**
   * True during the account-wide lockout after failed logins: until `lockedOutUntil` no password login
   * from an address the account does not know (one it logged in from in the last 30 days, by default,
   * still may). An address locked out on its own leaves it false: `lockout()` lists those.
   */
  lockedOut: boolean;
  /** When the account-wide lockout after failed logins ends; null when there is none. */
  lockedOutUntil: Date | null;
  /** A service account: it has no password and authenticates with API keys only. */
  serviceAccount: boolean;
}

/** The same fields without `extendedInfo`: always empty / null, as the seed says. */
export interface ECMUserBasicFields {
  remark: "";
  validFrom: null;
  validTo: null;
  /** One shared empty list, frozen: the groups are read with `extendedInfo: true`. */
  groups: readonly string[] & { length: 0 };
  lockedOut: false;
  lockedOutUntil: null;
  serviceAccount: false;
}

/**
 * A user account. `ECMUser<true>` (from `users({ extendedInfo: true })`) has the extended fields
 * typed as present; `ECMUser<false>` has them typed as empty; plain `ECMUser` is either.
 */
export type ECMUser<Extended extends boolean = boolean> = Extended extends true
  ? ECMUserBase & ECMUserExtendedFields
  : ECMUserBase & ECMUserBasicFields;

export type ECMUserExtended = ECMUser<true>;
export type ECMUserBasic = ECMUser<false>;

export interface ECMGroup {
  /** Numeric group ID (REST `numericId`). */
  id: number;
  name: string;
  /** Globally unique identifier of the group (REST `id`). */
  guid: string;
  /** -1, or the numeric ID of the profile user the group belongs to. */
  profileUserId: number;
  /** "" when unset. */
  description: string;
}

/** A group as a user's groups list it (`userGroups`): how the membership was made, when not by hand. */
export interface ECMUserGroup extends ECMGroup {
  /** The directory whose sync made this membership (it changes there, not here). */
  syncedBy?: string;
  /** The identity provider (alias) whose group mapping made this membership at a login. */
  mappedBy?: string;
}

/** An API key of a user, as listed: never its secret. */
export interface ECMApiKey {
  id: string;
  name: string;
  /** The key's first characters, to recognize it. */
  prefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  /** To the minute. */
  lastUsedAt: Date | null;
}

/** A user's link to an identity provider, with the subject it is to (`security.userLinks`). */
export interface ECMUserLink {
  alias: string;
  displayName: string;
  /** The user's `sub` at the provider: whoever logs in there as it logs in here as this user. */
  subject: string;
}

/** Where an account comes from, and the identity providers it logs in through (`security.userSource`). */
export interface ECMUserSource {
  type: "builtin" | "local" | "directory" | "identity-provider";
  /** The directory's id or the provider's alias the account came from; null for builtin and local accounts. */
  id: string | null;
  /** The directory's name or the provider's display name; null for builtin and local accounts. */
  name: string | null;
  /** The account's Distinguished Name in its directory; null for other accounts. */
  dn: string | null;
  /** The identity providers the account is linked to (REST `federatedIdentities`); [] when none. */
  federatedIdentities: RestFederatedIdentity[];
}

/** Why failed logins refuse a user's logins (`security.lockout`): the account-wide lockout and each address's. */
export interface ECMLockout {
  /** Until when every address the account does not know is locked out; null when it is not. */
  lockedOutUntil: Date | null;
  /** Failed logins in a row from unfamiliar addresses. */
  failedLogins: number;
  /** Addresses locked out of the account or with failed logins in a row, latest first (at most 100). */
  addresses: ECMAddressLockout[];
}

/** A client address's standing with an account. */
export interface ECMAddressLockout {
  address: string;
  /** Failed logins in a row from it. */
  failedLogins: number;
  /** Until when it is locked out of the account; null when it is not. */
  lockedOutUntil: Date | null;
  /** The account's last login from it (recent: a familiar address, which the account-wide lockout does not stop). */
  lastLoginAt: Date | null;
}

export interface ECMRole {
  /** Role ID as the server reports it. */
  id: string;
  name: string;
  /** "" when unset. */
  description: string;
  builtin: boolean;
  essential: boolean;
}

/** Options every call accepts. */
export interface CallOptions {
  /** Abort the call (ECM only; not usable with ECMSync). */
  signal?: AbortSignal;
  /**
   * Timeout for the whole call including retries, in milliseconds. For a streamed list or export: for
   * its answer to start, then for each next piece of it.
   */
  timeout?: number;
}

export interface UsersOptions<Extended extends boolean = boolean> extends CallOptions {
  /** Also populate groups, remark, validFrom and validTo. */
  extendedInfo?: Extended;
  /** Case-insensitive substring of username, first name, last name or email. */
  search?: string;
  /** Only enabled (`false`) or only locked, that is disabled, (`true`) users. */
  locked?: boolean;
  /** Only users in the account-wide lockout after failed logins (`true`), or only those who are not (`false`). */
  lockedOut?: boolean;
  /** Only users whose validTo has passed (`true`: they can no longer log in), or only those whose has not (`false`). */
  expired?: boolean;
  /**
   * -1: only users with no profile; 0: only the profiles; above 0: only the users assigned to the profile
   * with that id (the profile's ECMUser `id`; one that is no profile is an ECMNotFoundError).
   */
  profileId?: number;
  /** Only members of this group (its guid, or an ECMGroup), directly or through their profile: what groupMembers lists. */
  groupId?: string | { guid: string };
  /**
   * Only users linked to this identity provider (its alias): those its logins made and local accounts
   * linked to it, by verified email or by an administrator (linkUser). An alias no provider has is an
   * ECMNotFoundError, not an empty list.
   */
  linkedTo?: string;
  /**
   * Only users from here: `builtin`, `local`, `directory`, `identity-provider`, or one: `directory:<its id>`,
   * `identity-provider:<its alias>` (one that does not exist: ECMNotFoundError).
   */
  source?: string;
}

export interface IterUsersOptions<Extended extends boolean = boolean> extends UsersOptions<Extended> {
  /** Start after this username: the last user an earlier, interrupted iteration handled (undefined: from the first). */
  after?: string | undefined;
}

export interface UsersPageOptions<Extended extends boolean = boolean> extends UsersOptions<Extended> {
  /** Users per page (default 500, at most 10 000; with a cursor, that of the cursor's list unless given). */
  pageSize?: number;
  /**
   * `next` of the previous page: the next page of the same list. The list's options (search, filters,
   * `extendedInfo`) are the cursor's: given with it, they must be the same (else a TypeError).
   */
  cursor?: string | null;
}

export interface UsersPage<Extended extends boolean = boolean> {
  users: ECMUser<Extended>[];
  /** URL of the next page, or null on the last page. */
  next: string | null;
}

/** Writable fields of createUser / updateUser (seed names camelCased, plus REST extras). */
export interface UserFields {
  /** What the user logs in with; null sets it back to the username. */
  loginName?: string | null;
  /** null sets it back to the default ("first last", else the username), which then follows the names. */
  displayName?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
  remark?: string | null;
  profileId?: number;
  locked?: boolean;
  /** A Date or an ISO 8601 string (a date alone is its midnight UTC); null clears it. */
  validFrom?: Date | string | null;
  validTo?: Date | string | null;
  /** Must change the password at next login. */
  changePwd?: boolean;
  /** Password never expires. */
  neverExpire?: boolean;
}

export interface CreateUserFields extends UserFields {
  /** Initial password. */
  password?: string;
  /** A service account: no password, it authenticates with API keys only (chosen here, it cannot change later). */
  serviceAccount?: boolean;
}

export interface GroupFields {
  name?: string;
  description?: string | null;
}

/** What exportSecuritySystem returns: the server's export document (REST shapes). */
export interface ECMExport {
  exportedAt: string;
  roles: RestRole[];
  groups: RestGroup[];
  /** `groupId` is the group's guid. */
  roleMappings: { groupId: string; roleName: string }[];
  /** Extended REST view of every (selected) user. */
  users: RestUser[];
  /** Direct memberships, by guid. */
  memberships: { userId: string; groupId: string }[];
  [key: string]: unknown;
}

/** The signed-in account (`GET /security/v1/me`), REST shape. */
export type RestMe = RestUser & {
  /** The account has a password here to change (false: its directory's or identity providers' logins only). */
  hasPassword?: boolean;
  [key: string]: unknown;
};

/** An OpenID Connect identity provider's `config` (Ops Center field names). */
export interface ECMIdentityProviderConfig {
  issuer: string;
  authorizationUrl: string;
  tokenUrl: string;
  userInfoUrl: string | null;
  jwksUrl: string;
  scopes: string[];
  clientAuthMethod: "client_secret_basic" | "client_secret_post" | "none";
  usernameClaim: string;
  emailClaim: string;
  firstNameClaim: string;
  lastNameClaim: string;
  groupsClaim: string;
  /** Link a first login to the one local user with the same email when the provider says it is verified. */
  trustEmail: boolean;
  /** Read-only: register this redirect URI at the provider. */
  redirectUri: string;
}

/** An identity provider (`/idp/v1/external-identity-provider`), REST shape. */
export interface ECMIdentityProvider {
  id: string;
  providerType: "oidc";
  alias: string;
  displayName: string;
  /** The issuer or its discovery document; the endpoints are read from it. */
  fromUrl: string | null;
  enabled: boolean;
  guiOrder: number;
  /** Guids of the local groups every user of the provider joins. */
  defaultGroupList: string[];
  /** A value of the groups claim → a local group's guid. */
  customGroupList: { idpGroupName: string; localGroupId: string }[];
  clientId: string;
  /** Always `"**********"` when set (write-only); sending it back keeps the secret. */
  clientSecret: string | null;
  config: ECMIdentityProviderConfig;
}

/**
 * What becomes of an identity provider's links when a change moves its issuer or client id (a subject is
 * unique only at its issuer): `keep` — the same people, with the same subjects; `remove` — as when the provider is deleted.
 */
export type LinkFate = "keep" | "remove";

/** What creating or changing an identity provider sends; on update, fields left out keep their value. */
export interface IdentityProviderFields {
  displayName?: string;
  fromUrl?: string | null;
  enabled?: boolean;
  guiOrder?: number;
  defaultGroupList?: string[];
  customGroupList?: { idpGroupName: string; localGroupId: string }[];
  clientId?: string;
  clientSecret?: string | null;
  config?: Partial<Omit<ECMIdentityProviderConfig, "redirectUri">>;
}

/** A provider as the login page lists it (`GET /auth/v1/providers`, no token needed). */
export interface ECMLoginProvider {
  alias: string;
  displayName: string;
  guiOrder: number;
}

/** Which entry attribute fills each user field of a directory's users; `uniqueId` keys them across renames and moves. */
export interface DirectoryAttributeMapping {
  username: string;
  loginName: string;
  firstName: string;
  lastName: string;
  email: string;
  displayName: string;
  /** `objectGUID` (Active Directory), `entryUUID` elsewhere; cannot change once the directory has users. */
  uniqueId: string;
}

/** A directory (external user storage: Active Directory, OpenLDAP, …) at `/security/v1/external-user-storage`, REST shape. */
export interface ECMDirectory {
  id: string;
  name: string;
  /** Lower first: a directory of lower number takes over a username or login name that a user of a higher-numbered one holds; also the order of periodic syncs that are due together. */
  priority: number;
  vendor: "ACTIVE_DIRECTORY" | "OTHER";
  /** `ldap://` or `ldaps://` URLs, space-separated, tried in order (one that could not be reached is tried after the others for a minute). */
  connectionUrl: string;
  startTls: boolean;
  /** PEM of the CA(s) that sign the directory's certificate, besides the system's. */
  caCertificate: string | null;
  /** Let passwords cross a connection that is neither LDAPS nor StartTLS. */
  allowUnencryptedPasswords: boolean;
  baseDn: string;
  /** null: anonymous reads. Set, it needs its bindPassword (a DN with no password would be an unauthenticated bind: 400). */
  bindDn: string | null;
  /** Write-only: always null when read. */
  bindPassword: null;
  /** Where users are searched: `baseDn` or an entry under it; null: `baseDn`. */
  userSearchBase: string | null;
  userFilter: string;
  groupFilter: string;
  attributeMapping: DirectoryAttributeMapping;
  /** The directory groups to import (their nested groups come along). */
  groupEntryDnList: string[];
  /** Members of a directory group (nested ones too) join a local group (its guid). */
  groupMappings: { groupDn: string; localGroupId: string }[];
  /** Seconds between periodic syncs; 0: only when started. */
  syncPeriodSeconds: { full: number; changed: number };
  /** A full sync that would disable more than this share of the directory's users disables nobody unless forced. */
  disableLimitPercent: number;
  pageSize: number;
  timeoutSeconds: number;
  enabled: boolean;
  /** Read-only: when its last sync started (`directorySync(id)` shows it); null: it never synced. */
  lastSyncStartedAt: string | null;
}

/**
 * What creating or changing a directory sends; on update, fields left out keep their value. The
 * bind password: left out or null keeps the stored one, `""` removes it. A `bindDn` needs one (400
 * otherwise), sent again when `bindDn`, `caCertificate` or the servers change, or when `startTls` is
 * turned off while an `ldap://` server is among them, or `allowUnencryptedPasswords` on.
 */
export type DirectoryFields = Partial<Omit<ECMDirectory, "id" | "bindPassword" | "attributeMapping" | "syncPeriodSeconds" | "userFilter" | "groupFilter">> & {
  bindPassword?: string | null;
  /** Left out keeps the stored filter; null sets the vendor's default again. */
  userFilter?: string | null;
  groupFilter?: string | null;
  /** Left out keeps the stored attribute; null sets the vendor's default again. */
  attributeMapping?: { [K in keyof DirectoryAttributeMapping]?: string | null };
  syncPeriodSeconds?: Partial<ECMDirectory["syncPeriodSeconds"]>;
};

/** A new directory: name, connection URL and base DN at least (a directory not yet saved has no last sync). */
export type NewDirectoryFields = Omit<DirectoryFields, "lastSyncStartedAt"> & { name: string; connectionUrl: string; baseDn: string };

/** An unsaved configuration to test: as a new directory's, its name optional (nothing is stored). */
export type DirectoryConfigToTest = Omit<NewDirectoryFields, "name"> & { name?: string };

/** What a connection test found, in words: each step, the users the filter finds and three of them as they would be imported. */
/** What testing an identity provider found: its keys read, and this service's client credentials accepted by its token endpoint. */
export interface ECMIdentityProviderTest {
  ok: boolean;
  /** The first failed step's message, or that all worked. */
  message: string;
  steps: { step: "keys" | "client"; ok: boolean; message: string }[];
}

export interface ECMDirectoryTest {
  ok: boolean;
  message: string;
  /** The URL that answered. */
  server: string | null;
  steps: { step: string; ok: boolean; message: string }[];
  usersFound: number | null;
  /** The count stopped at the server's cap. */
  usersFoundCapped: boolean;
  sample: {
    uniqueId: string;
    dn: string;
    username: string;
    loginName: string;
    firstName: string | null;
    lastName: string | null;
    displayName: string;
    email: string | null;
    enabled: boolean;
    changePassword: boolean;
  }[];
}

export type DirectorySyncMode = "full" | "changed";

/** A directory's current or last sync (`GET …/{id}/sync`). */
export interface ECMDirectorySync {
  id: number;
  state: "running" | "succeeded" | "failed" | "interrupted";
  mode: DirectorySyncMode;
  forced: boolean;
  startedBy: string | null;
  startedAt: string;
  finishedAt: string | null;
  seen: number;
  created: number;
  updated: number;
  disabled: number;
  unchanged: number;
  failed: number;
  /** Memberships the run added (users who joined a group), and removed (only ever ones a sync made). */
  joined: number;
  left: number;
  usersPerSecond: number;
  /** The first problems, with the entry's DN. */
  problems: { dn: string; message: string }[];
  /** Why it failed, or why it disabled nobody. */
  message: string | null;
}

/** A user for importUsers, in the names createUser takes, plus its groups by name and an existing hash. */
export interface ImportUserRecord extends CreateUserFields {
  username: string;
  /** All of the user's own groups, by name (`users` is always kept); left out, an existing user keeps its groups. */
  groups?: string[];
  /** Another system's hash in PHC format (argon2id, argon2i, bcrypt, PBKDF2-SHA256 as Keycloak keeps it), instead of `password`. */
  passwordHash?: string;
}

/** `csv`: a header row naming the columns; `ndjson`: a JSON object a line (the REST field names). */
export type ImportFormat = "csv" | "ndjson";

/**
 * What importUsers reads: a file path (Node), a Blob or File, bytes, a ReadableStream or a Node readable
 * of bytes, or any (async) iterable of byte chunks or strings — sent as they are, but for a JSON array
 * or a Keycloak realm export, whose elements or users are sent as NDJSON — or of
 * {@link ImportUserRecord}s, sent as NDJSON.
 */
export type ImportSource =
  | string
  | Blob
  | Uint8Array
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>
  | AsyncIterable<ImportUserRecord>
  | Iterable<ImportUserRecord>;

export interface ImportOptions extends CallOptions {
  /** Of bytes: from the file name or Blob type, else `ndjson` when the first character is `{`, else `csv`. Records are NDJSON. */
  format?: ImportFormat;
  /** Check every row as a real import would, and change nothing. */
  dryRun?: boolean;
  /** Update users that exist (default true); false: such a row fails with ECMS1301. */
  update?: boolean;
  /**
   * The charset of a file's or bytes' text when it is not UTF-8 — `"windows-1252"` for a CSV saved by
   * Excel on Windows; a Blob's type may say it instead. The server reads the rows in it.
   */
  charset?: string;
}

/** The server's answer for one row, as its batch committed. */
export interface ECMImportResult {
  /** Where the row starts in the input, from 1 (a CSV's header is line 1). */
  line: number;
  username: string | undefined;
  status: "created" | "updated" | "unchanged" | "failed";
  /** The user's guid; none for a failed row, or a created one in a dry run. */
  guid?: string;
  /** Why the row failed: the server's code (`ECMS…`), message and details (`field`, …). */
  error?: { code: string; message: string; [detail: string]: unknown };
}

/** The counts of a whole import: what importUsers' iteration returns at its end. */
export interface ECMImportSummary {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  dryRun: boolean;
}
