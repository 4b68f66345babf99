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
  lockedOutUntil?: string | null;
  changePassword?: boolean;
  passwordNeverExpires?: boolean;
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
  /** True while the account is locked out after failed logins (it cannot log in until `lockedOutUntil`). */
  lockedOut: boolean;
  /** When a lockout after failed logins ends; null when the account is not locked out. */
  lockedOutUntil: Date | null;
}

/** The same fields without `extendedInfo`: always empty / null, as the seed says. */
export interface ECMUserBasicFields {
  remark: "";
  validFrom: null;
  validTo: null;
  groups: string[] & { length: 0 };
  lockedOut: false;
  lockedOutUntil: null;
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
  /** Timeout for the whole call including retries, in milliseconds. */
  timeout?: number;
}

export interface UsersOptions<Extended extends boolean = boolean> extends CallOptions {
  /** Also populate groups, remark, validFrom and validTo. */
  extendedInfo?: Extended;
  /** Case-insensitive substring of username, first name, last name or email. */
  search?: string;
  /** Only enabled (`false`) or only locked, that is disabled, (`true`) users. */
  locked?: boolean;
  /** Only users locked out after failed logins (`true`), or only those who are not (`false`). */
  lockedOut?: boolean;
}

export interface IterUsersOptions<Extended extends boolean = boolean> extends UsersOptions<Extended> {
  /** Users per request (default 500). */
  pageSize?: number;
}

export interface UsersPage<Extended extends boolean = boolean> {
  users: ECMUser<Extended>[];
  /** URL of the next page, or null on the last page. */
  next: string | null;
}

/** Writable fields of createUser / updateUser (seed names camelCased, plus REST extras). */
export interface UserFields {
  loginName?: string;
  displayName?: string;
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
  remark?: string | null;
  profileId?: number;
  locked?: boolean;
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
export type RestMe = RestUser & { roles?: string[]; [key: string]: unknown };

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
