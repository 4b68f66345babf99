/**
 * The streamed users list: the incremental splitter on its own, then users() / iterUsers() /
 * exportSecuritySystem() of ECM and ECMSync against the real server, through a proxy that drops the
 * connection or stops sending in the middle of the answer.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startFlakyProxy, type FlakyProxy } from "../../test/flaky-proxy.js";
import { startServerThread, type ThreadServer } from "../../test/server-thread.js";
import { ECM, ECMAuthError, ECMConnectionError, ECMError, ECMSync, ECMTimeoutError, type ECMOptions, type ECMUser } from "../index.js";
import { JsonSplitter } from "../json-split.js";
import { cursorAfter } from "../users-stream.js";
import { encodeCursor } from "../../../server/src/http/paging.js";

/** Splits `bytes` into pieces of `size` and feeds them; returns what came out, flattened. */
function split(root: "array" | "object", bytes: Uint8Array, size: number, elements: "objects" | "arrays" = "objects"): { key: string | null; value: unknown }[] {
  const s = new JsonSplitter(root, elements);
  const out: { key: string | null; value: unknown }[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    for (const b of s.push(bytes.subarray(i, i + size))) for (const value of b.values) out.push({ key: b.key, value });
  }
  s.end();
  return out;
}

describe("JsonSplitter", () => {
  // Strings that end in backslashes, hold quotes, brackets and commas (`},{` too: the fast cut's guess), and characters of 2 to 4 UTF-8 bytes.
  const nasty = ["", "\\", "\\\\", 'a"b', "]},[{", "},{", "\\\"},{\"", "\\\"", "ü", "日本", "😀", "x\\\\\"y", "\n\t\u0000"];
  const users = Array.from({ length: 40 }, (_, i) => ({
    id: `u-${i}`,
    username: nasty[i % nasty.length] + String(i),
    groups: i % 3 === 0 ? [] : [nasty[(i + 1) % nasty.length]!, "users"],
    nested: { list: [[i], { k: nasty[(i + 2) % nasty.length] }] },
    links: i % 4 === 0 ? [{ alias: "a" }, { alias: nasty[(i + 3) % nasty.length] }] : null,
    n: i % 2 === 0 ? null : -i / 7,
  }));

  // The same users as arrays of their values (as `shape=arrays` sends them): nested arrays side by side make `],[` inside an element too.
  const rows = users.map((u) => [...Object.values(u), [u.groups], [[]]]);

  for (const [elements, list] of [["objects", users], ["arrays", rows]] as const) {
    test(`cuts an array of ${elements} into its elements whatever the chunk boundaries, with or without whitespace`, () => {
      for (const text of [JSON.stringify(list), JSON.stringify(list, null, 2), " [ ] ", "[]"]) {
        const bytes = new TextEncoder().encode(text);
        const expected = (JSON.parse(text) as unknown[]).map((value) => ({ key: null, value }));
        for (const size of [1, 2, 3, 5, 64, 1000, bytes.length]) assert.deepEqual(split("array", bytes, size, elements), expected, `${text.slice(0, 20)} in ${size}`);
      }
      // Chunks above the 64 KiB the splitter parses at a time (ECMSync's worker hands over up to 1 MiB).
      const many = Array.from({ length: 60 }, () => list).flat();
      const bytes = new TextEncoder().encode(JSON.stringify(many));
      assert.ok(bytes.length > 3 * 65536);
      for (const size of [100_000, bytes.length]) assert.deepEqual(split("array", bytes, size, elements).map((e) => e.value), many);
    });
  }

  test("parses each chunk's complete elements in one batch, and holds back only the incomplete one", () => {
    const bytes = new TextEncoder().encode(JSON.stringify(users));
    const s = new JsonSplitter("array");
    const half = Math.floor(bytes.length / 2);
    const first = s.push(bytes.subarray(0, half));
    assert.equal(first.length, 1, "one batch");
    const n = first[0]!.values.length;
    assert.ok(n > 5 && n < users.length, `${n} elements in the first half`);
    assert.deepEqual(first[0]!.values, users.slice(0, n));
    // The rest: the elements before the last `},{` in one batch, then the last one with the array's end.
    assert.deepEqual(s.push(bytes.subarray(half)).flatMap((b) => b.values), users.slice(n));
    s.end();
  });

  test("an object of arrays and values (the export): members in order, empty arrays too", () => {
    const doc = { exportedAt: "2026-01-01T00:00:00Z", roles: [], users, memberships: [{ userId: "a", groupId: "b" }], nested: { a: [1] } };
    const bytes = new TextEncoder().encode(JSON.stringify(doc));
    for (const size of [1, 7, 4096]) {
      const s = new JsonSplitter("object");
      const rebuilt: Record<string, unknown> = {};
      for (let i = 0; i < bytes.length; i += size) {
        for (const b of s.push(bytes.subarray(i, i + size))) {
          if (b.elements) ((rebuilt[b.key!] ??= []) as unknown[]).push(...b.values);
          else rebuilt[b.key!] = b.values[0];
        }
      }
      s.end();
      assert.deepEqual(rebuilt, doc);
    }
  });

  test("what is not the JSON expected is an ECMError", () => {
    const bad = (root: "array" | "object", text: string) => () => split(root, new TextEncoder().encode(text), 2);
    assert.throws(bad("array", '{"a":1}'), (e: unknown) => e instanceof ECMError && /not a JSON array/.test(e.message));
    assert.throws(bad("array", "[1,2"), /ends before it is complete/);
    assert.throws(bad("array", "[1] [2]"), /more after its end/);
    assert.throws(bad("array", "[1,{]"), ECMError);
    assert.throws(bad("object", "[1]"), /not a JSON object/);
  });

  test("the cursor after a username is the server's own", () => {
    for (const name of ["alice", "ü.日本-😀", 'q"\\']) assert.equal(cursorAfter(name), encodeCursor(name));
  });
});

let server: ThreadServer;
let proxy: FlakyProxy;
const BULK = 120;
before(async () => {
  server = await startServerThread();
  proxy = await startFlakyProxy(server.baseUrl);
  // Enough users that the list arrives in many pieces (about 180 bytes each plain, 370 extended).
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const names = Array.from({ length: BULK }, (_, i) => `bulk${String(i).padStart(4, "0")}`);
  for (let i = 0; i < names.length; i += 10) {
    await Promise.all(names.slice(i, i + 10).map((n) => ecm.security.createUser(n, { email: `${n}@example.com`, remark: "x".repeat(100) })));
  }
});
after(async () => {
  await proxy?.close();
  await server?.close();
});

/** The calls under test, the same for both clients. */
interface Client {
  users(opts?: { extendedInfo?: boolean; search?: string; timeout?: number }): Promise<ECMUser[]>;
  iter(opts?: { search?: string; after?: string }, each?: (u: ECMUser) => void): Promise<string[]>;
  /** iterUserBatches, the batches' users in a row. */
  batches(): Promise<string[]>;
  exportUsers(): Promise<string[]>;
  /** Gets ready without a request (ECMSync: starts its worker). */
  warm(): void;
  close(): void;
}

function client(mode: "ECM" | "ECMSync", options: ECMOptions): Client {
  if (mode === "ECM") {
    const ecm = new ECM(options);
    return {
      users: (opts) => ecm.security.users(opts),
      async iter(opts, each) {
        const names: string[] = [];
        for await (const u of ecm.security.iterUsers(opts)) {
          names.push(u.username);
          each?.(u);
        }
        return names;
      },
      async batches() {
        const names: string[] = [];
        for await (const batch of ecm.security.iterUserBatches()) names.push(...batch.map((u) => u.username));
        return names;
      },
      exportUsers: async () => (await ecm.security.exportSecuritySystem()).users.map((u) => u.username),
      warm() {},
      close() {},
    };
  }
  const sync = new ECMSync(options);
  return {
    users: async (opts) => sync.security.users(opts),
    async iter(opts, each) {
      const names: string[] = [];
      for (const u of sync.security.iterUsers(opts)) {
        names.push(u.username);
        each?.(u);
      }
      return names;
    },
    async batches() {
      const names: string[] = [];
      for (const batch of sync.security.iterUserBatches()) names.push(...batch.map((u) => u.username));
      return names;
    },
    exportUsers: async () => sync.security.exportSecuritySystem().users.map((u) => u.username),
    warm: () => void sync.token,
    close: () => sync.close(),
  };
}

test("ECM iterUsers: next() called several times at once hands out the users in order; return() ends it", async () => {
  const ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  const all = (await ecm.security.users()).map((u) => u.username);
  const it = ecm.security.iterUsers();
  const firsts = await Promise.all([it.next(), it.next(), it.next()]);
  assert.deepEqual(firsts.map((r) => r.value?.username), all.slice(0, 3));
  assert.deepEqual(await it.return(), { value: undefined, done: true });
  assert.deepEqual(await it.next(), { value: undefined, done: true });
  const names: string[] = [];
  for await (const u of ecm.security.iterUsers()) if (names.push(u.username) === 5) break;
  assert.deepEqual(names, all.slice(0, 5));
  assert.equal((await ecm.security.users()).length, all.length, "the client goes on after a loop left early");
});

for (const mode of ["ECM", "ECMSync"] as const) {
  describe(`${mode}: the list streams, and survives a dropped connection`, () => {
    const viaProxy = (extra: Partial<ECMOptions> = {}) =>
      client(mode, { baseUrl: proxy.baseUrl, username: "sysadmin", password: server.adminPassword, retryDelay: 10, maxRetryDelay: 50, ...extra });
    let all: string[];
    before(async () => {
      const direct = client(mode, { baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
      all = (await direct.users()).map((u) => u.username);
      direct.close();
      assert.equal(all.length, BULK + 1);
    });

    test("users(), users({ extendedInfo }), iterUsers, iterUserBatches and the export: one request each, every user once, in order", async () => {
      const c = viaProxy();
      try {
        await c.users({ search: "nobody-matches" }); // logs in
        const before = proxy.requests;
        assert.deepEqual((await c.users()).map((u) => u.username), all);
        const ext = await c.users({ extendedInfo: true });
        assert.deepEqual(ext.map((u) => u.username), all);
        assert.ok(ext.every((u) => u.groups.includes("users") && (u.username === "sysadmin" || u.remark === "x".repeat(100))));
        assert.deepEqual(await c.iter(), all);
        assert.deepEqual(await c.batches(), all);
        assert.deepEqual(await c.exportUsers(), all);
        assert.equal(proxy.requests - before, 5);
      } finally {
        c.close();
      }
    });

    test("a connection dropped in the middle is read on after the last user handed out", async () => {
      const c = viaProxy();
      try {
        await c.users({ search: "nobody-matches" });
        proxy.faults = [{ dropAfter: 12_000 }, { dropAfter: 12_000 }];
        const before = proxy.requests;
        assert.deepEqual((await c.users({ extendedInfo: true })).map((u) => u.username), all);
        assert.equal(proxy.requests - before, 3, "the list, and twice from where it broke off");
        proxy.faults = [{ dropAfter: 8_000 }];
        assert.deepEqual(await c.iter(), all);
      } finally {
        proxy.faults = [];
        c.close();
      }
    });

    test("more drops in a row than retries: ECMConnectionError, and iterUsers({ after }) continues where it stopped", async () => {
      const c = viaProxy({ retries: 1 });
      try {
        await c.users({ search: "nobody-matches" });
        // Drops with users read between them are each a first: a long read survives any number of them.
        proxy.faults = [{ dropAfter: 3_500 }, { dropAfter: 3_500 }, { dropAfter: 3_500 }];
        assert.deepEqual(await c.iter(), all);
        // The plain list is small (the values an ECMUser shows, ~13 KB): the read breaks off, and its resumption before a user.
        proxy.faults = [{ dropAfter: 5_000 }, { dropAfter: 1 }];
        const got: string[] = [];
        // The error says how far the list came and how to read on.
        const last = () => JSON.stringify(got[got.length - 1]);
        await assert.rejects(c.iter({}, (u) => got.push(u.username)), (e: unknown) => e instanceof ECMConnectionError && e.message.endsWith(`; the list broke off after ${got.length} users, the last ${last()}: iterUsers({ after: ${last()} }) reads on after it (the client's retries and maxRetryDelay wait longer for a server that restarts)`));
        assert.ok(got.length > 0 && got.length < all.length, `${got.length} users before the error`);
        assert.deepEqual([...got, ...(await c.iter({ after: got[got.length - 1]! }))], all);
      } finally {
        proxy.faults = [];
        c.close();
      }
    });

    test("the export, which has no cursor, is read again from its start after a dropped connection, up to `retries` drops", async () => {
      const c = viaProxy();
      const once = viaProxy({ retries: 1 });
      try {
        await c.users({ search: "nobody-matches" });
        await once.users({ search: "nobody-matches" });
        proxy.faults = [{ dropAfter: 12_000 }, { dropAfter: 20_000 }];
        const before = proxy.requests;
        assert.deepEqual(await c.exportUsers(), all);
        assert.equal(proxy.requests - before, 3, "the export, and twice again");
        proxy.faults = [{ dropAfter: 12_000 }, { dropAfter: 12_000 }];
        await assert.rejects(once.exportUsers(), ECMConnectionError);
      } finally {
        proxy.faults = [];
        c.close();
        once.close();
      }
    });

    test("an answer that stops arriving: ECMTimeoutError after the timeout without data (not for the whole list)", async () => {
      const c = viaProxy();
      try {
        await c.users({ search: "nobody-matches" });
        proxy.faults = [{ stallAfter: 8_000 }];
        await assert.rejects(c.users({ timeout: 300 }), (e: unknown) => e instanceof ECMTimeoutError && /no data for 300 ms/.test(e.message));
      } finally {
        proxy.faults = [];
        c.close();
      }
    });
  });
}

describe("a token that expires during a long read", () => {
  let short: ThreadServer;
  let shortProxy: FlakyProxy;
  before(async () => {
    short = await startServerThread({ tokenTtlSeconds: 60 });
    shortProxy = await startFlakyProxy(short.baseUrl);
    const ecm = new ECM({ baseUrl: short.baseUrl, username: "sysadmin", password: short.adminPassword });
    for (let i = 0; i < 30; i++) await ecm.security.createUser(`slow${String(i).padStart(2, "0")}`, { remark: "y".repeat(100) });
  });
  after(async () => {
    await shortProxy?.close();
    await short?.close();
  });

  /** Reads the list through a proxy that breaks it off after a few users, while the server's clock passes the token's lifetime. */
  async function readWhileTheTokenExpires(ecm: ECM): Promise<string[]> {
    shortProxy.faults = [{ dropAfter: 1500 }];
    const got: string[] = [];
    for await (const u of ecm.security.iterUsers()) {
      if (got.push(u.username) === 1) await short.advanceClock(61);
    }
    return got;
  }

  test("with credentials the client logs in again and reads on; with a bare token it is an ECMAuthError", async () => {
    const options = { baseUrl: shortProxy.baseUrl, retryDelay: 10, maxRetryDelay: 50 };
    const withPassword = new ECM({ ...options, username: "sysadmin", password: short.adminPassword });
    const all = (await withPassword.security.users()).map((u) => u.username);
    assert.deepEqual(await readWhileTheTokenExpires(withPassword), all);
    await withPassword.login();
    const bare = new ECM({ ...options, token: withPassword.token! });
    // The first users arrive (the clock moves after the first), the read-on is refused.
    await assert.rejects(readWhileTheTokenExpires(bare), (e: unknown) => e instanceof ECMAuthError && e.code === "ECMS1101");
    shortProxy.faults = [];
  });
});
