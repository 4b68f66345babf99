import type { FieldNames } from "./options.js";
import type { DirectoryAttributeMapping, ECMIdentityProviderConfig, IdentityProviderFields, NewDirectoryFields } from "./types.js";

// Each list is checked against its type (`satisfies`): a field added to the type and not here, or the other way round, does not compile.

const ATTRIBUTE_MAPPING = { username: true, loginName: true, firstName: true, lastName: true, email: true, displayName: true, uniqueId: true } as const satisfies Record<keyof DirectoryAttributeMapping, true>;

/** What createDirectory and testDirectoryConfig send. */
export const DIRECTORY_FIELDS = {
  name: true,
  priority: true,
  vendor: true,
  connectionUrl: true,
  startTls: true,
  caCertificate: true,
  allowUnencryptedPasswords: true,
  baseDn: true,
  bindDn: true,
  bindPassword: true,
  userSearchBase: true,
  userFilter: true,
  groupFilter: true,
  attributeMapping: ATTRIBUTE_MAPPING,
  groupEntryDnList: true,
  groupMappings: { groupDn: true, localGroupId: true },
  syncPeriodSeconds: { full: true, changed: true },
  disableLimitPercent: true,
  pageSize: true,
  timeoutSeconds: true,
  enabled: true,
} as const satisfies Record<keyof NewDirectoryFields, FieldNames[string]>;

/** What updateDirectory sends: a directory read with directory() may be sent back as it is (the server checks that `id` is its own; `lastSyncStartedAt` is read-only). */
export const DIRECTORY_UPDATE_FIELDS: FieldNames = { ...DIRECTORY_FIELDS, id: true, lastSyncStartedAt: true };

const PROVIDER_CONFIG = {
  issuer: true,
  authorizationUrl: true,
  tokenUrl: true,
  userInfoUrl: true,
  jwksUrl: true,
  scopes: true,
  clientAuthMethod: true,
  usernameClaim: true,
  emailClaim: true,
  firstNameClaim: true,
  lastNameClaim: true,
  groupsClaim: true,
  trustEmail: true,
  redirectUri: true,
} as const satisfies Record<keyof ECMIdentityProviderConfig, true>;

/** What createIdentityProvider sends (the alias is its own argument). */
export const PROVIDER_FIELDS = {
  displayName: true,
  fromUrl: true,
  enabled: true,
  guiOrder: true,
  defaultGroupList: true,
  customGroupList: { idpGroupName: true, localGroupId: true },
  clientId: true,
  clientSecret: true,
  config: PROVIDER_CONFIG,
} as const satisfies Record<keyof IdentityProviderFields, FieldNames[string]>;

/** What updateIdentityProvider sends: a provider read with identityProvider() may be sent back as it is (the server checks `id`, `alias` and `config.redirectUri`). */
export const PROVIDER_UPDATE_FIELDS: FieldNames = { ...PROVIDER_FIELDS, id: true, alias: true, providerType: true };
