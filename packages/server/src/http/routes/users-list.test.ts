import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { before, it } from "node:test";
import { promisify } from "node:util";
import { FIELD_SEPARATOR } from "../../domain/user-fields.js";
import { searchCaseFoldMigration } from "../../storage/migrations/014v-search-case-fold.js";
import { insertUser } from "../../test-support/fixtures.js";
import { encodeCursor } from "../paging.js";
import { describeEachStore, type ApiResponse } from "../../test-support/server.js";

const run = promisify(execFile);

const SEED_FIELDS = ["id", "username", "firstName", "lastName", "email", "dn", "description", "enabled", "builtin", "federatedIdentities"];

describeEachStore("GET /security/v1/users", (server) => {
  let token: string;
  before(async () => {
    const s = server();
    const { store } = s.server.deps;
    token = await s.login();
    const provider = await store.db
      .insertInto("identity_providers")
      .values({ uuid: crypto.randomUUID(), alias: "dummy_alias", display_name: "DUMMY DISPLAY NAME", config: "{}", by_system_administrator: 1, created_at: "2026-01-01T00:00:00.000Z", updated_at: "2026-01-01T00:00:00.000Z" })
      .returning("id")
      .executeTakeFirstOrThrow();
    const user1 = await insertUser(store, { username: "user_1", first_name: "1", last_name: "user", email: "user_1@example.com", description: "description user_1" });
    await store.db.insertInto("federated_identities").values({ provider_id: provider.id, subject: "ext-1", user_id: user1.id, by_system_administrator: 1, created_at: "2026-01-01T00:00:00.000Z" }).execute();
    await insertUser(store, { username: "jsmith", first_name: "John", last_name: "Smith", email: "john.smith@example.com" });
    await insertUser(store, { username: "asmithers", first_name: "Anna", last_name: "Smithers", email: "anna@corp.example" });
    await insertUser(store, { username: "hmueller", first_name: "Hans", last_name: "Müller", email: "hans.mueller@example.de" });
    await insertUser(store, { username: "zoe", first_name: "Ζωή", last_name: "Παπαδοπούλου", email: "zoe@example.gr" });
    await insertUser(store, { username: "pct_user", first_name: "100%", last_name: "under_score", email: "o'brien\\x@example.com" });
    await insertUser(store, { username: "plain", first_name: "Plain", last_name: "Person", email: "plain@example.com", enabled: 0 });
  });

  const usernames = async (query: string) => {
    const r = await server().api("GET", `/security/v1/users${query}`, { token });
    assert.equal(r.status, 200, r.text);
    return (r.body as { username: string }[]).map((u) => u.username);
  };

  it("returns the seed's objects field for field, null where the seed says null", async () => {
    const r = await server().api("GET", "/security/v1/users", { token });
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.body));
    for (const user of r.body) {
      for (const field of SEED_FIELDS) assert.ok(field in user, `${field} missing`);
      assert.match(user.id, /^[0-9a-f-]{36}$/);
    }
    const sysadmin = r.body.find((u: any) => u.username === "sysadmin");
    assert.equal(sysadmin.builtin, true);
    assert.equal(sysadmin.description, "Built-in user");
    assert.equal(sysadmin.dn, null);
    assert.equal(sysadmin.federatedIdentities, null);
    const user1 = r.body.find((u: any) => u.username === "user_1");
    assert.deepEqual(
      { ...user1, id: undefined, numericId: undefined },
      {
        id: undefined,
        numericId: undefined,
        username: "user_1",
        firstName: "1",
        lastName: "user",
        email: "user_1@example.com",
        dn: null,
        description: "description user_1",
        enabled: true,
        builtin: false,
        federatedIdentities: [{ alias: "dummy_alias", displayName: "DUMMY DISPLAY NAME" }],
        loginName: "user_1",
        displayName: "1 user",
        profileId: -1,
      },
    );
  });

  it("lists in username order", async () => {
    const names = await usernames("");
    assert.deepEqual(names, [...names].sort());
    assert.equal(names.length, 8);
  });

  it("searches username, first name, last name and email, case-insensitively", async () => {
    assert.deepEqual(await usernames("?search=smith"), ["asmithers", "jsmith"]);
    assert.deepEqual(await usernames("?search=SMITH"), ["asmithers", "jsmith"]);
    assert.deepEqual(await usernames("?search=anna"), ["asmithers"]);
    assert.deepEqual(await usernames("?search=corp.example"), ["asmithers"]);
    assert.deepEqual(await usernames("?search=jsm"), ["jsmith"]);
  });

  it("folds Unicode case and keeps diacritics", async () => {
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("müller")}`), ["hmueller"]);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("MÜLLER")}`), ["hmueller"]);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("mull")}`), []);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("ΖΩΉ")}`), ["zoe"]);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("ü")}`), ["hmueller"]);
  });

  it("folds case as Unicode does where lower case is not enough: ß is ss, a final ς is σ, İ is i; users stored before are searched so too (migration 014v)", async () => {
    const s = server();
    const weiss = await s.api("POST", "/security/v1/users", { token, body: { username: "wm1", lastName: "Weißmüller" } });
    await s.api("POST", "/security/v1/users", { token, body: { username: "sisy", firstName: "ΣΊΣΥΦΟΣ", lastName: "Σίσυφος" } });
    await s.api("POST", "/security/v1/users", { token, body: { username: "ilk", firstName: "İlker", lastName: "İzmirli" } });
    // German writes ß in capitals as SS (or ẞ); "ΣΊΣ" in lower case ends in the final ς, where the name has σ;
    // Turkish writes İzmirli in capitals İZMİRLİ, whose second İ is the name's i.
    for (const search of ["WEISSMÜLLER", "weissmüller", "Weißmüller", "WEIẞMÜLLER", "eissm"]) assert.deepEqual(await usernames(`?search=${encodeURIComponent(search)}`), ["wm1"], search);
    for (const search of ["ΣΊΣ", "σίσ", "ΦΟΣ", "σίσυφοσ", "ΣΊΣΥΦΟΣ"]) assert.deepEqual(await usernames(`?search=${encodeURIComponent(search)}`), ["sisy"], search);
    for (const search of ["İZMİRLİ", "izmirli", "İzmirli", "i\u0307zmirli", "İLKER"]) assert.deepEqual(await usernames(`?search=${encodeURIComponent(search)}`), ["ilk"], search);
    assert.equal((await s.api("GET", `/security/v1/users/count?search=${encodeURIComponent("WEISS")}`, { token })).body, 1);
    // A row written before: its search text only lower-cased.
    const { db } = s.server.deps.store;
    await db.updateTable("users").set({ search_text: ["wm1", "", "weißmüller", ""].join(FIELD_SEPARATOR) }).where("uuid", "=", weiss.body.id).execute();
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("WEISS")}`), []);
    await searchCaseFoldMigration.up(db);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("WEISS")}`), ["wm1"]);
    await db.deleteFrom("users").where("username", "in", ["wm1", "sisy", "ilk"]).execute();
  });

  it("takes % _ \\ ' \" literally", async () => {
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("%")}`), ["pct_user"]);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("0%")}`), ["pct_user"]);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("_")}`), ["pct_user", "user_1"]);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("r_s")}`), ["pct_user"]);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("\\")}`), ["pct_user"]);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("o'brien\\x")}`), ["pct_user"]);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("'")}`), ["pct_user"]);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent('"')}`), []);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent('"smith')}`), []);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("%smith")}`), []);
  });

  it("never matches across two fields", async () => {
    // "John" + "Smith" are two fields: "nsm" must not bridge them.
    assert.deepEqual(await usernames("?search=johnsmith"), []);
    assert.deepEqual(await usernames(`?search=${encodeURIComponent("\u001f")}`), []);
  });

  it("treats an empty search as all users", async () => {
    assert.equal((await usernames("?search=")).length, 8);
  });

  it("filters by enabled and combines filters", async () => {
    assert.deepEqual(await usernames("?enabled=false"), ["plain"]);
    assert.deepEqual(await usernames("?enabled=true&search=plain"), []);
  });

  it("pages with max and a Link cursor, and counts with the same filters", async () => {
    const s = server();
    const all = await usernames("");
    const seen: string[] = [];
    let path: string | undefined = "/security/v1/users?max=3";
    while (path) {
      const r: ApiResponse = await s.api("GET", path, { token });
      assert.equal(r.status, 200);
      assert.ok(r.body.length <= 3);
      seen.push(...r.body.map((u: any) => u.username));
      const link = r.headers.get("link");
      path = link ? /^<\/portal([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
    }
    assert.deepEqual(seen, all);
    assert.equal((await s.api("GET", "/security/v1/users/count", { token })).body, 8);
    assert.equal((await s.api("GET", "/security/v1/users/count?search=smith", { token })).body, 2);
    assert.equal((await s.api("GET", "/security/v1/users/count?enabled=false", { token })).body, 1);
    const bad = await s.api("GET", "/security/v1/users?max=2&cursor=%%%", { token });
    assert.equal(bad.status, 400);
    assert.equal((await s.api("GET", "/security/v1/users?max=0", { token })).status, 400);
  });

  it("adds groups, validity and account state with extendedInfo=true", async () => {
    const r = await server().api("GET", "/security/v1/users?extendedInfo=true&search=sysadmin", { token });
    assert.equal(r.status, 200);
    const [sysadmin] = r.body;
    assert.deepEqual(sysadmin.groups, ["administrators", "users"]);
    assert.equal(sysadmin.validFrom, null);
    assert.equal(sysadmin.validTo, null);
    assert.equal(sysadmin.lockedOutUntil, null);
    assert.equal(sysadmin.changePassword, false);
  });

  it("sends only the fields named in fields=, cut out of the same users, streamed, paged and searched", async () => {
    const s = server();
    const full = (await s.api("GET", "/security/v1/users?extendedInfo=true", { token })).body as Record<string, unknown>[];
    const view = Object.keys(full[0]!);
    const pick = (names: string[]) => full.map((u) => Object.fromEntries(view.filter((k) => names.includes(k)).map((k) => [k, u[k]])));
    const list = async (query: string) => {
      const r = await s.api("GET", `/security/v1/users?extendedInfo=true&${query}`, { token });
      assert.equal(r.status, 200, r.text);
      return r.body;
    };
    // Each field alone (user_1's identity-provider link holds a displayName of its own), all of them, and the SDK's choice.
    for (const name of view) assert.deepEqual(await list(`fields=${name}`), pick([name]), name);
    assert.deepEqual(await list(`fields=${view.join(",")}`), full);
    const sdk = ["profileId", "id", "username", "email", "enabled", "numericId", "loginName", "displayName", "description", "groups", "validFrom", "validTo", "lockedOutUntil"];
    assert.deepEqual(await list(`fields=${sdk.join(",")}`), pick(sdk), "in the view's order, whatever the order named");
    const paged = [...(await list(`fields=displayName,groups&max=3`)), ...(await list(`fields=displayName,groups&max=10&cursor=${encodeURIComponent(encodeCursor(full[2]!.username as string))}`))];
    assert.deepEqual(paged, pick(["displayName", "groups"]));
    assert.deepEqual(await list("fields=username,federatedIdentities&search=user_1"), pick(["username", "federatedIdentities"]).filter((u) => u.username === "user_1"));
    assert.deepEqual((await s.api("GET", "/security/v1/users?fields=username,enabled&enabled=false", { token })).body, [{ username: "plain", enabled: false }]);
  });

  it("sends each user as an array of its fields' values with shape=arrays, in the view's order", async () => {
    const s = server();
    const full = (await s.api("GET", "/security/v1/users?extendedInfo=true", { token })).body as Record<string, unknown>[];
    const view = Object.keys(full[0]!);
    const rows = (names: string[], users = full) => users.map((u) => view.filter((k) => names.includes(k)).map((k) => u[k]));
    const list = async (query: string) => {
      const r = await s.api("GET", `/security/v1/users?shape=arrays&${query}`, { token });
      assert.equal(r.status, 200, r.text);
      return r.body;
    };
    for (const name of view) assert.deepEqual(await list(`extendedInfo=true&fields=${name}`), rows([name]), name);
    assert.deepEqual(await list("extendedInfo=true"), rows(view), "all the view's fields when fields= names none");
    const plain = (await s.api("GET", "/security/v1/users", { token })).body as Record<string, unknown>[];
    assert.deepEqual(await list(""), plain.map((u) => Object.values(u)));
    const sdk = ["profileId", "id", "username", "email", "enabled", "numericId", "loginName", "displayName", "description", "groups", "validFrom", "validTo", "lockedOutUntil", "serviceAccount"];
    assert.deepEqual(await list(`extendedInfo=true&fields=${sdk.join(",")}`), rows(sdk));
    const cursor = encodeURIComponent(encodeCursor(full[2]!.username as string));
    const paged = [...(await list("extendedInfo=true&fields=displayName,groups&max=3")), ...(await list(`extendedInfo=true&fields=displayName,groups&max=10&cursor=${cursor}`))];
    assert.deepEqual(paged, rows(["displayName", "groups"]));
    assert.deepEqual(await list("extendedInfo=true&fields=username,federatedIdentities,source&search=user_1"), rows(["username", "federatedIdentities", "source"], full.filter((u) => u.username === "user_1")));
    assert.deepEqual(await list("fields=username,enabled&enabled=false"), [["plain", false]]);
    const csv = await s.api("GET", "/security/v1/users?shape=arrays", { token, headers: { accept: "text/csv" } });
    assert.equal(csv.status, 400);
    assert.match(csv.body.errorMessage, /shape applies to the JSON list/);
    assert.equal((await s.api("GET", "/security/v1/users?shape=rows", { token })).status, 400);
  });

  it("refuses fields= naming an unknown field, an extended one without extendedInfo, or with CSV", async () => {
    const s = server();
    for (const [query, message] of [
      ["fields=username,password", /fields must be field names separated by commas/],
      ["fields=", /fields must not be empty/],
      ["fields=username,,email", /fields must be field names/],
      ["fields=username,groups", /groups, shown with extendedInfo=true only/],
    ] as const) {
      const r = await s.api("GET", `/security/v1/users?${query}`, { token });
      assert.equal(r.status, 400, query);
      assert.match(r.body.errorMessage, message);
    }
    const csv = await s.api("GET", "/security/v1/users?fields=username", { token, headers: { accept: "text/csv" } });
    assert.equal(csv.status, 400);
  });

  it("gets one user by id, 404 in the error shape otherwise", async () => {
    const s = server();
    const [first] = (await s.api("GET", "/security/v1/users?max=1", { token })).body;
    const r = await s.api("GET", `/security/v1/users/${first.id}`, { token });
    assert.equal(r.status, 200);
    assert.equal(r.body.username, first.username);
    for (const id of ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "%27%20or%201=1"]) {
      const missing = await s.api("GET", `/security/v1/users/${id}`, { token });
      assert.equal(missing.status, 404, id);
      assert.match(missing.body.errorMessage, /^ECMS1201-E /);
      assert.equal(typeof missing.body.additionalInfo, "string");
    }
  });

  it("runs the seed's two curl examples as written", async () => {
    const s = server();
    for (const url of [`${s.baseUrl}/security/v1/users`, `${s.baseUrl}/security/v1/users?search=smith`]) {
      const { stdout, stderr } = await run("curl", ["-v", "-X", "GET", "-s", url, "-H", `Authorization:Bearer ${token}`]);
      assert.match(stderr, /< HTTP\/1.1 200/);
      const users = JSON.parse(stdout);
      assert.ok(Array.isArray(users) && users.length > 0);
      for (const u of users) for (const field of SEED_FIELDS) assert.ok(field in u);
    }
    const { stdout } = await run("curl", ["-s", `${s.baseUrl}/security/v1/users?search=smith`, "-H", `Authorization:Bearer ${token}`]);
    assert.deepEqual(JSON.parse(stdout).map((u: any) => u.username), ["asmithers", "jsmith"]);
  });

  it("admits system and security administrators only", async () => {
    const s = server();
    const { store, hasher } = s.server.deps;
    await insertUser(store, { username: "only_user" }, { hasher, value: "Only-User-Pass1" });
    const member = await store.db.selectFrom("users").select("id").where("username", "=", "only_user").executeTakeFirstOrThrow();
    const usersGroup = await store.db.selectFrom("groups").select("id").where("name", "=", "users").executeTakeFirstOrThrow();
    await store.db.insertInto("group_members").values({ group_id: usersGroup.id, user_id: member.id }).execute();
    const userToken = await s.login("only_user", "Only-User-Pass1");
    for (const path of ["/security/v1/users", "/security/v1/users/count", `/security/v1/users/00000000-0000-4000-8000-000000000000`]) {
      assert.equal((await s.api("GET", path)).status, 401, path);
      assert.equal((await s.api("GET", path, { token: "eyJ.bad.token" })).status, 401, path);
      const forbidden = await s.api("GET", path, { token: userToken });
      assert.equal(forbidden.status, 403, path);
      assert.match(forbidden.body.errorMessage, /^ECMS1103-E /);
    }
    const me = await s.api("GET", "/security/v1/me", { token: userToken });
    assert.equal(me.status, 200);
    assert.equal(me.body.username, "only_user");
    assert.equal((await s.api("GET", "/security/v1/me")).status, 401);
  });

  it("filters by source: builtin, local, directory, identity provider, and one of them", async () => {
    const s = server();
    const { db } = s.server.deps.store;
    const now = "2026-01-01T00:00:00.000Z";
    const directory = await db.insertInto("directories").values({ uuid: crypto.randomUUID(), name: "corp", kind: "ldap", config: "{}", by_system_administrator: 1, created_at: now, updated_at: now }).returningAll().executeTakeFirstOrThrow();
    const provider = await db.selectFrom("identity_providers").select("id").where("alias", "=", "dummy_alias").executeTakeFirstOrThrow();
    await insertUser(s.server.deps.store, { username: "from_dir", directory_id: directory.id, dn: "uid=from_dir,dc=corp" });
    await insertUser(s.server.deps.store, { username: "from_idp", identity_provider_id: provider.id });
    assert.deepEqual(await usernames("?source=builtin"), ["sysadmin"]);
    assert.deepEqual(await usernames("?source=directory"), ["from_dir"]);
    assert.deepEqual(await usernames(`?source=directory:${directory.uuid.toUpperCase()}`), ["from_dir"]);
    assert.deepEqual(await usernames("?source=identity-provider"), ["from_idp"]);
    assert.deepEqual(await usernames("?source=identity-provider:dummy_alias&search=from"), ["from_idp"]);
    const local = await usernames("?source=local");
    assert.ok(local.includes("jsmith") && !local.includes("sysadmin") && !local.includes("from_dir") && !local.includes("from_idp"));
    assert.equal((await s.api("GET", "/security/v1/users/count?source=directory", { token })).body, 1);
    const [imported] = (await s.api("GET", "/security/v1/users?source=directory&extendedInfo=true", { token })).body;
    assert.deepEqual(imported.source, { type: "directory", id: directory.uuid, name: "corp" });
    assert.equal(imported.dn, "uid=from_dir,dc=corp");
    for (const bad of ["remote", "local:x", "builtin:", "directory:"]) {
      const r = await s.api("GET", `/security/v1/users?source=${encodeURIComponent(bad)}`, { token });
      assert.equal(r.status, 400, bad);
      assert.match(r.body.errorMessage, /^ECMS1001-E /);
    }
    await db.deleteFrom("users").where("username", "in", ["from_dir", "from_idp"]).execute();
    await db.deleteFrom("directories").where("id", "=", directory.id).execute();
  });

  it("filters by a linked identity provider: the accounts it made and the local accounts linked to it", async () => {
    const s = server();
    const { db } = s.server.deps.store;
    const now = "2026-01-01T00:00:00.000Z";
    const provider = await db.selectFrom("identity_providers").select("id").where("alias", "=", "dummy_alias").executeTakeFirstOrThrow();
    const other = await db.insertInto("identity_providers").values({ uuid: crypto.randomUUID(), alias: "other_alias", display_name: "Other", config: "{}", by_system_administrator: 1, created_at: now, updated_at: now }).returning("id").executeTakeFirstOrThrow();
    const made = await insertUser(s.server.deps.store, { username: "made_by_idp", identity_provider_id: provider.id });
    const elsewhere = await insertUser(s.server.deps.store, { username: "linked_elsewhere" });
    await db.insertInto("federated_identities").values([
      { provider_id: provider.id, subject: "ext-made", user_id: made.id, by_system_administrator: 1, created_at: now },
      { provider_id: other.id, subject: "ext-other", user_id: elsewhere.id, by_system_administrator: 1, created_at: now },
    ]).execute();
    // user_1 is a local account linked to dummy_alias (before()): not among the provider's source, among its linked accounts.
    assert.deepEqual(await usernames("?source=identity-provider:dummy_alias"), ["made_by_idp"]);
    assert.deepEqual(await usernames("?linkedTo=dummy_alias"), ["made_by_idp", "user_1"]);
    assert.deepEqual(await usernames("?linkedTo=dummy_alias&search=user_"), ["user_1"]);
    assert.deepEqual(await usernames("?linkedTo=dummy_alias&source=local"), ["user_1"]);
    assert.deepEqual(await usernames("?linkedTo=other_alias"), ["linked_elsewhere"]);
    // Aliases are told apart without regard to case (migration 014q): so are the filters that name one.
    assert.deepEqual(await usernames("?linkedTo=DUMMY_Alias"), ["made_by_idp", "user_1"]);
    assert.deepEqual(await usernames("?source=identity-provider:Dummy_Alias"), ["made_by_idp"]);
    assert.equal((await s.api("GET", "/security/v1/users/count?linkedTo=Dummy_Alias", { token })).body, 2);
    assert.equal((await s.api("GET", "/security/v1/users/count?source=identity-provider:DUMMY_ALIAS", { token })).body, 1);
    assert.equal((await s.api("GET", "/security/v1/users/count?linkedTo=dummy_alias", { token })).body, 2);
    const csv = await s.api("GET", "/security/v1/users?linkedTo=Dummy_Alias", { token, headers: { accept: "text/csv" } });
    assert.equal(csv.status, 200, csv.text);
    const rows = csv.text.trim().split(/\r?\n/).slice(1);
    assert.deepEqual(rows.map((row) => ["made_by_idp", "user_1"].find((name) => row.includes(`,${name},`))), ["made_by_idp", "user_1"]);
    const [exported] = (await s.api("GET", "/security/v1/audit-events?action=users.export-csv&max=1", { token })).body;
    assert.equal(exported.details.filter.linkedTo, "Dummy_Alias");
    for (const bad of ["", "x".repeat(257)]) {
      const r = await s.api("GET", `/security/v1/users?linkedTo=${bad}`, { token });
      assert.equal(r.status, 400, bad);
      assert.match(r.body.errorMessage, /^ECMS1001-E linkedTo /);
    }
    await db.deleteFrom("federated_identities").where("subject", "in", ["ext-made", "ext-other"]).execute();
    await db.deleteFrom("users").where("username", "in", ["made_by_idp", "linked_elsewhere"]).execute();
    await db.deleteFrom("identity_providers").where("id", "=", other.id).execute();
  });

  it("a filter naming a group, profile, directory or identity provider that does not exist is a 404 saying which: the list, its count, its CSV, a download link and a bulk action", async () => {
    const s = server();
    const missing: [query: string, what: string, id: string][] = [
      ["groupId=00000000-0000-4000-8000-000000000000", "group", "00000000-0000-4000-8000-000000000000"],
      ["profileId=2147483000", "profile", "2147483000"],
      ["source=directory:00000000-0000-4000-8000-000000000000", "directory", "00000000-0000-4000-8000-000000000000"],
      ["source=directory:corp", "directory", "corp"],
      ["source=identity-provider:nope", "identity provider", "nope"],
      ["linkedTo=nope", "identity provider", "nope"],
    ];
    for (const [query, what, id] of missing) {
      for (const [method, path, options] of [
        ["GET", `/security/v1/users?${query}`, {}],
        ["GET", `/security/v1/users?${query}&max=10`, {}],
        ["GET", `/security/v1/users/count?${query}`, {}],
        ["GET", `/security/v1/users?${query}`, { headers: { accept: "text/csv" } }],
        ["POST", `/security/v1/users/csv-links?${query}`, {}],
      ] as const) {
        const r = await s.api(method, path, { token, ...options });
        assert.equal(r.status, 404, `${method} ${path} → ${r.status} ${r.text}`);
        assert.equal(r.body.errorMessage, `ECMS1201-E The specified ${what} does not exist.`, path);
        assert.deepEqual(JSON.parse(r.body.additionalInfo), { id }, path);
      }
      const [name, value] = query.split("=") as [string, string];
      const filter = { [name]: name === "profileId" ? Number(value) : value };
      const bulk = await s.api("POST", "/security/v1/users/bulk-actions", { token, body: { action: "disable", filter } });
      assert.equal(bulk.status, 404, `bulk ${query} → ${bulk.status} ${bulk.text}`);
      assert.equal(bulk.body.errorMessage, `ECMS1201-E The specified ${what} does not exist.`);
    }
    // A user that is not a profile is no profile either; one that is, and the values that name none (-1: no profile, 0: the profiles), are filters.
    const plain = (await s.api<{ numericId: number }[]>("GET", "/security/v1/users?search=jsmith", { token })).body[0]!;
    assert.equal((await s.api("GET", `/security/v1/users?profileId=${plain.numericId}`, { token })).status, 404);
    const profile = await s.api("POST", "/security/v1/users", { token, body: { username: "a.profile", profileId: 0 } });
    assert.equal(profile.status, 201, profile.text);
    const assigned = await s.api("POST", "/security/v1/users", { token, body: { username: "assigned.one", profileId: profile.body.numericId } });
    assert.equal(assigned.status, 201, assigned.text);
    assert.deepEqual(await usernames(`?profileId=${profile.body.numericId}`), ["assigned.one"]);
    assert.deepEqual(await usernames("?profileId=0"), ["a.profile"]);
    assert.ok((await usernames("?profileId=-1")).includes("jsmith"));
    // What exists but nobody matches is an empty list.
    assert.deepEqual(await usernames("?source=identity-provider:dummy_alias&search=nobody-here"), []);
    for (const username of ["assigned.one", "a.profile"]) {
      const [u] = (await s.api<{ id: string }[]>("GET", `/security/v1/users?search=${username}`, { token })).body;
      assert.equal((await s.api("DELETE", `/security/v1/users/${u!.id}`, { token })).status, 204);
    }
  });
});
