import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { confusableKey as key } from "../../domain/names.js";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { CYRILLIC_SYSADMIN } from "../../test-support/fixtures.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { syncedNameSkeletonsMigration } from "./011i-synced-name-skeletons.js";

for (const kind of storeKinds) {
  describe(`migration 011i on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("gives the names a sync stored without look-alike keys theirs; one that looks like a name keyed already, or one keyed earlier in the pass, keeps none", async () => {
      await withBareDatabase(kind, async (db) => {
        // The tables as migration 010b left them, with the columns that matter here.
        await sql`create table users (id integer primary key, username text not null, login_name text not null, username_skeleton text, login_skeleton text)`.execute(db);
        await sql`create unique index users_username_skeleton on users (username_skeleton)`.execute(db);
        await sql`create unique index users_login_skeleton on users (login_skeleton)`.execute(db);
        await sql`create table groups (id integer primary key, name text not null, name_skeleton text)`.execute(db);
        await sql`create unique index groups_name_skeleton on groups (name_skeleton)`.execute(db);
        const users = [
          [1, "sysadmin", "sysadmin", key("sysadmin"), key("sysadmin")],
          [2, "alice", "alice", null, null],
          [3, CYRILLIC_SYSADMIN, "ѕуѕаdmin.login", null, null],
          [4, "ｂｏｂ", "bob", null, null],
          [5, "b0b", "b0b", null, null],
          [6, "carol", "carol", key("carol"), null],
        ];
        for (const [id, username, login, us, ls] of users) await sql`insert into users values (${id}, ${username}, ${login}, ${us}, ${ls})`.execute(db);
        await sql`insert into groups values (1, 'administrators', ${key("administrators")}), (2, 'Аdministrators', null), (3, 'staff', null)`.execute(db);

        await syncedNameSkeletonsMigration.up(db);

        assert.deepEqual((await sql`select id, username_skeleton, login_skeleton from users order by id`.execute(db)).rows, [
          { id: 1, username_skeleton: key("sysadmin"), login_skeleton: key("sysadmin") },
          { id: 2, username_skeleton: key("alice"), login_skeleton: key("alice") },
          // Its username looks like sysadmin's; its login name like nothing.
          { id: 3, username_skeleton: null, login_skeleton: key("ѕуѕаdmin.login") },
          { id: 4, username_skeleton: key("bob"), login_skeleton: key("bob") },
          // b0b looks like bob, whose key this pass wrote first.
          { id: 5, username_skeleton: null, login_skeleton: null },
          { id: 6, username_skeleton: key("carol"), login_skeleton: key("carol") },
        ]);
        assert.deepEqual((await sql`select id, name_skeleton from groups order by id`.execute(db)).rows, [
          { id: 1, name_skeleton: key("administrators") },
          { id: 2, name_skeleton: null },
          { id: 3, name_skeleton: key("staff") },
        ]);
      });
    });
  });
}
