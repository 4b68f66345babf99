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

  it("answers a cursor whose page starts at the position it says, near the one asked", async () => {
    const s = server();
    for (const at of [0, 1, 150, 299, 300, 5000]) {
      const r = await s.api<{ position: number; total: number; cursor: string | null }>("GET", `/security/v1/users/position?at=${at}`, { token });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.total, all.length);
      const page = await s.api<{ username: string }[]>("GET", `/security/v1/users?max=5${r.body.cursor ? `&cursor=${r.body.cursor}` : ""}`, { token });
      const first = page.body[0]?.username;
      assert.equal(first === undefined ? all.length : all.indexOf(first), r.body.position, `at=${at}`);
      assert.ok(r.body.position <= Math.min(at, all.length));
      // SQLite's order keys are evenly spread here, so it lands exactly; PostgreSQL lands on its bucket's start (one bucket at this size).
      if (s.kind === "sqlite") assert.equal(r.body.position, Math.min(at, all.length));
    }
  });

  it("refuses a bad position", async () => {
    const s = server();
    for (const q of ["", "?at=-1", "?at=x", "?at=1&extra=2"]) assert.equal((await s.api("GET", `/security/v1/users/position${q}`, { token })).status, 400, q);
  });
});
