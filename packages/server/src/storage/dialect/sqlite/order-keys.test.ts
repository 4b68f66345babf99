import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sql, type Kysely } from "kysely";
import { searchTextFor } from "../../../domain/user-fields.js";
import type { Database } from "../../schema.js";
import { insertUser, searchAllPages } from "../../../test-support/fixtures.js";
import { openStore, type Store } from "../../store.js";
import { createUserQueries } from "../../user-queries.js";
import { isoNow } from "../../time.js";

/** SQLite's search index follows username order through order keys; users squeezed out of keys must still be found. */
describe("SQLite order keys", () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "ecm-order-keys-"));
    store = await openStore({ kind: "sqlite", file: join(dir, "store.sqlite3") });
    await insertUser(store, { username: "m-first", first_name: "Anchor" });
    await insertUser(store, { username: "n-last", first_name: "Anchor" });
    // Each new name sorts right after the previous one and before "n-last": every insert halves the same gap.
    for (let i = 1; i <= 40; i++) await insertUser(store, { username: `m-first${"z".repeat(i)}`, first_name: "Squeezed" });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const keys = async () => (await sql<{ username: string; sort_key: number | null }>`select username, sort_key from users order by username`.execute(store.db)).rows;
  const everyPage = (search: string, size: number) => searchAllPages(store, search, size);

  it("keys grow with the username; past 32 halvings a user has none", async () => {
    const rows = await keys();
    const keyed = rows.filter((r) => r.sort_key !== null);
    for (let i = 1; i < keyed.length; i++) assert.ok(keyed[i]!.sort_key! > keyed[i - 1]!.sort_key!, keyed[i]!.username);
    assert.ok(rows.some((r) => r.sort_key === null), "some squeezed users have no key");
  });

  it("finds keyed and unkeyed users alike, in username order, across pages", async () => {
    const expected = (await keys()).map((r) => r.username).filter((u) => u.includes("zzz"));
    for (const size of [1, 3, 7, 100]) assert.deepEqual(await everyPage("zzz", size), expected, `pages of ${size}`);
    assert.deepEqual(await everyPage("squeezed", 5), (await keys()).map((r) => r.username).filter((u) => u.includes("z")));
    assert.equal(await createUserQueries(store).count({ search: "squeezed" }), 40);
  });

  it("keeps the index in step when users change or go, and a bulk load renumbers everyone", async () => {
    const unkeyed = (await keys()).find((r) => r.sort_key === null)!.username;
    const text = searchTextFor({ username: unkeyed, first_name: "Renamed", last_name: null, email: null });
    await store.db.updateTable("users").set({ first_name: "Renamed", search_text: text }).where("username", "=", unkeyed).execute();
    await store.db.updateTable("users").set({ first_name: "Renamed", search_text: searchTextFor({ username: "n-last", first_name: "Renamed", last_name: null, email: null }) }).where("username", "=", "n-last").execute();
    assert.deepEqual(await everyPage("renamed", 1), [unkeyed, "n-last"]);
    await store.db.deleteFrom("users").where("username", "in", [unkeyed, "m-firstz"]).execute();
    assert.deepEqual(await everyPage("renamed", 2), ["n-last"]);
    assert.equal((await everyPage("squeezed", 4)).length, 38);
    assert.equal(await createUserQueries(store).count({}), (await keys()).length, "the kept count follows inserts and deletes");
    await store.dialect.bulkLoad(store.db, async () => {});
    assert.ok((await keys()).every((r) => r.sort_key !== null));
    assert.equal((await everyPage("squeezed", 4)).length, 38);
  });

  it("a bulk writer's new users are keyed set-wise, many in one gap, and found in username order", async () => {
    // 100 between two neighbours (one by one, keys ran out after 32) and 20 after the last user.
    const names = [...Array.from({ length: 100 }, (_, i) => `m-firstz-batch${String(i).padStart(3, "0")}`), ...Array.from({ length: 20 }, (_, i) => `zz-batch${i}`)];
    await store.db.transaction().execute((trx) =>
      store.dialect.batchUserWrites(trx, async () => {
        const ids: number[] = [];
        for (const username of [...names].reverse()) ids.push((await insertUser({ ...store, db: trx }, { username, first_name: "Batched" })).id);
        return { result: undefined, documents: ids, search: ids, groups: [] };
      }),
    );
    const rows = await keys();
    assert.ok(rows.every((r) => r.sort_key !== null), "every user has a key");
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.sort_key! > rows[i - 1]!.sort_key!, rows[i]!.username);
    assert.deepEqual(await everyPage("batched", 7), [...names].sort());
    assert.equal(await createUserQueries(store).count({ search: "-batch" }), names.length);
  });

  /** Inserts users as a bulk writer does (a directory sync's or an import's batch): per-row upkeep off, keys given set-wise. */
  const batch = (usernames: string[]) =>
    store.db.transaction().execute((trx) =>
      store.dialect.batchUserWrites(trx as Kysely<Database>, async () => {
        const now = isoNow();
        const rows = usernames.map((username) => ({ uuid: randomUUID(), password_by_system_administrator: 1, username, login_name: username, login_key: username, display_name: username, first_name: "Synced", created_at: now, updated_at: now, search_text: searchTextFor({ username, first_name: "Synced", last_name: null, email: null }) }));
        const ids = (await trx.insertInto("users").values(rows).returning("id").execute()).map((r) => r.id);
        return { result: ids, documents: ids, search: ids, groups: [] };
      }),
    );

  it("keys every user of a batch: appended in username order into one gap, batch after batch, at the end, and scattered", async () => {
    // Keyed users after the gap, more than a batch: the batches cannot just move them up.
    for (let i = 0; i < 80; i++) await insertUser(store, { username: `q-tail${String(i).padStart(2, "0")}`, first_name: "Tail" });
    // A first sync's pages in username order: each batch falls after the last, into what is left of the gap; the third no longer fits and widens it.
    for (let b = 0; b < 6; b++) await batch(Array.from({ length: 70 }, (_, i) => `p-sync${b}${String(i).padStart(2, "0")}`));
    await batch(Array.from({ length: 70 }, (_, i) => `zz-end${String(i).padStart(2, "0")}`));
    await batch(["a-scattered", "m-firstzzzzzzzzzzzzzzzzzzzzzzzzzy", "p-sync305x", "zz-end69x"]);
    const rows = await keys();
    const batched = rows.filter((r) => /^(p-sync|zz-end|a-scattered|p-sync305x)/.test(r.username) || r.username === "m-firstzzzzzzzzzzzzzzzzzzzzzzzzzy");
    assert.equal(batched.length, 6 * 70 + 70 + 4);
    assert.ok(batched.every((r) => r.sort_key !== null), "every batched user has a key");
    const keyed = rows.filter((r) => r.sort_key !== null);
    for (let i = 1; i < keyed.length; i++) assert.ok(keyed[i]!.sort_key! > keyed[i - 1]!.sort_key!, keyed[i]!.username);
    const expected = rows.map((r) => r.username).filter((u) => u.startsWith("p-sync"));
    for (const size of [13, 500]) assert.deepEqual(await everyPage("p-sync", size), expected, `pages of ${size}`);
    assert.equal(await createUserQueries(store).count({ search: "synced" }), batched.length);
    assert.deepEqual(await everyPage("tail", 1000), rows.map((r) => r.username).filter((u) => u.startsWith("q-tail")));
  });
});
