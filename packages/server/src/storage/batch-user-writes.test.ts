import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { sql, type Kysely } from "kysely";
import { searchTextFor } from "../domain/user-fields.js";
import { renderUserViews } from "../http/user-view.js";
import { batchUserRow, insertUser, searchAllPages } from "../test-support/fixtures.js";
import { describeEachStore } from "../test-support/server.js";
import type { Database } from "./schema.js";
import { isoNow } from "./time.js";

/**
 * A bulk writer (a directory sync's batch) writes with the per-row upkeep off and brings documents
 * and search entries up to date once: the result must be what the triggers would have made.
 */
describeEachStore("batchUserWrites", (server) => {
  const deps = () => server().server.deps;

  async function assertDocumentsAlike(step: string) {
    const { users } = deps();
    const rows = [];
    for await (const batch of users.listAll({})) rows.push(...batch);
    const kept = (await users.viewJson(rows.map((r) => r.id), true)).map((j) => JSON.parse(j));
    assert.deepEqual(kept, JSON.parse(JSON.stringify(await renderUserViews(users, rows, true))), step);
  }

  it("inserts users with memberships and renames them, with documents and search as the triggers keep them", async () => {
    const { store } = deps();
    const { db, dialect } = store;
    const now = isoNow();
    const group = await db.insertInto("groups").values({ uuid: randomUUID(), name: "batched", name_key: "batched", created_at: now, updated_at: now }).returning("id").executeTakeFirstOrThrow();
    await insertUser(store, { username: "mmiddle", first_name: "Neighbour" });
    const inserted = await db.transaction().execute((trx) =>
      dialect.batchUserWrites(trx as Kysely<Database>, async () => {
        const rows = await trx.insertInto("users").values([batchUserRow("mbatch1", "Zoë"), batchUserRow("mbatch2", "Łukasz"), batchUserRow("zbatch3", "Ærling")]).returning("id").execute();
        const ids = rows.map((r) => r.id);
        await trx.insertInto("group_members").values(ids.map((id) => ({ group_id: group.id, user_id: id }))).execute();
        return { result: ids, documents: ids, search: ids, groups: [group.id] };
      }),
    );
    await assertDocumentsAlike("after inserting");
    assert.deepEqual(await searchAllPages(store, "batch", 2), ["mbatch1", "mbatch2", "zbatch3"]);
    assert.deepEqual(JSON.parse((await deps().users.viewJson([inserted[0]!], true))[0]!).groups, ["batched"]);

    // A rename moves the user in username order (its search entry follows); memberships leave.
    await db.transaction().execute((trx) =>
      dialect.batchUserWrites(trx as Kysely<Database>, async () => {
        const renamed = { username: "abatch3", login_name: "abatch3", login_key: "abatch3", search_text: searchTextFor({ username: "abatch3", first_name: "Ærling", last_name: "Batch", email: "zbatch3@example.com" }) };
        await trx.updateTable("users").set(renamed).where("id", "=", inserted[2]!).execute();
        await trx.deleteFrom("group_members").where("user_id", "=", inserted[0]!).execute();
        return { result: undefined, documents: [inserted[0]!, inserted[2]!], search: [inserted[2]!], groups: [group.id] };
      }),
    );
    await assertDocumentsAlike("after renaming");
    assert.deepEqual(await searchAllPages(store, "batch", 1), ["abatch3", "mbatch1", "mbatch2"]);
    assert.deepEqual(await searchAllPages(store, "ærl", 10), ["abatch3"]);
    assert.equal(await deps().users.count({ search: "batch" }), 3);

    // Writers outside a batch keep their triggers.
    await insertUser(store, { username: "after_batch", first_name: "Later" });
    await db.insertInto("group_members").values({ group_id: group.id, user_id: inserted[0]! }).execute();
    await assertDocumentsAlike("a plain insert after the batches");
    assert.deepEqual(await searchAllPages(store, "later", 10), ["after_batch"]);

    // A profile that joins a group in a batch: the users assigned to it show the group too.
    const profile = await insertUser(store, { username: "profile_batch", profile_id: 0 });
    const assigned = await insertUser(store, { username: "assigned_batch", profile_id: profile.id });
    await db.transaction().execute((trx) =>
      dialect.batchUserWrites(trx as Kysely<Database>, async () => {
        await trx.insertInto("group_members").values({ group_id: group.id, user_id: profile.id }).execute();
        return { result: undefined, documents: [profile.id], search: [], groups: [group.id] };
      }),
    );
    await assertDocumentsAlike("a profile's membership");
    assert.deepEqual(JSON.parse((await deps().users.viewJson([assigned.id], true))[0]!).groups, ["batched"]);
  });

  it("leaves nothing behind when the batch fails, and the next writer keeps its triggers", async () => {
    const { store } = deps();
    const { db, dialect } = store;
    await assert.rejects(
      db.transaction().execute((trx) =>
        dialect.batchUserWrites(trx as Kysely<Database>, async () => {
          await trx.insertInto("users").values(batchUserRow("failed_batch", "Never")).execute();
          throw new Error("the directory went away");
        }),
      ),
      /went away/,
    );
    assert.equal(await db.selectFrom("users").select("id").where("username", "=", "failed_batch").executeTakeFirst(), undefined);
    await insertUser(store, { username: "after_failure", first_name: "Still" });
    await assertDocumentsAlike("a plain insert after a failed batch");
    assert.deepEqual(await searchAllPages(store, "still", 10), ["after_failure"]);
  });

  it("updates users by id in one statement (updateJson): new values, nulls, renames and versions counted, with documents and search kept", async () => {
    const { store } = deps();
    const { db, dialect } = store;
    const a = await insertUser(store, { username: "json_a", first_name: "Ada", email: "json_a@example.com" });
    const b = await insertUser(store, { username: "json_b", first_name: "Bea", email: "json_b@example.com" });
    const untouched = await insertUser(store, { username: "json_c", first_name: "Cem", email: "json_c@example.com" });
    const fields = (username: string, first_name: string, email: string | null) => ({
      username, login_name: username, login_key: username, first_name, email, enabled: 0, search_text: searchTextFor({ username, first_name, last_name: null, email }),
    });
    await db.transaction().execute((trx) =>
      dialect.batchUserWrites(trx as Kysely<Database>, async () => {
        // Text that looks like a number stays text; a date is ISO text.
        const rows = [
          { id: b.id, ...fields("json_b", "Bérénice", null), valid_to: "2031-01-01T00:00:00.000Z" },
          { id: a.id, ...fields("json_z", "007", "json_a@example.com"), valid_to: null },
        ];
        await dialect.updateJson(trx as Kysely<Database>, "users", Object.keys(rows[0]!).filter((c) => c !== "id"), rows, { increment: ["version"] });
        return { result: undefined, documents: [a.id, b.id], search: [a.id, b.id], groups: [] };
      }),
    );
    await assertDocumentsAlike("after the update");
    const rows = await db.selectFrom("users").select(["id", "username", "first_name", "email", "enabled", "valid_to", "version"]).where("id", "in", [a.id, b.id, untouched.id]).orderBy("id").execute();
    assert.deepEqual(rows, [
      { id: a.id, username: "json_z", first_name: "007", email: "json_a@example.com", enabled: 0, valid_to: null, version: a.version + 1 },
      { id: b.id, username: "json_b", first_name: "Bérénice", email: null, enabled: 0, valid_to: "2031-01-01T00:00:00.000Z", version: b.version + 1 },
      { id: untouched.id, username: "json_c", first_name: "Cem", email: "json_c@example.com", enabled: 1, valid_to: null, version: untouched.version },
    ]);
    assert.deepEqual(await searchAllPages(store, "json_", 10), ["json_b", "json_c", "json_z"]);
    assert.deepEqual(await searchAllPages(store, "bérén", 10), ["json_b"]);
  });

  it("rewrites only a document's own fields for users whose enabled or lockout changed (ownFields), its groups kept", async () => {
    const { store } = deps();
    const { db, dialect } = store;
    const now = isoNow();
    const group = await db.insertInto("groups").values({ uuid: randomUUID(), name: "own_fields", name_key: "own_fields", created_at: now, updated_at: now }).returning("id").executeTakeFirstOrThrow();
    const a = await insertUser(store, { username: "own_a", first_name: "Åsa" });
    const b = await insertUser(store, { username: "own_b", locked_out_until: "2099-01-01T00:00:00.000Z" });
    await db.insertInto("group_members").values([{ group_id: group.id, user_id: a.id }, { group_id: group.id, user_id: b.id }]).execute();
    await db.transaction().execute((trx) =>
      dialect.batchUserWrites(trx as Kysely<Database>, async () => {
        await trx.updateTable("users").set({ enabled: 0 }).where("id", "=", a.id).execute();
        await trx.updateTable("users").set({ locked_out_until: null }).where("id", "=", b.id).execute();
        return { result: undefined, documents: [], ownFields: [a.id, b.id], search: [], groups: [] };
      }),
    );
    await assertDocumentsAlike("after own fields changed");
    const [docA, docB] = (await deps().users.viewJson([a.id, b.id], true)).map((j) => JSON.parse(j));
    assert.deepEqual([docA.enabled, docA.groups, docB.lockedOutUntil, docB.groups], [false, ["own_fields"], null, ["own_fields"]]);
  });

  it("two users that swap their usernames in one batch keep documents of their own", async () => {
    const { store } = deps();
    const { db, dialect } = store;
    const a = await insertUser(store, { username: "swap_a", first_name: "Ada" });
    const b = await insertUser(store, { username: "swap_b", first_name: "Bea" });
    const rename = (trx: Kysely<Database>, id: number, username: string) => trx.updateTable("users").set({ username, login_name: username, login_key: username }).where("id", "=", id).execute();
    await db.transaction().execute((trx) =>
      dialect.batchUserWrites(trx as Kysely<Database>, async () => {
        await rename(trx as Kysely<Database>, a.id, "swap_tmp");
        await rename(trx as Kysely<Database>, b.id, "swap_a");
        await rename(trx as Kysely<Database>, a.id, "swap_b");
        return { result: undefined, documents: [a.id, b.id], search: [a.id, b.id], groups: [] };
      }),
    );
    await assertDocumentsAlike("after the swap");
    const views = (await deps().users.viewJson([a.id, b.id], true)).map((j) => JSON.parse(j) as { username: string; firstName: string });
    assert.deepEqual(views.map((v) => [v.username, v.firstName]).sort(), [["swap_a", "Bea"], ["swap_b", "Ada"]]);
  });

  it("keeps the planner's statistics: a batch after the users grew by more than half analyzes them", async (t) => {
    const { store } = deps();
    const { db, dialect } = store;
    if (dialect.name !== "postgres") return t.skip("SQLite plans without gathered statistics");
    // Where autovacuum runs, it must not analyze the table between the two batches, nor hold it while the second does.
    await sql`alter table users set (autovacuum_enabled = off)`.execute(db);
    const reltuples = async () => Number((await sql<{ n: number }>`select reltuples as n from pg_class where oid = 'users'::regclass`.execute(db)).rows[0]!.n);
    await db.transaction().execute((trx) =>
      dialect.batchUserWrites(trx as Kysely<Database>, async () => {
        const rows = await trx.insertInto("users").values(Array.from({ length: 3000 }, (_, i) => batchUserRow(`stats${String(i).padStart(4, "0")}`, "Counted"))).returning("id").execute();
        // The counts the check reads are published when this transaction ends, not a second or more later.
        await sql`select pg_stat_force_next_flush()`.execute(trx);
        const ids = rows.map((r) => r.id);
        return { result: undefined, documents: ids, search: ids, groups: [] };
      }),
    );
    assert.ok((await reltuples()) < 3000, "no statistics for the grown table yet (autovacuum is not what this tests)");
    await db.transaction().execute((trx) => dialect.batchUserWrites(trx as Kysely<Database>, async () => ({ result: undefined, documents: [], search: [], groups: [] })));
    assert.ok((await reltuples()) >= 3000, `the planner knows the users grew (reltuples ${await reltuples()})`);
  });

  it("lets a batch's search entries gather in a longer pending list, merged in larger pieces, for that batch only", async (t) => {
    const { store } = deps();
    const { db, dialect } = store;
    if (dialect.name !== "postgres") return t.skip("SQLite has no GIN indexes");
    // The insert that fills the pending list merges it in pieces of work_mem.
    const settings = async (q: Kysely<Database>) =>
      (await sql<{ limit: string; memory: string }>`select current_setting('gin_pending_list_limit') as limit, current_setting('work_mem') as memory`.execute(q)).rows[0]!;
    const before = await db.connection().execute(settings);
    const during = await db.transaction().execute((trx) =>
      dialect.batchUserWrites(trx as Kysely<Database>, async () => ({ result: await settings(trx as Kysely<Database>), documents: [], search: [], groups: [] })),
    );
    assert.deepEqual(during, { limit: "16MB", memory: "64MB" });
    assert.notEqual(before.limit, "16MB");
    assert.notEqual(before.memory, "64MB");
    assert.deepEqual(await db.connection().execute(settings), before, "set for the batch's transaction only");
    // An administrator's larger work_mem is kept, not lowered.
    const larger = await db.transaction().execute(async (trx) => {
      await sql`set local work_mem = '256MB'`.execute(trx);
      return dialect.batchUserWrites(trx as Kysely<Database>, async () => ({ result: await settings(trx as Kysely<Database>), documents: [], search: [], groups: [] }));
    });
    assert.equal(larger.memory, "256MB");
  });
});
