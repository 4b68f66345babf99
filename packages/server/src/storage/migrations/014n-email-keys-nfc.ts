import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";
import { rewriteEmailKeys } from "./014m-email-keys.js";

/**
 * 014m's keys folded emails as names (NFKC), so a provider's verified `ｓｅｃａｄｍ@…` linked the account
 * of `secadm@…`: the keys are rewritten as emails are now compared (NFC, then case).
 */
export function emailKeysNfcMigration(dialect: StoreDialect): Migration {
  return { up: (db: Kysely<any>) => rewriteEmailKeys(db, dialect) };
}
