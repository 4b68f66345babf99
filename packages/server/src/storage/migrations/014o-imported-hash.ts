import type { Kysely, Migration } from "kysely";
import { importedDigest } from "../../domain/user-fields.js";
import type { StoreDialect } from "../dialect/dialect.js";
import type { Database } from "../schema.js";

const BATCH = 5000;

/**
 * `users.password_imported_digest`: the SHA-256 of the last `passwordHash` an import set on the user
 * (domain/user-fields.ts importedDigest). The first login replaces an imported hash with an argon2id one
 * of the same password, and the user may change it later: the same `passwordHash` sent again (a resent
 * or repeated delta import) is then known as already applied, not set again over them. Filled for every
 * stored hash that is not argon2id (this server makes only those: another came from an import and has
 * not logged in since), so that users imported before this migration are known too.
 */
export function importedHashMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("users").addColumn("password_imported_digest", "text").execute();
      for (let after = 0; ; ) {
        const rows: { id: number; password_hash: string }[] = await db
          .selectFrom("users")
          .select(["id", "password_hash"])
          .where("id", ">", after)
          .where("password_hash", "is not", null)
          .orderBy("id")
          .limit(BATCH)
          .execute();
        if (rows.length === 0) return;
        const imported = rows.flatMap((r) => (r.password_hash.startsWith("$argon2id$") ? [] : [{ id: r.id, password_imported_digest: importedDigest(r.password_hash) }]));
        if (imported.length > 0) await db.transaction().execute((trx) => dialect.updateJson(trx as Kysely<Database>, "users", ["password_imported_digest"], imported));
        after = rows[rows.length - 1]!.id;
      }
    },
  };
}
