import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { postgresDialect } from "../dialect/postgres/postgres-dialect.js";
import { sqliteDialect } from "../dialect/sqlite/sqlite-dialect.js";
import { emailKeysMigration } from "./014m-email-keys.js";

for (const kind of storeKinds) {
  describe(`migration 014m on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("gives every user with an email its folded key (beyond ASCII), over more than a batch, and indexes it in place of lower(email)", async () => {
      await withBareDatabase(kind, async (db) => {
        // The table as the migrations before left it, with the columns that matter here.
        await sql`create table users (id integer primary key, email text)`.execute(db);
        await sql`create index users_email_key on users (lower(email))`.execute(db);
        await sql`insert into users (id, email) values (1, 'Élodie@Exemple.FR'), (2, null), (3, 'ｍａｘ@example.com')`.execute(db);
        const many = Array.from({ length: 6000 }, (_, i) => `(${i + 10}, 'user${i}@Example.com')`).join(",");
        await sql`insert into users (id, email) values ${sql.raw(many)}`.execute(db);

        await emailKeysMigration(kind === "postgres" ? postgresDialect : sqliteDialect).up(db);

        const key = async (id: number) => (await sql<{ email_key: string | null }>`select email_key from users where id = ${id}`.execute(db)).rows[0]!.email_key;
        assert.deepEqual([await key(1), await key(2), await key(3), await key(6009)], ["élodie@exemple.fr", null, "max@example.com", "user5999@example.com"]);
      });
    });
  });
}
