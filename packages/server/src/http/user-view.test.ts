import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, it } from "node:test";
import { insertUser } from "../test-support/fixtures.js";
import { describeEachStore } from "../test-support/server.js";
import { sqliteUserDocuments } from "../storage/dialect/sqlite/user-documents.js";
import type { JsonBody } from "../storage/json-body.js";
import { DocumentFields, EXTENDED_FIELDS, PLAIN_FIELDS } from "../storage/document-fields.js";
import { renderUserViews, UserSchema } from "./user-view.js";

const T0 = "2026-01-01T00:00:00.000Z";

/** The items of a streamed JSON body. */
async function readJsonBody(body: JsonBody): Promise<any[]> {
  const pieces: Buffer[] = [];
  for await (const piece of body) pieces.push(Buffer.from(piece));
  return JSON.parse(`[${Buffer.concat(pieces).toString("utf8")}]`);
}
const future = () => new Date(Date.now() + 3_600_000).toISOString();

it("knows the view's fields in the view's order (what fields= cuts by)", () => {
  assert.deepEqual([...PLAIN_FIELDS, ...EXTENDED_FIELDS], Object.keys(UserSchema.properties));
});

/**
 * Streamed lists are the store's kept documents (storage/user-documents.ts), single users and pages by
 * user-view.ts: both must give the same JSON for every kind of user.
 */
describeEachStore("user JSON rendered by the store equals the view", (server) => {
  before(async () => {
    const { store } = server().server.deps;
    const db = store.db;
    const provider = async (alias: string, display: string) =>
      (await db.insertInto("identity_providers").values({ uuid: randomUUID(), alias, display_name: display, config: "{}", by_system_administrator: 1, created_at: T0, updated_at: T0 }).returning("id").executeTakeFirstOrThrow()).id;
    const zeta = await provider("zeta", "Zeta \"IdP\" ✓");
    const alpha = await provider("alpha", "Alpha");
    const group = async (name: string) =>
      (await db.insertInto("groups").values({ uuid: randomUUID(), name, name_key: name.toLowerCase(), created_at: T0, updated_at: T0 }).returning("id").executeTakeFirstOrThrow()).id;
    const [g1, g2, g3] = [await group("Zürich"), await group("editors"), await group("Ärzte")];
    const profile = await insertUser(store, { username: "profile_a", profile_id: 0 });
    const linked = await insertUser(store, {
      username: "linked",
      first_name: "Zoë \"Q\" \\ O'Brien",
      last_name: null,
      email: "z@example.com",
      description: "line\nbreak\ttab",
      dn: "cn=linked,dc=example",
      profile_id: profile.id,
      valid_from: T0,
      valid_to: "2020-01-01T00:00:00.000Z",
      locked_out_until: future(),
      change_password: 1,
      password_never_expires: 1,
      enabled: 0,
    });
    await insertUser(store, { username: "plain_one", locked_out_until: "2020-01-01T00:00:00.000Z", valid_to: future() });
    await insertUser(store, { username: "日本語ユーザー", first_name: "名前", last_name: "姓" });
    await insertUser(store, { username: "quote'back\\slash" });
    const directory = await db.insertInto("directories").values({ uuid: randomUUID(), name: "Corp \"AD\" ✓", kind: "active-directory", config: "{}", by_system_administrator: 1, created_at: T0, updated_at: T0 }).returning("id").executeTakeFirstOrThrow();
    await insertUser(store, { username: "imported", dn: "CN=Imported,OU=Zürich,DC=corp", directory_id: directory.id });
    await insertUser(store, { username: "federated", identity_provider_id: zeta });
    for (const [p, s] of [[zeta, "a"], [alpha, "b"]] as const) {
      await db.insertInto("federated_identities").values({ provider_id: p, subject: s, user_id: linked.id, by_system_administrator: 1, created_at: T0 }).execute();
    }
    for (const [g, u] of [[g1, linked.id], [g2, profile.id], [g3, profile.id], [g3, linked.id]]) {
      await db.insertInto("group_members").values({ group_id: g!, user_id: u! }).execute();
    }
  });

  for (const extended of [false, true]) {
    it(`renders every user alike (extendedInfo=${extended})`, async () => {
      const { users } = server().server.deps;
      const rows: Awaited<ReturnType<typeof users.listPage>> = [];
      for await (const batch of users.listAll({})) rows.push(...batch);
      const expected = await renderUserViews(users, rows, extended);
      const streamed = await readJsonBody(users.listAllJson({}, undefined, extended));
      assert.deepEqual(streamed, JSON.parse(JSON.stringify(expected)));
      const byId = (await users.viewJson([rows[2]!.id, rows[0]!.id], extended)).map((j) => JSON.parse(j));
      assert.deepEqual(byId, JSON.parse(JSON.stringify([expected[2], expected[0]])));
      // Each field cut out of the streamed documents (fields=) is the view's field, quotes and nested objects included.
      for (const name of extended ? [...PLAIN_FIELDS, ...EXTENDED_FIELDS] : PLAIN_FIELDS) {
        const cut = await readJsonBody(new DocumentFields([name], extended).ofBody(users.listAllJson({}, undefined, extended)));
        assert.deepEqual(cut, streamed.map((u: any) => ({ [name]: u[name] })), name);
      }
      const linked = streamed.find((u: any) => u.username === "linked") as any;
      assert.deepEqual(linked.federatedIdentities.map((f: any) => f.alias), ["alpha", "zeta"]);
      if (extended) assert.deepEqual(linked.groups, ["Zürich", "editors", "Ärzte"]); // code-point order, own and profile groups merged
      if (extended) {
        const sourceOf = (username: string) => streamed.find((u: any) => u.username === username).source;
        assert.deepEqual(sourceOf("sysadmin"), { type: "builtin", id: null, name: null });
        assert.deepEqual(sourceOf("linked"), { type: "local", id: null, name: null });
        assert.equal(sourceOf("imported").type, "directory");
        assert.equal(sourceOf("imported").name, 'Corp "AD" ✓');
        assert.deepEqual(sourceOf("federated"), { type: "identity-provider", id: "zeta", name: 'Zeta "IdP" ✓' });
      }
    });
  }

  it("keeps the group names alike through membership, rename, profile and group changes", async () => {
    const { store, users } = server().server.deps;
    const db = store.db;
    const groupId = async (name: string) => (await db.selectFrom("groups").select("id").where("name", "=", name).executeTakeFirstOrThrow()).id;
    const userId = async (username: string) => (await db.selectFrom("users").select("id").where("username", "=", username).executeTakeFirstOrThrow()).id;
    const assertAlike = async (step: string) => {
      const rows: Awaited<ReturnType<typeof users.listPage>> = [];
      for await (const batch of users.listAll({})) rows.push(...batch);
      const streamed = await readJsonBody(users.listAllJson({}, undefined, true));
      assert.deepEqual(streamed, JSON.parse(JSON.stringify(await renderUserViews(users, rows, true))), step);
    };
    const [profile, plain] = [await userId("profile_a"), await userId("plain_one")];
    await db.updateTable("groups").set({ name: "Basel", name_key: "basel" }).where("id", "=", await groupId("Zürich")).execute();
    await assertAlike("a group renamed");
    await db.deleteFrom("group_members").where("group_id", "=", await groupId("editors")).where("user_id", "=", profile).execute();
    await assertAlike("a profile leaves a group");
    await db.updateTable("users").set({ profile_id: profile }).where("id", "=", plain).execute();
    await db.updateTable("users").set({ profile_id: -1 }).where("username", "=", "linked").execute();
    await assertAlike("profiles assigned and taken away");
    await insertUser(store, { username: "born_with_profile", profile_id: profile });
    await db.insertInto("group_members").values({ group_id: await groupId("editors"), user_id: profile }).execute();
    await assertAlike("a user created with a profile; the profile joins a group");
    await db.deleteFrom("groups").where("id", "=", await groupId("Ärzte")).execute();
    await assertAlike("a group deleted");
    await db.updateTable("directories").set({ name: "Renamed directory" }).execute();
    await assertAlike("a directory renamed");
    await db.updateTable("identity_providers").set({ display_name: "Zeta, renamed" }).where("alias", "=", "zeta").execute();
    await assertAlike("an identity provider renamed");
    await db.updateTable("users").set({ directory_id: null }).where("username", "=", "imported").execute();
    await db.updateTable("users").set({ identity_provider_id: null }).where("username", "=", "federated").execute();
    await assertAlike("users no longer from a directory or provider");
    const plainJson = JSON.parse((await users.viewJson([plain], true))[0]!);
    assert.deepEqual(plainJson.groups, ["editors"]);
  });

  it("streams from any cursor, in batches, and gives its connection back when the reader stops", async () => {
    const { store, users } = server().server.deps;
    const rows: Awaited<ReturnType<typeof users.listPage>> = [];
    for await (const batch of users.listAll({})) rows.push(...batch);
    const expected = JSON.parse(JSON.stringify(await renderUserViews(users, rows, true)));
    for (let i = 0; i < rows.length; i++) {
      assert.deepEqual(await readJsonBody(users.listAllJson({}, rows[i]!.username, true)), expected.slice(i + 1), `after ${rows[i]!.username}`);
    }
    if (store.dialect.name === "sqlite") {
      assert.deepEqual(await readJsonBody(sqliteUserDocuments(store.db, undefined, true, new Date().toISOString(), 2)), expected, "batches of 2");
    }
    const unused = () => assert.fail("the store's own stream was expected");
    // A reader that stops early (a client gone) must not keep a pooled connection: more such reads than the pool holds still work.
    for (let i = 0; i < 12; i++) {
      for await (const piece of store.userDocuments(undefined, true, new Date().toISOString(), unused)) {
        assert.ok(piece.length > 0);
        break;
      }
    }
    assert.equal((await readJsonBody(users.listAllJson({}, undefined, false))).length, rows.length);
    if (store.dialect.name === "postgres") {
      // Readers that stall hold a connection each, up to half the pool (5 here: 2); the next one reads in batches, and the store still answers.
      const stalled = Array.from({ length: 2 }, () => store.userDocuments(undefined, true, new Date().toISOString(), unused)[Symbol.asyncIterator]());
      for (const reader of stalled) assert.equal((await reader.next()).done, false);
      let fellBack = false;
      const body = store.userDocuments(undefined, true, new Date().toISOString(), () => {
        fellBack = true;
        return users.listAllJson({ enabled: undefined }, undefined, true);
      });
      assert.deepEqual(await readJsonBody(body), expected);
      assert.ok(fellBack, "past half the pool, the fallback");
      assert.equal(await users.count({}), rows.length);
      for (const reader of stalled) await reader.return?.(undefined);
      assert.deepEqual(await readJsonBody(store.userDocuments(undefined, true, new Date().toISOString(), unused)), expected);
    }
  });

  it("renders a searched stream alike", async () => {
    const { users } = server().server.deps;
    const rows = await users.listPage({ search: "o" }, undefined, 100);
    const streamed = await readJsonBody(users.listAllJson({ search: "o" }, undefined, true, 1));
    assert.deepEqual(streamed, JSON.parse(JSON.stringify(await renderUserViews(users, rows, true))));
    assert.ok(streamed.length >= 2);
  });
});
