import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql, type Kysely } from "kysely";
import pg from "pg";
import { createTemporaryDatabase, storeSkip } from "../../../test-support/server.js";
import { openStore, type Store } from "../../store.js";

const url = process.env.ECM_TEST_DATABASE_URL;

describe("PostgreSQL statements kept per connection", { skip: storeSkip("postgres") }, () => {
  let store: Store;
  let other: pg.Client;
  let drop: () => Promise<void>;
  // One connection, so that what it prepared is what the next statement sees.
  const db = () => store.db as unknown as Kysely<any>;
  const prepared = async () => (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db())).rows.map((r) => r.statement);

  before(async () => {
    const database = await createTemporaryDatabase(url!);
    drop = database.drop;
    store = await openStore({ kind: "postgres", url: database.url, poolSize: 1 });
    other = new pg.Client({ connectionString: database.url });
    await other.connect();
    await other.query("create table kept (a integer primary key, name text)");
    await other.query("insert into kept values (1, 'one'), (2, 'two')");
  });

  after(async () => {
    await other.end();
    await store.close();
    await drop();
  });

  it("prepares a statement with parameters at its second use and runs it by name after", async () => {
    const byKey = (a: number) => db().selectFrom("kept").select("name").where("a", "=", a).executeTakeFirst();
    const kept = async () => (await prepared()).filter((text) => text.includes('from "kept"')).length;
    assert.deepEqual(await byKey(1), { name: "one" });
    assert.equal(await kept(), 0, "a text used once (a time written into it) takes no name");
    assert.deepEqual(await byKey(2), { name: "two" });
    assert.deepEqual(await byKey(1), { name: "one" });
    assert.equal(await kept(), 1);
  });

  it("plans a search by pattern at each use", async () => {
    const rows = await db().selectFrom("kept").select("a").where("name", "like", "t%").execute();
    assert.deepEqual(rows, [{ a: 2 }]);
    assert.ok(!(await prepared()).some((text) => text.includes("like")));
  });

  it("runs a kept statement again when another node's migration changed its result columns", async () => {
    const all = (a: number) => db().selectFrom("kept").selectAll().where("a", "=", a).executeTakeFirst();
    assert.deepEqual(await all(1), { a: 1, name: "one" });
    assert.deepEqual(await all(2), { a: 2, name: "two" });
    await other.query("alter table kept add column note text");
    assert.deepEqual(await all(1), { a: 1, name: "one", note: null });
    await db().transaction().execute(async (trx) => assert.deepEqual(await trx.selectFrom("kept").selectAll().where("a", "=", 2).executeTakeFirst(), { a: 2, name: "two", note: null }));
    await other.query("alter table kept add column seen integer");
    await db().transaction().execute(async (trx) => assert.deepEqual(await trx.selectFrom("kept").selectAll().where("a", "=", 2).executeTakeFirst(), { a: 2, name: "two", note: null, seen: null }));
  });
});
