import type { ApiKeys } from "../auth/api-keys.js";
import type { LoginService } from "../auth/login.js";
import type { PasswordHasher } from "../auth/passwords.js";
import type { SecretBox } from "../auth/secret-box.js";
import type { Sessions } from "../auth/sessions.js";
import type { SigningKeys } from "../auth/signing-keys.js";
import type { Config } from "../config.js";
import type { AuditTally } from "../domain/audit.js";
import type { GroupAdmin } from "../domain/groups.js";
import type { BulkActions } from "../domain/bulk-actions.js";
import type { PasswordPolicy } from "../domain/password-policy.js";
import type { UserAdmin } from "../domain/users.js";
import type { DirectoryService } from "../directory/directories.js";
import type { JwksCache } from "../federation/jwks.js";
import type { Linking } from "../federation/linking.js";
import type { LoginFlow } from "../federation/login-flow.js";
import type { ProviderAdmin } from "../federation/providers.js";
import type { GroupQueries } from "../storage/group-queries.js";
import type { Store } from "../storage/store.js";
import type { UserQueries } from "../storage/user-queries.js";
import type { Guard } from "./auth-guard.js";

/** What the route modules are given: queries and services, never a global. */
export interface AppDeps {
  config: Config;
  store: Store;
  users: UserQueries;
  groups: GroupQueries;
  sessions: Sessions;
  /** The token keys: current signer, JWKS, rotation. */
  signingKeys: SigningKeys;
  login: LoginService;
  /** Audit events counted in memory and written each second (refused attempts: domain/audit.ts). */
  auditTally: AuditTally;
  hasher: PasswordHasher;
  /** Checks every new password (domain/password-policy.ts). */
  passwordPolicy: PasswordPolicy;
  guard: Guard;
  /** API keys of accounts (create, list, revoke; the guard authenticates with them). */
  apiKeys: ApiKeys;
  userAdmin: UserAdmin;
  groupAdmin: GroupAdmin;
  /** Actions over many users, run in batches (domain/bulk-actions.ts). */
  bulkActions: BulkActions;
  /** Seals and opens the secrets kept in the store. */
  secrets: SecretBox;
  /** Identity providers: their configuration, the linking rules, the browser login, their signing keys. */
  providers: ProviderAdmin;
  linking: Linking;
  loginFlow: LoginFlow;
  jwks: JwksCache;
  /** External user storage: directory configurations, connection tests, syncs. */
  directories: DirectoryService;
}
