import { type Kysely, Migrator, type Migration, type MigrationProvider } from "kysely";
import { existsSync } from "node:fs";
import { openPostgres, postgresStoreExists } from "./dialect/postgres/open.js";
import { openSqlite } from "./dialect/sqlite/open.js";
import type { StoreDialect } from "./dialect/dialect.js";
import { initialMigration } from "./migrations/001-initial.js";
import { auditFiltersMigration } from "./migrations/003-audit-filters.js";
import { exportCopyMigration } from "./migrations/007-export-copy.js";
import { signingKeysMigration } from "./migrations/010b-signing-keys.js";
import { nameSkeletonsMigration } from "./migrations/010b-name-skeletons.js";
import { bulkActionsMigration } from "./migrations/014-bulk-actions.js";
import { apiKeysMigration } from "./migrations/013-api-keys.js";
import { apiKeyNamesMigration } from "./migrations/013b-api-key-names.js";
import { serviceAccountsMigration } from "./migrations/010c-service-accounts.js";
import { identityProvidersMigration } from "./migrations/012-identity-providers.js";
import { sessionOriginMigration } from "./migrations/012b-session-origin.js";
import { directoriesMigration } from "./migrations/011-directories.js";
import { membershipOriginMigration } from "./migrations/011e-membership-origin.js";
import { syncRunMembershipsMigration } from "./migrations/011f-sync-run-memberships.js";
import { directoryProblemMigration } from "./migrations/011g-directory-problem.js";
import { runningSyncsMigration } from "./migrations/011h-running-syncs.js";
import { syncedNameSkeletonsMigration } from "./migrations/011i-synced-name-skeletons.js";
import { hardeningMigration } from "./migrations/010-hardening.js";
import { nfkcKeysMigration } from "./migrations/010d-nfkc-keys.js";
import { administratorMadeMigration } from "./migrations/014f-administrator-made.js";
import { auditTargetNamesMigration } from "./migrations/014g-audit-target-names.js";
import { mappedGroupsMigration } from "./migrations/014h-mapped-groups.js";
import { providerMadeMigration } from "./migrations/014i-provider-made.js";
import { providerMappedMembershipsMigration } from "./migrations/014j-provider-mapped-memberships.js";
import { providerMadeFromAuditMigration } from "./migrations/014k-provider-made-from-audit.js";
import { bulkActionCredentialMigration } from "./migrations/014l-bulk-action-credential.js";
import { emailKeysMigration } from "./migrations/014m-email-keys.js";
import { emailKeysNfcMigration } from "./migrations/014n-email-keys-nfc.js";
import { importedHashMigration } from "./migrations/014o-imported-hash.js";
import { downloadLinksMigration } from "./migrations/014p-download-links.js";
import { providerAliasFoldMigration } from "./migrations/014q-provider-alias-fold.js";
import { disabledUsersMigration } from "./migrations/014r-disabled-users.js";
import { usersFillfactorMigration } from "./migrations/014s-users-fillfactor.js";
import { primaryGroupsMigration } from "./migrations/014t-primary-groups.js";
import { countsWhereCountedMigration } from "./migrations/014u-counts-where-counted.js";
import { searchCaseFoldMigration } from "./migrations/014v-search-case-fold.js";
import { groupSearchKeysMigration } from "./migrations/014w-group-search-keys.js";
import { providerGroupMappingsMigration } from "./migrations/014x-provider-group-mappings.js";
import { auditNameKeysMigration } from "./migrations/014z-audit-name-keys.js";
import { pendingWorkMarkedMigration } from "./migrations/015c-pending-work-marked.js";
import { DEFAULT_BUSY_POLICY, type BusyPolicy } from "./busy.js";
import type { JsonBody } from "./json-body.js";
import type { Database } from "./schema.js";

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  /**
   * Every user's REST JSON after `after` (a username) in username order, at `now`, as a JSON body of
   * bytes (storage/user-documents.ts): each store streams its kept documents its fastest way, or
   * sends `fallback` where that way is busy (PostgreSQL: streams that each hold a connection).
   */
  userDocuments(after: string | undefined, extended: boolean, now: string, fallback: () => JsonBody): JsonBody;
  close(): Promise<void>;
}

export type StoreLocation = ({ kind: "sqlite"; file: string } | { kind: "postgres"; url: string; poolSize?: number }) & {
  /** Waits and tries against other writers (storage/busy.ts); DEFAULT_BUSY_POLICY when left out. */
  busy?: BusyPolicy;
};

/** How the store at `location` meets other writers. */
export function busyPolicyOf(location: StoreLocation): BusyPolicy {
  return location.busy ?? DEFAULT_BUSY_POLICY;
}

/** A migration that is one step of the store's dialect (each is described where StoreDialect declares it, "Migration NNN"). */
const step = (up: (db: Kysely<any>) => Promise<void>): Migration => ({ up });

function migrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    "001-initial": initialMigration(dialect),
    "002-search-at-scale": step((db) => dialect.createScaleIndexes(db)),
    "003-audit-filters": auditFiltersMigration,
    "004-ordered-search": step((db) => dialect.createOrderedSearch(db)),
    "005-user-count": step((db) => dialect.createUserCount(db)),
    "006-narrow-search": step((db) => dialect.createNarrowSearch(db)),
    "007-export-copy": exportCopyMigration,
    "008-user-documents": step((db) => dialect.createUserDocuments(db)),
    "009-short-needle-counts": step((db) => dialect.createShortNeedleCounts(db)),
    "014-bulk-actions": bulkActionsMigration(dialect),
    "014b-bulk-upkeep": step((db) => dialect.createBulkUpkeep(db)),
    "014c-bytewise-search-text": step((db) => dialect.compareSearchTextBytewise(db)),
    "014d-documents-in-place": step((db) => dialect.rewriteDocumentsInPlace(db)),
    "014e-arrivals-in-new-buckets": step((db) => dialect.placeArrivalsInNewBuckets(db)),
    "013-api-keys": apiKeysMigration(dialect),
    "013b-api-key-names": apiKeyNamesMigration,
    "010c-service-accounts": serviceAccountsMigration,
    "010b-signing-keys": signingKeysMigration,
    "010b-name-skeletons": nameSkeletonsMigration,
    "012-identity-providers": identityProvidersMigration,
    "012b-session-origin": sessionOriginMigration,
    "011-directories": directoriesMigration(dialect),
    "010-hardening": hardeningMigration,
    "011b-keyed-neighbours": step((db) => dialect.createKeyedNeighbours(db)),
    "011c-unkeyed-users": step((db) => dialect.keyUnkeyedUsers(db)),
    "011d-search-entries-when-changed": step((db) => dialect.searchEntriesWhenChanged(db)),
    "011e-membership-origin": membershipOriginMigration,
    "011f-sync-run-memberships": syncRunMembershipsMigration,
    "011g-directory-problem": directoryProblemMigration,
    "011h-running-syncs": runningSyncsMigration,
    "011i-synced-name-skeletons": syncedNameSkeletonsMigration,
    "010d-nfkc-keys": nfkcKeysMigration,
    "014f-administrator-made": administratorMadeMigration,
    "014g-audit-target-names": auditTargetNamesMigration(dialect),
    "014h-mapped-groups": mappedGroupsMigration,
    "014i-provider-made": providerMadeMigration,
    "014j-provider-mapped-memberships": providerMappedMembershipsMigration,
    "014k-provider-made-from-audit": providerMadeFromAuditMigration,
    "014l-bulk-action-credential": bulkActionCredentialMigration,
    "014m-email-keys": emailKeysMigration(dialect),
    "014n-email-keys-nfc": emailKeysNfcMigration(dialect),
    "014o-imported-hash": importedHashMigration(dialect),
    "014p-download-links": downloadLinksMigration,
    "014q-provider-alias-fold": providerAliasFoldMigration,
    "014r-disabled-users": disabledUsersMigration(dialect),
    "014s-users-fillfactor": usersFillfactorMigration(dialect),
    "014t-primary-groups": primaryGroupsMigration,
    "014u-counts-where-counted": countsWhereCountedMigration(dialect),
    "014v-search-case-fold": searchCaseFoldMigration,
    "014w-group-search-keys": groupSearchKeysMigration,
    "014x-provider-group-mappings": providerGroupMappingsMigration,
    "014z-audit-name-keys": auditNameKeysMigration(dialect),
    "015c-pending-work-marked": pendingWorkMarkedMigration(dialect),
  };
}

/** Whether a store is already at `location` (openStore makes one where there is none). */
export function storeExists(location: StoreLocation): Promise<boolean> {
  return location.kind === "sqlite" ? Promise.resolve(existsSync(location.file)) : postgresStoreExists(location.url);
}

/**
 * Opens the store and brings its schema up to date (every node may do this: PostgreSQL locks the
 * migrations across nodes; Kysely's SQLite adapter only within the process, the one that forks the workers).
 * Migrations were numbered as features were planned and landed in any order, so a store may have run a later one first.
 */
export async function openStore(location: StoreLocation): Promise<Store> {
  const busy = busyPolicyOf(location);
  const store = location.kind === "sqlite" ? openSqlite(location.file, busy) : openPostgres(location.url, busy, location.poolSize);
  const provider: MigrationProvider = { getMigrations: async () => migrations(store.dialect) };
  const { error } = await new Migrator({ db: store.db, provider, allowUnorderedMigrations: true }).migrateToLatest();
  if (error) {
    await store.close();
    throw error instanceof Error ? error : new Error(String(error));
  }
  return store;
}
