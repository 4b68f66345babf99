import assert from "node:assert/strict";
import { before, it } from "node:test";
import { createGroup, createSecurityAdministrator, createUser, groupId } from "../../test-support/accounts.js";
import { insertUser } from "../../test-support/fixtures.js";
import { PgSession, whileLocked } from "../../test-support/pg-session.js";
import { describeEachStore, startTestServer, type TestServer } from "../../test-support/server.js";
import { isoAfter } from "../../storage/time.js";
import { seedStore } from "../../tools/seed-data.js";
import { createBulkActions } from "../../domain/bulk-actions.js";
import { createGroupQueries } from "../../storage/group-queries.js";
import { createUserQueries } from "../../storage/user-queries.js";

interface Run {
  id: string;
  status: string;
  total: number | null;
  processed: number;
  changed: number;
  unchanged: number;
  refused: number;
  report: { id: string; username: string; reason: string }[];
  filter: Record<string, unknown> | null;
  groupId: string | null;
}

/** Starts a run and waits for it to end in the server that runs it. */
async function runToEnd(s: TestServer, token: string, body: unknown): Promise<Run> {
  const r = await s.api<Run>("POST", "/security/v1/users/bulk-actions", { token, body });
  assert.equal(r.status, 202, r.text);
  assert.match(r.headers.get("location") ?? "", new RegExp(`/portal/security/v1/users/bulk-actions/${r.body.id}$`));
  await s.server.deps.bulkActions.settled(r.body.id);
  const done = await s.api<Run>("GET", `/security/v1/users/bulk-actions/${r.body.id}`, { token });
  assert.equal(done.status, 200);
  return done.body;
}

describeEachStore("bulk actions", (server, kind) => {
  let admin: string;
  let secAdmin: string;

  before(async () => {
    const s = server();
    admin = await s.login();
    secAdmin = (await createSecurityAdministrator(s, admin, "bulk.secadmin")).token;
    for (let i = 0; i < 30; i++) await insertUser(s.server.deps.store, { username: `bulk.u${String(i).padStart(2, "0")}` });
  });

  it("judges each user as it is when its batch is written: one made a system administrator meanwhile is refused to a security administrator", { skip: kind === "sqlite" && "needs two open write transactions (PostgreSQL)" }, async () => {
    const s = server();
    const target = await createUser(s, admin, "promoted.meanwhile");
    const profile = await insertUser(s.server.deps.store, { username: "admin-profile", profile_id: 0 });
    const administrators = await groupId(s, admin, "administrators");
    assert.equal((await s.api("PUT", `/security/v1/users/${profile.uuid}/user-groups/${administrators}`, { token: admin })).status, 204);
    // A system administrator assigns the profile while the run's batch is on its way: the run waits for that change.
    const [run] = await whileLocked(s, "update users set profile_id = $1 where uuid = $2", [profile.id, target.uuid], 1, () => [runToEnd(s, secAdmin, { ids: [target.uuid], action: "delete" })]);
    assert.deepEqual([run!.changed, run!.refused], [0, 1], JSON.stringify(run));
    assert.match(run!.report[0]!.reason, /Only a system administrator/);
    assert.equal((await s.api("GET", `/security/v1/users/${target.uuid}`, { token: admin })).status, 200);
    // Another system administrator no more: the tests after count them.
    for (const id of [target.uuid, profile.uuid]) assert.equal((await s.api("DELETE", `/security/v1/users/${id}`, { token: admin })).status, 204);
  });

  it("a batch slower than a run's staleness keeps its heartbeat: another process does not take the run over meanwhile", { skip: kind === "sqlite" && "needs two open write transactions (PostgreSQL)" }, async () => {
    const s = server();
    const { store } = s.server.deps;
    const deps = { sessions: s.server.deps.sessions, apiKeys: s.server.deps.apiKeys };
    const log = () => {};
    // Two processes' runners on one store, a run stale after 2 s: this one runs it, the other looks for stale runs.
    const here = createBulkActions(store, createUserQueries(store), createGroupQueries(store), deps, log, { staleSeconds: 2 });
    const elsewhere = createBulkActions(store, createUserQueries(store), createGroupQueries(store), deps, log, { staleSeconds: 2 });
    const slow = await createUser(s, admin, "bulk.slow.batch");
    const sysadmin = await store.db.selectFrom("users").select("id").where("username", "=", "sysadmin").executeTakeFirstOrThrow();
    let taken = -1;
    let runId = "";
    // The batch waits 3 s for a row another session holds: longer than the run may go without a heartbeat.
    await whileLocked(s, "select 1 from users where uuid = $1 for update", [slow.uuid], 1, () => [
      here.start({ id: sysadmin.id, name: "sysadmin", sourceIp: null, roles: ["system-administrator"] }, { sessionId: null, apiKeyId: null }, { action: "disable", selection: { ids: [slow.uuid] } }).then((r) => (runId = r.uuid)),
    ], async () => {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      taken = await elsewhere.resumeStale();
    });
    await here.settled(runId);
    assert.equal(taken, 0, "the run was taken over while its batch was being written");
    const run = (await s.api<Run>("GET", `/security/v1/users/bulk-actions/${runId}`, { token: admin })).body;
    assert.deepEqual([run.status, run.changed], ["done", 1]);
    await Promise.all([here.stop(), elsewhere.stop()]);
  });

  it("reports a user deleted by another while its batch was on its way: every user processed is counted somewhere", { skip: kind === "sqlite" && "needs two open write transactions (PostgreSQL)" }, async () => {
    const s = server();
    const kept = await createUser(s, admin, "bulk.gone.kept");
    const gone = await createUser(s, admin, "bulk.gone.lost");
    const [run] = await whileLocked(s, "delete from users where uuid = $1", [gone.uuid], 1, () => [runToEnd(s, admin, { ids: [kept.uuid, gone.uuid], action: "disable" })]);
    assert.deepEqual([run!.processed, run!.changed, run!.unchanged, run!.refused], [2, 1, 0, 1], JSON.stringify(run));
    assert.deepEqual(run!.report.map((r) => [r.username, r.reason]), [["bulk.gone.lost", "This user was deleted while the run went on."]]);
  });

  it("reports ids that name no user (deleted before their batch, or never there): every id sent is counted somewhere", async () => {
    const s = server();
    const kept = await createUser(s, admin, "bulk.missing.kept");
    const gone = await createUser(s, admin, "bulk.missing.gone");
    assert.equal((await s.api("DELETE", `/security/v1/users/${gone.uuid}`, { token: admin })).status, 204);
    const never = "00000000-0000-4000-8000-00000000beef";
    const run = await runToEnd(s, admin, { ids: [kept.uuid, gone.uuid, never.toUpperCase()], action: "disable" });
    assert.deepEqual([run.status, run.total, run.processed, run.changed, run.unchanged, run.refused], ["done", 3, 3, 1, 0, 2], JSON.stringify(run));
    assert.deepEqual(run.report.map((r) => [r.id, r.username]).sort(), [[gone.uuid, ""], [never, ""]].sort());
    for (const r of run.report) assert.match(r.reason, /^No user has this id/);
  });

  it("disables all matching a filter, audits each user and the run, revokes their tokens", async () => {
    const s = server();
    const victim = await createUser(s, admin, "bulk.x.login");
    const victimToken = await s.login("bulk.x.login", "User-Secret-1");
    await insertUser(s.server.deps.store, { username: "bulk.x.off", enabled: 0 });
    const run = await runToEnd(s, admin, { action: "disable", filter: { search: "bulk.x." } });
    assert.deepEqual([run.status, run.total, run.processed, run.changed, run.unchanged, run.refused], ["done", 2, 2, 1, 1, 0]);
    assert.deepEqual(run.filter, { search: "bulk.x." });
    assert.equal((await s.api("GET", `/security/v1/users/${victim.uuid}`, { token: admin })).body.enabled, false);
    assert.equal((await s.api("GET", "/security/v1/me", { token: victimToken })).status, 401);
    const events = await s.api<{ action: string; targetName: string; details: { bulkActionId?: string } }[]>("GET", `/security/v1/audit-events?target=${victim.uuid}`, { token: admin });
    assert.ok(events.body.some((e) => e.action === "user.update" && e.details.bulkActionId === run.id));
    const runEvents = await s.api<{ action: string }[]>("GET", `/security/v1/audit-events?target=${run.id}`, { token: admin });
    assert.deepEqual(runEvents.body.map((e) => e.action).sort(), ["users.bulk-action.finish", "users.bulk-action.start"]);
  });

  it("adds ids to a group and removes them again; a group filter selects its members", async () => {
    const s = server();
    const group = await createGroup(s, admin, "bulk-team");
    const ids = (await s.api<{ id: string }[]>("GET", "/security/v1/users?search=bulk.u0", { token: admin })).body.map((u) => u.id);
    assert.equal(ids.length, 10);
    const add = await runToEnd(s, admin, { action: "add-to-group", ids, groupId: group });
    assert.deepEqual([add.status, add.changed, add.groupId], ["done", 10, group]);
    assert.equal((await s.api("GET", `/security/v1/users/count?groupId=${group}`, { token: admin })).body, 10);
    const remove = await runToEnd(s, admin, { action: "remove-from-group", filter: { groupId: group }, groupId: group });
    assert.deepEqual([remove.status, remove.total, remove.changed], ["done", 10, 10]);
    assert.equal((await s.api("GET", `/security/v1/users/count?groupId=${group}`, { token: admin })).body, 0);
  });

  it("adds the accounts linked to an identity provider to a group: those it made and local accounts linked to it", async () => {
    const s = server();
    const { db } = s.server.deps.store;
    const now = "2026-01-01T00:00:00.000Z";
    const provider = await db.insertInto("identity_providers").values({ uuid: crypto.randomUUID(), alias: "bulk-idp", display_name: "Bulk IdP", config: "{}", by_system_administrator: 1, created_at: now, updated_at: now }).returning("id").executeTakeFirstOrThrow();
    const made = await insertUser(s.server.deps.store, { username: "bulk.idp.made", identity_provider_id: provider.id });
    const linked = await insertUser(s.server.deps.store, { username: "bulk.idp.linked" });
    await db.insertInto("federated_identities").values([made, linked].map((u) => ({ provider_id: provider.id, subject: u.username, user_id: u.id, by_system_administrator: 1, created_at: now }))).execute();
    const group = await createGroup(s, admin, "bulk-idp-team");
    // The alias in any case: aliases are told apart without regard to it.
    const add = await runToEnd(s, admin, { action: "add-to-group", filter: { linkedTo: "Bulk-IdP" }, groupId: group });
    assert.deepEqual([add.status, add.total, add.changed, add.filter], ["done", 2, 2, { linkedTo: "Bulk-IdP" }]);
    const members = await s.api<{ username: string }[]>("GET", `/security/v1/users?groupId=${group}`, { token: admin });
    assert.deepEqual(members.body.map((u) => u.username), ["bulk.idp.linked", "bulk.idp.made"]);
  });

  it("a security administrator's run leaves system administrators and built-in users alone, and reports them", async () => {
    const s = server();
    const run = await runToEnd(s, secAdmin, { action: "disable", filter: { search: "sysadmin" } });
    assert.deepEqual([run.status, run.changed, run.refused], ["done", 0, 1]);
    assert.deepEqual(run.report.map((r) => r.username), ["sysadmin"]);
    assert.match(run.report[0]!.reason, /system administrator/);
    const me = await s.api<{ enabled: boolean }>("GET", "/security/v1/me", { token: admin });
    assert.equal(me.body.enabled, true);
  });

  it("a run leaves the caller's own account alone when it would disable or delete it, and reports it; the others are done", async () => {
    const s = server();
    await createUser(s, admin, "bulk.secadmin.twin");
    for (const action of ["disable", "delete"] as const) {
      const run = await runToEnd(s, secAdmin, { action, filter: { search: "bulk.secadmin" } });
      assert.deepEqual([run.status, run.total, run.changed, run.refused], ["done", 2, 1, 1], action);
      assert.deepEqual(run.report.map((r) => [r.username, r.reason]), [["bulk.secadmin", `Your own account is not ${action === "delete" ? "deleted" : "disabled"} by a bulk action: change it on its own.`]]);
      if (action === "disable") assert.equal((await s.api("PUT", `/security/v1/users/${(await s.api<{ id: string }[]>("GET", "/security/v1/users?search=bulk.secadmin.twin", { token: admin })).body[0]!.id}`, { token: admin, body: { enabled: true } })).status, 200);
    }
    const me = await s.api<{ enabled: boolean }>("GET", "/security/v1/me", { token: secAdmin });
    assert.deepEqual([me.status, me.body.enabled], [200, true], "still in");
  });

  it("the last system administrator stays, even in a system administrator's run", async () => {
    const s = server();
    const administrators = await groupId(s, admin, "administrators");
    const second = await createUser(s, admin, "bulk.admin2");
    assert.equal((await s.api("PUT", `/security/v1/users/${second.uuid}/user-groups/${administrators}`, { token: admin })).status, 204);
    const run = await runToEnd(s, admin, { action: "remove-from-group", filter: { groupId: administrators }, groupId: administrators });
    assert.deepEqual([run.status, run.changed, run.refused], ["done", 1, 1]);
    assert.deepEqual(run.report.map((r) => r.username), ["sysadmin"]);
    assert.match(run.report[0]!.reason, /last system administrator/);
    assert.equal((await s.api("GET", `/security/v1/users/count?groupId=${administrators}`, { token: admin })).body, 1);
    const built = await runToEnd(s, admin, { action: "delete", filter: { search: "sysadmin" } });
    assert.deepEqual([built.changed, built.refused], [0, 1]);
    assert.match(built.report[0]!.reason, /built-in/);
  });

  it("deletes, clears lockouts and enables; profiles in use are refused", async () => {
    const s = server();
    const { store } = s.server.deps;
    const profile = await insertUser(store, { username: "bulk.z.profile", profile_id: 0 });
    await insertUser(store, { username: "bulk.y.member", profile_id: profile.id, locked_out_until: isoAfter(600), failed_logins: 5 });
    await insertUser(store, { username: "bulk.z.plain", enabled: 0 });
    const clear = await runToEnd(s, admin, { action: "clear-lockout", filter: { lockedOut: true, search: "bulk." } });
    assert.deepEqual([clear.changed, (await s.api("GET", "/security/v1/users/count?lockedOut=true&search=bulk.", { token: admin })).body], [1, 0]);
    const enable = await runToEnd(s, admin, { action: "enable", filter: { search: "bulk.z.", enabled: false } });
    assert.equal(enable.changed, 1);
    const del = await runToEnd(s, admin, { action: "delete", filter: { search: "bulk.z." } });
    assert.deepEqual([del.changed, del.refused, del.report[0]?.username], [1, 1, "bulk.z.profile"]);
    assert.equal((await s.api("GET", "/security/v1/users/count?search=bulk.z.", { token: admin })).body, 1);
  });

  it("leaves enabled to the directory of its users: they are refused, with the reason, and the others done", async () => {
    const s = server();
    const { store } = s.server.deps;
    const created = await s.api("POST", "/security/v1/external-user-storage", { token: admin, body: { name: "bulk corp", connectionUrl: "ldaps://127.0.0.1:1", baseDn: "dc=corp,dc=example" } });
    assert.equal(created.status, 201, created.text);
    const directory = await store.db.selectFrom("directories").select("id").where("uuid", "=", created.body.id).executeTakeFirstOrThrow();
    for (const [username, enabled] of [["bulk.d.on", 1], ["bulk.d.off", 0]] as const) {
      await insertUser(store, { username, enabled, directory_id: directory.id, directory_key: username, dn: `uid=${username},dc=corp,dc=example` });
    }
    await insertUser(store, { username: "bulk.d.local", enabled: 0 });
    const enable = await runToEnd(s, admin, { action: "enable", filter: { search: "bulk.d." } });
    assert.deepEqual([enable.status, enable.changed, enable.unchanged, enable.refused], ["done", 1, 0, 2]);
    assert.deepEqual(enable.report.map((r) => [r.username, r.reason]).sort(), [
      ["bulk.d.off", "The directory decides whether this user is enabled: change it there."],
      ["bulk.d.on", "The directory decides whether this user is enabled: change it there."],
    ]);
    const disable = await runToEnd(s, admin, { action: "disable", filter: { search: "bulk.d." } });
    assert.deepEqual([disable.changed, disable.refused], [1, 2]);
    const enabled = async (username: string) => (await store.db.selectFrom("users").select("enabled").where("username", "=", username).executeTakeFirstOrThrow()).enabled;
    assert.deepEqual([await enabled("bulk.d.on"), await enabled("bulk.d.off"), await enabled("bulk.d.local")], [1, 0, 0]);
    // What stays local is done for them as for anyone.
    const clear = await runToEnd(s, admin, { action: "clear-lockout", filter: { search: "bulk.d." } });
    assert.equal(clear.refused, 0);
  });

  it("refuses bad requests in the error shape, and what the caller may not do", async () => {
    const s = server();
    const post = (token: string | undefined, body: unknown) => s.api("POST", "/security/v1/users/bulk-actions", { token, body });
    for (const body of [
      { action: "disable" },
      { action: "disable", filter: {}, ids: ["00000000-0000-0000-0000-000000000000"] },
      { action: "explode", filter: {} },
      { action: "disable", filter: { colour: "red" } },
      { action: "disable", ids: ["not-a-uuid"] },
      { action: "add-to-group", filter: {} },
      { action: "disable", filter: {}, groupId: await groupId(s, admin, "users") },
      { action: "disable", filter: {}, extra: 1 },
    ]) {
      const r = await post(admin, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.errorMessage, /^ECMS1001-E /);
    }
    assert.equal((await post(admin, { action: "add-to-group", filter: {}, groupId: "00000000-0000-0000-0000-000000000000" })).status, 404);
    assert.equal((await post(admin, { action: "disable", filter: { groupId: "00000000-0000-0000-0000-000000000000" } })).status, 404);
    const administrators = await groupId(s, admin, "administrators");
    const r = await post(secAdmin, { action: "add-to-group", filter: { search: "bulk.u" }, groupId: administrators });
    assert.equal(r.status, 403);
    assert.equal((await post(undefined, { action: "disable", filter: {} })).status, 401);
    await createUser(s, admin, "bulk.plain");
    assert.equal((await post(await s.login("bulk.plain", "User-Secret-1"), { action: "disable", filter: {} })).status, 403);
    assert.equal((await s.api("GET", "/security/v1/users/bulk-actions/00000000-0000-0000-0000-000000000000", { token: admin })).status, 404);
  });

  it("shows the same progress on another node, which takes over a run whose node stopped", async () => {
    const s = server();
    const { store } = s.server.deps;
    const node2 = await startTestServer(s.kind, { store: s.server.deps.config.store });
    try {
      const token = await node2.login();
      const list = await node2.api<Run[]>("GET", "/security/v1/users/bulk-actions", { token });
      assert.ok(list.body.length >= 1);
      const seen = await node2.api<Run>("GET", `/security/v1/users/bulk-actions/${list.body[0]!.id}`, { token });
      assert.equal(seen.body.status, "done");
      // A run left behind by a process that stopped: running, stale heartbeat, half done.
      const row = await store.db
        .insertInto("bulk_actions")
        .values({
          uuid: "11111111-2222-4333-8444-555555555555",
          action: "disable",
          params: JSON.stringify({ filter: { search: "bulk.u1" }, filterInput: { search: "bulk.u1" } }),
          actor_id: (await store.db.selectFrom("users").select("id").where("username", "=", "sysadmin").executeTakeFirstOrThrow()).id,
          actor_name: "sysadmin",
          actor_roles: JSON.stringify(["system-administrator"]),
          source_ip: null,
          status: "running",
          total: 10,
          cursor: "bulk.u14",
          processed: 5,
          owner: "gone",
          heartbeat_at: isoAfter(-3600),
          created_at: isoAfter(-3600),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      assert.equal(await node2.server.deps.bulkActions.resumeStale(), 1);
      await node2.server.deps.bulkActions.settled(row.uuid);
      const run = (await s.api<Run>("GET", `/security/v1/users/bulk-actions/${row.uuid}`, { token: admin })).body;
      assert.deepEqual([run.status, run.processed, run.changed], ["done", 10, 5]);
      const enabled = (await s.api<{ username: string; enabled: boolean }[]>("GET", "/security/v1/users?search=bulk.u1", { token: admin })).body;
      assert.deepEqual(enabled.filter((u) => !u.enabled).map((u) => u.username), ["bulk.u15", "bulk.u16", "bulk.u17", "bulk.u18", "bulk.u19"]);
    } finally {
      await node2.close();
    }
  });

  it("asks again before each batch: a run stops, saying why, once its starter may no longer log in, holds no administrator role, or may not change its group", async () => {
    const s = server();
    const { store } = s.server.deps;
    /** A run of `starter` left half done by a node that stopped (5 of bulk.u1*), taken over here. */
    const resumed = async (
      starter: { id: number; username: string },
      action: string,
      params: Record<string, unknown>,
      startedWith: { actor_session_id?: string; actor_api_key_id?: string } = {},
    ): Promise<Run & { error: string | null }> => {
      const row = await store.db
        .insertInto("bulk_actions")
        .values({ uuid: crypto.randomUUID(), action, params: JSON.stringify(params), actor_id: starter.id, actor_name: starter.username, actor_roles: JSON.stringify(["security-administrator"]), ...startedWith, source_ip: null, status: "running", total: 10, cursor: "bulk.u14", processed: 5, owner: "gone", heartbeat_at: isoAfter(-3600), created_at: isoAfter(-3600) })
        .returningAll()
        .executeTakeFirstOrThrow();
      assert.equal(await s.server.deps.bulkActions.resumeStale(), 1);
      await s.server.deps.bulkActions.settled(row.uuid);
      return (await s.api<Run & { error: string | null }>("GET", `/security/v1/users/bulk-actions/${row.uuid}`, { token: admin })).body;
    };
    const disableRest = { filter: { search: "bulk.u1" }, filterInput: { search: "bulk.u1" } };
    const enabled = async () => (await s.api<{ enabled: boolean }[]>("GET", "/security/v1/users?search=bulk.u1", { token: admin })).body.filter((u) => u.enabled).length;
    const before = await enabled();

    const demoted = await createSecurityAdministrator(s, admin, "bulk.demoted");
    assert.equal((await s.api("DELETE", `/security/v1/users/${demoted.user.uuid}/user-groups/${await groupId(s, admin, "bulk.demoted-group")}`, { token: admin })).status, 204);
    const noRole = await resumed(demoted.user, "disable", disableRest);
    assert.deepEqual([noRole.status, noRole.processed, noRole.changed, noRole.error], ["failed", 5, 0, "The run stopped: bulk.demoted no longer holds an administrator role."]);

    const disabled = await createSecurityAdministrator(s, admin, "bulk.disabled");
    assert.equal((await s.api("PUT", `/security/v1/users/${disabled.user.uuid}`, { token: admin, body: { enabled: false } })).status, 200);
    const noLogin = await resumed(disabled.user, "disable", disableRest);
    assert.equal(noLogin.status, "failed");
    assert.match(noLogin.error ?? "", /^The run stopped: bulk\.disabled may no longer log in/);
    assert.equal(await enabled(), before, "nobody was disabled by either run");

    // What started it has ended: a logout (a stolen token's owner logs it out), a revoked key.
    const loggedOut = await createSecurityAdministrator(s, admin, "bulk.loggedout");
    const sid = (JSON.parse(Buffer.from(loggedOut.token.split(".")[1]!, "base64url").toString()) as { sid: string }).sid;
    assert.equal((await s.api("POST", "/auth/v1/logout", { token: loggedOut.token })).status, 204);
    const afterLogout = await resumed(loggedOut.user, "disable", disableRest, { actor_session_id: sid });
    assert.deepEqual([afterLogout.status, afterLogout.error], ["failed", "The run stopped: the session that started it has ended (logged out, expired or revoked)."]);
    const keyed = await createSecurityAdministrator(s, admin, "bulk.keyed");
    const key = await s.api<{ id: string }>("POST", `/security/v1/users/${keyed.user.uuid}/api-keys`, { token: admin, body: { name: "bulk" } });
    assert.equal(key.status, 201, key.text);
    assert.equal((await s.api("DELETE", `/security/v1/users/${keyed.user.uuid}/api-keys/${key.body.id}`, { token: admin })).status, 204);
    const afterRevoke = await resumed(keyed.user, "disable", disableRest, { actor_api_key_id: key.body.id });
    assert.deepEqual([afterRevoke.status, afterRevoke.error], ["failed", "The run stopped: the API key that started it was revoked or has expired."]);
    assert.equal(await enabled(), before, "nobody was disabled by these runs either");

    // Its group has come to grant system-administrator since the run began.
    const team = await createGroup(s, admin, "bulk-team-now-root");
    const teamRow = await store.db.selectFrom("groups").select(["id", "name"]).where("uuid", "=", team).executeTakeFirstOrThrow();
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${team}/role-mappings/portal/system-administrator`, { token: admin })).status, 204);
    const still = await createSecurityAdministrator(s, admin, "bulk.still");
    const rooted = await resumed(still.user, "add-to-group", { ...disableRest, group: { uuid: team, ...teamRow } });
    assert.equal(rooted.status, "failed");
    assert.match(rooted.error ?? "", /^The run stopped: Only a system administrator may change a group that grants the system-administrator role \(the group bulk-team-now-root grants it now\)\.$/);
    assert.equal((await s.api("GET", `/security/v1/users/count?groupId=${team}`, { token: admin })).body, 0);
    const events = await s.api<{ outcome: string; details: { error?: string } }[]>("GET", `/security/v1/audit-events?action=users.bulk-action.finish&target=${rooted.id}`, { token: admin });
    assert.deepEqual(events.body.map((e) => [e.outcome, e.details.error]), [["failure", rooted.error]]);
  });
});

describeEachStore("a bulk action over many users", (server, kind) => {
  // One store of 10 000 users for the two runs over all of them: the second counts what it finds.
  before(async () => {
    await seedStore(server().server.deps.store, { users: 10_000, seed: 5, passwordHash: "not-a-login" });
  });

  it("leaves the server answering while it runs: its progress is seen between its batches", async () => {
    const s = server();
    const token = await s.login();
    const started = await s.api<Run>("POST", "/security/v1/users/bulk-actions", { token, body: { action: "disable", filter: { search: "a" } } });
    assert.equal(started.status, 202, started.text);
    // A store that held the event loop for the whole run answered the first look only once it was done.
    const seen: Run[] = [];
    for (;;) {
      const r = await s.api<Run>("GET", `/security/v1/users/bulk-actions/${started.body.id}`, { token });
      seen.push(r.body);
      if (r.body.status !== "running") break;
    }
    assert.equal(seen.at(-1)!.status, "done");
    // A look before the run has counted its users sees no total yet (null): that is mid-run too.
    assert.ok(seen[0]!.status === "running" && seen[0]!.processed < (seen[0]!.total ?? Infinity), `the first look saw ${JSON.stringify(seen[0])}`);
  });
  it("cancelled while it runs: the batch on its way is rolled back, those before it stay done, and the run says so", async () => {
    const s = server();
    const token = await s.login();
    const enabledCount = async () => (await s.api<number>("GET", "/security/v1/users/count?enabled=true", { token })).body;
    const before = await enabledCount();
    const started = await s.api<Run>("POST", "/security/v1/users/bulk-actions", { token, body: { action: "disable", filter: {} } });
    assert.equal(started.status, 202, started.text);
    const cancelled = await s.api<Run>("POST", `/security/v1/users/bulk-actions/${started.body.id}/cancel`, { token });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.body.status, "cancelled");
    await s.server.deps.bulkActions.settled(started.body.id);
    const run = (await s.api<Run>("GET", `/security/v1/users/bulk-actions/${started.body.id}`, { token })).body;
    assert.equal(run.status, "cancelled");
    assert.ok(run.processed < (run.total ?? 10_001), `stopped part way: ${JSON.stringify(run)}`);
    assert.equal(await enabledCount(), before - run.changed, "every user disabled is counted: the batch on its way was rolled back");
    const again = await s.api<{ errorMessage: string }>("POST", `/security/v1/users/bulk-actions/${started.body.id}/cancel`, { token });
    assert.equal(again.status, 409);
    assert.match(again.body.errorMessage, /The run has ended already \(cancelled\)/);
    assert.equal((await s.api("POST", "/security/v1/users/bulk-actions/11111111-2222-4333-8444-555555555556/cancel", { token })).status, 404);
    const events = await s.api<{ action: string; outcome: string; details: { status?: string } }[]>("GET", `/security/v1/audit-events?target=${started.body.id}`, { token });
    assert.deepEqual(events.body.map((e) => [e.action, e.outcome, e.details.status]).sort(), [
      ["users.bulk-action.cancel", "success", undefined],
      ["users.bulk-action.finish", "failure", "cancelled"],
      ["users.bulk-action.start", "success", undefined],
    ]);
  });

  it("a batch that finds its run taken over by another process is rolled back: every user changed is counted", { skip: kind === "sqlite" && "needs two open write transactions (PostgreSQL)" }, async () => {
    const s = await startTestServer(kind);
    const holder = await PgSession.open((s.server.deps.config.store as { url: string }).url);
    try {
      await seedStore(s.server.deps.store, { users: 5_000, seed: 6, passwordHash: "not-a-login" });
      const token = await s.login();
      const disabled = async () => (await holder.query<{ n: number }>("select count(*)::int as n from users where enabled = 0"))[0]!.n;
      const before = await disabled();
      const started = await s.api<Run>("POST", "/security/v1/users/bulk-actions", { token, body: { action: "disable", filter: {} } });
      assert.equal(started.status, 202, started.text);
      // What a node does that found the run's heartbeat stale: it owns the run from then on. This
      // process's batch on its way meets that at its end.
      await holder.query("begin");
      await holder.query("update bulk_actions set owner = 'another-node' where uuid = $1", [started.body.id]);
      await holder.blocking(1);
      await holder.query("commit");
      await s.server.deps.bulkActions.settled(started.body.id);
      const run = (await s.api<Run>("GET", `/security/v1/users/bulk-actions/${started.body.id}`, { token })).body;
      assert.equal(await disabled(), before + run.changed, JSON.stringify(run));
      assert.ok(run.processed < 5_000, "the run stopped here when it was taken over");
    } finally {
      await holder.end();
      await s.close();
    }
  });
});
