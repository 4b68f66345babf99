import assert from "node:assert/strict";
import { before, it } from "node:test";
import { sql } from "kysely";
import { insertUser } from "../test-support/fixtures.js";
import { whileLocked } from "../test-support/pg-session.js";
import { describeEachStore, type TestServer } from "../test-support/server.js";
import { seedStore } from "../tools/seed-data.js";
import { createUserQueries, type UserFilter } from "./user-queries.js";

/** Starts a bulk action and waits for it to end. */
async function bulk(s: TestServer, token: string, body: unknown): Promise<void> {
  const r = await s.api<{ id: string }>("POST", "/security/v1/users/bulk-actions", { token, body });
  assert.equal(r.status, 202, r.text);
  await s.server.deps.bulkActions.settled(r.body.id);
}

describeEachStore("the enabled filter", (server, kind) => {
  let token: string;
  const store = () => server().server.deps.store;

  before(async () => {
    const s = server();
    await seedStore(s.server.deps.store, { users: 1_500, seed: 11, passwordHash: "not-a-login" });
    token = await s.login();
  });

  /**
   * Every list, page size and count of `enabled=` with other filters equals the users without it
   * filtered by their own `enabled`; on PostgreSQL `disabled_users` holds exactly the disabled.
   */
  async function assertExact(what: string): Promise<void> {
    const { store } = server().server.deps;
    const queries = createUserQueries(store);
    const all = await store.db.selectFrom("users").select(["username", "enabled"]).execute();
    const enabledOf = new Map(all.map((u) => [u.username, u.enabled === 1]));
    if (kind === "postgres") {
      const kept = (await sql<{ username: string }>`select username from disabled_users order by username`.execute(store.db)).rows.map((r) => r.username);
      const disabled = all.filter((u) => u.enabled === 0).map((u) => u.username).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      assert.deepEqual(kept, disabled, `${what}: disabled_users holds the disabled users`);
    }
    const others: UserFilter[] = [{}, { search: "an" }, { search: "el" }, { search: "smith" }, { expired: false }, { search: "a", lockedOut: false }];
    for (const other of others) {
      const base: string[] = [];
      for await (const page of queries.listAll(other, undefined, 1000)) base.push(...page.map((u) => u.username));
      for (const enabled of [true, false]) {
        const filter = { ...other, enabled };
        const expected = base.filter((u) => enabledOf.get(u) === enabled);
        const label = `${what}: ${JSON.stringify(filter)}`;
        for (const size of [7, 100, 1000]) {
          const rows: string[] = [];
          for await (const page of queries.listAll(filter, undefined, size)) rows.push(...page.map((u) => u.username));
          assert.deepEqual(rows, expected, `${label}, pages of ${size}`);
        }
        const json: { username: string; enabled: boolean }[] = [];
        for (let after: string | undefined, page; (page = await queries.listPageJson(filter, after, 50, false)).length > 0; after = page.at(-1)!.username) {
          json.push(...page.map((u) => JSON.parse(u.json) as { username: string; enabled: boolean }));
        }
        assert.deepEqual(json.map((u) => u.username), expected, `${label}, as JSON`);
        assert.ok(json.every((u) => u.enabled === enabled), `${label}: the JSON says so`);
        assert.equal(await queries.count(filter), expected.length, `${label}, count`);
      }
    }
  }

  it("after seeding", () => assertExact("seeded"));

  it("after bulk disables and enables, single changes, renames, deletes and inserts", async () => {
    const s = server();
    await bulk(s, token, { action: "disable", filter: { search: "an" } });
    await assertExact("bulk disable");
    await bulk(s, token, { action: "enable", filter: { search: "el", enabled: false } });
    await assertExact("bulk enable");
    const users = (await s.api<{ id: string; username: string; enabled: boolean }[]>("GET", "/security/v1/users?search=an&max=6", { token })).body;
    assert.equal(users.length, 6);
    type U = (typeof users)[number];
    const [a, b, c, d, e, f] = users as [U, U, U, U, U, U];
    assert.equal((await s.api("PUT", `/security/v1/users/${a.id}`, { token, body: { enabled: true } })).status, 200);
    assert.equal((await s.api("PUT", `/security/v1/users/${b.id}`, { token, body: { description: "an update that leaves enabled as it is" } })).status, 200);
    assert.equal((await s.api("DELETE", `/security/v1/users/${c.id}`, { token })).status, 204);
    // Usernames change only by a directory's sync: one statement that swaps two users' names (through
    // a second), and one that enables a user and renames it.
    await store().db.transaction().execute(async (trx) => {
      await trx.updateTable("users").set({ username: sql`case username when ${d.username} then ${`${e.username}.tmp`} else ${`${d.username}.tmp`} end` }).where("username", "in", [d.username, e.username]).execute();
      await trx.updateTable("users").set({ username: sql`replace(username, '.tmp', '')` }).where("username", "in", [`${d.username}.tmp`, `${e.username}.tmp`]).execute();
      await trx.updateTable("users").set({ enabled: 1, username: `${f.username}.on` }).where("username", "=", f.username).execute();
    });
    await insertUser(store(), { username: "an.inserted.disabled", enabled: 0 });
    await insertUser(store(), { username: "an.inserted.enabled" });
    await assertExact("single changes");
    await bulk(s, token, { action: "delete", filter: { search: "el", enabled: false } });
    await assertExact("bulk delete");
  });

  it("under concurrent writers: a rename, a delete and a bulk run that wait for another's disable", { skip: kind === "sqlite" && "needs two open write transactions (PostgreSQL)" }, async () => {
    const s = server();
    const users = (await s.api<{ id: string; username: string }[]>("GET", "/security/v1/users?search=ri&enabled=true&max=3", { token })).body;
    type U = (typeof users)[number];
    const [a, b, c] = users as [U, U, U];
    // Another session disables three users and holds them; a rename of the first, a delete of the
    // second and a bulk enable of all three wait for it, and go on once it commits.
    await whileLocked<unknown>(s, "update users set enabled = 0 where username = any($1)", [[a.username, b.username, c.username]], 3, () => [
      store().db.updateTable("users").set({ username: `${a.username}.moved` }).where("username", "=", a.username).execute(),
      s.api("DELETE", `/security/v1/users/${b.id}`, { token }),
      bulk(s, token, { action: "enable", ids: [a.id, b.id, c.id] }),
    ]);
    await assertExact("concurrent writers");
  });
});

describeEachStore("room for bulk updates", (server, kind) => {
  it("PostgreSQL fills a page of users to 85 %, so that a bulk disable's new row versions fit beside the old ones (HOT)", { skip: kind === "sqlite" && "SQLite has no fill factor" }, async () => {
    const { rows } = await sql<{ reloptions: string[] | null }>`select reloptions from pg_class where oid = 'users'::regclass`.execute(server().server.deps.store.db);
    assert.deepEqual(rows[0]?.reloptions, ["fillfactor=85"]);
  });
});
