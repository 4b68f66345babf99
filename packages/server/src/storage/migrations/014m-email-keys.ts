import { sql, type Kysely, type Migration } from "kysely";
import { emailKeyOf } from "../../domain/user-fields.js";
import type { StoreDialect } from "../dialect/dialect.js";
import type { Database } from "../schema.js";

const BATCH = 5000;

/**
 * `users.email_key`: the email as it is compared (domain/user-fields.ts emailKeyOf), written with the
 * email by every writer. Linking a provider's verified email and a directory's email clashes compared
 * `lower(email)`, which SQLite folds for ASCII letters only (and PostgreSQL as its database's locale
 * says): `Élodie@…` matched `élodie@…` on one store and not on the other.
 */
export function emailKeysMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("users").addColumn("email_key", "text").execute();
      await rewriteEmailKeys(db, dialect);
      await sql`drop index users_email_key`.execute(db);
      await db.schema.createIndex("users_email_fold").on("users").column("email_key").execute();
    },
  };
}

/** Every user's `email_key` made what emailKeyOf says, read in batches; only the rows that differ are written. */
export async function rewriteEmailKeys(db: Kysely<any>, dialect: StoreDialect): Promise<void> {
  for (let after = 0; ; ) {
    const rows: { id: number; email: string; email_key: string | null }[] = await db.selectFrom("users").select(["id", "email", "email_key"]).where("id", ">", after).where("email", "is not", null).orderBy("id").limit(BATCH).execute();
    if (rows.length === 0) break;
    const changed = rows.flatMap((r) => (emailKeyOf(r.email) === r.email_key ? [] : [{ id: r.id, email_key: emailKeyOf(r.email) }]));
    if (changed.length > 0) await db.transaction().execute((trx) => dialect.updateJson(trx as Kysely<Database>, "users", ["email_key"], changed));
    after = rows[rows.length - 1]!.id;
  }
}
