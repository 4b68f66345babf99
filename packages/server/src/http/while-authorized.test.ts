import assert from "node:assert/strict";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { seedStore } from "../tools/seed-data.js";
import { createSecurityAdministrator, groupId } from "../test-support/accounts.js";
import { describeEachStore, startTestServer, type TestServer } from "../test-support/server.js";

/**
 * Posts an NDJSON import whose body is `first` (a line), then — once its answer's first line came, the
 * row's batch committed — what `between` does, then `second`: the lines of its answer.
 */
async function importAround(s: TestServer, query: string, token: string, first: string, between: () => Promise<void>, second: string): Promise<any[]> {
  const encoder = new TextEncoder();
  let answered!: () => void;
  const firstAnswered = new Promise<void>((resolve) => (answered = resolve));
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode(`${first}\n`));
      await firstAnswered;
      await between();
      // At once: the next batch asks first, not every few seconds.
      controller.enqueue(encoder.encode(`${second}\n`));
      controller.close();
    },
  });
  const response = await fetch(`${s.baseUrl}/security/v1/users/import${query}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" }, body, duplex: "half" } as RequestInit);
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    if (text.includes("\n")) answered();
  }
  answered();
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

/** Reads a streamed answer slowly: a few KB, then a pause longer than the server's recheck, then the rest. */
async function readWithPause(response: Response, pauseMs: number, during: () => Promise<void>): Promise<{ bytes: number; error: unknown }> {
  const reader = response.body!.getReader();
  let bytes = 0;
  try {
    bytes += (await reader.read()).value?.length ?? 0;
    await during();
    await sleep(pauseMs);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes, error: undefined };
      bytes += value.length;
    }
  } catch (error) {
    return { bytes, error };
  }
}

describeEachStore("a long answer asks again whether its caller may have it", (server, kind) => {
  let admin: string;
  // Another node on the same store, whose tokens last 3 s idle, so that its long answers ask again every
  // second (not every 5 s), and whose store gives up after 2 × 1 s: the pauses below wait for that.
  let node: TestServer | undefined;
  before(async () => {
    admin = await server().login();
    // Enough users that the answer outlasts what the sockets buffer while its reader pauses: about 12 MB,
    // where loopback's buffers held 4–4.5 MB of it (the kernel's 4 MB send buffer at most; tcp_wmem).
    // The pauses' tests fail, not pass, when the answer fits: the reader reads it whole.
    await seedStore(server().server.deps.store, { users: 20_000, seed: 3, passwordHash: "not-a-login" });
    node = await startTestServer(server().kind, { store: { ...server().server.deps.config.store, busy: { timeoutMs: 1000, attempts: 2 } }, tokenTtlSeconds: 3 });
  });
  after(async () => {
    await node?.close();
  });

  it("a streamed list is cut when its token is revoked while it is read, and the next request is a 401", { timeout: 60_000 }, async () => {
    const token = await node!.login();
    const response = await fetch(`${node!.baseUrl}/security/v1/users?extendedInfo=true`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    const logout = async () => assert.equal((await node!.api("POST", "/auth/v1/logout", { token })).status, 204);
    const { error } = await readWithPause(response, 2500, logout);
    assert.ok(error, "the answer broke off");
    assert.equal((await node!.api("GET", "/security/v1/users/count", { token })).status, 401);
    // A token that stays valid reads the same list to its end.
    const whole = await fetch(`${node!.baseUrl}/security/v1/users?extendedInfo=true`, { headers: { authorization: `Bearer ${await node!.login()}` } });
    const read = await readWithPause(whole, 2500, async () => {});
    assert.equal(read.error, undefined);
  });

  /** An import (`query`: ?dryRun=true) of `first`, then — its token logged out meanwhile — of `second`: its answer's lines. */
  async function importAcrossLogout(query: string, first: string, second: string): Promise<any[]> {
    const token = await server().login();
    const logout = async () => assert.equal((await server().api("POST", "/auth/v1/logout", { token })).status, 204);
    return importAround(server(), query, token, `{"username":"${first}"}`, logout, `{"username":"${second}"}`);
  }

  it("an import stops taking batches as soon as its token is revoked, and says so in its last line", { timeout: 60_000 }, async () => {
    const lines = await importAcrossLogout("", "revoked-import-1", "revoked-import-2");
    assert.deepEqual(lines[0], { line: 1, username: "revoked-import-1", status: "created", id: lines[0].id });
    assert.equal(lines.at(-1).error?.code, "ECMS1101", JSON.stringify(lines));
    assert.match(lines.at(-1).error.message, /revoked; the rows answered before this line are imported\.$/);
    // Its last audit event has the counts and why it ended.
    const events = (await server().api("GET", "/security/v1/audit-events?action=user.import", { token: admin })).body;
    const last = events.find((e: { outcome: string }) => e.outcome === "failure");
    assert.ok(last && last.details.created === lines.filter((l) => l.status === "created").length && /revoked/.test(last.details.ended), JSON.stringify(events));
    // What was imported is what was answered: no row is written after the refusal, none unanswered before it.
    const imported = (await server().api("GET", "/security/v1/users?search=revoked-import", { token: admin })).body.map((u: { username: string }) => u.username);
    assert.deepEqual(imported.sort(), lines.filter((l) => l.status === "created").map((l) => l.username).sort());
    assert.deepEqual(imported, ["revoked-import-1"]);
  });

  it("a dry run stopped by its token's revocation says that nothing was imported", { timeout: 60_000 }, async () => {
    const lines = await importAcrossLogout("?dryRun=true", "revoked-dry-1", "revoked-dry-2");
    assert.equal(lines[0].status, "created");
    assert.match(lines.at(-1).error.message, /revoked; the rows answered before this line were checked, and nothing was imported\.$/);
  });

  it("an import whose caller loses a role while it runs imports the rows after with the roles left", { timeout: 60_000 }, async () => {
    const s = server();
    // A security administrator who was a system administrator too, until another removes them from administrators.
    const { user, token } = await createSecurityAdministrator(s, admin, "demoted.admin");
    const administrators = await groupId(s, admin, "administrators");
    assert.equal((await s.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${administrators}`, { token: admin })).status, 204);
    const demote = async () => assert.equal((await s.api("DELETE", `/security/v1/users/${user.uuid}/user-groups/${administrators}`, { token: admin })).status, 204);
    // A system administrator's password is a system administrator's to set.
    const lines = await importAround(s, "", token, '{"username":"demoted-import-1"}', demote, '{"username":"sysadmin","password":"Taken-Over-Passw0rd!"}');
    assert.equal(lines[0].status, "created", JSON.stringify(lines));
    assert.equal(lines[1].status, "failed", JSON.stringify(lines));
    assert.equal((await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "sysadmin", password: "Taken-Over-Passw0rd!" } })).status, 401);
  });

  it("an upload cut by its client writes none of the rows it was not answered for", { timeout: 60_000 }, async () => {
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => `{"username":"cut-import-${from + i}"}\n`).join("");
    const { hostname, port } = new URL(server().baseUrl);
    const request = http.request({ host: hostname, port, method: "POST", path: "/portal/security/v1/users/import", headers: { authorization: `Bearer ${admin}`, "content-type": "application/x-ndjson" } });
    request.on("error", () => {}); // the cut
    const response = await new Promise<http.IncomingMessage>((resolve) => {
      request.on("response", resolve);
      request.write(rows(0, 1000)); // a whole batch: committed and answered at once
    });
    // Read without ending the answer (leaving a for await would close the connection).
    let answered = "";
    response.on("error", () => {});
    await new Promise<void>((resolve) => response.on("data", (chunk) => (answered += chunk).split("\n").length > 1000 && resolve()));
    // Ten more rows, and the connection cut long before their batch would be due.
    request.write(rows(1000, 10));
    await sleep(300);
    request.destroy();
    await sleep(1500);
    assert.equal((await server().api("GET", "/security/v1/users/count?search=cut-import-", { token: admin })).body, 1000);
  });

  describe("a long answer is a use of its token", () => {
    it("a reader that pauses for longer than the token's idle lifetime reads on to the end, and its token still works", { timeout: 60_000 }, async () => {
      const token = await node!.login();
      const response = await fetch(`${node!.baseUrl}/security/v1/users?extendedInfo=true`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.status, 200);
      // Two idle lifetimes and more without reading a byte: the open answer is the token's use meanwhile.
      const read = await readWithPause(response, 7000, async () => {});
      assert.equal(read.error, undefined);
      assert.equal((await node!.api("GET", "/security/v1/users/count", { token })).status, 200);
    });

    // A check that never answers is not taken for a yes. (SQLite's writers give up at their busy timeout
    // with an error, which cuts the answer as well; PostgreSQL's wait on a row lock for as long as it is held.)
    it("a check held up by a lock on its session ends the answer, not the checks", { timeout: 60_000, skip: kind === "sqlite" && "a row lock is PostgreSQL's" }, async () => {
      const token = await node!.login();
      const { sid } = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { sid: string };
      const response = await fetch(`${node!.baseUrl}/security/v1/users?extendedInfo=true`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.status, 200);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      // The session's row locked, as a long transaction elsewhere would: the check's slide of the session waits on it.
      const lock = node!.server.deps.store.db.transaction().execute(async (trx) => {
        await sql`select id from sessions where id = ${sid} for update`.execute(trx);
        locked();
        await held;
      });
      try {
        await lockTaken;
        // Cut once the check has waited as long as the store may take to say it is busy (this node's 1 s × 2 tries; 5 s × 3 by default).
        const read = await readWithPause(response, 6000, async () => {});
        assert.ok(read.error, "the answer broke off");
      } finally {
        release();
        await lock;
      }
    });
  });
});
