import assert from "node:assert/strict";
import { before, it } from "node:test";
import { insertUser } from "../../test-support/fixtures.js";
import { describeEachStore } from "../../test-support/server.js";

describeEachStore("the key near a position of the unfiltered list", (server) => {
  let token: string;
  let all: string[];
  before(async () => {
    const s = server();
    token = await s.login();
    for (let i = 0; i < 300; i++) await insertUser(s.server.deps.store, { username: `zpos.${String(i).padStart(3, "0")}` });
    all = (await s.api<{ username: string }[]>("GET", "/security/v1/users", { token })).body.map((u) => u.username);
  });

  it("answers a cursor whose page starts at the position asked: exactly near the ends", async () => {
    const s = server();
    for (const at of [0, 1, 150, 299, 300, 5000]) {
      const r = await s.api<{ position: number; total: number; cursor: string | null }>("GET", `/security/v1/users/position?at=${at}`, { token });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.total, all.length);
      const page = await s.api<{ username: string }[]>("GET", `/security/v1/users?max=5${r.body.cursor ? `&cursor=${r.body.cursor}` : ""}`, { token });
      const first = page.body[0]?.username;
      assert.equal(first === undefined ? all.length : all.indexOf(first), Math.min(at, all.length), `at=${at}`);
      assert.equal(r.body.position, Math.min(at, all.length));
    }
  });

  it("away from the ends, the store's estimate names a user and the position it says that user's successor has", async () => {
    const s = server();
    const { db, dialect } = s.server.deps.store;
    for (const at of [1, 100, 200, 290]) {
      const near = await dialect.keyNearPosition(db, at, all.length);
      const index = near.after === null ? 0 : all.indexOf(near.after) + 1;
      assert.ok(near.after === null || index > 0, `at=${at}: ${near.after} is a user`);
      // SQLite's order keys are evenly spread here, so it lands exactly; PostgreSQL lands on its bucket's start (one bucket at this size).
      assert.equal(near.position, s.kind === "sqlite" ? at : 0, `at=${at}`);
      assert.equal(index, near.position, `at=${at}`);
    }
  });

  it("refuses a bad position", async () => {
    const s = server();
    for (const q of ["", "?at=-1", "?at=x", "?at=1&extra=2"]) assert.equal((await s.api("GET", `/security/v1/users/position${q}`, { token })).status, 400, q);
  });
});
