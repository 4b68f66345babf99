import type { Generated, Insertable, Selectable, Updateable } from "kysely";

/**
 * The one data model of both stores. Times are ISO 8601 UTC strings and flags are 0/1 integers on
 * SQLite and PostgreSQL alike, so every query and mapping is written once. `Generated` marks columns
 * with a default.
 */

export interface UsersTable {
  /** Serial number: REST `numericId`, SDK `id`. */
  id: Generated<number>;
  uuid: string;
  username: string;
  login_name: string;
  /** Lower-cased login name: logins and uniqueness ignore case. */
  login_key: string;
  /** domain/names.ts confusableKey of the username / login name (unique; null for rows that predate it and clashed). Written from usernameColumns / loginNameColumns. */
  username_skeleton: string | null;
  login_skeleton: string | null;
  first_name: string | null;
  last_name: string | null;
  display_name: string;
  email: string | null;
  /** The email as it is compared (domain/user-fields.ts emailKeyOf; migration 014m), written with it. */
  email_key: Generated<string | null>;
  description: string | null;
  enabled: Generated<number>;
  builtin: Generated<number>;
  dn: string | null;
  /** Directory the user was imported from (null for local users). */
  directory_id: number | null;
  /** The directory's stable key of the entry (`objectGUID` as GUID text, `entryUUID`): renames and moves keep the user. */
  directory_key: Generated<string | null>;
  /** `dn` normalized for lookups (directory/dn.ts): group members are matched by it. */
  dn_key: Generated<string | null>;
  /** Active Directory: the entry's primaryGroupID, the RID of its primary group (directory/entries.ts primaryMemberKey); null elsewhere. */
  primary_group_rid: Generated<number | null>;
  /** Identity provider whose login created the user (null otherwise). */
  identity_provider_id: Generated<number | null>;
  /** Made by an identity provider's first login (migration 014i): never linked to another login by its email. */
  provider_made: Generated<number>;
  /** 1: a service account, which has no password and authenticates with API keys only. */
  service_account: Generated<number>;
  /** -1 no profile, 0 the user is a profile, >0 the profile user's id. */
  profile_id: Generated<number>;
  valid_from: string | null;
  valid_to: string | null;
  change_password: Generated<number>;
  password_never_expires: Generated<number>;
  password_hash: string | null;
  /** 1 when a system administrator set the password (its owner's change keeps the flag of the one it replaces), 0 when another administrator did (migration 014f; role-rules.ts madeBySystemAdministrator). Every insert says it: the default (1, for rows from before) would fail open. */
  password_by_system_administrator: number;
  password_changed_at: string | null;
  /** The SHA-256 (base64url) of the last `passwordHash` an import set (migration 014o): sent again, it is not set again. */
  password_imported_digest: Generated<string | null>;
  failed_logins: Generated<number>;
  lockout_count: Generated<number>;
  locked_out_until: string | null;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
  /** Lower-cased username, first name, last name and email joined by U+001F: what `search` reads. */
  search_text: string;
  // SQLite also has `sort_key`, the search index's order key; only its dialect reads it (dialect/sqlite).
}

export interface GroupsTable {
  id: Generated<number>;
  uuid: string;
  name: string;
  name_key: string;
  /** What `search` reads: domain/user-fields.ts searchFold of the name. Written from groupNameColumns. */
  search_key: Generated<string>;
  /** domain/names.ts confusableKey of the name (unique). Written from groupNameColumns. */
  name_skeleton: string | null;
  description: string | null;
  dn: string | null;
  directory_id: number | null;
  /** As on users: the directory's stable key of the group entry and the normalized DN. */
  directory_key: Generated<string | null>;
  dn_key: Generated<string | null>;
  /** Order-independent hash of the group's member list at the last sync: an unchanged group is skipped. */
  member_hash: Generated<string | null>;
  builtin: Generated<number>;
  essential: Generated<number>;
  external: Generated<number>;
  /** -1, or the id of the profile user this group belongs to. */
  profile_user_id: Generated<number>;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface RolesTable {
  id: Generated<number>;
  uuid: string;
  name: string;
  description: string | null;
  builtin: Generated<number>;
  essential: Generated<number>;
}

export interface GroupMembersTable {
  group_id: number;
  user_id: number;
  /** The directory whose sync made the membership (it removes only those); null: not a sync. */
  synced_by: number | null;
  /** The identity provider whose group mapping made the membership at a login (it removes only those); null otherwise. */
  mapped_by: number | null;
}

export interface GroupRolesTable {
  group_id: number;
  role_id: number;
}

export interface DirectoriesTable {
  id: Generated<number>;
  uuid: string;
  name: string;
  /** "ldap" or "active-directory" (the API's vendor `OTHER`, `ACTIVE_DIRECTORY`). */
  kind: string;
  /** JSON (directory/config.ts): connection, search bases, filters, mappings, sync settings; the bind password sealed. */
  config: string;
  enabled: Generated<number>;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
  /** 1 when a system administrator made it, or (providers, directories) last changed it (migration 014f; role-rules.ts madeBySystemAdministrator). */
  by_system_administrator: number;
}

export interface IdentityProvidersTable {
  id: Generated<number>;
  uuid: string;
  alias: string;
  display_name: string;
  /** JSON: issuer, client id, encrypted client secret, scopes, claim mapping. */
  config: string;
  enabled: Generated<number>;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
  /** 1 when a system administrator made it, or (providers, directories) last changed it (migration 014f; role-rules.ts madeBySystemAdministrator). */
  by_system_administrator: number;
}

export interface FederatedIdentitiesTable {
  provider_id: number;
  subject: string;
  user_id: number;
  created_at: string;
  /** 1 when a system administrator made it, or (providers, directories) last changed it (migration 014f; role-rules.ts madeBySystemAdministrator). */
  by_system_administrator: number;
}

/** A provider whose users are to be made local (migration 015c; federation/providers.ts releaseMadeUsers). */
export interface ProviderReleasesTable {
  id: Generated<number>;
  /** No reference: the provider is gone once it is deleted. */
  provider_id: number;
}

export interface SessionsTable {
  /** Random id carried in the token's `sid` claim. */
  id: string;
  user_id: number;
  created_at: string;
  /** Sliding: moved forward on use; the session is dead after it. */
  expires_at: string;
  revoked_at: string | null;
  source_ip: string | null;
  /** The identity provider, its subject and its session (`sid`) this session was opened through (migration 012b): what back-channel logout ends. */
  provider_id: number | null;
  provider_subject: string | null;
  provider_sid: string | null;
  /** 1 when a way in that a system administrator made opened it (migration 014f; role-rules.ts madeBySystemAdministrator). */
  by_system_administrator: number;
}

/** A login sent to an identity provider and not back yet (migration 012); the browser holds its id in a signed cookie. */
export interface ProviderLoginsTable {
  id: string;
  provider_id: number;
  state: string;
  nonce: string;
  code_verifier: string;
  redirect_uri: string;
  return_to: string;
  expires_at: string;
}

/** A provider login that succeeded, waiting for its one-time code to be exchanged for a token. */
export interface LoginCodesTable {
  /** SHA-256 of the code: the store never holds one that could be exchanged. */
  code_hash: string;
  provider_id: number;
  user_id: number;
  subject: string;
  /** The provider's session (`sid` of its ID token), for back-channel logout. */
  sid: string | null;
  source_ip: string | null;
  expires_at: string;
}

/** A users CSV download waiting for the browser to fetch it (migration 014p): the link is its one-time credential. */
export interface DownloadLinksTable {
  /** SHA-256 of the link's secret: the store never holds one that could be fetched. */
  link_hash: string;
  /** The session that made it, and that it acts for. */
  session_id: string;
  /** The users filter exported (the list's query parameters, as JSON). */
  filter: string;
  expires_at: string;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: string;
  actor_id: number | null;
  actor_name: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  target_name: string | null;
  source_ip: string | null;
  outcome: string;
  /** JSON: before/after of changed fields, never secrets. */
  details: string | null;
  /** How many like events this row stands for (repeated failed logins from one address in a minute). */
  count: Generated<number>;
  /** Set on an aggregated event: like events with the same key add to its count instead of adding rows. */
  aggregate_key: string | null;
}

/** Each name a target was recorded under in the audit log, once (a trigger keeps it; migration 014g). */
export interface AuditTargetNamesTable {
  target_name: string;
  target_id: string;
  /** `fold` of the name, as names are told apart: written with the event (storage/audit-names.ts; migrations 014z, 015c). */
  target_key: string | null;
}

/** Each actor name recorded in the audit log, once, with its key (the same trigger keeps it; migration 014z). */
export interface AuditActorNamesTable {
  actor_name: string;
  /** `fold` of the name, as names are told apart: written with the event (storage/audit-names.ts; migrations 014z, 015c). */
  actor_key: string | null;
}

export interface DisabledUsersTable {
  username: string;
}

/** What an account knows of one client address: failures and lockout from there, and when it last logged in from there. */
export interface LoginSourcesTable {
  user_id: number;
  source: string;
  failed_logins: Generated<number>;
  lockout_count: Generated<number>;
  locked_out_until: string | null;
  /** The address is familiar to the account while this is recent (auth/login.ts). */
  last_success_at: string | null;
  updated_at: string;
}

/** A rate limit's counter: hits in the window that ends at `reset_at`. */
export interface RateLimitsTable {
  key: string;
  hits: number;
  reset_at: string;
}

/** Token signing keys (auth/signing-keys.ts). */
export interface SigningKeysTable {
  /** RFC 7638 thumbprint of the public key: the tokens' `kid`. */
  kid: string;
  /** JWS algorithm: ES256 (generated keys) or EdDSA (an Ed25519 key file). */
  algorithm: string;
  /** Public key as a JWK (JSON). */
  public_jwk: string;
  /** PKCS #8 PEM sealed with the secret box; null for a key that lives in ECM_TOKEN_KEY_FILE. */
  private_key: string | null;
  created_at: string;
  /** Set when a newer key took over signing; the key still verifies until its tokens have expired. */
  retired_at: string | null;
}

export interface SettingsTable {
  key: string;
  value: string;
}

/** Each user's REST JSON in pieces, kept by the store's triggers (storage/user-documents.ts). */
export interface UserDocumentsTable {
  user_id: number;
  username: string;
  base: string;
  extra: string;
  valid_to: string | null;
  locked_out_until: string | null;
  tail: string;
}

/** A bulk action over users and its progress (domain/bulk-actions.ts). */
export interface BulkActionsTable {
  id: Generated<number>;
  uuid: string;
  /** disable, enable, clear-lockout, add-to-group, remove-from-group, delete. */
  action: string;
  /** JSON: `{ filter }` or `{ ids }`, and `groupId` for group actions. */
  params: string;
  actor_id: number | null;
  actor_name: string | null;
  /** JSON: the actor's roles when the action started; those of them it still holds (asked before each batch) decide whom it may touch. */
  actor_roles: string;
  /** The session or API key (uuid) that started the run (migration 014l): the run stops once it no longer lets its holder in. */
  actor_session_id: string | null;
  actor_api_key_id: string | null;
  source_ip: string | null;
  /** running, done, failed or cancelled. */
  status: string;
  /** Users the selection held when the run began (null until counted). */
  total: number | null;
  processed: Generated<number>;
  changed: Generated<number>;
  unchanged: Generated<number>;
  refused: Generated<number>;
  /** JSON: the first users refused, with the reason. */
  report: Generated<string>;
  /** Where the next batch starts: the last username done (filter) or the number of ids done. */
  cursor: string | null;
  error: string | null;
  /** The process running it; another takes over once `heartbeat_at` is stale. */
  owner: string | null;
  heartbeat_at: string;
  created_at: string;
  finished_at: string | null;
}

/** The directory's group membership graph as last read: each group's member DNs (normalized), users and groups alike. */
export interface DirectoryMembersTable {
  directory_id: number;
  group_id: number;
  member_key: string;
}

/** One sync of a directory: what `GET …/external-user-storage/{id}/sync` shows. */
export interface DirectorySyncRunsTable {
  id: Generated<number>;
  directory_id: number;
  /** "full" or "changed". */
  mode: string;
  /** "running", "succeeded", "failed" or "interrupted" (its node stopped; directory/sync-runs.ts). */
  state: string;
  /** Started by an administrator who forced the removal of more users than the safety share allows. */
  forced: Generated<number>;
  started_at: string;
  finished_at: string | null;
  /** The node keeps this fresh while it runs: a run whose heartbeat is older than the lease was interrupted. */
  heartbeat_at: string;
  started_by: string | null;
  seen: Generated<number>;
  created: Generated<number>;
  updated: Generated<number>;
  disabled: Generated<number>;
  unchanged: Generated<number>;
  failed: Generated<number>;
  /** Memberships the run added and removed. */
  joined: Generated<number>;
  left: Generated<number>;
  /** JSON array of the first problems: `{dn, message}`. */
  problems: Generated<string>;
  /** What the run says in words (why it failed, why it disabled nobody). */
  message: string | null;
}

/** Per directory: the lease that lets one node at a time sync it, and the high-water mark of `changed` syncs. */
export interface DirectorySyncStateTable {
  directory_id: number;
  /** The node that holds the lease (a random id per process) and until when. */
  lease_owner: string | null;
  lease_until: string | null;
  /** JSON: the mark the next `changed` sync reads from (directory/sync.ts). */
  high_water: string | null;
  last_full_at: string | null;
  last_changed_at: string | null;
  /** Set when a login or sync could not use the directory, cleared when one could (shown by /health). */
  unreachable_since: string | null;
  unreachable_error: string | null;
  /** Why (DirectoryProblem): "unreachable" (no connection, TLS failed), "insecure" (a connection its configuration sends no passwords over) or "bind-refused" (the service account's bind). */
  unreachable_reason: string | null;
  /** JSON array of the local groups' ids the last completed sync filled through groupMappings (migration 014h). */
  mapped_groups: string | null;
}

/** API keys (auth/api-keys.ts): only a keyed hash of each secret is kept. */
export interface ApiKeysTable {
  id: Generated<number>;
  uuid: string;
  user_id: number;
  name: string;
  /** The key's first characters, shown to recognize it. */
  prefix: string;
  secret_hash: string;
  created_at: string;
  expires_at: string | null;
  /** Written at most once a minute. */
  last_used_at: string | null;
  /** 1 when a system administrator made it, or (providers, directories) last changed it (migration 014f; role-rules.ts madeBySystemAdministrator). */
  by_system_administrator: number;
}

export interface Database {
  users: UsersTable;
  api_keys: ApiKeysTable;
  user_documents: UserDocumentsTable;
  groups: GroupsTable;
  roles: RolesTable;
  group_members: GroupMembersTable;
  group_roles: GroupRolesTable;
  directories: DirectoriesTable;
  directory_members: DirectoryMembersTable;
  directory_sync_runs: DirectorySyncRunsTable;
  directory_sync_state: DirectorySyncStateTable;
  identity_providers: IdentityProvidersTable;
  federated_identities: FederatedIdentitiesTable;
  provider_releases: ProviderReleasesTable;
  sessions: SessionsTable;
  provider_logins: ProviderLoginsTable;
  login_codes: LoginCodesTable;
  download_links: DownloadLinksTable;
  audit_events: AuditEventsTable;
  audit_target_names: AuditTargetNamesTable;
  audit_actor_names: AuditActorNamesTable;
  /** PostgreSQL only (migration 014r): the usernames of the disabled users. */
  disabled_users: DisabledUsersTable;
  settings: SettingsTable;
  signing_keys: SigningKeysTable;
  bulk_actions: BulkActionsTable;
  login_sources: LoginSourcesTable;
  rate_limits: RateLimitsTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type GroupRow = Selectable<GroupsTable>;
export type RoleRow = Selectable<RolesTable>;
export type BulkActionRow = Selectable<BulkActionsTable>;
export type IdentityProviderRow = Selectable<IdentityProvidersTable>;
export type DirectoryRow = Selectable<DirectoriesTable>;
export type SyncRunRow = Selectable<DirectorySyncRunsTable>;
