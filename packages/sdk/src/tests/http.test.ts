/** Transport behaviour (retries, abort, timeout, token renewal) against tiny local HTTP servers. */
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { inspect } from "node:util";
import { ECM } from "../client.js";
import {
  ECMAbortError,
  ECMAuthError,
  ECMConnectionError,
  ECMTimeoutError,
  ECMUnavailableError,
} from "../errors.js";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

async function serve(handler: Handler): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}/portal`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

const TOKEN_PATH = "/portal/auth/v1/providers/builtin/token";
const fast = { retryDelay: 5, maxRetryDelay: 20 };

test("GET retries on 503 with backoff, then succeeds", async () => {
  let hits = 0;
  const s = await serve((req, res) => {
    if (++hits < 3) return json(res, 503, { errorMessage: "ECMS1901-E busy", additionalInfo: "{}" });
    json(res, 200, 5);
  });
  try {
    const ecm = new ECM({ baseUrl: s.baseUrl, token: "t", ...fast });
    assert.equal(await ecm.security.countUsers(), 5);
    assert.equal(hits, 3);
  } finally {
    await s.close();
  }
});

test("GET gives up after `retries` and throws ECMUnavailableError with the server code", async () => {
  let hits = 0;
  const s = await serve((req, res) => {
    hits++;
    json(res, 503, { errorMessage: "ECMS1901-E busy", additionalInfo: "{}" }, { "retry-after": "0" });
  });
  try {
    const ecm = new ECM({ baseUrl: s.baseUrl, token: "t", retries: 2, ...fast });
    await assert.rejects(ecm.security.groups(), (e: unknown) => e instanceof ECMUnavailableError && e.code === "ECMS1901");
    assert.equal(hits, 3);
  } finally {
    await s.close();
  }
});

test("POST is not retried on 503", async () => {
  let hits = 0;
  const s = await serve((req, res) => {
    hits++;
    json(res, 503, { errorMessage: "ECMS1901-E busy", additionalInfo: "{}" });
  });
  try {
    const ecm = new ECM({ baseUrl: s.baseUrl, token: "t", ...fast });
    await assert.rejects(ecm.security.createUser("bob"), ECMUnavailableError);
    assert.equal(hits, 1);
  } finally {
    await s.close();
  }
});

test("GET retries after the connection is dropped", async () => {
  let hits = 0;
  const s = await serve((req, res) => {
    if (++hits < 3) return req.socket.destroy();
    json(res, 200, []);
  });
  try {
    const ecm = new ECM({ baseUrl: s.baseUrl, token: "t", ...fast });
    assert.deepEqual(await ecm.security.users(), []);
    assert.equal(hits, 3);
  } finally {
    await s.close();
  }
});

test("connection refused ends in ECMConnectionError", async () => {
  const s = await serve(() => undefined);
  const baseUrl = s.baseUrl;
  await s.close();
  const ecm = new ECM({ baseUrl, token: "t", retries: 1, ...fast });
  await assert.rejects(ecm.security.users(), (e: unknown) => e instanceof ECMConnectionError && /ECONNREFUSED/.test(e.message));
});

test("AbortSignal aborts a call in flight; timeout gives ECMTimeoutError", async () => {
  const s = await serve((req, res) => setTimeout(() => json(res, 200, []), 2000));
  try {
    const ecm = new ECM({ baseUrl: s.baseUrl, token: "t", ...fast });
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(ecm.security.users({ signal: ac.signal }), ECMAbortError);
    await assert.rejects(ecm.security.users({ timeout: 100 }), ECMTimeoutError);
    assert.ok(Date.now() - started < 1500, "abort and timeout were prompt");
    const pre = AbortSignal.abort();
    await assert.rejects(ecm.security.groups({ signal: pre }), ECMAbortError);
    // The client-wide default timeout applies too.
    const slow = new ECM({ baseUrl: s.baseUrl, token: "t", timeout: 80 });
    await assert.rejects(slow.security.roles(), ECMTimeoutError);
  } finally {
    await s.close();
  }
});

test("abort also interrupts the backoff sleep between retries", async () => {
  const s = await serve((req, res) => json(res, 503, { errorMessage: "ECMS1901-E busy", additionalInfo: "{}" }));
  try {
    const ecm = new ECM({ baseUrl: s.baseUrl, token: "t", retries: 5, retryDelay: 10_000, maxRetryDelay: 10_000 });
    const started = Date.now();
    await assert.rejects(ecm.security.users({ signal: AbortSignal.timeout(100) }), ECMAbortError);
    assert.ok(Date.now() - started < 2000);
  } finally {
    await s.close();
  }
});

test("logs in lazily, logs in again on 401, and renews before the idle lifetime ends", async () => {
  let logins = 0;
  let valid = "";
  const seenBodies: string[] = [];
  const s = await serve((req, res, body) => {
    if (req.url === TOKEN_PATH) {
      seenBodies.push(body);
      const { username, password } = JSON.parse(body) as { username: string; password: string };
      if (username !== "admin" || password !== "s3cret-pw") {
        return json(res, 401, { errorMessage: "ECMS1102-E Invalid username or password.", additionalInfo: "{}" });
      }
      valid = `tok${++logins}`;
      return json(res, 200, { access_token: valid, expires_in: 1, token_type: "bearer" });
    }
    if (req.headers.authorization !== `Bearer ${valid}`) {
      return json(res, 401, { errorMessage: "ECMS1101-E Authentication required.", additionalInfo: "{}" });
    }
    json(res, 200, 1);
  });
  try {
    const ecm = new ECM({ baseUrl: s.baseUrl, username: "admin", password: "s3cret-pw", ...fast });
    assert.equal(ecm.token, undefined);
    assert.equal(await ecm.security.countUsers(), 1);
    assert.equal(logins, 1);
    assert.equal(ecm.token, "tok1");
    // Server-side revocation: the next call gets 401, logs in again and succeeds.
    valid = "revoked";
    assert.equal(await ecm.security.countUsers(), 1);
    assert.equal(logins, 2);
    // Idle longer than expires_in (1 s): the client renews before calling.
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await ecm.security.countUsers(), 1);
    assert.equal(logins, 3);
    // Concurrent first calls share one login.
    const ecm2 = new ECM({ baseUrl: s.baseUrl, username: "admin", password: "s3cret-pw", ...fast });
    await Promise.all([ecm2.security.countUsers(), ecm2.security.countUsers(), ecm2.security.countUsers()]);
    assert.equal(logins, 4);

    // Wrong password: ECMAuthError, and the password never shows up in errors or inspection.
    const bad = new ECM({ baseUrl: s.baseUrl, username: "admin", password: "wrong-pw-123", ...fast });
    await assert.rejects(bad.security.users(), (e: unknown) => {
      assert.ok(e instanceof ECMAuthError);
      assert.equal(e.code, "ECMS1102");
      assert.ok(!inspect(e).includes("wrong-pw-123"));
      return true;
    });
    assert.ok(!inspect(bad).includes("wrong-pw-123"));
    assert.ok(!JSON.stringify(bad).includes("wrong-pw-123"));
    assert.ok(!String(Object.keys(bad)).includes("password"));
  } finally {
    await s.close();
  }
});

test("with only a token, a 401 is an ECMAuthError (no renewal possible)", async () => {
  const s = await serve((req, res) =>
    json(res, 401, { errorMessage: "ECMS1101-E Authentication required.", additionalInfo: "{}" }),
  );
  try {
    const ecm = new ECM({ baseUrl: s.baseUrl, token: "expired", ...fast });
    await assert.rejects(ecm.security.users(), (e: unknown) => e instanceof ECMAuthError && e.status === 401);
  } finally {
    await s.close();
  }
});

test("iterUsers follows Link rel=next pages", async () => {
  const all = Array.from({ length: 5 }, (_, i) => ({
    id: `00000000-0000-4000-8000-00000000000${i}`,
    numericId: i + 1,
    username: `u${i}`,
    loginName: `u${i}`,
    firstName: null,
    lastName: null,
    displayName: `u${i}`,
    email: null,
    dn: null,
    description: null,
    enabled: true,
    builtin: false,
    federatedIdentities: null,
    profileId: -1,
  }));
  const urls: string[] = [];
  const s = await serve((req, res) => {
    urls.push(req.url!);
    const u = new URL(req.url!, "http://x");
    const max = Number(u.searchParams.get("max"));
    const from = Number(u.searchParams.get("cursor") ?? 0);
    const page = all.slice(from, from + max);
    const headers: Record<string, string> = {};
    if (from + max < all.length) headers.link = `</portal/security/v1/users?max=${max}&cursor=${from + max}>; rel="next"`;
    json(res, 200, page, headers);
  });
  try {
    const ecm = new ECM({ baseUrl: s.baseUrl, token: "t" });
    const names: string[] = [];
    for await (const u of ecm.security.iterUsers({ pageSize: 2, search: "u" })) names.push(u.username);
    assert.deepEqual(names, ["u0", "u1", "u2", "u3", "u4"]);
    assert.equal(urls.length, 3);
    assert.equal(urls[0], "/portal/security/v1/users?search=u&max=2");
    await assert.rejects(ecm.security.usersPage({ pageSize: 0 }), TypeError);
  } finally {
    await s.close();
  }
});

test("constructor validates its options", () => {
  assert.throws(() => new ECM({ baseUrl: "http://x" }), TypeError);
  assert.throws(() => new ECM({ baseUrl: "not a url", token: "t" }), TypeError);
  assert.equal(new ECM({ baseUrl: "http://h:1", token: "t" }).baseUrl, "http://h:1/portal");
});
