import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { sql } from "kysely";
import { insertUser, searchAllPages } from "../test-support/fixtures.js";
import { openStore } from "./store.js";

const modeOf = (path: string) => statSync(path).mode & 0o777;

/** Directories of the tests' own stores, removed once this file's tests are done. */
const scratch: string[] = [];
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A new SQLite store's file, in a directory of its own. */
function newStoreFile(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return join(dir, "store.sqlite3");
}

describe("the SQLite store's files are the server's alone", () => {
  const root = mkdtempSync(join(tmpdir(), "ecm-modes-"));
  after(() => rmSync(root, { recursive: true, force: true }));

  async function assertPrivate(dir: string) {
    const file = join(dir, "store.sqlite3");
    const store = await openStore({ kind: "sqlite", file });
    try {
      await sql`insert into settings(key, value) values ('mode-test', 'x')`.execute(store.db);
      assert.equal(modeOf(dir).toString(8), "700", "data directory");
      for (const path of [file, `${file}-wal`, `${file}-shm`]) assert.equal(modeOf(path).toString(8), "600", path);
    } finally {
      await store.close();
    }
  }

  it("a new data directory is 0700, the database, -wal and -shm 0600", async () => {
    await assertPrivate(join(root, "new", "data"));
  });

  it("an existing directory and files with wider modes are tightened", async () => {
    const dir = join(root, "old");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const file = join(dir, "store.sqlite3");
    for (const path of [`${file}-wal`, `${file}-shm`]) writeFileSync(path, "", { mode: 0o644 });
    // What an older version left: a world-readable store (the -wal and -shm above are empty, as after a clean close).
    const old = await openStore({ kind: "sqlite", file });
    await old.close();
    chmodSync(dir, 0o755);
    chmodSync(file, 0o644);
    await assertPrivate(dir);
  });
});

describe("SQLite transactions with the server's other processes (workers, nodes on one file)", () => {
  it("a transaction that reads and then writes commits when another process writes meanwhile: that one waits", async () => {
    const file = newStoreFile("ecm-locks-");
    const store = await openStore({ kind: "sqlite", file });
    // Another process's connection, told not to wait for the write lock, so that waiting shows as SQLITE_BUSY.
    const other = new BetterSqlite3(file);
    other.pragma("busy_timeout = 0");
    try {
      let otherWrote = true;
      await store.db.transaction().execute(async (trx) => {
        await trx.selectFrom("settings").selectAll().execute();
        try {
          other.prepare("insert into settings(key, value) values ('other', 'x')").run();
        } catch (error) {
          assert.equal((error as { code?: string }).code, "SQLITE_BUSY");
          otherWrote = false;
        }
        // Begun deferred, the transaction would read an older snapshot than the other's commit and
        // fail here with SQLITE_BUSY_SNAPSHOT, whatever the busy timeout (a provider login's 500).
        await trx.insertInto("settings").values({ key: "mine", value: "y" }).execute();
      });
      assert.equal(otherWrote, false, "the other process waited for the transaction");
      assert.deepEqual(other.prepare("select key from settings where key in ('mine', 'other')").pluck().all(), ["mine"]);
    } finally {
      other.close();
      await store.close();
    }
  });
});

describe("SQLite checkpoints", () => {
  it("committed pages are copied into the database file by a thread of their own, not by the connection that wrote them", async () => {
    const file = newStoreFile("ecm-checkpoints-");
    const store = await openStore({ kind: "sqlite", file });
    // The WAL index (-shm) says how many frames the log holds (mxFrame) and how many of them are in the database file (nBackfill).
    const walIndex = () => {
      const shm = readFileSync(`${file}-shm`);
      return { frames: shm.readUInt32LE(16), copied: shm.readUInt32LE(96) };
    };
    try {
      // About 200 pages: far fewer than the writing connection's own automatic checkpoint waits for.
      await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < 200)
        insert into settings(key, value) select 'fill-' || i, hex(randomblob(2000)) from n`.execute(store.db);
      let state = walIndex();
      for (let i = 0; i < 500 && !(state.frames > 0 && state.copied === state.frames); i++) {
        await new Promise((r) => setTimeout(r, 20));
        state = walIndex();
      }
      assert.ok(state.frames >= 200, `the log holds the writes (${state.frames} frames)`);
      assert.equal(state.copied, state.frames, "every frame copied");
    } finally {
      await store.close();
    }
  });
});

describe("SQLite search entries", () => {
  it("an update that names the username and search text without changing them leaves the search index alone (a store from before migration 011d too)", async () => {
    const file = newStoreFile("ecm-search-entries-");
    // A store as migration 011d found it: the update trigger rewrote the entry whenever an update named the columns.
    const old = await openStore({ kind: "sqlite", file });
    await sql`drop trigger users_search_au`.execute(old.db);
    await sql`create trigger users_search_au after update of username, search_text on users begin
      delete from users_search where rowid = old.sort_key;
      insert into users_search(rowid, search_text) select sort_key, search_text || char(31, 31) from users where id = new.id and sort_key is not null; end`.execute(old.db);
    await sql`delete from kysely_migration where name = '011d-search-entries-when-changed'`.execute(old.db);
    await old.close();
    const store = await openStore({ kind: "sqlite", file });
    try {
      const id = (await insertUser(store, { username: "same_text", first_name: "Same" })).id;
      // total_changes() counts the rows that triggers write too (the search index's among them).
      const changesOf = async (update: () => Promise<unknown>) => {
        const before = (await sql<{ n: number }>`select total_changes() as n`.execute(store.db)).rows[0]!.n;
        await update();
        return (await sql<{ n: number }>`select total_changes() as n`.execute(store.db)).rows[0]!.n - before;
      };
      assert.equal(await changesOf(() => sql`update users set username = username, search_text = search_text where id = ${id}`.execute(store.db)), 1, "the user's row alone");
      assert.ok((await changesOf(() => sql`update users set search_text = 'another' where id = ${id}`.execute(store.db))) > 1, "a changed text is indexed again");
      assert.deepEqual(await searchAllPages(store, "anoth", 10), ["same_text"]);
    } finally {
      await store.close();
    }
  });
});
