import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { withBareDatabase } from "../../test-support/bare-database.js";
import { storeKinds, storeSkip } from "../../test-support/server.js";
import { sessionOriginMigration } from "./012b-session-origin.js";

for (const kind of storeKinds) {
  describe(`migration 012b on ${kind}`, { skip: storeSkip(kind) }, () => {
    it("moves each session's provider session into its row; deleting the provider leaves the session without one", async () => {
      await withBareDatabase(kind, async (db) => {
        // The tables as migration 012 left them, with the columns that matter here.
        await sql`create table identity_providers (id integer primary key)`.execute(db);
        await sql`create table sessions (id text primary key, user_id integer not null)`.execute(db);
        await sql`create table provider_sessions (session_id text primary key references sessions(id) on delete cascade,
          provider_id integer not null references identity_providers(id) on delete cascade, subject text not null, sid text)`.execute(db);
        await sql`insert into identity_providers (id) values (1)`.execute(db);
        await sql`insert into sessions (id, user_id) values ('with-sid', 1), ('without-sid', 1), ('password', 2)`.execute(db);
        await sql`insert into provider_sessions values ('with-sid', 1, 'sub-a', 'sid-a'), ('without-sid', 1, 'sub-b', null)`.execute(db);

        await sessionOriginMigration.up(db);

        const rows = async () => (await sql<{ id: number; provider_id: number | null; provider_subject: string | null; provider_sid: string | null }>`select id, provider_id, provider_subject, provider_sid from sessions order by id`.execute(db)).rows;
        assert.deepEqual(await rows(), [
          { id: "password", provider_id: null, provider_subject: null, provider_sid: null },
          { id: "with-sid", provider_id: 1, provider_subject: "sub-a", provider_sid: "sid-a" },
          { id: "without-sid", provider_id: 1, provider_subject: "sub-b", provider_sid: null },
        ]);
        await assert.rejects(sql`select 1 from provider_sessions`.execute(db), "the old table is gone");
        await sql`delete from identity_providers where id = 1`.execute(db);
        assert.deepEqual((await rows()).map((r) => r.provider_id), [null, null, null]);
      });
    });
  });
}
