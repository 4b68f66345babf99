/**
 * Transport behaviour that needs no server of ours: option checks, a refused connection (nothing listens),
 * and peers that are not the server (a proxy that redirects, another host a cursor names, a connection that drops).
 * Everything else — retries, aborts, timeouts, logins and renewal — runs against the real server in
 * sdk.integration.test.ts, through a proxy that fails on demand where a failing network is the point.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { ECM } from "../client.js";
import { ECMConnectionError, ECMError, ECMServerError } from "../errors.js";
import { ECMSync } from "../sync.js";

test("connection refused ends in ECMConnectionError, saying why in words", async () => {
  // A port that was free a moment ago: nothing listens on it now.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const ecm = new ECM({ baseUrl: `http://127.0.0.1:${port}/portal`, token: "t", retries: 1, retryDelay: 5, maxRetryDelay: 20 });
  await assert.rejects(ecm.security.users(), (e: unknown) => e instanceof ECMConnectionError && /^cannot reach http:\/\/127\.0\.0\.1:\d+\/portal: nothing answers on that port: is the server running, and is the URL right\? \(ECONNREFUSED\)$/.test(e.message));
});

/** A peer on loopback that answers every request with `answer` (a proxy gone wrong, another host); what it was sent is kept. */
async function peer(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; seen: IncomingMessage[]; close(): Promise<void> }> {
  const seen: IncomingMessage[] = [];
  const server = createHttpServer((req, res) => (seen.push(req), answer(req, res)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test("a redirect (a proxy, http where https was meant) is an ECMError, not a write that succeeded", async () => {
  const proxy = await peer((_req, res) => res.writeHead(301, { location: "https://elsewhere.example/portal" }).end());
  try {
    const ecm = new ECM({ baseUrl: `${proxy.url}/portal`, token: "t" });
    await assert.rejects(ecm.security.deleteUser("5f0c1c1e-7d1a-4c35-9d51-0d7d5d0f0a11"), (e: unknown) => e instanceof ECMError && e.status === 301 && /redirect this client does not follow/.test(e.message));
  } finally {
    await proxy.close();
  }
});

test("a page that is not the API (a proxy's login page, a baseUrl off by a path) is an ECMError, never a count of 0 or a TypeError", async () => {
  for (const [type, body] of [["text/html", "<html>Sign in</html>"], ["text/plain", ""], ["application/json", "null"], ["application/json", '"12"']]) {
    const page = await peer((_req, res) => res.writeHead(200, { "content-type": type }).end(body));
    try {
      const ecm = new ECM({ baseUrl: `${page.url}/portal`, token: "t" });
      // A web page is said to be one (a streamed list would otherwise "end before it is complete": it holds no JSON).
      const notTheApi = (e: unknown) =>
        e instanceof ECMError && (type === "text/html" ? /: the server answered a web page \(text\/html\), not the API's JSON; check baseUrl \(the \/portal path\? a proxy's login page in between\?\)$/ : /^the server's answer is not the JSON expected: /).test(e.message);
      await assert.rejects(ecm.security.countUsers(), notTheApi, `count: ${type} ${body}`);
      await assert.rejects(ecm.admin.countUsers({}), notTheApi, `admin count: ${type} ${body}`);
      await assert.rejects(ecm.security.groups(), notTheApi, `groups: ${type} ${body}`);
      if (type === "text/html") await assert.rejects(ecm.security.users(), notTheApi, "a streamed list");
    } finally {
      await page.close();
    }
  }
});

test("an error answered as a web page (a proxy's, a load balancer's whose nodes are down) is said in words, not as its markup", async () => {
  const proxy = await peer((_req, res) => res.writeHead(502, "Bad Gateway", { "content-type": "text/html" }).end("<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n"));
  try {
    const ecm = new ECM({ baseUrl: `${proxy.url}/portal`, token: "t", retries: 0 });
    await assert.rejects(ecm.admin.groups(), (e: unknown) => {
      assert.ok(e instanceof ECMServerError);
      assert.equal(e.status, 502);
      assert.equal(e.serverMessage, "502 Bad Gateway from something in between (a proxy, a load balancer: its web page, not the server's answer); is the server behind it running?");
      assert.doesNotMatch(e.message, /[<>]/);
      return true;
    });
  } finally {
    await proxy.close();
  }
});

test("a cursor naming another server is not followed: no token goes there", async () => {
  const other = await peer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("[]"));
  try {
    const ecm = new ECM({ baseUrl: "http://127.0.0.1:9/portal", token: "secret-token" });
    await assert.rejects(ecm.security.usersPage({ cursor: `${other.url}/portal/security/v1/users?max=1` }), (e: unknown) => e instanceof ECMError && /is not the server this client talks to/.test(e.message));
    assert.equal(other.seen.length, 0);
  } finally {
    await other.close();
  }
});

test("a delete sent again after its connection dropped, which finds nothing, is done", async () => {
  let tries = 0;
  const server = await peer((req, res) => {
    // The first: done, then the connection drops before the answer; the second finds nothing.
    if (++tries === 1) return req.socket.destroy();
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ errorMessage: "ECMS1201-E The specified user does not exist.", additionalInfo: "{}" }));
  });
  try {
    const ecm = new ECM({ baseUrl: `${server.url}/portal`, token: "t", retries: 2, retryDelay: 5, maxRetryDelay: 20 });
    await ecm.security.deleteUser("5f0c1c1e-7d1a-4c35-9d51-0d7d5d0f0a11");
    assert.equal(tries, 2);
  } finally {
    await server.close();
  }
});

test("constructor validates its options", () => {
  assert.throws(() => new ECM({ baseUrl: "http://x" }), TypeError);
  assert.throws(() => new ECM({ baseUrl: "not a url", token: "t" }), TypeError);
  assert.equal(new ECM({ baseUrl: "http://h:1", token: "t" }).baseUrl, "http://h:1/portal");
});

test("a user or group named by something other than its guid is a TypeError saying what was given, before any request", async () => {
  const ecm = new ECM({ baseUrl: "http://127.0.0.1:1", token: "t" });
  const said = (given: string) => (e: unknown) => e instanceof TypeError && e.message === `a user is named by its guid (a string, or an object with guid such as a user a call returned), not ${given}`;
  await assert.rejects(ecm.security.getUser(12345 as never), said("the number 12345 (the numeric id is not taken: use the guid)"));
  await assert.rejects(ecm.security.getUser("" as never), said("an empty string"));
  await assert.rejects(ecm.security.getUser({ username: "x" } as never), said("an object without guid"));
  await assert.rejects(ecm.security.getUser(undefined as never), said("undefined"));
});

test("two ways to sign in at once are refused, naming them, rather than one used silently, for both clients", () => {
  const baseUrl = "http://127.0.0.1:1/portal";
  const either = "ECM: give either { username, password }, { token } or { apiKey }";
  assert.throws(() => new ECM({ baseUrl, apiKey: "ecm_k", token: "t" }), (e: unknown) => e instanceof TypeError && e.message === `${either}, not { token, apiKey }`);
  assert.throws(() => new ECM({ baseUrl, username: "u", password: "p", apiKey: "ecm_k" }), (e: unknown) => e instanceof TypeError && e.message === `${either}, not { username, password, apiKey }`);
  assert.throws(() => new ECMSync({ baseUrl, username: "u", password: "p", token: "t" }), (e: unknown) => e instanceof TypeError && e.message === `${either}, not { username, password, token }`);
  assert.throws(() => new ECM({ baseUrl, username: "u", token: "t" }), /not \{ username, token \}/);
  // Left out as undefined (options straight from the environment): one way.
  assert.equal(new ECM({ baseUrl, username: undefined, password: undefined, apiKey: "ecm_k", token: undefined }).baseUrl, baseUrl);
});

test("options a script may get wrong are refused, not dropped: a misspelt name, a timeout that is not a number above 0", async () => {
  const server = await peer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("[]"));
  try {
    const baseUrl = `${server.url}/portal`;
    assert.throws(() => new ECM({ baseUrl, token: "t", timout: 5000 } as never), (e: unknown) => e instanceof TypeError && e.message === 'unknown option "timout"');
    assert.throws(() => new ECMSync({ baseUrl, token: "t", max_retry_delay: 5 } as never), /unknown option "max_retry_delay"; use maxRetryDelay/);
    // The seed's Python spelling of the URL too: named as such, not "baseUrl is required".
    for (const Client of [ECM, ECMSync]) assert.throws(() => new Client({ base_url: baseUrl, token: "t" } as never), (e: unknown) => e instanceof TypeError && e.message === 'unknown option "base_url"; use baseUrl');
    // process.env.ECM_TIMEOUT as it is, or 0: no timeout at all, silently.
    for (const timeout of ["5000", 0, -1, Number.NaN]) assert.throws(() => new ECM({ baseUrl, token: "t", timeout } as never), /timeout must be a number of milliseconds above 0/);
    assert.throws(() => new ECM({ baseUrl, token: "t", retries: -1 }), /retries must be a whole number from 0/);
    assert.throws(() => new ECM({ baseUrl, token: "t", retryDelay: "200" } as never), /retryDelay must be a number of milliseconds from 0/);
    // Longer than a timer holds, the wait would end at once.
    assert.throws(() => new ECM({ baseUrl, token: "t", maxRetryDelay: 2 ** 31 }), /maxRetryDelay must be a number of milliseconds from 0 to 2147483647/);
    assert.throws(() => new ECM({ baseUrl, token: "t", retryDelay: Number.POSITIVE_INFINITY }), /retryDelay must be/);
    // A signal is each call's: the client would keep it and never look at it.
    assert.throws(() => new ECM({ baseUrl, token: "t", signal: AbortSignal.abort() } as never), /unknown option "signal": pass it to each call/);
    const ecm = new ECM({ baseUrl, token: "t" });
    await assert.rejects(ecm.security.users({ timeout: "5000" } as never), /timeout must be a number of milliseconds above 0/);
    await assert.rejects(ecm.security.groups({ timeout: 0 }), /timeout must be a number of milliseconds above 0/);
    assert.equal(server.seen.length, 0);
    // Infinity says "no timeout" on purpose.
    assert.deepEqual(await new ECM({ baseUrl, token: "t", timeout: Number.POSITIVE_INFINITY }).security.groups(), []);
  } finally {
    await server.close();
  }
});

test("a timeout longer than a timer can hold (30 days) is no timeout, not one that ends the call at once", async () => {
  // The answer comes late enough for a timer that overflowed (to 1 ms) to have ended the call first.
  const server = await peer((_req, res) => void setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end("[]"), 50));
  try {
    const days30 = 30 * 24 * 3600 * 1000;
    const ecm = new ECM({ baseUrl: `${server.url}/portal`, token: "t", timeout: days30 });
    assert.deepEqual(await ecm.security.groups(), []);
    assert.deepEqual(await new ECM({ baseUrl: `${server.url}/portal`, token: "t" }).security.groups({ timeout: days30 }), []);
  } finally {
    await server.close();
  }
});

test("usersPage takes as cursor only an earlier page's next (a URL of the users list), not the opaque cursor of ecm.admin.users", async () => {
  const server = await peer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("[]"));
  try {
    const ecm = new ECM({ baseUrl: `${server.url}/portal`, token: "t" });
    await assert.rejects(ecm.security.usersPage({ cursor: "eyJhIjoiYWxpY2UifQ" }), (e: unknown) => e instanceof TypeError && /cursor must be the next of an earlier usersPage/.test(e.message));
    await assert.rejects(ecm.security.usersPage({ cursor: `${server.url}/portal/security/v1/user-groups` }), TypeError);
    assert.equal(server.seen.length, 0);
    assert.deepEqual(await ecm.security.usersPage({ cursor: `${server.url}/portal/security/v1/users?max=1&cursor=eyJhIjoiYWxpY2UifQ` }), { users: [], next: null });
  } finally {
    await server.close();
  }
});
