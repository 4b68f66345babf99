import assert from "node:assert/strict";
import { it } from "node:test";
import { CompiledQuery } from "kysely";
import { createGroupQueries } from "../../storage/group-queries.js";
import { createGroup, createUser, groupId } from "../../test-support/accounts.js";
import { insertGroups, insertUser } from "../../test-support/fixtures.js";
import { whileLocked } from "../../test-support/pg-session.js";
import { recording } from "../../test-support/recording.js";
import { describeEachStore } from "../../test-support/server.js";

describeEachStore("groups", (server, kind) => {
  const auditOf = (targetId: string) =>
    server().server.deps.store.db.selectFrom("audit_events").selectAll().where("target_id", "=", targetId).orderBy("id").execute();

  it("creates a group: 201, Location, ETag, the group JSON, audited", async () => {
    const s = server();
    const token = await s.login();
    const r = await s.api("POST", "/security/v1/user-groups", { token, body: { name: "Editors", description: "Edit documents" } });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get("location"), `/portal/security/v1/user-groups/${r.body.id}`);
    assert.equal(r.headers.get("etag"), '"1"');
    assert.match(r.body.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual({ ...r.body, id: undefined, numericId: undefined }, {
      id: undefined,
      numericId: undefined,
      name: "Editors",
      path: "/Editors",
      dn: null,
      description: "Edit documents",
      builtin: false,
      essential: false,
      external: false,
      profileUserId: -1,
      systemAdministratorMember: false,
    });
    const got = await s.api("GET", `/security/v1/user-groups/${r.body.id}`, { token });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, r.body);
    const [event] = await auditOf(r.body.id);
    assert.equal(event?.action, "group.create");
    assert.equal(event?.actor_name, "sysadmin");
    assert.deepEqual(JSON.parse(event!.details!), { after: { name: "Editors", description: "Edit documents" } });
  });

  it("a group deleted by two requests at once is deleted once: one 204, the other 404, one audit event", async () => {
    const s = server();
    const token = await s.login();
    const id = await createGroup(s, token, "deleted-at-once");
    const remove = () => s.api("DELETE", `/security/v1/user-groups/${id}`, { token });
    // On PostgreSQL both read the group, then wait at its row: the race made sure of.
    const answers = kind === "postgres" ? await whileLocked(s, "select 1 from groups where uuid = $1 for update", [id], 2, () => [remove(), remove()]) : await Promise.all([remove(), remove()]);
    assert.deepEqual(answers.map((r) => r.status).sort(), [204, 404]);
    const events = (await s.api("GET", `/security/v1/audit-events?action=group.delete&target=${id}`, { token })).body as unknown[];
    assert.equal(events.length, 1);
  });

  it("refuses a duplicate name, whatever its case (409), and bad names (400)", async () => {
    const s = server();
    const token = await s.login();
    await createGroup(s, token, "Reviewers");
    for (const name of ["Reviewers", "REVIEWERS", "administrators"]) {
      const r = await s.api("POST", "/security/v1/user-groups", { token, body: { name } });
      assert.equal(r.status, 409, name);
      assert.match(r.body.errorMessage, /^ECMS1301-E /);
    }
    for (const body of [{ name: "" }, { name: "a/b" }, { name: " padded" }, { name: "x".repeat(256) }, { name: "tab\there" }, {}, { name: 5 }, { name: "ok", extra: 1 }]) {
      const r = await s.api("POST", "/security/v1/user-groups", { token, body });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    // The rule holds for the name as stored (NFKC): a fullwidth ／ would be a / there, in a create or a rename.
    const fullwidth = await s.api("POST", "/security/v1/user-groups", { token, body: { name: "a\uff0fb" } });
    assert.deepEqual([fullwidth.status, fullwidth.body.errorMessage], [400, "ECMS1001-E name must not hold / or control characters, nor start or end with white space."]);
    const renamed = await s.api("PUT", `/security/v1/user-groups/${await groupId(s, token, "Reviewers")}`, { token, body: { name: "R\uff0fD" } });
    assert.equal(renamed.status, 400, renamed.text);
  });

  it("searches names case-insensitively and literally (% and _ are text)", async () => {
    const s = server();
    const token = await s.login();
    await createGroup(s, token, "Search 100% Sure");
    await createGroup(s, token, "Search under_score");
    await createGroup(s, token, "Search plain");
    const names = async (search: string) =>
      (await s.api<{ name: string }[]>("GET", `/security/v1/user-groups?search=${encodeURIComponent(search)}`, { token })).body.map((g) => g.name);
    assert.deepEqual(await names("SEARCH"), ["Search 100% Sure", "Search plain", "Search under_score"]);
    assert.deepEqual(await names("%"), ["Search 100% Sure"]);
    assert.deepEqual(await names("r_s"), ["Search under_score"]);
    assert.deepEqual(await names("_"), ["Search under_score"]);
    assert.deepEqual(await names("\\"), []);
    // Case folded as the users search folds it: ß is ss, every sigma σ, İ the name's i.
    await createGroup(s, token, "Search Große Gruppe");
    await createGroup(s, token, "Search İzmir ofis");
    await createGroup(s, token, "Search Σίσυφος");
    for (const search of ["GROSSE", "große", "GROẞE"]) assert.deepEqual(await names(search), ["Search Große Gruppe"], search);
    for (const search of ["İZMİR", "izmir", "İzmir"]) assert.deepEqual(await names(search), ["Search İzmir ofis"], search);
    for (const search of ["ΣΊΣ", "σίσυφοσ"]) assert.deepEqual(await names(search), ["Search Σίσυφος"], search);
    const all = await s.api<{ name: string }[]>("GET", "/security/v1/user-groups", { token });
    assert.ok(all.body.some((g) => g.name === "administrators"));
    assert.ok(all.body.some((g) => g.name === "users"));
  });

  it("lists the groups that grant a role; a role that does not exist is a 404 saying so", async () => {
    const s = server();
    const token = await s.login();
    await createGroup(s, token, "Role granting admins", ["system-administrator"]);
    const names = async (query: string) => (await s.api<{ name: string }[]>("GET", `/security/v1/user-groups?${query}`, { token })).body.map((g) => g.name);
    assert.deepEqual((await names("role=system-administrator")).sort(), ["Role granting admins", "administrators"]);
    assert.deepEqual(await names("role=system-administrator&search=granting"), ["Role granting admins"]);
    for (const query of ["role=no-such-role", "role=no-such-role&max=5", "role=System-Administrator"]) {
      const r = await s.api("GET", `/security/v1/user-groups?${query}`, { token });
      assert.equal(r.status, 404, `${query} → ${r.status} ${r.text}`);
      assert.match(r.body.errorMessage, /^ECMS1201-E The specified role does not exist\.$/);
    }
  });

  it("answers 404 for unknown and malformed group ids", async () => {
    const s = server();
    const token = await s.login();
    for (const id of ["00000000-0000-4000-8000-000000000000", "not-a-uuid"]) {
      for (const method of ["GET", "PUT", "DELETE"]) {
        const r = await s.api(method, `/security/v1/user-groups/${id}`, { token, body: method === "PUT" ? { description: "x" } : undefined });
        assert.equal(r.status, 404, `${method} ${id}`);
        assert.match(r.body.errorMessage, /^ECMS1201-E /);
      }
      assert.equal((await s.api("GET", `/security/v1/user-groups/${id}/members`, { token })).status, 404);
    }
  });

  it("takes a group back as GET gave it, changed or renamed; a read-only field that differs is a 400 that says why", async () => {
    const s = server();
    const token = await s.login();
    const id = await createGroup(s, token, "Round-trip");
    const read = await s.api("GET", `/security/v1/user-groups/${id}`, { token });
    const same = await s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { ...read.body, description: "Edited" } });
    assert.equal(same.status, 200, same.text);
    assert.equal(same.body.description, "Edited");
    const renamed = await s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { ...same.body, name: "Round-trip-2" } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.body.path, "/Round-trip-2");
    for (const [field, value, reason] of [["builtin", true, /builtin cannot be changed with PUT: it is given when the group is created/], ["dn", "cn=x,dc=example", /dn cannot be changed with PUT: it comes from the group's directory/], ["path", "/elsewhere", /path cannot be changed with PUT: it follows the name/], ["id", "00000000-0000-4000-8000-000000000000", /The id in the body is not the id in the path/]] as const) {
      const refused = await s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { ...renamed.body, description: "Not written", [field]: value } });
      assert.equal(refused.status, 400, field);
      assert.match(refused.body.errorMessage, reason);
    }
    assert.equal((await s.api("GET", `/security/v1/user-groups/${id}`, { token })).body.description, "Edited", "nothing of a refused PUT is written");
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { systemAdministratorMember: "no" } })).status, 400, "still type-checked");
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { path: "/undefined" } })).status, 400, "no name given: only the current path");
    // The path of a new name is the name as it is kept (NFKC): "ﬁ" is "fi".
    const ligature = await s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { name: "Round-trip-\ufb01les", path: "/Round-trip-files" } });
    assert.equal(ligature.status, 200, ligature.text);
    assert.equal(ligature.body.path, "/Round-trip-files");
  });

  it("updates with If-Match: fields left out keep their value, stale versions are 412, changes are audited", async () => {
    const s = server();
    const token = await s.login();
    const id = await createGroup(s, token, "Writers");
    const first = await s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { description: "Writes" }, headers: { "if-match": '"1"' } });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("etag"), '"2"');
    assert.equal(first.body.name, "Writers");
    assert.equal(first.body.description, "Writes");
    const stale = await s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { name: "Authors" }, headers: { "if-match": '"1"' } });
    assert.equal(stale.status, 412);
    assert.equal(JSON.parse(stale.body.additionalInfo).currentETag, '"2"');
    const renamed = await s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { name: "Authors" }, headers: { "if-match": 'W/"2"' } });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.path, "/Authors");
    assert.equal(renamed.body.description, "Writes");
    const cleared = await s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { description: null } });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.description, null);
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: {}, headers: { "if-match": "garbage" } })).status, 412);
    const events = (await auditOf(id)).filter((e) => e.action === "group.update").map((e) => JSON.parse(e.details!));
    assert.deepEqual(events[1], { before: { name: "Writers" }, after: { name: "Authors" } });
  });

  it("says whether a system administrator is in the group (itself or through its profile), in the answers about one group, not in lists", async () => {
    const s = server();
    const token = await s.login();
    const administrators = await groupId(s, token, "administrators");
    const join = async (user: string, group: string) => assert.equal((await s.api("PUT", `/security/v1/users/${user}/user-groups/${group}`, { token })).status, 204);
    const member = async (group: string) => {
      const r = await s.api<{ systemAdministratorMember?: boolean }>("GET", `/security/v1/user-groups/${group}`, { token });
      assert.equal(r.status, 200);
      return r.body.systemAdministratorMember;
    };
    assert.equal(await member(administrators), true, "sysadmin is in it");
    const direct = await createGroup(s, token, "Admin member direct");
    const throughProfile = await createGroup(s, token, "Admin member through profile");
    assert.equal(await member(direct), false);
    const admin2 = await createUser(s, token, "member.admin2");
    await join(admin2.uuid, administrators);
    await join(admin2.uuid, direct);
    assert.equal(await member(direct), true);
    // A user whose profile holds the role: the rule that refuses a security administrator (role-rules.ts) says so too.
    const profile = await insertUser(s.server.deps.store, { username: "member.admin-profile", profile_id: 0 });
    await join(profile.uuid, administrators);
    const inherits = await createUser(s, token, "member.inherits", { profile_id: profile.id });
    await join(inherits.uuid, throughProfile);
    assert.equal(await member(throughProfile), true);
    // An update's answer says it too; a list's does not (a few queries per group).
    const updated = await s.api("PUT", `/security/v1/user-groups/${direct}`, { token, body: { description: "with an administrator" } });
    assert.equal(updated.body.systemAdministratorMember, true);
    const listed = await s.api<Record<string, unknown>[]>("GET", "/security/v1/user-groups?search=Admin%20member", { token });
    assert.equal(listed.body.length, 2);
    assert.ok(listed.body.every((g) => !("systemAdministratorMember" in g)));
    // No longer a system administrator: the group is an ordinary one again.
    assert.equal((await s.api("DELETE", `/security/v1/users/${admin2.uuid}/user-groups/${administrators}`, { token })).status, 204);
    assert.equal(await member(direct), false);
  });

  it("refuses renaming to an existing name (409) and renaming a built-in group (409), allows its description", async () => {
    const s = server();
    const token = await s.login();
    const id = await createGroup(s, token, "Rename me");
    await createGroup(s, token, "Taken");
    assert.equal((await s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { name: "taken" } })).status, 409);
    const users = await groupId(s, token, "users");
    const rename = await s.api("PUT", `/security/v1/user-groups/${users}`, { token, body: { name: "people" } });
    assert.equal(rename.status, 409);
    assert.match(rename.body.errorMessage, /^ECMS1302-E .*built-in/);
    const describe = await s.api("PUT", `/security/v1/user-groups/${users}`, { token, body: { description: "Everyone" } });
    assert.equal(describe.status, 200);
    assert.equal(describe.body.builtin, true);
  });

  it("deletes a group (with or without If-Match), refuses built-in groups", async () => {
    const s = server();
    const token = await s.login();
    for (const name of ["administrators", "users"]) {
      const r = await s.api("DELETE", `/security/v1/user-groups/${await groupId(s, token, name)}`, { token });
      assert.equal(r.status, 409, name);
      assert.match(r.body.errorMessage, /built-in/);
    }
    const id = await createGroup(s, token, "Short-lived", ["user"]);
    const user = await createUser(s, token, "member.of.short");
    await s.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${id}`, { token });
    assert.equal((await s.api("DELETE", `/security/v1/user-groups/${id}`, { token, headers: { "if-match": '"7"' } })).status, 412);
    const r = await s.api("DELETE", `/security/v1/user-groups/${id}`, { token, headers: { "if-match": '"1"' } });
    assert.equal(r.status, 204);
    assert.equal(r.text, "");
    assert.equal((await s.api("GET", `/security/v1/user-groups/${id}`, { token })).status, 404);
    const groups = await s.api<{ name: string }[]>("GET", `/security/v1/users/${user.uuid}/user-groups`, { token });
    assert.deepEqual(groups.body.map((g) => g.name), ["users"]);
    const event = (await auditOf(id)).at(-1)!;
    assert.equal(event.action, "group.delete");
    assert.deepEqual(JSON.parse(event.details!), { before: { name: "Short-lived", description: null } });
  });

  it("keeps every concurrent update: of 20 writers with the same If-Match exactly one wins; writers without If-Match all succeed", async () => {
    const s = server();
    const token = await s.login();
    const id = await createGroup(s, token, "Contended");
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { description: `writer ${i}` }, headers: { "if-match": '"1"' } })),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, ...Array(19).fill(412)]);
    const winner = results.find((r) => r.status === 200)!;
    const now = await s.api("GET", `/security/v1/user-groups/${id}`, { token });
    assert.equal(now.body.description, winner.body.description);
    assert.equal(now.headers.get("etag"), '"2"');
    // Without If-Match no write may be refused: each lands on the version left by the one before.
    const blind = await Promise.all(Array.from({ length: 10 }, (_, i) => s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { description: `blind ${i}` } })));
    assert.deepEqual(blind.map((r) => r.status), Array(10).fill(200), blind.map((r) => r.text).join("\n"));
    assert.equal((await s.api("GET", `/security/v1/user-groups/${id}`, { token })).headers.get("etag"), '"12"');
    assert.equal((await auditOf(id)).filter((e) => e.action === "group.update").length, 11);
  });

  // SQLite runs one write transaction at a time, so two writers never interleave there: the race needs PostgreSQL.
  it("two writers that read the same version: without If-Match both land, with it the second gets 412", { skip: kind === "sqlite" && "needs two open write transactions (PostgreSQL)" }, async () => {
    const s = server();
    const token = await s.login();
    const id = await createGroup(s, token, "Raced");
    const put = (description: string, headers: Record<string, string> = {}) => s.api("PUT", `/security/v1/user-groups/${id}`, { token, body: { description }, headers });
    const lockGroup = "select 1 from groups where uuid = $1 for update";
    const versions = await whileLocked(s, lockGroup, [id], 2, () => [put("blind a"), put("blind b")]);
    assert.deepEqual(versions.map((r) => r.status), [200, 200], versions.map((r) => r.text).join("\n"));
    assert.deepEqual(versions.map((r) => r.headers.get("etag")).sort(), ['"2"', '"3"']);
    const guarded = await whileLocked(s, lockGroup, [id], 2, () => [put("guarded a", { "if-match": '"3"' }), put("guarded b", { "if-match": '"3"' })]);
    assert.deepEqual(guarded.map((r) => r.status).sort(), [200, 412]);
    assert.equal((await s.api("GET", `/security/v1/user-groups/${id}`, { token })).headers.get("etag"), '"4"');
  });

  it("lists members in username order, with keyset pages and a Link header, including users of a member profile", async () => {
    const s = server();
    const token = await s.login();
    const id = await createGroup(s, token, "Team");
    const names = ["team.c", "team.a", "team.e", "team.b"];
    for (const name of names) {
      const u = await createUser(s, token, name);
      await s.api("PUT", `/security/v1/users/${u.uuid}/user-groups/${id}`, { token });
    }
    const profile = await createUser(s, token, "team.profile", { profile_id: 0 });
    await s.api("PUT", `/security/v1/users/${profile.uuid}/user-groups/${id}`, { token });
    await createUser(s, token, "team.d", { profile_id: profile.id });
    await createUser(s, token, "team.b2", { profile_id: profile.id });
    // Both a member and assigned to a member profile: listed once.
    const both = await createUser(s, token, "team.f", { profile_id: profile.id });
    await s.api("PUT", `/security/v1/users/${both.uuid}/user-groups/${id}`, { token });
    const all = await s.api<{ username: string }[]>("GET", `/security/v1/user-groups/${id}/members`, { token });
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.map((u) => u.username), ["team.a", "team.b", "team.b2", "team.c", "team.d", "team.e", "team.f", "team.profile"]);
    for (const max of [1, 2, 3, 4]) {
      const seen: string[] = [];
      let path: string | null = `/security/v1/user-groups/${id}/members?max=${max}&extendedInfo=true`;
      while (path) {
        const page: { status: number; headers: Headers; body: { username: string; groups: string[] }[] } = await s.api("GET", path, { token });
        assert.equal(page.status, 200);
        for (const u of page.body) assert.ok(u.groups.includes("Team"), u.username);
        seen.push(...page.body.map((u) => u.username));
        const link = page.headers.get("link");
        path = link ? /^<\/portal([^>]+)>; rel="next"$/.exec(link)![1]! : null;
      }
      assert.deepEqual(seen, all.body.map((u) => u.username), `max=${max}`);
    }
    assert.equal((await s.api("GET", `/security/v1/user-groups/${id}/members?cursor=bogus`, { token })).status, 400);
  });

  it("pages with max: name order, a Link to the next page while more match (search and role too); max is 1 to 1000", async () => {
    const s = server();
    const token = await s.login();
    for (const name of ["Paged c", "Paged a", "PAGED e", "Paged b", "paged d"]) await createGroup(s, token, name, name === "Paged b" || name === "paged d" ? ["security-administrator"] : []);
    const walk = async (query: string, max: number) => {
      const pages: string[][] = [];
      let path: string | null = `/security/v1/user-groups?${query}&max=${max}`;
      while (path) {
        const page: { status: number; headers: Headers; body: { name: string }[] } = await s.api("GET", path, { token });
        assert.equal(page.status, 200, path);
        pages.push(page.body.map((g) => g.name));
        const link = page.headers.get("link");
        path = link ? /^<\/portal([^>]+)>; rel="next"$/.exec(link)![1]! : null;
      }
      return pages;
    };
    assert.deepEqual(await walk("search=paged", 2), [["PAGED e", "Paged a"], ["Paged b", "Paged c"], ["paged d"]]);
    assert.deepEqual(await walk("search=paged", 5), [["PAGED e", "Paged a", "Paged b", "Paged c", "paged d"]]);
    assert.deepEqual(await walk("search=paged&role=security-administrator", 1), [["Paged b"], ["paged d"]]);
    const all = (await s.api<{ name: string }[]>("GET", "/security/v1/user-groups", { token })).body.map((g) => g.name);
    assert.deepEqual((await walk("", 3)).flat(), all);
    for (const max of ["0", "1001", "-1", "2.5", "x"]) {
      const r = await s.api("GET", `/security/v1/user-groups?max=${max}`, { token });
      assert.equal(r.status, 400, max);
      assert.match(r.body.errorMessage, /^ECMS1001-E /);
    }
    assert.equal((await s.api("GET", "/security/v1/user-groups?max=1000", { token })).status, 200);
    assert.equal((await s.api("GET", "/security/v1/user-groups?max=2&cursor=bogus", { token })).status, 400);
  });

  it("at 20 000 groups, a page walks the name index (no sort, no scan of the table) and a search finds the first matches", async () => {
    const { store } = server().server.deps;
    await insertGroups(store, Array.from({ length: 20_000 }, (_, i) => `Bulk ${String(i + 1).padStart(5, "0")}`));
    await store.dialect.analyze(store.db);

    const { store: recorded, take } = recording(store);
    const groups = createGroupQueries(recorded);
    assert.deepEqual((await groups.list(undefined, undefined, "Bulk 10000", 3)).map((g) => g.name), ["Bulk 10001", "Bulk 10002", "Bulk 10003"]);
    assert.deepEqual((await groups.list(undefined, undefined, "Bulk", 2)).map((g) => g.name), ["Bulk 00001", "Bulk 00002"]);
    const first = await groups.list(undefined, undefined, undefined, 2);
    const queries = take();
    assert.deepEqual(first, (await groups.list()).slice(0, 2));
    for (const query of queries) {
      if (store.dialect.name === "postgres") {
        const [{ "QUERY PLAN": [plan] }] = (await store.db.executeQuery<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters]))).rows as [{ "QUERY PLAN": [{ Plan: PlanNode }] }];
        const nodes = planNodes(plan.Plan);
        assert.ok(nodes.some((n) => n["Index Name"] === "groups_name"), JSON.stringify(plan));
        assert.ok(!nodes.some((n) => n["Node Type"] === "Sort" || n["Node Type"] === "Seq Scan"), JSON.stringify(plan));
      } else {
        const plan = (await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]))).rows.map((r) => r.detail);
        assert.ok(plan.some((d) => /^(SCAN|SEARCH) groups USING INDEX groups_name\b/.test(d)), plan.join("\n"));
        assert.ok(!plan.some((d) => /TEMP B-TREE/.test(d)), plan.join("\n"));
      }
    }

    const s = server();
    const token = await s.login();
    const found = await s.api<{ name: string }[]>("GET", "/security/v1/user-groups?search=BULK%20199&max=20", { token });
    assert.deepEqual(found.body.map((g) => g.name), Array.from({ length: 20 }, (_, i) => `Bulk 199${String(i).padStart(2, "0")}`));
    assert.match(found.headers.get("link") ?? "", /rel="next"$/);
  });
});

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

/** A PostgreSQL plan's nodes, all levels. */
function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}
