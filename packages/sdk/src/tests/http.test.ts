/**
 * Transport behaviour that needs no server: option checks, and a refused connection (nothing listens).
 * Everything else — retries, aborts, timeouts, logins and renewal — runs against the real server in
 * sdk.integration.test.ts, through a proxy that fails on demand where a failing network is the point.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { ECM } from "../client.js";
import { ECMConnectionError } from "../errors.js";

test("connection refused ends in ECMConnectionError", async () => {
  // A port that was free a moment ago: nothing listens on it now.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const ecm = new ECM({ baseUrl: `http://127.0.0.1:${port}/portal`, token: "t", retries: 1, retryDelay: 5, maxRetryDelay: 20 });
  await assert.rejects(ecm.security.users(), (e: unknown) => e instanceof ECMConnectionError && /ECONNREFUSED/.test(e.message));
});

test("constructor validates its options", () => {
  assert.throws(() => new ECM({ baseUrl: "http://x" }), TypeError);
  assert.throws(() => new ECM({ baseUrl: "not a url", token: "t" }), TypeError);
  assert.equal(new ECM({ baseUrl: "http://h:1", token: "t" }).baseUrl, "http://h:1/portal");
});
