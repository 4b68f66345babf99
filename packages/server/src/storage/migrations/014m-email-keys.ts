import { sql, type Kysely, type Migration } from "kysely";
import { emailKeyOf } from "../../domain/user-fields.js";
import type { StoreDialect } from "../dialect/dialect.js";
import type { Database } from "../schema.js";

const BATCH = 5000;

/**
 * `users.email_key`: the email folded as names are (domain/user-fields.ts fold — NFKC, then Unicode
 * case), written with the email by every writer. Linking a provider's verified email and a directory's
 * email clashes compared `lower(email)`, which SQLite folds for ASCII letters only (and PostgreSQL as
 * its database's locale says): `Élodie@…` matched `élodie@…` on one store and not on the other.
 */
export function emailKeysMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("users").addColumn("email_key", "text").execute();
      for (let after = 0; ; ) {
        const rows: { id: number; email: string }[] = await db.selectFrom("users").select(["id", "email"]).where("id", ">", after).where("email", "is not", null).orderBy("id").limit(BATCH).execute();
        if (rows.length === 0) break;
        await db.transaction().execute((trx) => dialect.updateJson(trx as Kysely<Database>, "users", ["email_key"], rows.map((r) => ({ id: r.id, email_key: emailKeyOf(r.email) }))));
        after = rows[rows.length - 1]!.id;
      }
      await sql`drop index users_email_key`.execute(db);
      await db.schema.createIndex("users_email_fold").on("users").column("email_key").execute();
    },
  };
}
