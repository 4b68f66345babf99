import assert from "node:assert/strict";
import { before, it } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { hashSync as bcryptHash } from "@node-rs/bcrypt";
import { createUser, USER_PASSWORD } from "../test-support/accounts.js";
import { PgSession } from "../test-support/pg-session.js";
import { describeEachStore, type TestServer } from "../test-support/server.js";

/**
 * A login checks the password before its transaction, so an administrator's change can land between
 * that check and the session: a password reset, a delete. Each is made here by a connection of the
 * test's own, held open while the login comes to its transaction, then committed: the login must be
 * refused (the one 401, audited as changed during the login), never given a session the reset meant
 * to end, nor a 500.
 */
describeEachStore("a login racing a change of its account", (server, kind) => {
  let token: string;
  before(async () => {
    token = await server().login();
  });

  /**
   * Runs `change` (SQL on the users row of `id`) in a transaction of another connection, starts the
   * login while it is open, and commits once the login waits for it (PostgreSQL: blocked on the row;
   * SQLite: the write lock, which the login's transaction needs).
   */
  async function raced(s: TestServer, username: string, change: string, id: number) {
    let login!: Promise<{ status: number; text: string }>;
    const start = () => (login = s.api("POST", "/auth/v1/providers/builtin/token", { body: { username, password: USER_PASSWORD } }));
    const store = s.server.deps.config.store;
    if (store.kind === "postgres") {
      const other = await PgSession.open(store.url);
      try {
        await other.query("begin");
        await other.query(change.replace("$id", String(id)));
        start();
        await other.blocking(1);
        await other.query("commit");
      } finally {
        await other.end();
      }
    } else {
      const other = new BetterSqlite3(store.file);
      try {
        other.prepare("begin immediate").run();
        other.prepare(change.replace("$id", String(id))).run();
        start();
        // The login reads the account as committed (the old password), checks it, then waits for the write lock.
        await new Promise((resolve) => setTimeout(resolve, 500));
        other.prepare("commit").run();
      } finally {
        other.close();
      }
    }
    return login;
  }

  const reasonOf = async (username: string) =>
    (await server().api("GET", "/security/v1/audit-events?action=auth.login&max=20", { token })).body.find((e: any) => e.targetName === username)?.details.reason;

  it("a password reset committed while the login checks the old password refuses it: no session survives the reset", async () => {
    const user = await createUser(server(), token, `raced.reset.${kind}`);
    const answer = await raced(server(), user.username, "update users set password_hash = 'replaced-by-a-reset', password_changed_at = '2030-01-01T00:00:00.000Z', version = version + 1 where id = $id", user.id);
    assert.equal(answer.status, 401, answer.text);
    // On SQLite the test cannot see the login wait for the lock: a machine so slow that it read the account
    // only after the reset would refuse the new password's stranger as a wrong one, which is as right.
    assert.ok(kind === "sqlite" ? ["changed-during-login", "wrong-password"].includes(await reasonOf(user.username)) : (await reasonOf(user.username)) === "changed-during-login");
  });

  it("right passwords of one account at once, its failure counts to clear, all log in: they queue on the account's row, none waits for another in a deadlock", async () => {
    const s = server();
    const user = await createUser(s, token, `raced.together.${kind}`);
    for (let round = 0; round < 3; round++) {
      // A wrong password from an unfamiliar address: the account-wide count is not clean, so each login clears it.
      assert.equal((await s.api("POST", "/auth/v1/providers/builtin/token", { from: "127.0.9.1", body: { username: user.username, password: "not-it" } })).status, 401);
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => s.api("POST", "/auth/v1/providers/builtin/token", { from: `127.0.${10 + round}.${i + 1}`, body: { username: user.username, password: USER_PASSWORD } })));
      assert.deepEqual(answers.map((a) => a.status), Array(8).fill(200), answers.map((a) => a.text).join("\n"));
    }
  });

  it("first logins at once of an imported hash all log in: the rehash of one is the same password to the others", async () => {
    const s = server();
    const username = `raced.rehash.${kind}`;
    const imported = await s.api("POST", "/security/v1/users/import", { token, body: JSON.stringify({ username, passwordHash: bcryptHash(USER_PASSWORD, 4) }), headers: { "content-type": "application/x-ndjson" } });
    assert.match(imported.text, /"created"/);
    const answers = await Promise.all([1, 2, 3].map((i) => s.api("POST", "/auth/v1/providers/builtin/token", { from: `127.0.20.${i}`, body: { username, password: USER_PASSWORD } })));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
  });

  it("a disable committed while the login checks the password refuses it", async () => {
    const user = await createUser(server(), token, `raced.disable.${kind}`);
    const answer = await raced(server(), user.username, "update users set enabled = 0, version = version + 1 where id = $id", user.id);
    assert.equal(answer.status, 401, answer.text);
  });

  it("a delete committed while the login checks the password refuses it with the one 401, not a 500", async () => {
    const user = await createUser(server(), token, `raced.delete.${kind}`);
    const answer = await raced(server(), user.username, "delete from users where id = $id", user.id);
    assert.equal(answer.status, 401, answer.text);
    assert.match(JSON.parse(answer.text).errorMessage, /^ECMS1102-E /);
  });
});
