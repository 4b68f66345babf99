import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sql, type Kysely } from "kysely";
import { createTemporaryDatabase, storeSkip } from "../../test-support/server.js";
import { openStore, type Store } from "../store.js";

/** Texts an array literal or a JSON list must carry as they are. */
const AWKWARD = ["plain", "with,comma", 'with "quotes"', "with {braces}", "back\\slash", "NULL", "", " spaced ", "Jürgen ѕуѕаdmin", "uid=b1,ou=people"];

for (const kind of ["sqlite", "postgres"] as const) {
  describe(`StoreDialect.inList [${kind}]`, { skip: storeSkip(kind) }, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const db = () => store.db as unknown as Kysely<any>;
    const among = async (column: "name" | "a", values: readonly string[] | readonly number[]) =>
      (await db().selectFrom("listed").select("a").where(store.dialect.inList(column, values)).orderBy("a").execute()).map((r) => r.a as number);

    before(async () => {
      if (kind === "sqlite") {
        const dir = mkdtempSync(join(tmpdir(), "ecm-in-list-"));
        store = await openStore({ kind, file: join(dir, "store.sqlite3") });
        cleanup = async () => rmSync(dir, { recursive: true, force: true });
      } else {
        const database = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!);
        store = await openStore({ kind, url: database.url, poolSize: 1 });
        cleanup = database.drop;
      }
      await sql`create table listed (a integer primary key, name text not null)`.execute(db());
      for (const [i, name] of AWKWARD.entries()) await sql`insert into listed (a, name) values (${i + 1}, ${name})`.execute(db());
    });

    after(async () => {
      await store.close();
      await cleanup();
    });

    it("finds the rows of each text and number as it is, and none for an empty list", async () => {
      for (const [i, name] of AWKWARD.entries()) assert.deepEqual(await among("name", [name, "absent"]), [i + 1], JSON.stringify(name));
      assert.deepEqual(await among("name", AWKWARD), AWKWARD.map((_, i) => i + 1));
      assert.deepEqual(await among("a", [3, 1, 99]), [1, 3]);
      assert.deepEqual(await among("name", []), []);
      assert.deepEqual(await among("a", []), []);
    });

    if (kind === "postgres") {
      it("is one statement text whatever the number of values, kept prepared on the connection", async () => {
        const kept = async () => (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db())).rows.filter((r) => r.statement.includes('from "listed"')).map((r) => r.statement);
        const before = (await kept()).length;
        const keys = Array.from({ length: 1000 }, (_, i) => `key ${i}`);
        // A text of its own (the name selected), not yet kept.
        const names = (values: string[]) => db().selectFrom("listed").select("name").where(store.dialect.inList("name", values)).execute();
        for (const size of [1, 10, 1000]) assert.deepEqual(await names(["plain", ...keys.slice(0, size)]), [{ name: "plain" }]);
        const texts = await kept();
        assert.equal(texts.length, before + 1, "three lists of different lengths: one text, prepared at its second use");
        assert.ok(texts.some((text) => text.startsWith('select "name"') && text.includes("= any($1::text[])")), texts.join("\n"));
      });
    }
  });
}
