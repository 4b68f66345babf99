/**
 * Every SDK method against the real server (started on a worker thread by the test), once through
 * the async ECM and once through the blocking ECMSync.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { inspect } from "node:util";
import { startServerThread, type ThreadServer } from "../../test/server-thread.js";
import { startFlakyProxy, type FlakyProxy } from "../../test/flaky-proxy.js";
import {
  ECM,
  ECMAbortError,
  ECMAuthError,
  ECMConflictError,
  ECMConnectionError,
  ECMError,
  ECMUnavailableError,
  ECMNotFoundError,
  ECMPermissionError,
  ECMPreconditionError,
  ECMSync,
  ECMTimeoutError,
  ECMValidationError,
  Security,
  SecuritySync,
  type ECMUser,
} from "../index.js";

/** ECMSync seen through the async interface, so one scenario covers both clients. */
function asAsync(sync: ECMSync): Security {
  return new Proxy(sync.security, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== "function") return v;
      if (prop === "iterUsers") {
        return (...args: unknown[]) =>
          (async function* () {
            yield* (v as (...a: unknown[]) => Iterable<unknown>).apply(target, args);
          })();
      }
      return async (...args: unknown[]) => (v as (...a: unknown[]) => unknown).apply(target, args);
    },
  }) as unknown as Security;
}

let server: ThreadServer;
before(async () => {
  // Failed logins from one address lock that address out; the account-wide lockout (lockedOut) takes
  // as many from unfamiliar addresses: five, like the per-address one, so one address shows it here.
  server = await startServerThread({ lockout: { maxFailures: 5, accountMaxFailures: 5, familiarDays: 30, baseSeconds: 60, maxSeconds: 86_400 } });
});
after(async () => {
  await server?.close();
});

const PASSWORD = "Passw0rd-Long!";

for (const mode of ["ECM", "ECMSync"] as const) {
  describe(`${mode} against the server`, () => {
    let sec: Security;
    let sync: ECMSync | undefined;
    const p = mode === "ECM" ? "a_" : "s_";
    const opts = () => ({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });

    before(() => {
      if (mode === "ECM") sec = new ECM(opts()).security;
      else {
        sync = new ECMSync(opts());
        sec = asAsync(sync);
      }
    });
    after(() => sync?.close());

    test("users(): the seed's fields; extended fields empty without extendedInfo", async () => {
      const users = await sec.users();
      const admin = users.find((u) => u.username === "sysadmin");
      assert.ok(admin);
      assert.equal(typeof admin.id, "number");
      assert.match(admin.guid, /^[0-9a-f-]{36}$/);
      assert.equal(admin.loginName, "sysadmin");
      assert.equal(admin.locked, false);
      assert.equal(admin.profileId, -1);
      assert.equal(admin.remark, "");
      assert.equal(admin.validFrom, null);
      assert.equal(admin.validTo, null);
      assert.deepEqual(admin.groups, []);
    });

    test("users({ extendedInfo: true }) populates groups and remark", async () => {
      const users = await sec.users({ extendedInfo: true });
      const admin = users.find((u) => u.username === "sysadmin")!;
      assert.ok(admin.groups.includes("administrators"));
      assert.equal(admin.remark, "Built-in user");
      const sysadmin = await sec.user("sysadmin");
      assert.equal(sysadmin.guid, admin.guid);
      assert.ok(sysadmin.groups.includes("administrators"));
      assert.equal((await sec.user("ｓｙｓａｄｍｉｎ")).guid, admin.guid, "names are found in any Unicode form, as the server compares them");
      assert.equal((await sec.group("ＡＤＭＩＮＩＳＴＲＡＴＯＲＳ")).name, "administrators");
    });

    test("createUser with every field, getUser, user(username), duplicates and bad input", async () => {
      const from = new Date("2025-01-01T00:00:00.000Z");
      const to = new Date("2099-12-31T00:00:00.000Z");
      const u = await sec.createUser(`${p}alice`, {
        loginName: `${p}alice.login`,
        displayName: "Alice Example",
        firstName: "Alice",
        lastName: "Example",
        email: "alice@example.com",
        remark: "first user",
        password: PASSWORD,
        profileId: -1,
        locked: false,
        validFrom: from,
        validTo: to,
        changePwd: false,
        neverExpire: true,
      });
      assert.equal(u.username, `${p}alice`);
      assert.equal(u.loginName, `${p}alice.login`);
      assert.equal(u.displayName, "Alice Example");
      assert.equal(u.email, "alice@example.com");
      assert.equal(u.remark, "first user");
      assert.equal(u.locked, false);
      assert.equal(u.validFrom?.toISOString(), from.toISOString());
      assert.equal(u.validTo?.toISOString(), to.toISOString());
      assert.ok(u.groups.includes("users"), "new users join the users group");
      assert.deepEqual(await sec.getUser(u.guid), u);
      assert.deepEqual(await sec.getUser(u), u);
      assert.equal((await sec.user(`${p}ALICE`)).guid, u.guid);
      await assert.rejects(sec.createUser(`${p}alice`), (e: unknown) => e instanceof ECMConflictError && e.status === 409 && /^ECMS\d+$/.test(e.code));
      await assert.rejects(sec.createUser("bad name with spaces"), ECMValidationError);
      // A name outside the SDK's (the seed's snake_case, a REST name) is refused, not silently dropped.
      await assert.rejects(
        sec.createUser(`${p}snake`, { never_expire: true } as never),
        (e: unknown) => e instanceof TypeError && e.message === 'unknown user field "never_expire"; use neverExpire',
      );
      await assert.rejects(sec.user(`${p}snake`), ECMNotFoundError);
      await assert.rejects(sec.updateUser(u, { description: "x" } as never), /unknown user field "description"; use remark/);
      // A flag of another type is refused before it is sent (`locked: "no"` would lock the account).
      await assert.rejects(sec.createUser(`${p}flag`, { locked: "no" } as never), (e: unknown) => e instanceof TypeError && e.message === "locked must be true or false");
      await assert.rejects(sec.user(`${p}flag`), ECMNotFoundError);
      // A value JSON has no form for (a getter not called) is refused, not left out; ECMSync cannot even send it to its worker.
      await assert.rejects(sec.createUser(`${p}fn`, { remark: (() => "r") as never }), (e: unknown) => e instanceof TypeError && (mode === "ECMSync" || /^remark is a function, not a value/.test(e.message)));
      await assert.rejects(sec.user(`${p}fn`), ECMNotFoundError);
      // The server's refusal names the field as the caller called it.
      await assert.rejects(
        sec.updateUser(u, { remark: "x".repeat(5000) }),
        (e: unknown) => e instanceof ECMValidationError && /^remark must be at most/.test(e.serverMessage) && (e.additionalInfo as { field: string }).field === "remark",
      );
      // A request too large to be read is the caller's mistake, as a body too large is (413): a search
      // whose URL is over the server's header limit (431), a path part over 256 characters (414).
      await assert.rejects(sec.countUsers({ search: "é".repeat(3000) }), (e: unknown) => e instanceof ECMValidationError && e.status === 431 && e.code === "ECMS1007");
      await assert.rejects(sec.identityProvider("x".repeat(300)), (e: unknown) => e instanceof ECMValidationError && e.status === 414 && e.code === "ECMS1005");
      // A name that matches nothing carries the code the server answers for a missing id.
      const byId = await sec.getUser("00000000-0000-4000-8000-000000000000").catch((e: unknown) => e);
      assert.ok(byId instanceof ECMNotFoundError && byId.code === "ECMS1201" && byId.status === 404);
      await assert.rejects(sec.user(`${p}nobody`), (e: unknown) => e instanceof ECMNotFoundError && e.code === byId.code && e.status === 404 && e.message === `ECMS1201-E user "${p}nobody" does not exist`);
      await assert.rejects(sec.group(`${p}nogroup`), (e: unknown) => e instanceof ECMNotFoundError && e.code === byId.code);
    });

    test("updateUser keeps fields left out; lockUser / unlockUser; locked filter; countUsers", async () => {
      const u = await sec.createUser(`${p}bob`, { email: "bob@example.com", remark: "keep me", password: PASSWORD });
      const v = await sec.updateUser(u.guid, { displayName: "Bobby", locked: true });
      assert.equal(v.displayName, "Bobby");
      assert.equal(v.email, "bob@example.com");
      assert.equal(v.remark, "keep me");
      assert.equal(v.locked, true);
      const lockedNames = (await sec.users({ locked: true })).map((x) => x.username);
      assert.ok(lockedNames.includes(`${p}bob`));
      assert.ok(!(await sec.users({ locked: false })).some((x) => x.username === `${p}bob`));
      assert.equal((await sec.unlockUser(u.guid)).locked, false);
      assert.equal((await sec.lockUser(u)).locked, true);
      assert.equal((await sec.unlockUser(u)).locked, false);
      const w = await sec.updateUser(u.guid, { validTo: null, remark: null });
      assert.equal(w.validTo, null);
      assert.equal(w.remark, "");
      assert.equal(await sec.countUsers({ search: `${p}bob` }), 1);
      assert.equal(await sec.countUsers({ search: "no-such-user-anywhere" }), 0);
      assert.ok((await sec.countUsers()) >= 3);
      assert.equal(await sec.countUsers({ source: "builtin" }), 1);
      assert.deepEqual((await sec.users({ source: "builtin" })).map((u) => u.username), ["sysadmin"]);
      await assert.rejects(sec.updateUser(u.guid, { email: "not an email" }), ECMValidationError);
      // Optimistic concurrency: a stale If-Match is a 412.
      await assert.rejects(
        sec.updateUser(u.guid, { remark: "x", ifMatch: '"999999"' }),
        (e: unknown) => e instanceof ECMPreconditionError && e.status === 412 && e.code === "ECMS1303",
      );
      await assert.rejects(sec.updateGroup("users", { description: "x", ifMatch: '"999999"' }), ECMPreconditionError);
    });

    test("lockedOut and lockedOutUntil (extended): a lockout after failed logins, its filter, lockout() and clearLockout", async () => {
      const u = await sec.createUser(`${p}lockout`, { password: PASSWORD });
      assert.equal(u.lockedOut, false);
      assert.equal(u.lockedOutUntil, null);
      assert.deepEqual(await sec.lockout(u), { lockedOutUntil: null, failedLogins: 0, addresses: [] });
      const wrong = new ECM({ baseUrl: server.baseUrl, username: `${p}lockout`, password: "not-the-password" });
      for (let i = 0; i < 2; i++) await assert.rejects(wrong.login(), ECMAuthError);
      // Failures from one address count toward both lockouts (its and the account's), as Dates where they are times.
      assert.deepEqual(await sec.lockout(u.guid), { lockedOutUntil: null, failedLogins: 2, addresses: [{ address: "127.0.0.1", failedLogins: 2, lockedOutUntil: null, lastLoginAt: null }] });
      for (let i = 0; i < 3; i++) await assert.rejects(wrong.login(), ECMAuthError);
      const out = await sec.getUser(u);
      assert.equal(out.lockedOut, true);
      assert.ok(out.lockedOutUntil instanceof Date && out.lockedOutUntil.getTime() > Date.now());
      assert.equal(out.locked, false, "a lockout is not a disabled account");
      assert.ok((await sec.users({ lockedOut: true, extendedInfo: true })).some((x) => x.guid === u.guid && x.lockedOut));
      assert.ok(!(await sec.users({ lockedOut: false })).some((x) => x.guid === u.guid));
      const basic = (await sec.users({ search: `${p}lockout` }))[0]!;
      assert.equal(basic.lockedOut, false, "without extendedInfo the extended fields are empty");
      // Both lockouts began (their counts start again): the account's (every unfamiliar address) and the address's.
      const lockout = await sec.lockout(u);
      assert.equal(lockout.lockedOutUntil?.getTime(), out.lockedOutUntil!.getTime());
      assert.equal(lockout.failedLogins, 0);
      assert.deepEqual(lockout.addresses.map((a) => [a.address, a.failedLogins, a.lastLoginAt]), [["127.0.0.1", 0, null]]);
      assert.ok(lockout.addresses[0]!.lockedOutUntil instanceof Date && lockout.addresses[0]!.lockedOutUntil.getTime() > Date.now());
      await assert.rejects(sec.lockout("00000000-0000-4000-8000-000000000000"), ECMNotFoundError);
      await sec.clearLockout(u);
      assert.equal((await sec.getUser(u)).lockedOutUntil, null);
      assert.deepEqual(await sec.lockout(u), { lockedOutUntil: null, failedLogins: 0, addresses: [] });
    });

    test("iterUsers streams the list in username order, from after a username; usersPage walks keyset pages; search is literal", async () => {
      for (let i = 0; i < 5; i++) await sec.createUser(`${p}page${i}`, { email: `page${i}@example.com` });
      const names: string[] = [];
      for await (const u of sec.iterUsers({ search: `${p}page` })) names.push(u.username);
      assert.deepEqual(names, [0, 1, 2, 3, 4].map((i) => `${p}page${i}`));
      const ext: ECMUser<true>[] = [];
      for await (const u of sec.iterUsers({ search: `${p}page`, extendedInfo: true })) ext.push(u);
      assert.equal(ext.length, 5);
      assert.ok(ext.every((u) => u.groups.includes("users")));
      const after2: string[] = [];
      for await (const u of sec.iterUsers({ search: `${p}page`, after: `${p}page2` })) after2.push(u.username);
      assert.deepEqual(after2, [`${p}page3`, `${p}page4`]);
      // `let last = null` in a resuming script: said of `after`, not a cursor the server cannot read.
      await assert.rejects(async () => {
        for await (const u of sec.iterUsers({ after: null } as never)) assert.fail(u.username);
      }, (e: unknown) => e instanceof TypeError && /^after must be a username/.test((e as Error).message));
      const page = await sec.usersPage({ search: `${p}page`, pageSize: 4 });
      assert.equal(page.users.length, 4);
      assert.ok(page.next);
      const rest = await sec.usersPage({ cursor: page.next });
      assert.deepEqual(rest.users.map((u) => u.username), [`${p}page4`]);
      assert.equal(rest.next, null);
      // The cursor of an extended list gives extended users, as the README has it: the cursor alone.
      const extended = await sec.usersPage({ search: `${p}page`, pageSize: 4, extendedInfo: true });
      const more = await sec.usersPage({ cursor: extended.next! });
      assert.deepEqual(more.users[0]!.groups, ["users"]);
      await assert.rejects(sec.usersPage({ pageSize: 0 }), TypeError);
      // The server's refusal names the option as the script passed it.
      await assert.rejects(sec.usersPage({ pageSize: 20_000 }), (e: ECMValidationError) => /^pageSize must be at most/.test(e.serverMessage) && (e.additionalInfo as { field?: string }).field === "pageSize");
      assert.deepEqual(await sec.users({ search: "%" }), []);
    });

    test("usersPage with a cursor: pageSize sizes the page read; the list's options are the cursor's, another one is a TypeError, not ignored", async () => {
      // The users of the test before: ${p}page0 … ${p}page4.
      const first = await sec.usersPage({ search: `${p}page`, pageSize: 2 });
      assert.deepEqual(first.users.map((u) => u.username), [`${p}page0`, `${p}page1`]);
      const one = await sec.usersPage({ cursor: first.next, pageSize: 1 });
      assert.deepEqual(one.users.map((u) => u.username), [`${p}page2`]);
      // The options the list was started with may come along (a loop that passes them each time).
      const rest = await sec.usersPage({ search: `${p}page`, pageSize: 5, locked: undefined, cursor: one.next });
      assert.deepEqual(rest.users.map((u) => u.username), [`${p}page3`, `${p}page4`]);
      const other = (e: unknown, option: string) => e instanceof TypeError && new RegExp(`^${option} .* the cursor's list`).test(e.message);
      await assert.rejects(sec.usersPage({ cursor: first.next, search: "nobody" }), (e) => other(e, "search"));
      await assert.rejects(sec.usersPage({ cursor: first.next, locked: false }), (e) => other(e, "locked"));
      await assert.rejects(sec.usersPage({ cursor: first.next, extendedInfo: true }), (e) => other(e, "extendedInfo"));
      // Every list option, those sent under another name or as a number too.
      await assert.rejects(sec.usersPage({ cursor: first.next, expired: true }), (e) => other(e, "expired"));
      await assert.rejects(sec.usersPage({ cursor: first.next, profileId: -1 }), (e) => other(e, "profileId"));
      await assert.rejects(sec.usersPage({ cursor: first.next, lockedOut: true }), (e) => other(e, "lockedOut"));
      const extended = await sec.usersPage({ search: `${p}page`, pageSize: 2, extendedInfo: true });
      await assert.rejects(sec.usersPage({ cursor: extended.next, extendedInfo: false }), (e) => other(e, "extendedInfo"));
      const more = await sec.usersPage({ cursor: extended.next, extendedInfo: true, pageSize: 1 });
      assert.deepEqual(more.users.map((u) => [u.username, u.groups]), [[`${p}page2`, ["users"]]]);
    });

    test("groups: create, find, get, update, members, memberships, delete", async () => {
      const all = await sec.groups();
      assert.ok(all.some((g) => g.name === "administrators"));
      const g = await sec.createGroup(`${p}staff`, { description: "Staff" });
      assert.equal(g.name, `${p}staff`);
      assert.equal(g.description, "Staff");
      assert.equal(g.profileUserId, -1);
      assert.equal(typeof g.id, "number");
      assert.deepEqual(await sec.group(`${p}STAFF`), g);
      assert.deepEqual(await sec.getGroup(g.guid), g);
      // A group argument takes a name too (README), getGroup's as every other.
      assert.deepEqual(await sec.getGroup(`${p}staff`), g);
      await assert.rejects(sec.getGroup(`${p}nothing`), (e: unknown) => e instanceof ECMNotFoundError && /group "[as]_nothing" does not exist/.test(e.message));
      assert.ok((await sec.groups({ search: `${p}sta` })).some((x) => x.guid === g.guid));
      await assert.rejects(sec.group(`${p}nothing`), ECMNotFoundError);
      await assert.rejects(sec.createGroup(`${p}staff`), ECMConflictError);

      const u = await sec.createUser(`${p}carol`, { password: PASSWORD });
      await sec.addUserToGroup(u.guid, g.guid);
      await sec.addUserToGroup(u.guid, g.guid); // idempotent
      assert.deepEqual(
        (await sec.userGroups(u.guid)).map((x) => x.name).sort(),
        [`${p}staff`, "users"].sort(),
      );
      assert.deepEqual((await sec.groupMembers(g)).map((x) => x.username), [`${p}carol`]);
      assert.deepEqual((await sec.groupMembers(`${p}staff`)).map((x) => x.username), [`${p}carol`]);
      assert.deepEqual((await sec.groupMembers(g.guid)).map((x) => x.username), [`${p}carol`]);
      const [extended] = await sec.groupMembers(g, { extendedInfo: true });
      assert.ok(extended!.groups.includes(`${p}staff`));
      // By name too, with the list's options: the name is looked up without them.
      const byName = await sec.groupMembers(`${p}staff`, { extendedInfo: true, search: "carol" });
      assert.deepEqual(byName.map((x) => [x.username, x.groups.includes(`${p}staff`)]), [[`${p}carol`, true]]);
      assert.deepEqual((await sec.users({ groupId: g.guid })).map((x) => x.username), [`${p}carol`]);
      assert.equal(await sec.countUsers({ groupId: g.guid }), 1);
      assert.ok((await sec.user(`${p}carol`)).groups.includes(`${p}staff`));
      await sec.removeUserFromGroup(u.guid, g.guid);
      assert.deepEqual(await sec.groupMembers(g), []);
      await sec.addUserToGroup(u, `${p}staff`);
      const removed = await sec.removeUserFromAllGroups(u.guid);
      assert.deepEqual(removed.map((x) => x.name).sort(), [`${p}staff`, "users"].sort());
      assert.deepEqual(await sec.userGroups(u.guid), []);
      // A group through the user's profile is not the user's own: it stays, and the call does not fail on it.
      const profile = await sec.createUser(`${p}profile`, { profileId: 0 });
      await sec.addUserToGroup(profile.guid, g.guid);
      const withProfile = await sec.createUser(`${p}dora`, { profileId: profile.id });
      assert.deepEqual((await sec.removeUserFromAllGroups(withProfile.guid)).map((x) => x.name), ["users"]);
      assert.deepEqual((await sec.userGroups(withProfile.guid)).map((x) => x.name).sort(), [`${p}staff`, "users"].sort(), "the profile's, itself in users");
      await sec.deleteUser(withProfile.guid);
      await sec.deleteUser(profile.guid);

      const renamed = await sec.updateGroup(g.guid, { name: `${p}staff2`, description: "Renamed" });
      assert.equal(renamed.name, `${p}staff2`);
      assert.equal(renamed.description, "Renamed");
      await sec.deleteGroup(g.guid);
      await assert.rejects(sec.getGroup(g.guid), ECMNotFoundError);
      const admins = await sec.group("administrators");
      await assert.rejects(sec.deleteGroup(admins.guid), ECMConflictError);
    });

    test("roles: all, a user's effective roles, group role mappings", async () => {
      const names = (await sec.roles()).map((r) => r.name);
      for (const n of ["system-administrator", "security-administrator", "user"]) assert.ok(names.includes(n), n);
      const admin = await sec.user("sysadmin");
      assert.ok((await sec.roles(admin.guid)).some((r) => r.name === "system-administrator"));
      const g = await sec.createGroup(`${p}auditors`);
      assert.deepEqual(await sec.groupRoles(g), []);
      assert.ok((await sec.availableGroupRoles(g)).some((r) => r.name === "security-administrator"));
      await sec.grantRole(g, "security-administrator");
      assert.deepEqual((await sec.groupRoles(g.guid)).map((r) => r.name), ["security-administrator"]);
      assert.ok(!(await sec.availableGroupRoles(g)).some((r) => r.name === "security-administrator"));
      const u = await sec.createUser(`${p}dave`, { password: PASSWORD });
      await sec.addUserToGroup(u, g);
      assert.ok((await sec.roles(u.guid)).some((r) => r.name === "security-administrator"));
      await sec.revokeRole(g, "security-administrator");
      assert.deepEqual(await sec.groupRoles(g), []);
      assert.ok(!(await sec.roles(u)).some((r) => r.name === "security-administrator"));
      await assert.rejects(sec.grantRole(g, "no-such-role"), ECMNotFoundError);
    });

    test("resetPassword, changeMyPassword, me; permission errors", async () => {
      const u = await sec.createUser(`${p}erin`, { password: PASSWORD });
      await sec.resetPassword(u.guid, "Another-Passw0rd!");
      await assert.rejects(sec.resetPassword(u.guid, "short"), (e: ECMValidationError) => /^password is refused/.test(e.serverMessage) && (e.additionalInfo as { field?: string }).field === "password");
      const asErin = new ECM({ baseUrl: server.baseUrl, username: `${p}erin`, password: "Another-Passw0rd!" });
      const me = await asErin.security.me();
      assert.equal(me.username, `${p}erin`);
      assert.equal(me.guid, u.guid);
      await assert.rejects(asErin.security.users(), (e: unknown) => e instanceof ECMPermissionError && e.status === 403);
      await asErin.security.changeMyPassword("Another-Passw0rd!", "Third-Passw0rd!!");
      // The client logs in with the new password from now on (its session ended: the next call logs in again).
      await asErin.logout();
      assert.equal((await asErin.security.me()).username, `${p}erin`);
      await assert.rejects(
        new ECM({ baseUrl: server.baseUrl, username: `${p}erin`, password: "Another-Passw0rd!" }).security.me(),
        ECMAuthError,
      );
      await new ECM({ baseUrl: server.baseUrl, username: `${p}erin`, password: "Third-Passw0rd!!" }).security.me();
    });

    test("exportSecuritySystem: whole system and selected groups", async () => {
      const all = await sec.exportSecuritySystem();
      assert.equal(typeof all, "object");
      assert.ok(Array.isArray(all.users) && all.users.some((u) => u.username === "sysadmin"));
      assert.ok(Array.isArray(all.groups) && all.groups.some((g) => g.name === "administrators"));
      assert.ok(all.roles.some((r) => r.name === "user"));
      assert.ok(all.memberships.every((m) => typeof m.userId === "string" && typeof m.groupId === "string"));
      assert.ok(!Number.isNaN(Date.parse(all.exportedAt)));
      const admins = await sec.group("administrators");
      assert.ok(all.roleMappings.some((m) => m.groupId === admins.guid && m.roleName === "system-administrator"));
      const some = await sec.exportSecuritySystem([admins]);
      // The seed's group_ids: a group's numeric id (ECMGroup.id) names it too.
      assert.deepEqual((await sec.exportSecuritySystem([admins.id])).groups.map((g) => g.name), ["administrators"]);
      await assert.rejects(async () => sec.exportSecuritySystem([0]), /a group's numeric id is a whole number from 1/);
      // An empty list is not "everything" (that is null): a script whose list came out empty is told.
      await assert.rejects(async () => sec.exportSecuritySystem([]), /groupIds is an empty list/);
      assert.ok(Array.isArray(some.groups));
      assert.deepEqual(
        some.groups.map((g) => g.name),
        ["administrators"],
      );
      if (mode === "ECM") {
        // Streamed forms (ECM only): the same document, as bytes and as records.
        const records: { kind: string; value: unknown }[] = [];
        for await (const r of sec.iterExport(["administrators"])) records.push(r);
        const rebuilt: Record<string, unknown> = {};
        for (const r of records) {
          if (r.kind === "exportedAt") rebuilt[r.kind] = r.value;
          else ((rebuilt[r.kind] ??= []) as unknown[]).push(r.value);
        }
        assert.deepEqual({ ...rebuilt, exportedAt: some.exportedAt }, some);
        const chunks: Uint8Array[] = [];
        for await (const c of sec.exportSecuritySystemStream(null)) chunks.push(c);
        const streamed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof all;
        assert.deepEqual(streamed.users.map((u) => u.username), all.users.map((u) => u.username));
        const early = sec.exportSecuritySystemStream();
        await early.next();
        await early.return(undefined); // stopping early releases the connection
      }
    });

    test("deleteUser; built-in users cannot be deleted", async () => {
      const u = await sec.createUser(`${p}frank`);
      await sec.deleteUser(u.guid);
      await assert.rejects(sec.getUser(u.guid), ECMNotFoundError);
      await assert.rejects(sec.deleteUser(u.guid), ECMNotFoundError);
      const admin = await sec.user("sysadmin");
      await assert.rejects(sec.deleteUser(admin.guid), ECMConflictError);
    });

    test("identity providers: create, read (secret masked), update, link and unlink a user, delete", async () => {
      const alias = `${p}idp`.replace("_", "-");
      const endpoints = { issuer: "https://idp.example", authorizationUrl: "https://idp.example/auth", tokenUrl: "https://idp.example/token", jwksUrl: "https://idp.example/jwks" };
      const created = await sec.createIdentityProvider(alias, { displayName: "Example SSO", clientId: "ecm", clientSecret: "sdk-secret", config: endpoints });
      assert.equal(created.clientSecret, "**********");
      assert.equal(created.config.redirectUri.endsWith(`/portal/auth/v1/providers/${alias}/callback`), true);
      assert.deepEqual((await sec.identityProvider(alias)).config.tokenUrl, endpoints.tokenUrl);
      assert.ok((await sec.identityProviders()).some((i) => i.alias === alias));
      const updated = await sec.updateIdentityProvider(alias, { guiOrder: 3, config: { trustEmail: true } });
      assert.equal(updated.guiOrder, 3);
      assert.equal(updated.config.trustEmail, true);
      assert.ok((await sec.loginProviders()).some((i) => i.alias === alias && i.guiOrder === 3));
      const u = await sec.createUser(`${p}linked`);
      await sec.linkUser(u, alias, "subject-1");
      const rest = await new ECM(opts()).request<{ federatedIdentities: unknown }>("GET", `/security/v1/users/${u.guid}`);
      assert.deepEqual(rest.federatedIdentities, [{ alias, displayName: "Example SSO" }]);
      assert.deepEqual(await sec.userSource(u), { type: "local", id: null, name: null, dn: null, federatedIdentities: [{ alias, displayName: "Example SSO" }] });
      assert.equal((await sec.userSource(await sec.user("sysadmin"))).type, "builtin");
      // A local account linked to the provider is among its linked users, not among those it made.
      assert.deepEqual((await sec.users({ linkedTo: alias })).map((x) => x.username), [`${p}linked`]);
      assert.deepEqual((await sec.usersPage({ linkedTo: alias })).users.map((x) => x.username), [`${p}linked`]);
      assert.equal(await sec.countUsers({ linkedTo: alias }), 1);
      // An alias no provider has is said, not answered as "nobody is linked to it".
      const noProvider = (e: unknown) => e instanceof ECMNotFoundError && e.message === "ECMS1201-E The specified identity provider does not exist.";
      await assert.rejects(sec.users({ linkedTo: `${p}nothing` }), noProvider);
      await assert.rejects(sec.countUsers({ source: `identity-provider:${p}nothing` }), noProvider);
      await assert.rejects(sec.usersPage({ linkedTo: `${p}nothing` }), noProvider);
      assert.deepEqual(await sec.userLinks(u), [{ alias, displayName: "Example SSO", subject: "subject-1" }]);
      // Another issuer's "subject-1" may be someone else: its links stay only when the caller says so.
      await assert.rejects(sec.updateIdentityProvider(alias, { config: { issuer: "https://idp2.example" } }), (e: ECMConflictError) => e instanceof ECMConflictError && /links=keep/.test(e.message));
      await assert.rejects(sec.updateIdentityProvider(alias, { config: { issuer: "https://idp2.example" }, links: "sometimes" as never }), ECMValidationError);
      assert.equal((await sec.updateIdentityProvider(alias, { config: { issuer: "https://idp2.example" }, links: "keep" })).config.issuer, "https://idp2.example");
      assert.deepEqual(await sec.userLinks(u), [{ alias, displayName: "Example SSO", subject: "subject-1" }]);
      await assert.rejects(sec.unlinkUser(u, alias, { subject: "subject-2" }), ECMConflictError);
      await sec.unlinkUser(u, alias, { subject: "subject-1" });
      await assert.rejects(sec.unlinkUser(u, alias), ECMNotFoundError);
      // Nobody answers at port 9: the test says the keys could not be read, in words.
      await sec.updateIdentityProvider(alias, { config: { jwksUrl: "http://127.0.0.1:9/jwks" } });
      const tested = await sec.testIdentityProvider(alias);
      assert.deepEqual([tested.ok, tested.steps[0]?.step, tested.steps[0]?.ok], [false, "keys", false]);
      await assert.rejects(sec.createIdentityProvider(alias, { clientId: "x", clientSecret: "y", config: endpoints }), ECMConflictError);
      await assert.rejects(sec.createIdentityProvider("x y", { clientId: "x" }), ECMValidationError);
      await sec.deleteIdentityProvider(alias);
      await assert.rejects(sec.identityProvider(alias), ECMNotFoundError);
    });

    test("directories: create (password write-only), read, update, test in words, a sync that cannot connect, delete", async () => {
      // A port nobody listens on: the test and the sync fail at the connection, in words.
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const fields = { name: `${p}directory`, connectionUrl: `ldap://127.0.0.1:${port}`, baseDn: "dc=example,dc=org", bindDn: "cn=reader,dc=example,dc=org", bindPassword: "sdk-bind-secret", allowUnencryptedPasswords: true };
      const created = await sec.createDirectory(fields);
      assert.equal(created.bindPassword, null);
      assert.equal(created.attributeMapping.uniqueId, "entryUUID", "the vendor's default");
      assert.deepEqual(await sec.directory(created.id), created);
      assert.ok((await sec.directories()).some((d) => d.id === created.id));
      const updated = await sec.updateDirectory(created.id, { priority: 7, syncPeriodSeconds: { changed: 600 } });
      assert.deepEqual([updated.priority, updated.syncPeriodSeconds, updated.bindDn], [7, { full: 0, changed: 600 }, fields.bindDn]);
      const invalid = await sec.updateDirectory(created.id, { connectionUrl: "http://127.0.0.1" }).catch((e: unknown) => e);
      assert.ok(invalid instanceof ECMValidationError);
      assert.equal((invalid.additionalInfo as { field: string }).field, "connectionUrl");

      const tested = await sec.testDirectory(created.id);
      assert.equal(tested.ok, false);
      assert.match(tested.message, /connect/i);
      // Not saved, so not named yet: the name may be left out.
      const { name: _, ...unnamed } = fields;
      const unsaved = await sec.testDirectoryConfig(unnamed);
      assert.deepEqual([unsaved.ok, unsaved.steps[0]?.ok], [false, false]);

      await assert.rejects(sec.directorySync(created.id), ECMNotFoundError);
      const started = await sec.startDirectorySync(created.id, { mode: "changed" });
      assert.equal(started.mode, "changed");
      let run = started;
      for (let i = 0; i < 200 && run.state === "running"; i++) {
        await new Promise((r) => setTimeout(r, 50));
        run = await sec.directorySync(created.id);
      }
      assert.equal(run.state, "failed");
      assert.match(run.message ?? "", /connect/i);

      // A name is no id: a TypeError, not a 404 a script could take for a directory deleted already. The directory itself is taken.
      for (const call of [() => sec.directory(fields.name), () => sec.deleteDirectory(fields.name), () => sec.directorySync(fields.name)]) {
        await assert.rejects(async () => call(), (e: unknown) => e instanceof TypeError && e.message === `a directory's id (or the directory from directories or directory) is expected, not ${JSON.stringify(fields.name)}: directories() lists them with their ids`);
      }
      assert.equal((await sec.directory(created)).id, created.id);
      await sec.deleteDirectory(created, { users: "delete" });
      await assert.rejects(sec.directory(created.id), ECMNotFoundError);
    });

    test("timeouts and aborts", async () => {
      // A server that accepts and never answers: a 1 ms timeout against the real one can lose the race.
      const sockets = new Set<Socket>();
      const silent = createServer((s) => sockets.add(s));
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      const baseUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      try {
        if (mode === "ECM") {
          await assert.rejects(sec.users({ signal: AbortSignal.abort() }), ECMAbortError);
          await assert.rejects(new ECM({ baseUrl, token: "t" }).security.users({ timeout: 50 }), ECMTimeoutError);
        } else {
          assert.throws(() => sync!.security.users({ signal: AbortSignal.abort() } as never), TypeError);
          const held = new ECMSync({ baseUrl, token: "t" });
          try {
            assert.throws(() => held.security.users({ timeout: 50 }), ECMTimeoutError);
          } finally {
            held.close();
          }
        }
      } finally {
        for (const s of sockets) s.destroy();
        silent.close();
      }
    });
  });
}

test("the codes the SDK gives errors it finds itself are the server's", async () => {
  const { SERVER_CODES, STATUS_OF_CODE } = await import("../codes.js");
  const { ErrorCodes } = await import("../../../server/src/http/errors.js");
  assert.equal(SERVER_CODES.notFound, ErrorCodes.notFound.code);
  assert.equal(SERVER_CODES.authenticationRequired, ErrorCodes.authenticationRequired.code);
  assert.deepEqual(STATUS_OF_CODE, Object.fromEntries(Object.values(ErrorCodes).map(({ code, status }) => [code, status])));
  const expired = new ECM({ baseUrl: server.baseUrl, token: "not-a-valid-token" });
  await assert.rejects(expired.security.me(), (e: unknown) => e instanceof ECMAuthError && e.code === SERVER_CODES.authenticationRequired);
});

test("ECMSync returns plain values and a synchronous iterator", () => {
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    const from = new Date("2030-05-01T00:00:00.000Z");
    sync.security.createUser("sync_dated", { validFrom: from });
    const users = sync.security.users({ extendedInfo: true });
    assert.ok(Array.isArray(users));
    // Dates cross from the worker as Dates, nulls as nulls.
    const dated = users.find((u) => u.username === "sync_dated")!;
    assert.ok(dated.validFrom instanceof Date);
    assert.equal(dated.validFrom.toISOString(), from.toISOString());
    assert.equal(users.find((u) => u.username === "sysadmin")!.validFrom, null);
    const it = sync.security.iterUsers();
    assert.equal(typeof it.next, "function");
    assert.equal([...it].length, sync.security.countUsers());
    const token = sync.login();
    assert.match(token.accessToken, /^eyJ/);
    assert.equal(typeof sync.token, "string");
    sync.logout();
    assert.equal(sync.security.me().username, "sysadmin", "logs in again after logout");
    assert.throws(() => sync.security.getUser("00000000-0000-4000-8000-000000000000"), ECMNotFoundError);
    assert.equal(sync.request<number>("GET", "/security/v1/users/count"), sync.security.countUsers());
  } finally {
    sync.close();
  }
});

test("ECMSync closed while a list is read: the next read is the SDK's error, not a new worker's", async () => {
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  // Enough users that the list comes in several pieces.
  const rows = Array.from({ length: 5000 }, (_, i) => ({ username: `closing_${String(i).padStart(4, "0")}`, email: `closing.${i}@example.com` }));
  for await (const r of ecm.security.importUsers(rows)) assert.notEqual(r.status, "failed", JSON.stringify(r));
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const it = sync.security.iterUsers();
  assert.equal(it.next().done, false);
  sync.close();
  assert.throws(() => {
    while (!it.next().done);
  }, (e: unknown) => e instanceof ECMError && !(e instanceof TypeError) && /closed/.test((e as Error).message));
});

test("the users lists refuse an option they do not take (the seed's extended_info) or a flag that is not a boolean, for both clients", async () => {
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  await assert.rejects(ecm.security.users({ extended_info: true } as never), (e: unknown) => e instanceof TypeError && e.message === 'unknown option "extended_info"; use extendedInfo');
  await assert.rejects(ecm.security.users({ extendedInfo: "yes" } as never), (e: unknown) => e instanceof TypeError && e.message === "extendedInfo must be true or false");
  await assert.rejects(async () => {
    for await (const u of ecm.security.iterUsers({ serach: "x" } as never)) assert.fail(`no user: ${u.username}`);
  }, /unknown option "serach"/);
  await assert.rejects(ecm.security.usersPage({ after: "a" } as never), /unknown option "after"/);
  await assert.rejects(ecm.security.countUsers({ lockedOut: 1 } as never), /lockedOut must be true or false/);
  // Taken and changing nothing: a streamed list has no pages.
  assert.equal((await ecm.security.users({ pageSize: 10 } as never)).length, await ecm.security.countUsers());
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    assert.throws(() => sync.security.users({ extended_info: true } as never), (e: unknown) => e instanceof TypeError && /use extendedInfo/.test((e as Error).message));
    assert.throws(() => sync.security.countUsers({ locked: "no" } as never), TypeError);
  } finally {
    sync.close();
  }
});

test("a users list's search and linkedTo are text: a list, an object or a flag is a TypeError, not a search for \"smith,jones\" that finds no one, for both clients", async () => {
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const sec = ecm.security;
  await assert.rejects(sec.users({ search: ["smith", "jones"] as never }), (e: unknown) => e instanceof TypeError && e.message === 'search is text, not ["smith","jones"]');
  await assert.rejects(sec.countUsers({ search: {} as never }), /search is text, not \{\}/);
  await assert.rejects(async () => {
    for await (const u of sec.iterUsers({ linkedTo: true as never })) assert.fail(`no user: ${u.username}`);
  }, /linkedTo is text, not true/);
  // A number is its digits, as ever; null is no search.
  assert.equal((await sec.users({ search: 1 as never })).length, await sec.countUsers({ search: "1" }));
  assert.equal((await sec.users({ search: null as never })).length, await sec.countUsers());
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    assert.throws(() => sync.security.users({ search: ["smith"] as never }), (e: unknown) => e instanceof TypeError && /search is text/.test((e as Error).message));
    assert.throws(() => sync.security.countUsers({ linkedTo: {} as never }), (e: unknown) => e instanceof TypeError && /linkedTo is text/.test((e as Error).message));
  } finally {
    sync.close();
  }
});

test("a users list's groupId is a group's guid or ECMGroup: its name or numeric id is a TypeError saying so, not the server's \"does not exist\" of a group that does, for both clients", async () => {
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const sec = ecm.security;
  const staff = await sec.createGroup("groupid_staff");
  const ann = await sec.createUser("groupid_ann");
  await sec.addUserToGroup(ann, staff);
  const names = (users: ECMUser[]) => users.map((u) => u.username);
  assert.deepEqual(names(await sec.users({ groupId: staff.guid })), ["groupid_ann"]);
  assert.deepEqual(names(await sec.users({ groupId: staff })), ["groupid_ann"], "an ECMGroup, as wherever a group's guid is expected");
  const byName = /groupId is a group's guid \(or an ECMGroup\), not "groupid_staff": groupMembers\(group\) takes a group's name too$/;
  await assert.rejects(sec.users({ groupId: "groupid_staff" }), (e: unknown) => e instanceof TypeError && byName.test((e as Error).message));
  await assert.rejects(sec.countUsers({ groupId: staff.id as never }), (e: unknown) => e instanceof TypeError && /not the number \d+ \(the numeric id is not taken\)/.test((e as Error).message));
  await assert.rejects(async () => {
    for await (const u of sec.iterUsers({ groupId: "groupid_staff" })) assert.fail(`no user: ${u.username}`);
  }, byName);
  await assert.rejects(sec.usersPage({ groupId: "groupid_staff" }), byName);
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    assert.deepEqual(names(sync.security.users({ groupId: staff })), ["groupid_ann"]);
    assert.throws(() => sync.security.users({ groupId: "groupid_staff" }), (e: unknown) => e instanceof TypeError && byName.test((e as Error).message));
    assert.throws(() => sync.security.countUsers({ groupId: "groupid_staff" }), (e: unknown) => e instanceof TypeError && byName.test((e as Error).message));
  } finally {
    sync.close();
  }
  await sec.deleteUser(ann);
  await sec.deleteGroup(staff);
});

test("a users list's expired and profileId filters: accounts past their validTo, a profile's users, the profiles; a profile that is none is a not-found, a profileId that is no id a TypeError, for both clients", async () => {
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const sec = ecm.security;
  const profile = await sec.createUser("filters_profile", { profileId: 0 });
  const gone = await sec.createUser("filters_gone", { validTo: "2020-01-01", profileId: profile.id });
  const kept = await sec.createUser("filters_kept", { validTo: "2999-01-01", profileId: profile.id });
  const names = (users: ECMUser[]) => users.map((u) => u.username).filter((name) => name.startsWith("filters_"));
  assert.deepEqual(names(await sec.users({ expired: true })), ["filters_gone"]);
  assert.deepEqual(names(await sec.users({ expired: false })), ["filters_kept", "filters_profile"]);
  assert.deepEqual(names(await sec.users({ profileId: profile.id })), ["filters_gone", "filters_kept"]);
  assert.deepEqual(names(await sec.users({ profileId: profile.id, expired: false })), ["filters_kept"]);
  assert.deepEqual(names(await sec.users({ profileId: 0 })), ["filters_profile"]);
  assert.equal(await sec.countUsers({ profileId: profile.id, expired: true }), 1);
  assert.deepEqual(names((await sec.usersPage({ expired: true })).users), ["filters_gone"]);
  await assert.rejects(sec.users({ profileId: kept.id }), (e: unknown) => e instanceof ECMNotFoundError && e.message === "ECMS1201-E The specified profile does not exist.");
  for (const bad of [-2, 1.5, "3"]) await assert.rejects(sec.countUsers({ profileId: bad as never }), (e: unknown) => e instanceof TypeError && /^profileId is -1 \(no profile\), 0 \(the profiles\) or a profile's id, not /.test((e as Error).message), String(bad));
  await assert.rejects(sec.users({ expired: "yes" as never }), TypeError);
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    assert.deepEqual(names(sync.security.users({ expired: true, profileId: profile.id })), ["filters_gone"]);
    assert.equal(sync.security.countUsers({ profileId: profile.id }), 2);
    assert.throws(() => sync.security.users({ profileId: -2 }), TypeError);
  } finally {
    sync.close();
  }
  for (const u of [gone, kept, profile]) await sec.deleteUser(u);
});

test("the other calls with options refuse a name they do not take: an API key asked to expire is not made without its expiry, for both clients", async () => {
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const sec = ecm.security;
  const robot = await sec.createUser("options_robot", { serviceAccount: true });
  await assert.rejects(sec.createApiKey(robot, "nightly", { expires_at: "2030-12-31" } as never), (e: unknown) => e instanceof TypeError && e.message === 'unknown option "expires_at"; use expiresAt');
  assert.deepEqual(await sec.apiKeys(robot), [], "no key that never expires");
  await assert.rejects(sec.createGroup("options_staff", { remark: "Staff" } as never), /unknown option "remark"/);
  await assert.rejects(sec.group("options_staff"), ECMNotFoundError);
  const staff = await sec.createGroup("options_staff", { description: "Staff" });
  await assert.rejects(sec.updateGroup(staff, { descripton: "Everyone" } as never), /unknown option "descripton"/);
  assert.equal((await sec.getGroup(staff)).description, "Staff");
  await assert.rejects(sec.groups({ serch: "nobody" } as never), /unknown option "serch"/);
  // Refused before anything is sent: a link to another subject stays, a directory's users are not kept by default.
  await assert.rejects(sec.unlinkUser(robot, "corp", { subjct: "x" } as never), /unknown option "subjct"/);
  await assert.rejects(sec.deleteDirectory("00000000-0000-4000-8000-000000000000", { user: "delete" } as never), /unknown option "user"/);
  await assert.rejects(sec.startDirectorySync("00000000-0000-4000-8000-000000000000", { forced: true } as never), /unknown option "forced"/);
  await assert.rejects(sec.createGroup("options_other", null as never), /the options must be an object/);
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    assert.throws(() => sync.security.createApiKey(robot, "nightly", { expires_at: "2030-12-31" } as never), (e: unknown) => e instanceof TypeError && /use expiresAt/.test((e as Error).message));
    assert.throws(() => sync.security.updateGroup(staff, { desc: "x" } as never), TypeError);
  } finally {
    sync.close();
  }
  assert.deepEqual(await sec.apiKeys(robot), []);
  assert.equal((await sec.getGroup(staff)).description, "Staff");
});

test("a directory's or identity provider's configuration refuses a field name it does not take (bindPasword), before anything is sent, for both clients", async () => {
  // Nothing listens at this address: a body that were sent would be an ECMConnectionError, not the TypeError.
  const nowhere = new ECM({ baseUrl: "http://127.0.0.1:9", token: "t", retries: 0 });
  const base = { name: "typo_corp", connectionUrl: "ldap://127.0.0.1:1", baseDn: "dc=example" };
  const refused = (pattern: RegExp) => (e: unknown) => e instanceof TypeError && pattern.test((e as Error).message);
  await assert.rejects(nowhere.security.createDirectory({ ...base, bindPasword: "secret" } as never), refused(/^unknown directory field "bindPasword"; known: name, .*bindPassword/));
  await assert.rejects(nowhere.security.testDirectoryConfig({ ...base, bind_password: "secret" } as never), refused(/^unknown directory field "bind_password"; use bindPassword$/));
  await assert.rejects(nowhere.security.updateDirectory("00000000-0000-4000-8000-000000000000", { attributeMapping: { emial: "mail" } } as never), refused(/^unknown directory attributeMapping field "emial"/));
  await assert.rejects(nowhere.security.updateDirectory("00000000-0000-4000-8000-000000000000", { groupMappings: [{ groupDn: "cn=a", localGrupId: "x" }] } as never), refused(/^unknown directory groupMappings field "localGrupId"/));
  await assert.rejects(nowhere.security.createIdentityProvider("typo_sso", { clientId: "ecm", issuer: "https://idp.example" } as never), refused(/^unknown identity provider field "issuer"; known: .*config/));
  await assert.rejects(nowhere.security.updateIdentityProvider("typo_sso", { config: { isuer: "https://idp.example" } } as never), refused(/^unknown identity provider config field "isuer"/));
  await assert.rejects(nowhere.security.createIdentityProvider("typo_sso", { clientId: "ecm", alias: "other" } as never), refused(/^unknown identity provider field "alias"/));
  // A name every object inherits is no field either.
  await assert.rejects(nowhere.security.createDirectory({ ...base, constructor: "x" } as never), refused(/^unknown directory field "constructor"/));
  // Read-only fields are taken back by an update only: a new directory (or an unsaved one tested) has no last sync, which the server would refuse as unknown.
  for (const call of [() => nowhere.security.createDirectory({ ...base, lastSyncStartedAt: null } as never), () => nowhere.security.testDirectoryConfig({ ...base, lastSyncStartedAt: null } as never)]) {
    await assert.rejects(call(), refused(/^unknown directory field "lastSyncStartedAt"; known: name, .*enabled$/));
  }

  // Read and sent back as it is, each is taken (the server checks the read-only fields).
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const sec = ecm.security;
  const d = await sec.createDirectory(base);
  assert.equal((await sec.updateDirectory(d, { ...(await sec.directory(d)), priority: 3 })).priority, 3);
  const endpoints = { issuer: "https://idp.example", authorizationUrl: "https://idp.example/auth", tokenUrl: "https://idp.example/token", jwksUrl: "https://idp.example/jwks" };
  await sec.createIdentityProvider("typo_sso", { clientId: "ecm", clientSecret: "typo-secret", config: endpoints });
  assert.equal((await sec.updateIdentityProvider("typo_sso", { ...(await sec.identityProvider("typo_sso")), guiOrder: 4 })).guiOrder, 4);
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    assert.throws(() => sync.security.updateDirectory(d, { bindPasword: "x" } as never), refused(/unknown directory field "bindPasword"/));
    assert.throws(() => sync.security.updateIdentityProvider("typo_sso", { clientSecrt: "x" } as never), refused(/unknown identity provider field "clientSecrt"/));
  } finally {
    sync.close();
  }
  await sec.deleteIdentityProvider("typo_sso");
  await sec.deleteDirectory(d);
});

test("every call refuses an option name it does not take (a typo of timeout), before anything is sent, for both clients", async () => {
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const sec = ecm.security;
  const victim = await sec.createUser("typo_victim");
  const group = await sec.createGroup("typo_group");
  const typo = { timout: 5 } as never;
  const refused = (e: unknown) => e instanceof TypeError && e.message === 'unknown option "timout"';
  const calls: [string, () => Promise<unknown>][] = [
    ["user", () => sec.user("sysadmin", typo)],
    ["getUser", () => sec.getUser(victim, typo)],
    ["me", () => sec.me(typo)],
    ["roles", () => sec.roles(undefined, typo)],
    ["group", () => sec.group("typo_group", typo)],
    ["getGroup", () => sec.getGroup(group, typo)],
    ["groupMembers", () => sec.groupMembers("typo_group", typo)],
    ["lockUser", () => sec.lockUser(victim, typo)],
    ["deleteUser", () => sec.deleteUser(victim, typo)],
    ["addUserToGroup", () => sec.addUserToGroup(victim, group, typo)],
    ["deleteGroup", () => sec.deleteGroup(group, typo)],
    ["grantRole", () => sec.grantRole(group, "admin", typo)],
    ["apiKeys", () => sec.apiKeys(victim, typo)],
    ["exportSecuritySystem", () => sec.exportSecuritySystem(null, typo)],
    ["directories", () => sec.directories(typo)],
    ["loginProviders", () => sec.loginProviders(typo)],
    ["login", () => ecm.login(typo)],
    ["request", () => ecm.request("GET", "/security/v1/me", typo)],
    ["admin.user", () => ecm.admin.user(victim.guid, typo)],
    ["admin.groups", () => ecm.admin.groups(undefined, typo)],
    ["admin.deleteGroup", () => ecm.admin.deleteGroup(group.guid, null, typo)],
  ];
  for (const [name, run] of calls) await assert.rejects(run(), refused, name);
  // Taken: the options a call has besides signal and timeout.
  assert.ok(Array.isArray(await ecm.admin.groups("typo", { role: "user" })));
  assert.equal((await sec.groupMembers("typo_group", { extendedInfo: true })).length, 0);
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    assert.throws(() => sync.security.user("sysadmin", typo), refused);
    assert.throws(() => sync.security.deleteUser(victim, typo), refused);
    assert.throws(() => sync.security.exportSecuritySystem(null, typo), refused);
    assert.throws(() => sync.security.groupMembers("typo_group", typo), refused);
    assert.equal(sync.security.groupMembers("typo_group", { extendedInfo: true, timeout: 5000 }).length, 0);
    assert.throws(() => sync.login(typo), refused);
    assert.throws(() => sync.request("GET", "/security/v1/me", typo), refused);
  } finally {
    sync.close();
  }
  // Nothing was done.
  assert.equal((await sec.getUser(victim)).locked, false);
  assert.deepEqual((await sec.userGroups(victim, { direct: true })).map((g) => g.name), ["users"]);
  assert.deepEqual(await sec.groupRoles(group), []);
});

test("a username where a user's guid is expected is a TypeError naming user(name), not a not-found a cleanup script takes for done, for both clients", async () => {
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const bob = await ecm.security.createUser("guid_bob");
  await assert.rejects(ecm.security.deleteUser("guid_bob"), (e: unknown) => e instanceof TypeError && e.message === 'a user\'s guid (or ECMUser) is expected, not "guid_bob": find a user by username with user(username)');
  await assert.rejects(ecm.security.addUserToGroup("guid_bob", "users"), TypeError);
  await assert.rejects(ecm.security.getUser("guid_bob"), TypeError);
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    assert.throws(() => sync.security.lockUser("guid_bob"), TypeError);
  } finally {
    sync.close();
  }
  assert.equal((await ecm.security.getUser(bob)).locked, false);
  // A guid in capitals is a guid.
  await ecm.security.deleteUser(bob.guid.toUpperCase());
  await assert.rejects(ecm.security.user("guid_bob"), ECMNotFoundError);
});

test("ECMSync has every method of ECM's security namespace but the export's streams (ECM only)", () => {
  const methods = (proto: object) => Object.getOwnPropertyNames(proto).filter((name) => name !== "constructor");
  const blocking = new Set(methods(SecuritySync.prototype));
  assert.deepEqual(methods(Security.prototype).filter((name) => !blocking.has(name)), ["exportSecuritySystemStream", "iterExport"]);
});

test("request(): the authenticated escape hatch maps query, body and errors like the typed methods", async () => {
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const found = await ecm.request<{ username: string }[]>("GET", "/security/v1/users", { query: { search: "sysadmin" } });
  assert.deepEqual(found.map((u) => u.username), ["sysadmin"]);
  await assert.rejects(
    ecm.request("POST", "/security/v1/users", { body: { username: "bad name" } }),
    (e: unknown) => e instanceof ECMValidationError && e.status === 400,
  );
});

test("wrong credentials: ECMAuthError with the server's code, for both clients; the password shows nowhere", async () => {
  const password = "Not-The-Right-One-7";
  const bad = { baseUrl: server.baseUrl, username: "sysadmin", password };
  const client = new ECM(bad);
  await assert.rejects(client.security.users(), (e: unknown) => e instanceof ECMAuthError && e.code === "ECMS1102" && !inspect(e).includes(password));
  for (const shown of [inspect(client), JSON.stringify(client), String(Object.keys(client))]) assert.ok(!shown.includes(password) && !shown.includes("password"), shown);
  const sync = new ECMSync(bad);
  try {
    assert.throws(() => sync.security.users(), (e: unknown) => e instanceof ECMAuthError && e.code === "ECMS1102");
    // Both show the same: the URL and the username they log in as.
    assert.equal(inspect(client), `ECM { baseUrl: ${JSON.stringify(server.baseUrl)}, username: "sysadmin" }`);
    assert.equal(inspect(sync), `ECMSync { baseUrl: ${JSON.stringify(server.baseUrl)}, username: "sysadmin" }`);
  } finally {
    sync.close();
  }
});

describe("token renewal against the real server, whose token clock the test moves", () => {
  // Tokens live 300 s on this server: they expire when a test moves the server's clock, not because the machine is slow.
  let proxy: FlakyProxy;
  before(async () => {
    proxy = await startFlakyProxy(server.baseUrl);
  });
  after(async () => {
    await proxy?.close();
  });
  const LOGIN = "POST /portal/auth/v1/providers/builtin/token";
  // Through a proxy, which lists what the client sends (ECMSync blocks this thread, so it goes direct).
  const credentials = (baseUrl: string, password = server.adminPassword) => ({ baseUrl, username: "sysadmin", password });

  test("logs in only when first needed, once for concurrent first calls, and again when the server refuses its token", async () => {
    proxy.clearPassed();
    const ecm = new ECM(credentials(proxy.baseUrl));
    assert.equal(ecm.token, undefined);
    assert.equal(proxy.passed.length, 0);
    await Promise.all([ecm.security.countUsers(), ecm.security.countUsers(), ecm.security.countUsers()]);
    assert.deepEqual(proxy.passed.filter((l) => l.startsWith("POST")), [`${LOGIN} 200`]);
    // Revoked on the server (a logout elsewhere): one refused call, a login, the call again.
    const revoked = ecm.token!;
    await new ECM({ baseUrl: server.baseUrl, token: revoked }).logout();
    proxy.clearPassed();
    assert.equal((await ecm.security.me()).username, "sysadmin");
    assert.deepEqual(proxy.passed, ["GET /portal/security/v1/me 401", `${LOGIN} 200`, "GET /portal/security/v1/me 200"]);
    assert.notEqual(ecm.token, revoked);
  });

  test("a call aborted while the first login runs leaves that login to the calls that wait for it", async () => {
    const ecm = new ECM(credentials(server.baseUrl));
    const ac = new AbortController();
    const aborted = ecm.security.countUsers({ signal: ac.signal });
    const waiting = ecm.security.countUsers();
    ac.abort();
    await assert.rejects(aborted, ECMAbortError);
    assert.ok((await waiting) > 0);
  });

  test("once the idle lifetime passed on the server, a bare token fails with ECMAuthError and credentials log in again, for both clients", async () => {
    const ecm = new ECM(credentials(proxy.baseUrl));
    const sync = new ECMSync(credentials(server.baseUrl));
    try {
      await ecm.login();
      const first = ecm.token!;
      const bare = new ECM({ baseUrl: server.baseUrl, token: first });
      assert.equal((await bare.security.me()).username, "sysadmin");
      assert.equal(sync.security.me().username, "sysadmin");
      const firstSync = sync.token;
      await server.advanceClock(301);
      await assert.rejects(bare.security.me(), (e: unknown) => e instanceof ECMAuthError && e.status === 401);
      proxy.clearPassed();
      assert.equal((await ecm.security.me()).username, "sysadmin");
      assert.deepEqual(proxy.passed, ["GET /portal/security/v1/me 401", `${LOGIN} 200`, "GET /portal/security/v1/me 200"]);
      assert.equal(sync.security.me().username, "sysadmin");
      assert.notEqual(sync.token, firstSync);
    } finally {
      sync.close();
    }
  });

  test("renews before the idle lifetime ends, without a refused call first", async () => {
    // A 1 s idle lifetime: the client renews once idle for 0.75 s.
    const short = await startServerThread({ tokenTtlSeconds: 1 });
    const shortProxy = await startFlakyProxy(short.baseUrl);
    try {
      const ecm = new ECM(credentials(shortProxy.baseUrl, short.adminPassword));
      await ecm.login();
      // Only a lower bound: a longer sleep changes nothing. A client that did not renew first would send the
      // old token and get a 200 (within the second) or a 401 (later): either way not what is asserted.
      await new Promise((resolve) => setTimeout(resolve, 800));
      shortProxy.clearPassed();
      assert.equal((await ecm.security.me()).username, "sysadmin");
      assert.deepEqual(shortProxy.passed, [`${LOGIN} 200`, "GET /portal/security/v1/me 200"]);
    } finally {
      await shortProxy.close();
      await short.close();
    }
  });
});

describe("retries and aborts through a flaky connection to the real server", () => {
  let proxy: FlakyProxy;
  before(async () => {
    proxy = await startFlakyProxy(server.baseUrl);
  });
  after(async () => {
    await proxy?.close();
  });
  const client = (extra: Record<string, number> = {}) =>
    new ECM({ baseUrl: proxy.baseUrl, username: "sysadmin", password: server.adminPassword, retryDelay: 10, maxRetryDelay: 50, ...extra });

  test("idempotent requests (and the login) retry on dropped connections and 503", async () => {
    const ecm = client();
    proxy.faults = ["drop", "503"]; // the login meets both, then succeeds
    const before = proxy.requests;
    assert.equal((await ecm.security.me()).username, "sysadmin");
    proxy.faults = ["503", "drop", "503"];
    assert.ok((await ecm.security.users()).length >= 1);
    assert.ok(proxy.requests - before >= 6, `requests: ${proxy.requests - before}`);
    assert.deepEqual(proxy.faults, []);
  });

  test("retries give up: ECMUnavailableError after 503s, ECMConnectionError after drops", async () => {
    const ecm = client({ retries: 2 });
    await ecm.login();
    proxy.faults = ["503", "503", "503"];
    await assert.rejects(ecm.security.groups(), (e: unknown) => e instanceof ECMUnavailableError && e.code === "ECMS1901" && e.retryAfterSeconds === 0);
    proxy.faults = ["drop", "drop", "drop"];
    await assert.rejects(ecm.security.groups(), ECMConnectionError);
    proxy.faults = [];
  });

  test("a POST is not retried after a 503 (it may not be safe to repeat)", async () => {
    const ecm = client();
    await ecm.login();
    proxy.faults = ["503"];
    await assert.rejects(ecm.security.createUser("flaky_user"), ECMUnavailableError);
    assert.deepEqual(proxy.faults, []);
    // The error says when the server asked to be tried again.
    proxy.faults = ["503-retry-later"];
    await assert.rejects(ecm.security.createUser("flaky_user"), (e: unknown) => e instanceof ECMUnavailableError && e.retryAfterSeconds === 3600);
    await assert.rejects(ecm.security.user("flaky_user"), ECMNotFoundError);
  });

  // Bounded: were an abort or a timeout not to end the call, the held request would never answer.
  test("abort and timeout of a request the server holds; a signal aborted before the call; the client-wide timeout", { timeout: 10_000 }, async () => {
    const ecm = client();
    await ecm.login();
    proxy.faults = ["hold"];
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(ecm.security.users({ signal: ac.signal }), ECMAbortError);
    proxy.faults = ["hold"];
    await assert.rejects(ecm.security.countUsers({ timeout: 150 }), ECMTimeoutError);
    await assert.rejects(ecm.security.groups({ signal: AbortSignal.abort() }), ECMAbortError);
    // The logged-in client's token, so no login (slow on a busy machine) runs under the short timeout.
    const impatient = new ECM({ baseUrl: proxy.baseUrl, token: ecm.token!, timeout: 150 });
    proxy.faults = ["hold"];
    await assert.rejects(impatient.security.roles(), ECMTimeoutError);
    proxy.faults = [];
    assert.ok((await ecm.security.countUsers()) >= 1);
  });

  test("a 503's Retry-After is waited for, and an abort ends the wait", { timeout: 10_000 }, async () => {
    const ecm = client({ maxRetryDelay: 60_000 });
    await ecm.login();
    // Retry-After: one hour (capped at a minute): no retry is sent before the abort ends the wait.
    proxy.faults = ["503-retry-later"];
    const sent = proxy.requests;
    await assert.rejects(ecm.security.me({ signal: AbortSignal.timeout(200) }), ECMAbortError);
    assert.equal(proxy.requests - sent, 1, "the 503 only, no retry");
  });
});
