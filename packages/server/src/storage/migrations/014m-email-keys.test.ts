import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { postgresDialect } from "../dialect/postgres/postgres-dialect.js";
import { sqliteDialect } from "../dialect/sqlite/sqlite-dialect.js";
import { emailKeysMigration } from "./014m-email-keys.js";
import { emailKeysNfcMigration } from "./014n-email-keys-nfc.js";

for (const kind of storeKinds) {
  describe(`migration 014m on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("gives every user with an email its key (case folded beyond ASCII; a fullwidth address stays another), over more than a batch, and indexes it in place of lower(email)", async () => {
      await withBareDatabase(kind, async (db) => {
        // The table as the migrations before left it, with the columns that matter here.
        await sql`create table users (id integer primary key, email text)`.execute(db);
        await sql`create index users_email_key on users (lower(email))`.execute(db);
        await sql`insert into users (id, email) values (1, 'Élodie@Exemple.FR'), (2, null), (3, 'ｍａｘ@example.com')`.execute(db);
        const many = Array.from({ length: 6000 }, (_, i) => `(${i + 10}, 'user${i}@Example.com')`).join(",");
        await sql`insert into users (id, email) values ${sql.raw(many)}`.execute(db);

        await emailKeysMigration(kind === "postgres" ? postgresDialect : sqliteDialect).up(db);

        const key = async (id: number) => (await sql<{ email_key: string | null }>`select email_key from users where id = ${id}`.execute(db)).rows[0]!.email_key;
        assert.deepEqual([await key(1), await key(2), await key(3), await key(6009)], ["élodie@exemple.fr", null, "ｍａｘ@example.com", "user5999@example.com"]);
      });
    });
  });
}

for (const kind of storeKinds) {
  describe(`migration 014n on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("rewrites the keys 014m folded as names (NFKC) as emails are compared, and only those", async () => {
      await withBareDatabase(kind, async (db) => {
        await sql`create table users (id integer primary key, email text, email_key text)`.execute(db);
        // As 014m wrote them: fullwidth and ligatures folded to ASCII; decomposed é left apart from é.
        await sql`insert into users (id, email, email_key) values (1, 'ｍａｘ@example.com', 'max@example.com'), (2, 'ﬁn@example.com', 'fin@example.com'), (3, ${"E\u0301lodie@exemple.fr"}, ${"e\u0301lodie@exemple.fr"}), (4, 'Plain@Example.com', 'plain@example.com'), (5, null, null)`.execute(db);
        await emailKeysNfcMigration(kind === "postgres" ? postgresDialect : sqliteDialect).up(db);
        const keys = (await sql<{ email_key: string | null }>`select email_key from users order by id`.execute(db)).rows.map((r) => r.email_key);
        assert.deepEqual(keys, ["ｍａｘ@example.com", "ﬁn@example.com", "élodie@exemple.fr", "plain@example.com", null]);
      });
    });
  });
}
