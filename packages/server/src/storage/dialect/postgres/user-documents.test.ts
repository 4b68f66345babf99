import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { PgSession } from "../../../test-support/pg-session.js";
import { createTemporaryDatabase, storeSkip } from "../../../test-support/server.js";
import { busyCode } from "../../busy.js";
import { insertUser } from "../../../test-support/fixtures.js";
import { openStore, type Store } from "../../store.js";
import { DOCUMENT_COLUMNS, documentSelect } from "../../user-documents.js";
import { postgresJson } from "./user-documents.js";

const url = process.env.ECM_TEST_DATABASE_URL;
const T0 = "2026-01-01T00:00:00.000Z";

/**
 * Two transactions that change what the same document shows, the second started while the first
 * is open: whichever order they commit in, every document must equal one built afresh.
 */
describe("PostgreSQL user documents under concurrent writers", { skip: storeSkip("postgres") }, () => {
  let store: Store;
  let drop: () => Promise<void>;
  let first: PgSession;
  let second: PgSession;
  const ids: Record<string, number> = {};

  before(async () => {
    const database = await createTemporaryDatabase(url!);
    drop = database.drop;
    store = await openStore({ kind: "postgres", url: database.url });
    for (const name of ["alpha", "beta", "gamma"]) {
      ids[name] = (await store.db.insertInto("groups").values({ uuid: randomUUID(), name, name_key: name, created_at: T0, updated_at: T0 }).returning("id").executeTakeFirstOrThrow()).id;
    }
    ids.idp = (await store.db.insertInto("identity_providers").values({ uuid: randomUUID(), alias: "corp", display_name: "Corp", config: "{}", by_system_administrator: 1, created_at: T0, updated_at: T0 }).returning("id").executeTakeFirstOrThrow()).id;
    ids.profile = (await insertUser(store, { username: "profile", profile_id: 0 })).id;
    ids.user = (await insertUser(store, { username: "user" })).id;
    ids.dependent = (await insertUser(store, { username: "dependent", profile_id: ids.profile })).id;
    await store.db.insertInto("group_members").values([{ group_id: ids.gamma!, user_id: ids.profile! }]).execute();
    [first, second] = [await PgSession.open(database.url), await PgSession.open(database.url)];
  });
  after(async () => {
    await first?.end();
    await second?.end();
    await store?.close();
    await drop?.();
  });

  async function assertDocumentsFresh(step: string) {
    const kept = await sql`select ${sql.raw(DOCUMENT_COLUMNS)} from user_documents order by user_id`.execute(store.db);
    const fresh = await sql.raw(`select ${documentSelect(postgresJson)} from users u order by u.id`).execute(store.db);
    assert.deepEqual(kept.rows.map((r) => Object.values(r as object)), fresh.rows.map((r) => Object.values(r as object)), step);
  }

  /** `a` runs in a transaction; `b` runs in another as far as it can (to its end, or to a lock `a` holds) before `a` commits, then commits. */
  async function interleave(step: string, a: string, b: string) {
    await first.query("begin");
    await first.query(a);
    await second.query("begin");
    const waiting = second.query(b);
    await first.settledOrBlocked(waiting);
    await first.query("commit");
    await waiting;
    await second.query("commit");
    await assertDocumentsFresh(step);
  }

  it("keeps a renamed group's name when someone joins it meanwhile, in either order", async () => {
    await interleave("rename, then join", `update groups set name = 'alpha-1' where id = ${ids.alpha}`, `insert into group_members values (${ids.alpha}, ${ids.user})`);
    await interleave("join, then rename", `insert into group_members values (${ids.beta}, ${ids.user})`, `update groups set name = 'beta-1' where id = ${ids.beta}`);
    await interleave("leave, then rename", `delete from group_members where group_id = ${ids.alpha}`, `update groups set name = 'alpha-2' where id = ${ids.alpha}`);
  });

  it("gives a user its profile's groups when the profile joins a group meanwhile, in either order", async () => {
    await interleave("assign, then the profile joins", `update users set profile_id = ${ids.profile} where id = ${ids.user}`, `insert into group_members values (${ids.alpha}, ${ids.profile})`);
    await interleave("the profile leaves, then assign", `delete from group_members where group_id = ${ids.alpha} and user_id = ${ids.profile}`, `update users set profile_id = -1 where id = ${ids.user}`);
    await interleave("the profile joins, then assign", `insert into group_members values (${ids.beta}, ${ids.profile})`, `update users set profile_id = ${ids.profile} where id = ${ids.user}`);
  });

  it("keeps a profile's group name when the group is renamed as the profile is assigned, in either order", async () => {
    await store.db.updateTable("users").set({ profile_id: -1 }).where("id", "=", ids.user!).execute();
    await interleave("assign, then rename", `update users set profile_id = ${ids.profile} where id = ${ids.user}`, `update groups set name = 'gamma-1' where id = ${ids.gamma}`);
    await store.db.updateTable("users").set({ profile_id: -1 }).where("id", "=", ids.user!).execute();
    await interleave("rename, then assign", `update groups set name = 'gamma-2' where id = ${ids.gamma}`, `update users set profile_id = ${ids.profile} where id = ${ids.user}`);
  });

  it("keeps both of two memberships of one user made at once", async () => {
    await store.db.deleteFrom("group_members").where("user_id", "=", ids.dependent!).execute();
    await interleave("two joins", `insert into group_members values (${ids.alpha}, ${ids.dependent})`, `insert into group_members values (${ids.beta}, ${ids.dependent})`);
    await interleave("a join and an edit", `insert into group_members values (${ids.gamma}, ${ids.dependent})`, `update users set email = 'd@example.com' where id = ${ids.dependent}`);
  });

  it("a deadlock between two writers fails one of them as a concurrency conflict (which the store runs again: storage/busy.ts), leaving the documents whole", async () => {
    await first.query("begin");
    await second.query("begin");
    await first.query(`update users set email = 'a@example.com' where id = ${ids.user}`);
    await second.query(`update users set email = 'b@example.com' where id = ${ids.dependent}`);
    const outcomes = await Promise.allSettled([
      first.query(`update users set email = 'c@example.com' where id = ${ids.dependent}`),
      second.query(`update users set email = 'd@example.com' where id = ${ids.user}`),
    ]);
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    assert.equal(failed.length, 1, "PostgreSQL ends one of the two");
    assert.equal(busyCode(failed[0]!.reason), "40P01", String(failed[0]!.reason));
    await first.query(outcomes[0]!.status === "rejected" ? "rollback" : "commit");
    await second.query(outcomes[1]!.status === "rejected" ? "rollback" : "commit");
    await assertDocumentsFresh("after the deadlock");
  });

  it("keeps an identity provider's name when a user links to it meanwhile, in either order", async () => {
    const link = (user: number, subject: string) => `insert into federated_identities values (${ids.idp}, '${subject}', ${user}, '${T0}')`;
    await interleave("rename, then link", `update identity_providers set display_name = 'Corp 1' where id = ${ids.idp}`, link(ids.user!, "s1"));
    await interleave("link, then rename", link(ids.dependent!, "s2"), `update identity_providers set display_name = 'Corp 2' where id = ${ids.idp}`);
  });
});
