import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startMain } from "../test-support/main-process.js";
import { startTestServer, type TestServer } from "../test-support/server.js";

const portOf = (s: TestServer) => Number(new URL(s.baseUrl).port);

/** A raw connection from `localAddress` that sends `head` and then one more byte every `everyMs` until the server closes it. */
function slowClient(s: TestServer, localAddress: string, head: string, everyMs = 200) {
  const socket: Socket = connect({ host: "127.0.0.1", port: portOf(s), localAddress });
  let answer = "";
  const drip = setInterval(() => socket.writable && socket.write(" "), everyMs);
  socket.on("data", (d) => (answer += d));
  socket.on("error", () => {});
  socket.write(head);
  const closed = new Promise<void>((resolve) => socket.once("close", () => {
    clearInterval(drip);
    resolve();
  }));
  return { socket, closed, answer: () => answer, stop: () => socket.destroy() };
}

const SLOW_BODY = "POST /portal/auth/v1/providers/builtin/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{";
const SLOW_HEADERS = "GET /portal/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";

describe("slow clients are cut off by the request and header timeouts", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer("sqlite", { connections: { requestTimeoutSeconds: 2, headersTimeoutSeconds: 1, keepAliveTimeoutSeconds: 5, idleTimeoutSeconds: 60, maxConnections: 0, maxConnectionsPerAddress: 0, uploadMinBytesPerSecond: 10_000 } });
  });
  after(() => s?.close());

  for (const [what, head] of [["a body sent a byte at a time", SLOW_BODY], ["headers sent a byte at a time", SLOW_HEADERS]]) {
    it(`the server closes a connection with ${what}`, { timeout: 30_000 }, async () => {
      const client = slowClient(s, "127.0.0.2", head!);
      await client.closed;
      assert.match(client.answer(), /^(HTTP\/1\.1 408 |$)/, "closed with a 408, or without an answer");
    });
  }
});

describe("while many slow connections are held open, health and a real login still answer", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer("sqlite", { connections: { requestTimeoutSeconds: 30, headersTimeoutSeconds: 10, keepAliveTimeoutSeconds: 5, idleTimeoutSeconds: 60, maxConnections: 0, maxConnectionsPerAddress: 20, uploadMinBytesPerSecond: 10_000 } });
  });
  after(() => s?.close());

  // Bounded: were the cap not applied, the 40 connections over it would never be closed (the
  // timeout's abort ends the wait, so the clients are still stopped).
  it("one address holds at most its share of connections; others are served", { timeout: 30_000 }, async (t) => {
    const clients = Array.from({ length: 60 }, () => slowClient(s, "127.0.0.3", SLOW_BODY, 500));
    try {
      // The server closes the 40 over the cap (the others' request timeout is 30 s away).
      let closed = 0;
      await new Promise<void>((resolve) => {
        t.signal.addEventListener("abort", () => resolve());
        for (const c of clients) void c.closed.then(() => ++closed === 40 && resolve());
      });
      assert.equal(clients.filter((c) => !c.socket.destroyed).length, 20, "the cap's 20 slow connections are held");
      assert.equal((await s.api("GET", "/health")).status, 200);
      assert.match(await s.login(), /^eyJ/);
      assert.equal(clients.filter((c) => !c.socket.destroyed).length, 20, "the slow ones are still held while the others are served");
    } finally {
      for (const c of clients) c.stop();
    }
  });
});

describe("connections closed by the per-address cap [npm start]", () => {
  it("are said in the log, once per address: behind a proxy the cap closes its clients' connections, unanswered", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "ecm-connection-cap-"));
    const server = await startMain({ ECM_DATA_DIR: dir, ECM_ADMIN_PASSWORD: "Connection-Cap-Pass-7", ECM_MAX_CONNECTIONS_PER_ADDRESS: "2" });
    const { port } = new URL(server.baseUrl);
    const sockets: Socket[] = [];
    try {
      const closedAtOnce = async () => {
        const socket = connect(Number(port), "127.0.0.1");
        sockets.push(socket);
        return new Promise<boolean>((resolve) => {
          socket.once("close", () => resolve(true));
          setTimeout(() => resolve(false), 1000);
        });
      };
      assert.deepEqual([await closedAtOnce(), await closedAtOnce(), await closedAtOnce(), await closedAtOnce()], [false, false, true, true]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    const warnings = server.output().split("\n").filter((line) => line.includes("ECM_MAX_CONNECTIONS_PER_ADDRESS"));
    assert.equal(warnings.length, 1, server.output());
    const warning = JSON.parse(warnings[0]!);
    assert.equal(warning.level, 40);
    assert.equal(warning.address, "127.0.0.1");
    assert.match(warning.msg, /set ECM_MAX_CONNECTIONS_PER_ADDRESS=0/);
  });
});
