import assert from "node:assert/strict";
import { before, it, test } from "node:test";
import { createGroup, createSecurityAdministrator } from "../test-support/accounts.js";
import { describeEachStore } from "../test-support/server.js";
import { csvCell, wantsCsv } from "./users-csv.js";

test("wantsCsv weighs Accept as RFC 9110 does: text/csv when it is wanted at least as much as JSON", () => {
  for (const accept of ["text/csv", "text/csv, */*", "TEXT/CSV; charset=utf-8", "application/json;q=0.5, text/csv"]) assert.equal(wantsCsv(accept), true, accept);
  for (const accept of [undefined, "", "text/csv;q=0", "application/json, text/csv;q=0.9", "text/html,application/xhtml+xml,*/*;q=0.8", "text/csvx"]) assert.equal(wantsCsv(accept), false, String(accept));
});

test("csvCell quotes what RFC 4180 needs and disarms formulas", () => {
  assert.equal(csvCell("plain"), "plain");
  assert.equal(csvCell('a,"b"'), '"a,""b"""');
  assert.equal(csvCell("line\nbreak"), '"line\nbreak"');
  assert.equal(csvCell("=1+2"), "'=1+2");
  assert.equal(csvCell("+49 30"), "'+49 30");
  assert.equal(csvCell("-x"), "'-x");
  assert.equal(csvCell("@SUM(A1)"), "'@SUM(A1)");
  assert.equal(csvCell("\tx"), "'\tx");
  assert.equal(csvCell('=HYPERLINK("http://evil","x")'), `"'=HYPERLINK(""http://evil"",""x"")"`);
  // Text that starts like a guarded cell is guarded too: an import takes exactly one ' away.
  assert.equal(csvCell("'=1"), "''=1");
  assert.equal(csvCell("'quoted"), "'quoted");
  assert.equal(csvCell(-1), "-1");
  assert.equal(csvCell(false), "false");
  assert.equal(csvCell(null), "");
});

describeEachStore("users as CSV", (server) => {
  let token: string;
  before(async () => {
    const s = server();
    token = await s.login();
    for (const [username, body] of [
      ["csv.a", { firstName: "=cmd|' /C calc'!A0", lastName: "Smith, Jr.", description: 'says "hi"\nbye' }],
      ["csv.b", { firstName: "Zoë", lastName: "+1", email: "b@example.com" }],
      ["other", {}],
    ] as const) {
      const r = await s.api("POST", "/security/v1/users", { token, body: { username, ...body } });
      assert.equal(r.status, 201, r.text);
    }
  });

  it("streams the current filter as CSV with a header, every matching user and escaped cells, and audits it", async () => {
    const s = server();
    // Paging is the JSON list's: asked of the CSV, it is said to be so, not ignored.
    for (const paging of ["max=1", "cursor=abc"]) {
      const paged = await s.api<{ errorMessage: string }>("GET", `/security/v1/users?search=csv.&${paging}`, { token, headers: { accept: "text/csv" } });
      assert.equal(paged.status, 400, paging);
      assert.match(paged.body.errorMessage, /pages the JSON list; the CSV export sends every matching user at once\.$/);
    }
    const r = await s.api<string>("GET", "/security/v1/users?search=csv.", { token, headers: { accept: "text/csv" } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/csv; charset=utf-8/);
    assert.match(r.headers.get("content-disposition") ?? "", /attachment; filename="users.csv"/);
    const lines = r.text.replace(/^\uFEFF/, "").split("\r\n");
    assert.equal(lines.pop(), "");
    assert.match(lines[0]!, /^id,numericId,username,loginName,firstName,lastName,displayName,email,description,enabled,/);
    assert.equal(lines.length, 1 + 2, "the whole filter");
    assert.match(r.text, /,csv\.a,csv\.a,'=cmd\|' \/C calc'!A0,"Smith, Jr\.",/);
    assert.match(r.text, /"says ""hi""\nbye"/);
    assert.match(r.text, /,csv\.b,csv\.b,Zoë,'\+1,/);
    assert.match(r.text, /,users,/, "groups column");
    const events = await s.api<{ action: string; details: { filter: Record<string, unknown> } }[]>("GET", "/security/v1/audit-events?action=users.export-csv", { token });
    assert.deepEqual(events.body[0]?.details.filter, { search: "csv." });
  });

  it("a download link streams the CSV of its filter to a browser, which sends no token: once, for the session that made it", async () => {
    const s = server();
    const made = await s.api<{ url: string; expiresAt: string }>("POST", "/security/v1/users/csv-links?search=csv.", { token });
    assert.equal(made.status, 201, made.text);
    assert.match(made.body.url, /^\/portal\/security\/v1\/users\/csv-links\/[A-Za-z0-9_-]{43}$/);
    // A created resource says where it is, as every 201 does.
    assert.equal(made.headers.get("location"), made.body.url);
    assert.ok(Date.parse(made.body.expiresAt) - Date.now() <= 60_000);
    const link = new URL(made.body.url, s.baseUrl).href;
    // A HEAD (a link checker) does not take it.
    assert.notEqual((await fetch(link, { method: "HEAD" })).status, 200);
    const r = await fetch(link);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-disposition") ?? "", /attachment; filename="users.csv"/);
    assert.deepEqual((await r.text()).split("\r\n").slice(1, -1).map((l) => l.split(",")[2]), ["csv.a", "csv.b"]);
    const events = await s.api<{ action: string; actor: string; details: { filter: Record<string, unknown> } }[]>("GET", "/security/v1/audit-events?action=users.export-csv", { token });
    assert.deepEqual([events.body[0]?.actor, events.body[0]?.details.filter], ["sysadmin", { search: "csv." }]);
    // Used: gone.
    const again = await fetch(link);
    assert.equal(again.status, 404);
    assert.match(((await again.json()) as { errorMessage: string }).errorMessage, /This download link is unknown, used already or expired: export again\.$/);
    // Expired, and of a session logged out since: refused.
    const expired = (await s.api<{ url: string }>("POST", "/security/v1/users/csv-links", { token })).body.url;
    await s.server.deps.store.db.updateTable("download_links").set({ expires_at: new Date(Date.now() - 1000).toISOString() }).execute();
    assert.equal((await fetch(new URL(expired, s.baseUrl))).status, 404);
    const other = await s.login();
    const ended = (await s.api<{ url: string }>("POST", "/security/v1/users/csv-links", { token: other })).body.url;
    assert.equal((await s.api("POST", "/auth/v1/logout", { token: other })).status, 204);
    assert.equal((await fetch(new URL(ended, s.baseUrl))).status, 401);
    // A browser (Accept: text/html) opening a refused link goes back to the console's list of its filter, which says why, not to a failed download.
    const html = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
    const third = await s.login();
    const refused = (await s.api<{ url: string }>("POST", "/security/v1/users/csv-links?search=csv.&enabled=true", { token: third })).body.url;
    assert.equal((await s.api("POST", "/auth/v1/logout", { token: third })).status, 204);
    const back = await fetch(new URL(refused, s.baseUrl), { headers: html, redirect: "manual" });
    assert.equal(back.status, 303);
    assert.equal(back.headers.get("location"), "/portal/console/#/users?search=csv.&enabled=true&notice=export-refused");
    const unknown = await fetch(new URL(refused, s.baseUrl), { headers: html, redirect: "manual" });
    assert.deepEqual([unknown.status, unknown.headers.get("location")], [303, "/portal/console/#/users?notice=export-refused"]);
    // A filter's group deleted between the link and its use: the console's list too, not a failed download.
    const gone = await s.api<{ id: string }>("POST", "/security/v1/user-groups", { token, body: { name: "csv-gone" } });
    assert.equal(gone.status, 201, gone.text);
    const fourth = await s.login();
    const ofGone = (await s.api<{ url: string }>("POST", `/security/v1/users/csv-links?groupId=${gone.body.id}`, { token: fourth })).body.url;
    assert.equal((await s.api("DELETE", `/security/v1/user-groups/${gone.body.id}`, { token })).status, 204);
    const backFromGone = await fetch(new URL(ofGone, s.baseUrl), { headers: html, redirect: "manual" });
    assert.deepEqual([backFromGone.status, backFromGone.headers.get("location")], [303, `/portal/console/#/users?groupId=${gone.body.id}&notice=export-refused`]);
    // Refused when made, not when fetched: an unknown group; and a script's API key reads the CSV itself.
    assert.equal((await s.api("POST", "/security/v1/users/csv-links?groupId=00000000-0000-4000-8000-000000000000", { token })).status, 404);
    const me = (await s.api<{ id: string }>("GET", "/security/v1/me", { token })).body;
    const key = await s.api<{ secret: string }>("POST", `/security/v1/users/${me.id}/api-keys`, { token, body: { name: "csv" } });
    assert.equal(key.status, 201, key.text);
    const byKey = await s.api<{ errorMessage: string }>("POST", "/security/v1/users/csv-links", { token: key.body.secret });
    assert.equal(byKey.status, 400);
    assert.match(byKey.body.errorMessage, /A download link is for a browser's login session/);
  });

  it("takes the list's filters: a group, and none at all", async () => {
    const s = server();
    const group = await createGroup(s, token, "csv-group");
    const other = (await s.api<{ id: string }[]>("GET", "/security/v1/users?search=other", { token })).body[0]!;
    assert.equal((await s.api("PUT", `/security/v1/users/${other.id}/user-groups/${group}`, { token })).status, 204);
    const r = await s.api<string>("GET", `/security/v1/users?groupId=${group}`, { token, headers: { accept: "text/csv" } });
    assert.deepEqual(r.text.split("\r\n").slice(1, -1).map((l) => l.split(",")[2]), ["other"]);
    const all = await s.api<string>("GET", "/security/v1/users", { token, headers: { accept: "text/csv,*/*;q=0.1" } });
    assert.deepEqual(all.text.split("\r\n").slice(1, -1).map((l) => l.split(",")[2]), ["csv.a", "csv.b", "other", "sysadmin"]);
    assert.equal((await s.api("GET", "/security/v1/users?enabled=maybe", { token, headers: { accept: "text/csv" } })).status, 400);
  });

  it("comes back through the import as it went out: every user unchanged, the formula guards taken away", async () => {
    const s = server();
    const r = await s.api("POST", "/security/v1/users", { token, body: { username: "csv.c", firstName: "'=already quoted", lastName: "-", displayName: "@home" } });
    assert.equal(r.status, 201, r.text);
    // A user with a profile: the export lists the profile's groups among the user's.
    const team = await createGroup(s, token, "csv-team");
    const profile = await s.api<{ id: string; numericId: number }>("POST", "/security/v1/users", { token, body: { username: "csv.profile", profileId: 0 } });
    assert.equal((await s.api("PUT", `/security/v1/users/${profile.body.id}/user-groups/${team}`, { token })).status, 204);
    assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "csv.d", profileId: profile.body.numericId } })).status, 201);
    assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "csv.robot", serviceAccount: true } })).status, 201);
    const exported = await s.api<string>("GET", "/security/v1/users?search=csv.", { token, headers: { accept: "text/csv" } });
    // A service account goes out as one, and would come back into another server as one.
    const [header, ...rowsOut] = exported.text.replace(/^\uFEFF/, "").split("\r\n");
    const at = header!.split(",").indexOf("serviceAccount");
    assert.deepEqual(rowsOut.filter((l) => l.includes(",csv.robot,")).map((l) => l.split(",")[at]), ["true"]);
    const imported = await s.api("POST", "/security/v1/users/import?dryRun=true", { token, body: exported.text, headers: { "content-type": "text/csv" } });
    assert.equal(imported.status, 200, imported.text);
    const lines = imported.text.trim().split("\n").map((l) => JSON.parse(l) as { status?: string; username?: string; summary?: Record<string, number> });
    assert.deepEqual(lines.at(-1)!.summary, { created: 0, updated: 0, unchanged: 6, failed: 0, dryRun: true }, imported.text);
    // A username edited in the export is no rename (an import matches by username): that row fails, naming the user its id is.
    const renamed = exported.text.replace(/,csv\.c,csv\.c,/, ",csv.renamed,csv.c,");
    const again = await s.api("POST", "/security/v1/users/import", { token, body: renamed, headers: { "content-type": "text/csv" } });
    const rows = again.text.trim().split("\n").map((l) => JSON.parse(l) as { status?: string; username?: string; error?: { message: string }; summary?: Record<string, number> });
    const failed = rows.filter((l) => l.status === "failed");
    assert.deepEqual(failed.map((l) => l.username), ["csv.renamed"], again.text);
    assert.match(failed[0]!.error!.message, /This row's id is the user csv\.c, not csv\.renamed: an import matches users by username/);
    assert.equal((await s.api<unknown[]>("GET", "/security/v1/users?search=csv.renamed", { token })).body.length, 0);
  });

  it("a group name holding ; or \\ comes back as that one group, so no name can put its members in other groups", async () => {
    const s = server();
    // A security administrator names a group after the administrators group and joins it: it grants nothing.
    const { user, token: secToken } = await createSecurityAdministrator(s, token, "csv.secadmin");
    await createGroup(s, secToken, "csv-x");
    const planted = await createGroup(s, secToken, "csv-x;administrators");
    const backslashed = await createGroup(s, secToken, "DOMAIN\\csv;\\");
    for (const group of [planted, backslashed]) assert.equal((await s.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${group}`, { token: secToken })).status, 204);
    const groupsOf = async () => (await s.api<{ groups: string[] }>("GET", `/security/v1/users/${user.uuid}?extendedInfo=true`, { token })).body.groups;
    const before = await groupsOf();
    // A system administrator's round trip of the export, as the README offers it.
    const exported = await s.api<string>("GET", "/security/v1/users?search=csv.secadmin", { token, headers: { accept: "text/csv" } });
    const imported = await s.api("POST", "/security/v1/users/import?update=true", { token, body: exported.text, headers: { "content-type": "text/csv" } });
    assert.equal(imported.status, 200, imported.text);
    assert.match(imported.text, /"status":"unchanged"/, imported.text);
    assert.deepEqual(await groupsOf(), before);
    const roles = (await s.api<{ name: string }[]>("GET", `/security/v1/users/${user.uuid}/roles`, { token })).body.map((r) => r.name);
    assert.ok(!roles.includes("system-administrator"), `the import made csv.secadmin a system administrator: ${exported.text}`);
  });
});
