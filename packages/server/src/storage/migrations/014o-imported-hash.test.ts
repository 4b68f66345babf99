import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { importedDigest } from "../../domain/user-fields.js";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { postgresDialect } from "../dialect/postgres/postgres-dialect.js";
import { sqliteDialect } from "../dialect/sqlite/sqlite-dialect.js";
import { importedHashMigration } from "./014o-imported-hash.js";

for (const kind of storeKinds) {
  describe(`migration 014o on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("keeps the digest of every stored hash this server did not make (an import's, not yet used to log in), over more than a batch", async () => {
      await withBareDatabase(kind, async (db) => {
        await sql`create table users (id integer primary key, password_hash text)`.execute(db);
        const bcrypt = "$2b$04$abcdefghijklmnopqrstuuP2vJ6dZ1VIrhW0.mOcnHb2M3sxZYLHy";
        const argon2id = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        await sql`insert into users (id, password_hash) values (1, ${bcrypt}), (2, ${argon2id}), (3, null)`.execute(db);
        const many = Array.from({ length: 6000 }, (_, i) => `(${i + 10}, '$pbkdf2-sha256$i=27500$c2FsdA$${i}')`).join(",");
        await sql`insert into users (id, password_hash) values ${sql.raw(many)}`.execute(db);

        await importedHashMigration(kind === "postgres" ? postgresDialect : sqliteDialect).up(db);

        const digest = async (id: number) => (await sql<{ password_imported_digest: string | null }>`select password_imported_digest from users where id = ${id}`.execute(db)).rows[0]!.password_imported_digest;
        assert.deepEqual([await digest(1), await digest(2), await digest(3), await digest(6009)], [importedDigest(bcrypt), null, null, importedDigest("$pbkdf2-sha256$i=27500$c2FsdA$5999")]);
      });
    });
  });
}
