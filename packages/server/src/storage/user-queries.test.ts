import assert from "node:assert/strict";
import { it } from "node:test";
import { ADMINISTRATORS_GROUP, SYSTEM_ADMINISTRATOR } from "../domain/roles.js";
import { insertUser } from "../test-support/fixtures.js";
import { recording } from "../test-support/recording.js";
import { describeEachStore } from "../test-support/server.js";
import type { UserRow } from "./schema.js";
import { createUserQueries } from "./user-queries.js";

describeEachStore("holdingRole", (server) => {
  it("finds who holds a role among many users and few, whether its groups have fewer members than the users asked about or more", async () => {
    const { store: plain } = server().server.deps;
    const { db } = plain;
    const { store, take } = recording(plain);
    const users = createUserQueries(store);
    // Each user's memberships probed: a query that names the users asked about.
    const probed = () => take().some((q) => /"user_id" in \(/.test(q.sql));
    const admins = await db.selectFrom("groups").select("id").where("name", "=", ADMINISTRATORS_GROUP).executeTakeFirstOrThrow();
    const batch: UserRow[] = [];
    for (let i = 0; i < 150; i++) batch.push(await insertUser(store, { username: `holder_${String(i).padStart(3, "0")}` }));
    const profile = await insertUser(store, { username: "holder_profile", profile_id: 0 });
    const assigned = await insertUser(store, { username: "holder_assigned", profile_id: profile.id });
    batch.push(assigned);
    await db.insertInto("group_members").values([batch[3]!, batch[77]!, profile].map((u) => ({ group_id: admins.id, user_id: u.id }))).execute();
    const expected = [batch[3]!.id, batch[77]!.id, assigned.id].sort((a, b) => a - b);
    const held = async (of: UserRow[]) => [...(await users.holdingRole(SYSTEM_ADMINISTRATOR, of))].sort((a, b) => a - b);
    take();
    assert.deepEqual(await held(batch), expected, "the group's few members");
    assert.equal(probed(), false, "a batch with fewer holders than users: read from the groups");
    assert.deepEqual(await held([batch[3]!, batch[4]!, assigned]), [batch[3]!.id, assigned.id], "a few users");
    assert.equal(probed(), true);
    // More members than the batch has users: each user's memberships are probed instead.
    const many = [];
    for (let i = 0; i < 200; i++) many.push(await insertUser(store, { username: `holder_other_${i}` }));
    await db.insertInto("group_members").values(many.map((u) => ({ group_id: admins.id, user_id: u.id }))).execute();
    assert.deepEqual(await held(batch), expected, "the group's many members");
    assert.equal(probed(), true, "more members than users: each user's memberships probed");
  });
});
