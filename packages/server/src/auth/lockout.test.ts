import assert from "node:assert/strict";
import { before, it } from "node:test";
import { describeEachStore, type TestServer } from "../test-support/server.js";
import { addressLockoutsOf } from "./login.js";

const PASSWORD = "Owner-Knows-This-1";
const TOKEN_PATH = "/auth/v1/providers/builtin/token";

/** A login attempt from one loopback address: the server sees each as another client. */
const loginFrom = async (s: TestServer, address: string, username: string, password: string) =>
  (await s.api("POST", TOKEN_PATH, { from: address, body: { username, password } })).status;

describeEachStore(
  "lockout that protects the owner (per account and address, plus account-wide for unfamiliar addresses)",
  (server) => {
    let token: string;
    before(async () => {
      token = await server().login();
    });

    const createUser = async (username: string) => {
      const r = await server().api("POST", "/security/v1/users", { token, body: { username, password: PASSWORD } });
      assert.equal(r.status, 201, r.text);
      return r.body.id as string;
    };
    const lockedOutUntil = async (id: string) => (await server().api("GET", `/security/v1/users/${id}?extendedInfo=true`, { token })).body.lockedOutUntil;

    it("a guesser at one address is locked out there; the owner at another address still logs in", async () => {
      const s = server();
      const id = await createUser("guessed.at");
      for (let i = 0; i < 3; i++) assert.equal(await loginFrom(s, "127.0.0.2", "Guessed.At", `wrong-guess-${i}`), 401);
      assert.equal(await loginFrom(s, "127.0.0.2", "guessed.at", PASSWORD), 401, "the guesser's address is locked out, even with the right password");
      assert.equal(await loginFrom(s, "127.0.0.3", "guessed.at", PASSWORD), 200, "the owner elsewhere is not");
      assert.equal(await lockedOutUntil(id), null, "the account itself is not locked out");
      // An administrator sees why the owner is refused at that address.
      const lockout = (await s.api("GET", `/security/v1/users/${id}/lockout`, { token })).body;
      assert.equal(lockout.lockedOutUntil, null);
      assert.deepEqual(lockout.addresses.map((a: any) => [a.address, Date.parse(a.lockedOutUntil) > Date.now(), a.lastLoginAt]), [["127.0.0.2", true, null]]);
      const events = await s.api("GET", `/security/v1/audit-events?target=${id}&action=user.locked-out`, { token });
      assert.deepEqual(events.body.map((e: { details: { scope: string }; sourceAddress: string }) => [e.details.scope, e.sourceAddress]), [["address", "127.0.0.2"]]);
    });

    it("guesses sent at once from one address get no more tries than the lockout allows, the right password among them too", async () => {
      const s = server();
      const id = await createUser("guessed.at.once");
      const guesses = [...Array.from({ length: 8 }, (_, i) => `wrong-at-once-${i}`), PASSWORD];
      const statuses = await Promise.all(guesses.map((password) => loginFrom(s, "127.0.0.4", "guessed.at.once", password)));
      const events = (await s.api("GET", `/security/v1/audit-events?target=${id}&action=auth.login&max=50`, { token })).body;
      // Refusals of a minute are one event with a count.
      const tried = events.filter((e: { details: { reason?: string } }) => e.details.reason === "wrong-password").reduce((n: number, e: { count: number }) => n + e.count, 0);
      assert.equal(tried, 3, `passwords checked: ${JSON.stringify(events.map((e: { details: unknown; count: number }) => [e.details, e.count]))}`);
      // Each waits for the one before: the right password, sent last, comes after the lockout.
      assert.equal(statuses.at(-1), 401);
    });

    it("guesses sent at once from many addresses get no more tries than the account's lockout allows; the owner's familiar address is not held up", async () => {
      const s = server();
      const id = await createUser("spread.at.once");
      assert.equal(await loginFrom(s, "127.0.0.3", "spread.at.once", PASSWORD), 200, "the owner's address becomes familiar");
      // The test server runs one process: the six the account's lockout allows (2 a guesser's address, 6 together), and no more.
      const statuses = await Promise.all(Array.from({ length: 16 }, (_, i) => loginFrom(s, `127.0.2.${i + 10}`, "spread.at.once", `wrong-at-once-${i}`)));
      assert.ok(statuses.every((status) => status === 401 || status === 429), statuses.join());
      const events = (await s.api("GET", `/security/v1/audit-events?target=${id}&action=auth.login&max=50`, { token })).body;
      const tried = events.filter((e: { details: { reason?: string } | null }) => e.details?.reason === "wrong-password").reduce((n: number, e: { count: number }) => n + e.count, 0);
      assert.equal(tried, 6, `passwords checked: ${JSON.stringify(events.map((e: { details: unknown; count: number }) => [e.details, e.count]))}`);
      assert.ok(Date.parse(await lockedOutUntil(id)) > Date.now(), "the account is locked out");
      assert.equal(await loginFrom(s, "127.0.0.3", "spread.at.once", PASSWORD), 200, "the owner at a familiar address still logs in");
    });

    it("guesses from many addresses lock the account for unfamiliar addresses, not for the owner's familiar one", async () => {
      const s = server();
      const id = await createUser("spread.out");
      assert.equal(await loginFrom(s, "127.0.0.3", "spread.out", PASSWORD), 200, "the owner's address becomes familiar");
      for (const address of ["127.0.0.4", "127.0.0.5"]) {
        for (let i = 0; i < 3; i++) assert.equal(await loginFrom(s, address, "spread.out", `wrong-guess-${i}`), 401);
      }
      const until = await lockedOutUntil(id);
      assert.ok(until && Date.parse(until) > Date.now(), "six guesses from unfamiliar addresses lock the account out");
      const listed = await s.api("GET", "/security/v1/users?lockedOut=true&search=spread.out", { token });
      assert.deepEqual(listed.body.map((u: { username: string }) => u.username), ["spread.out"]);
      assert.equal(await loginFrom(s, "127.0.0.6", "spread.out", PASSWORD), 401, "an unfamiliar address is refused, even with the right password");
      assert.equal(await loginFrom(s, "127.0.0.3", "spread.out", PASSWORD), 200, "the owner at a familiar address still logs in");
      assert.equal(await lockedOutUntil(id), until, "and that does not lift the lockout for the others");
    });

    it("a right password forgets the account's failures so far: guesses after it start counting again", async () => {
      const s = server();
      const id = await createUser("counted.again");
      const guess = async (address: string, times: number) => {
        for (let i = 0; i < times; i++) assert.equal(await loginFrom(s, address, "counted.again", `wrong-guess-${i}`), 401);
      };
      await guess("127.0.0.4", 2);
      await guess("127.0.0.5", 2);
      assert.equal(await loginFrom(s, "127.0.0.6", "counted.again", PASSWORD), 200);
      await guess("127.0.0.7", 2);
      await guess("127.0.0.8", 2);
      await guess("127.0.0.9", 1);
      assert.equal(await lockedOutUntil(id), null, "five guesses since the login, not nine, are below the account's limit of six");
      assert.equal(await loginFrom(s, "127.0.0.10", "counted.again", PASSWORD), 200);
    });

    it("a right password writes the session, the login's audit event and the address's familiarity, a name beyond ASCII too", async () => {
      const s = server();
      for (const name of ["all.written", "jürgen.all.written"]) {
        const id = await createUser(name);
        const login = await s.api("POST", TOKEN_PATH, { from: "127.0.0.20", body: { username: name, password: PASSWORD } });
        assert.equal(login.status, 200, login.text);
        assert.equal((await s.api("GET", "/security/v1/me", { token: login.body.access_token })).status, 200, "the session is written");
        // By the name in another case: the audit log's filter finds names by their key.
        const events = await s.api("GET", `/security/v1/audit-events?target=${encodeURIComponent(name.toUpperCase())}&action=auth.login`, { token });
        assert.deepEqual(events.body.map((e: { targetId: string; outcome: string; sourceAddress: string }) => [e.targetId, e.outcome, e.sourceAddress]), [[id, "success", "127.0.0.20"]]);
        for (const address of ["127.0.0.21", "127.0.0.22"]) {
          for (let i = 0; i < 3; i++) assert.equal(await loginFrom(s, address, name, `wrong-guess-${i}`), 401);
        }
        assert.ok(await lockedOutUntil(id), "guesses from unfamiliar addresses lock the account out");
        assert.equal(await loginFrom(s, "127.0.0.20", name, PASSWORD), 200, "the address of the login is familiar");
      }
    });

    it("a lockout stops logins, not keys: the account's keys keep working, and an account without a password is never locked out", async () => {
      const s = server();
      const keyOf = async (id: string) => (await s.api("POST", `/security/v1/users/${id}/api-keys`, { token, body: { name: "script" } })).body.secret as string;
      const owner = await createUser("keyed.owner");
      const ownerKey = await keyOf(owner);
      const robot = (await s.api("POST", "/security/v1/users", { token, body: { username: "keyed.robot", serviceAccount: true } })).body.id as string;
      const robotKey = await keyOf(robot);
      for (const address of ["127.0.0.9", "127.0.0.10"]) {
        for (let i = 0; i < 3; i++) {
          assert.equal(await loginFrom(s, address, "keyed.owner", `wrong-guess-${i}`), 401);
          assert.equal(await loginFrom(s, address, "keyed.robot", `wrong-guess-${i}`), 401);
        }
      }
      assert.ok(await lockedOutUntil(owner), "guesses lock the account's password logins out");
      assert.equal((await s.api("GET", "/security/v1/me", { token: ownerKey })).status, 200, "but not its key");
      assert.equal(await lockedOutUntil(robot), null, "a service account has no password to guess: nothing is counted");
      assert.deepEqual((await s.api("GET", `/security/v1/users/${robot}/lockout`, { token })).body, { lockedOutUntil: null, failedLogins: 0, addresses: [] });
      assert.equal((await s.api("GET", "/security/v1/me", { token: robotKey })).status, 200);
      const refusals = await s.api("GET", `/security/v1/audit-events?target=${robot}&action=auth.login`, { token });
      assert.ok(refusals.body.length > 0, "the attempts are still audited");
    });

    it("an administrator's clear lifts the account's and every address's lockout", async () => {
      const s = server();
      const id = await createUser("cleared.up");
      for (const address of ["127.0.0.7", "127.0.0.8"]) {
        for (let i = 0; i < 3; i++) await loginFrom(s, address, "cleared.up", `wrong-guess-${i}`);
      }
      assert.ok(await lockedOutUntil(id));
      assert.ok((await s.api("GET", `/security/v1/users/${id}/lockout`, { token })).body.lockedOutUntil);
      assert.equal((await s.api("DELETE", `/security/v1/users/${id}/lockout`, { token })).status, 204);
      assert.equal(await lockedOutUntil(id), null);
      assert.deepEqual((await s.api("GET", `/security/v1/users/${id}/lockout`, { token })).body, { lockedOutUntil: null, failedLogins: 0, addresses: [] });
      assert.equal(await loginFrom(s, "127.0.0.7", "cleared.up", PASSWORD), 200);
    });

    it("the clear of an address's lockout says in its audit event what it cleared: the address and until when, the failures counted", async () => {
      const s = server();
      const id = await createUser("address.cleared");
      for (let i = 0; i < 3; i++) await loginFrom(s, "127.0.0.12", "address.cleared", `wrong-guess-${i}`);
      const { addresses } = (await s.api("GET", `/security/v1/users/${id}/lockout`, { token })).body;
      assert.equal(await lockedOutUntil(id), null, "the account itself is not locked out");
      assert.equal((await s.api("DELETE", `/security/v1/users/${id}/lockout`, { token })).status, 204);
      const events = await s.api("GET", `/security/v1/audit-events?target=${id}&action=user.lockout-cleared`, { token });
      assert.deepEqual(events.body.map((e: { details: unknown }) => e.details), [{
        // The account counts the failures of unfamiliar addresses too (its own lockout's measure).
        before: { failedLogins: 3, addresses: [{ address: "127.0.0.12", lockedOutUntil: addresses[0].lockedOutUntil, failedLogins: addresses[0].failedLogins }] },
        after: { failedLogins: 0, addresses: [] },
      }]);
    });

    it("reads at most so many addresses an account from the store, the latest first (a spray leaves a row an address)", async () => {
      const s = server();
      const [sprayed, other] = [await createUser("many.addresses"), await createUser("one.address")];
      for (const address of ["127.0.0.21", "127.0.0.22", "127.0.0.23"]) assert.equal(await loginFrom(s, address, "many.addresses", "wrong-guess"), 401);
      assert.equal(await loginFrom(s, "127.0.0.24", "one.address", "wrong-guess"), 401);
      const { db } = s.server.deps.store;
      const idOf = async (uuid: string) => (await db.selectFrom("users").select("id").where("uuid", "=", uuid).executeTakeFirstOrThrow()).id;
      const [a, b] = [await idOf(sprayed), await idOf(other)];
      const read = await addressLockoutsOf(db, [a, b], 2);
      assert.deepEqual([read.get(a)?.map((l) => l.address).sort(), read.get(b)?.map((l) => l.address)], [["127.0.0.22", "127.0.0.23"], ["127.0.0.24"]]);
    });

    it("a bulk clear-lockout lifts them too, and counts and audits every user it cleared", async () => {
      const s = server();
      const guessed = await createUser("bulk.guessed");
      const familiar = await createUser("bulk.familiar");
      for (const address of ["127.0.0.12", "127.0.0.13"]) {
        for (let i = 0; i < 3; i++) await loginFrom(s, address, "bulk.guessed", `wrong-guess-${i}`);
      }
      assert.ok(await lockedOutUntil(guessed), "the account and both addresses are locked out");
      // The owner's own, familiar address locked out by wrong passwords there: the account has nothing to clear.
      assert.equal(await loginFrom(s, "127.0.0.14", "bulk.familiar", PASSWORD), 200);
      for (let i = 0; i < 3; i++) await loginFrom(s, "127.0.0.14", "bulk.familiar", `wrong-guess-${i}`);
      assert.equal(await loginFrom(s, "127.0.0.14", "bulk.familiar", PASSWORD), 401);
      assert.equal(await lockedOutUntil(familiar), null);
      const { addresses } = (await s.api("GET", `/security/v1/users/${familiar}/lockout`, { token })).body;

      const started = await s.api("POST", "/security/v1/users/bulk-actions", { token, body: { action: "clear-lockout", ids: [guessed, familiar] } });
      assert.equal(started.status, 202, started.text);
      await s.server.deps.bulkActions.settled(started.body.id);
      const run = (await s.api("GET", `/security/v1/users/bulk-actions/${started.body.id}`, { token })).body;
      assert.deepEqual([run.status, run.changed, run.unchanged], ["done", 2, 0]);
      assert.equal(await lockedOutUntil(guessed), null);
      for (const [address, username] of [["127.0.0.12", "bulk.guessed"], ["127.0.0.13", "bulk.guessed"], ["127.0.0.14", "bulk.familiar"]] as const) {
        assert.equal(await loginFrom(s, address, username, PASSWORD), 200, `${username} from ${address}`);
      }
      const cleared = await s.api("GET", `/security/v1/audit-events?target=${familiar}&action=user.lockout-cleared`, { token });
      // The event says what the clear lifted, as one user's clear does: here an address's lockout alone.
      assert.deepEqual(cleared.body.map((e: { details: unknown }) => e.details), [{
        bulkActionId: run.id,
        before: { addresses: [{ address: "127.0.0.14", lockedOutUntil: addresses[0].lockedOutUntil, failedLogins: addresses[0].failedLogins }] },
        after: { addresses: [] },
      }]);
    });
  },
  { lockout: { maxFailures: 3, accountMaxFailures: 6, familiarDays: 30, baseSeconds: 60, maxSeconds: 3600 } },
);

describeEachStore(
  "an IPv6 client is one address to the lockout by its /64 (behind a proxy that says who it is)",
  (server) => {
    const loginAs = async (address: string, username: string, password: string) =>
      (await server().api("POST", TOKEN_PATH, { headers: { "x-forwarded-for": address }, body: { username, password } })).status;
    /** A new user with PASSWORD: its id, and the token of the administrator who made it. */
    const newUser = async (username: string): Promise<{ token: string; id: string }> => {
      const token = await server().login();
      const r = await server().api("POST", "/security/v1/users", { token, body: { username, password: PASSWORD } });
      assert.equal(r.status, 201, r.text);
      return { token, id: r.body.id };
    };

    it("guesses from the addresses of one /64 lock that network out; the owner's login makes its /64 familiar", async () => {
      const { token, id } = await newUser("six.guessed");
      assert.equal(await loginAs("2001:db8:5:6::1", "six.guessed", PASSWORD), 200, "the owner's network becomes familiar");
      // A new address of each guess, all in one /64: three wrong passwords lock that network out of the account.
      for (let i = 1; i <= 3; i++) assert.equal(await loginAs(`2001:db8:1:2::a${i}`, "six.guessed", `wrong-guess-${i}`), 401);
      assert.equal(await loginAs("2001:db8:1:2:ffff::9", "six.guessed", PASSWORD), 401, "another address of the guesser's /64 is locked out too");
      const lockout = (await server().api("GET", `/security/v1/users/${id}/lockout`, { token })).body;
      assert.deepEqual(lockout.addresses.filter((a: any) => a.lockedOutUntil !== null).map((a: any) => a.address), ["2001:db8:1:2::/64"]);
      // Three more from another /64: the account is locked for every unfamiliar network.
      for (let i = 1; i <= 3; i++) assert.equal(await loginAs(`2001:db8:3:4::b${i}`, "six.guessed", `wrong-guess-${i}`), 401);
      assert.equal(await loginAs("2001:db8:7:8::1", "six.guessed", PASSWORD), 401, "an unfamiliar network is refused");
      assert.equal(await loginAs("2001:db8:5:6::7", "six.guessed", PASSWORD), 200, "the owner at another address of a familiar network logs in");
    });

    it("a proxy that forwards the client's port too: each connection of the client is the same address", async () => {
      await newUser("ported");
      assert.equal(await loginAs("198.51.100.7:50001", "ported", PASSWORD), 200, "the owner's address becomes familiar");
      for (let i = 1; i <= 3; i++) assert.equal(await loginAs(`203.0.113.9:${40000 + i}`, "ported", `wrong-guess-${i}`), 401);
      assert.equal(await loginAs("203.0.113.9:40009", "ported", PASSWORD), 401, "the guesser's address is locked out, whatever its port");
      for (let i = 1; i <= 3; i++) assert.equal(await loginAs(`203.0.113.${20 + i}:1234`, "ported", `wrong-guess-${i}`), 401);
      assert.equal(await loginAs("198.51.100.7:50002", "ported", PASSWORD), 200, "the owner's address is familiar at another port: the account's lockout spares it");
      assert.equal(await loginAs("[2001:db8:5:6::1]:443", "ported", PASSWORD), 401, "an unfamiliar network, bracketed with its port, is refused");
    });

    it("guesses sent at once from one client's connections (its ports) wait for each other as from one address, a familiar one too", async () => {
      const { token, id } = await newUser("ported.burst");
      assert.equal(await loginAs("198.51.100.9:50001", "ported.burst", PASSWORD), 200, "the owner's address becomes familiar");
      await Promise.all(Array.from({ length: 10 }, (_, i) => loginAs(`198.51.100.9:${40000 + i}`, "ported.burst", `wrong-at-once-${i}`)));
      const events = (await server().api("GET", `/security/v1/audit-events?target=${id}&action=auth.login&max=50`, { token })).body;
      const tried = events.filter((e: { details: { reason?: string } | null }) => e.details?.reason === "wrong-password").reduce((n: number, e: { count: number }) => n + e.count, 0);
      assert.equal(tried, 3, "as many as the address's lockout allows");
    });
  },
  { trustProxy: ["loopback"], lockout: { maxFailures: 3, accountMaxFailures: 6, familiarDays: 30, baseSeconds: 60, maxSeconds: 3600 } },
);
