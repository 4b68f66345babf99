import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql, type Kysely } from "kysely";
import pg from "pg";
import { searchTextFor } from "../../../domain/user-fields.js";
import { createTemporaryDatabase, storeSkip } from "../../../test-support/server.js";
import { batchUserRow, insertUser, searchAllPages } from "../../../test-support/fixtures.js";
import type { Database } from "../../schema.js";
import { openStore, type Store } from "../../store.js";
import { createUserQueries } from "../../user-queries.js";
import { rebuildUserSearch } from "./search-buckets.js";

const url = process.env.ECM_TEST_DATABASE_URL;
const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** PostgreSQL searches bucket by bucket in username order: buckets must stay ranges of usernames as users come, change and go. */
describe("PostgreSQL search buckets", { skip: storeSkip("postgres") }, () => {
  let store: Store;
  let drop: () => Promise<void>;
  let databaseUrl: string;
  before(async () => {
    const database = await createTemporaryDatabase(url!);
    drop = database.drop;
    databaseUrl = database.url;
    store = await openStore({ kind: "postgres", url: database.url });
    await rebuildUserSearch(store.db, 4); // a bucket splits past 8 users
    // Names that land in the same bucket one after another, and names spread over the alphabet.
    for (let i = 0; i < 30; i++) await insertUser(store, { username: `m-${String(i).padStart(2, "0")}`, first_name: "Crowded" });
    for (const c of "zyxwvutsrqponlkjihgfedcba") await insertUser(store, { username: `${c}-spread`, first_name: "Spread" });
  });
  after(async () => {
    await store?.close();
    await drop?.();
  });

  /** Every user is in the one bucket whose range holds its username, and each bucket stays near the target size. */
  async function assertBucketsAreRanges() {
    const buckets = (await sql<{ bucket: string; first_username: string }>`select bucket, first_username from user_search_buckets order by bucket`.execute(store.db)).rows;
    for (let i = 1; i < buckets.length; i++) assert.ok(byCodePoint(buckets[i]!.first_username, buckets[i - 1]!.first_username) > 0, "first usernames grow with the bucket key");
    const rows = (await sql<{ username: string; bucket: string; counted_in: string | null; search_text: string }>`select s.username, s.bucket, s.counted_in, s.search_text from user_search s`.execute(store.db)).rows;
    const users = (await store.db.selectFrom("users").select(["username", "search_text"]).execute());
    assert.deepEqual(rows.map((r) => [r.username, r.search_text]).sort(), users.map((u) => [u.username, u.search_text]).sort(), "one row per user, same text");
    for (const row of rows) {
      const home = buckets.filter((b) => byCodePoint(b.first_username, row.username) <= 0).at(-1)!;
      assert.equal(row.bucket, home.bucket, `${row.username} sits in the bucket of its range`);
    }
    const sizes = new Map<string, number>();
    for (const row of rows) sizes.set(row.bucket, (sizes.get(row.bucket) ?? 0) + 1);
    const target = (await sql<{ bucket_rows: number }>`select bucket_rows from user_search_settings`.execute(store.db)).rows[0]!.bucket_rows;
    assert.ok([...sizes.values()].every((n) => n <= 2 * target), `buckets split past twice the target: ${[...sizes.values()]}`);
    // The kept counts of 1–2 character strings, per bucket a row was counted in (moved by a split since, or its own), equal a count of the rows.
    const counted = new Map<string, number>();
    for (const row of rows) {
      const chars = [...row.search_text];
      const grams = new Set([...chars, ...chars.slice(1).map((c, i) => chars[i] + c)]);
      const bucket = row.counted_in ?? row.bucket;
      for (const g of grams) counted.set(`${g} ${bucket}`, (counted.get(`${g} ${bucket}`) ?? 0) + 1);
    }
    const kept = (await sql<{ gram: string; bucket: string; users: number }>`select gram, bucket, users from user_search_grams where users <> 0`.execute(store.db)).rows;
    assert.deepEqual(new Map(kept.map((k) => [`${k.gram} ${k.bucket}`, k.users])), counted, "kept 1–2 character counts");
  }

  const everyPage = (search: string, size: number) => searchAllPages(store, search, size);
  const expected = async (needle: string) =>
    (await store.db.selectFrom("users").select(["username", "search_text"]).execute())
      .filter((u) => u.search_text.includes(needle)).map((u) => u.username).sort(byCodePoint);

  it("splits crowded buckets and keeps every bucket a range of usernames", async () => {
    const buckets = await sql<{ n: string }>`select count(*) as n from user_search_buckets`.execute(store.db);
    assert.ok(Number(buckets.rows[0]!.n) >= 7, "the inserts split buckets");
    const moved = await sql<{ n: string }>`select count(*) as n from user_search where counted_in <> bucket`.execute(store.db);
    assert.ok(Number(moved.rows[0]!.n) > 0, "rows the splits moved stay counted where they were");
    await assertBucketsAreRanges();
  });

  it("finds every hit in username order across buckets and pages, and counts them", async () => {
    for (const needle of ["crowded", "spread", "-", "m-1", "d", "zz", "e", "ed"]) {
      for (const size of [1, 3, 100]) assert.deepEqual(await everyPage(needle, size), await expected(needle), `${needle}, pages of ${size}`);
      assert.equal(await createUserQueries(store).count({ search: needle }), (await expected(needle)).length);
    }
  });

  it("keeps buckets ranges when parallel inserts fill and split the same bucket", async () => {
    // The store's pool runs these on up to 10 connections at once: each waits for the bucket's lock.
    await Promise.all(Array.from({ length: 40 }, (_, i) => insertUser(store, { username: `p-${String(i).padStart(2, "0")}`, first_name: "Parallel" })));
    await assertBucketsAreRanges();
    assert.deepEqual(await everyPage("parallel", 7), await expected("parallel"));
  });

  it("puts a batch that arrives after a bucket's rows in a new bucket, moving none of them", async () => {
    const bucketOf = async () => new Map((await sql<{ user_id: number; bucket: string }>`select user_id, bucket from user_search`.execute(store.db)).rows.map((r) => [r.user_id, r.bucket]));
    const lastBucketRows = async () =>
      Number((await sql<{ n: string }>`select count(*) as n from user_search where bucket = (select max(bucket) from user_search_buckets)`.execute(store.db)).rows[0]!.n);
    const batch = (names: string[]) =>
      store.db.transaction().execute((trx) =>
        store.dialect.batchUserWrites(trx as Kysely<Database>, async () => {
          const ids = (await trx.insertInto("users").values(names.map((n) => batchUserRow(n, "Arriving"))).returning("id").execute()).map((r) => r.id);
          return { result: undefined, documents: ids, search: ids, groups: [] };
        }),
      );
    // The last bucket one row short of splitting (twice the target of 4), then two arrive after all of its
    // rows: split at its median after the insert, three of its own rows would move with them.
    let n = 0;
    while ((await lastBucketRows()) !== 7) await insertUser(store, { username: `zz-${String(n++).padStart(2, "0")}`, first_name: "Kept" });
    const before = await bucketOf();
    await batch(["zz-90", "zz-91"]);
    const after = await bucketOf();
    assert.deepEqual([...after].filter(([id, bucket]) => before.has(id) && before.get(id) !== bucket), [], "no kept row moved");
    assert.equal(await lastBucketRows(), 2, "the arrivals are a bucket of their own");
    await assertBucketsAreRanges();
    // A batch inside a range splits that bucket as before.
    await batch(["m-101", "m-102", "m-103", "m-104", "m-105", "m-106"]);
    await assertBucketsAreRanges();
    assert.deepEqual(await everyPage("arriving", 3), await expected("arriving"));
  });

  it("runs every statement of the search function on an index (auto_explain of the nested statements)", async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const plans: string[] = [];
      client.on("notice", (notice) => plans.push(notice.message ?? ""));
      await client.query("load 'auto_explain'");
      await client.query("set auto_explain.log_min_duration = 0; set auto_explain.log_nested_statements = on; set client_min_messages = log");
      await client.query("analyze user_search");
      // A common needle (the first buckets fill the page), a rare one (collected after the first buckets), one with no trigram, none at all.
      for (const needle of ["crowded", "m-17", "-", "d", "%_", "nothing"]) {
        await client.query("select * from ecm_user_search_page(case when $1 ~ '[a-z0-9]{3}' then '%' || $1 || '%' end, string_to_array($1, null), $1, '', 3, 2, 5)", [needle]);
      }
      const nested = plans.filter((p) => p.includes("user_search s"));
      assert.ok(nested.length > 10, "auto_explain reported the nested statements");
      for (const plan of nested) assert.doesNotMatch(plan, /Seq Scan on user_search/, plan);
    } finally {
      await client.end();
    }
  });

  it("follows renames, text changes and deletes", async () => {
    const rename = async (from: string, to: string) =>
      store.db.updateTable("users").set({ username: to, search_text: searchTextFor({ username: to, first_name: "Moved", last_name: null, email: null }) }).where("username", "=", from).execute();
    await rename("m-05", "zz-moved");
    await rename("a-spread", "m-055");
    await store.db.updateTable("users").set({ search_text: searchTextFor({ username: "b-spread", first_name: "Moved", last_name: null, email: null }) }).where("username", "=", "b-spread").execute();
    await store.db.deleteFrom("users").where("username", "in", ["m-10", "c-spread"]).execute();
    await assertBucketsAreRanges();
    assert.deepEqual(await everyPage("moved", 1), ["b-spread", "m-055", "zz-moved"]);
    assert.deepEqual(await everyPage("spread", 4), await expected("spread"));
    await store.dialect.bulkLoad(store.db, async () => {});
    await assertBucketsAreRanges();
    assert.deepEqual(await everyPage("moved", 2), ["b-spread", "m-055", "zz-moved"]);
  });

  it("keeps exact counts in a store from before migration 014u once its splits move rows", async () => {
    await rebuildUserSearch(store.db, 4);
    // Such a store counted each row in its bucket, and had no column saying otherwise.
    await sql`alter table user_search drop column counted_in`.execute(store.db);
    await sql`truncate user_search_grams`.execute(store.db);
    await sql`insert into user_search_grams (gram, bucket, users) select g, s.bucket, count(*) from user_search s, ecm_distinct_grams(s.search_text) g group by 1, 2`.execute(store.db);
    await sql`delete from kysely_migration where name = '014u-counts-where-counted'`.execute(store.db);
    await store.close();
    store = await openStore({ kind: "postgres", url: databaseUrl });
    for (let i = 0; i < 24; i++) await insertUser(store, { username: `n-${String(i).padStart(2, "0")}`, first_name: "Upgraded" });
    const moved = await sql<{ n: string }>`select count(*) as n from user_search where counted_in <> bucket`.execute(store.db);
    assert.ok(Number(moved.rows[0]!.n) > 0, "splits moved rows");
    await assertBucketsAreRanges();
    assert.equal(await createUserQueries(store).count({ search: "u" }), (await expected("u")).length);
  });
});
