import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { ConnectionLimits } from "../config.js";
import { addressKey } from "../auth/client-address.js";
import { ApiError } from "./errors.js";
import { oncePerAddress } from "./warn-once.js";

/**
 * Fastify's and Node's options for the slow-client limits: a whole request within
 * `requestTimeoutSeconds`, its headers within `headersTimeoutSeconds`, idle keep-alive connections
 * and silent sockets closed. Node checks the request and header timers every
 * `connectionsCheckingInterval` (30 s by default), so that runs at a tenth of the request timeout:
 * a slow body is cut close to its limit, not up to 30 s later.
 */
export function timeoutOptions(limits: ConnectionLimits) {
  const requestTimeout = limits.requestTimeoutSeconds * 1000;
  return {
    requestTimeout,
    connectionTimeout: limits.idleTimeoutSeconds * 1000,
    keepAliveTimeout: limits.keepAliveTimeoutSeconds * 1000,
    // For http.createServer and https.createServer alike.
    server: {
      headersTimeout: Math.min(limits.headersTimeoutSeconds * 1000, requestTimeout || Infinity),
      // HTTPS: a TLS handshake has as long as the headers (Node's default holds a silent socket 120 s).
      handshakeTimeout: limits.headersTimeoutSeconds * 1000,
      connectionsCheckingInterval: Math.max(250, Math.min(30_000, (requestTimeout || 30_000) / 10)),
    },
  };
}

/**
 * Caps the open connections of the process (`maxConnections`) and of one client address
 * (`maxConnectionsPerAddress`): a connection over a cap is closed at once, so slow clients from one
 * address cannot take every file descriptor, and the others are still served. Behind a proxy every
 * connection comes from the proxy's address: set the per-address cap to 0 there.
 */
export function limitConnections(server: Server, limits: ConnectionLimits, warn: (address: string, message: string) => void): void {
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
  if (limits.maxConnectionsPerAddress === 0) return;
  const open = new Map<string, number>();
  const warnNow = oncePerAddress();
  server.on("connection", (socket) => {
    const address = addressKey(socket.remoteAddress ?? "");
    const count = (open.get(address) ?? 0) + 1;
    if (count > limits.maxConnectionsPerAddress) {
      socket.destroy();
      // Closed without an answer: a proxy's clients would see connections reset, with nothing in the log but this.
      if (warnNow(address)) {
        warn(
          address,
          `Connections from ${address} are closed unanswered: more than ECM_MAX_CONNECTIONS_PER_ADDRESS (${limits.maxConnectionsPerAddress}) open at once in this process. ` +
            "If it is a proxy or load balancer, every client's connections come from it: set ECM_MAX_CONNECTIONS_PER_ADDRESS=0 and cap connections per client at the proxy.",
        );
      }
      return;
    }
    open.set(address, count);
    socket.once("close", () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
}

/**
 * A client that sent `Expect: 100-continue` waits for a 100 before its body. Node would send it on
 * arrival; here it is sent by `continueBody`, once the request is taken, so a refused upload is
 * answered before any of it is sent. Node says which requests wait (HTTP/1.1, its reading of the
 * header): those are marked.
 */
export function deferContinue(server: Server): void {
  server.on("checkContinue", (request: IncomingMessage, response: ServerResponse) => {
    (response as Waiting)[WAITING] = true;
    server.emit("request", request, response);
  });
}

/** Sends the 100 a client waits for (`deferContinue`), once; nothing for one that does not wait. */
export function continueBody(response: ServerResponse): void {
  const waiting = response as Waiting;
  if (!waiting[WAITING]) return;
  waiting[WAITING] = false;
  response.writeContinue();
}
const WAITING = Symbol("waitingForContinue");
type Waiting = ServerResponse & { [WAITING]?: boolean };

/**
 * The body of a request that may rightly take longer than `requestTimeoutSeconds` to arrive (an
 * import of a million rows), for a route that reads it as it comes. Node's whole-request deadline is
 * lifted from this one request (the connection's next request gets it again) and the client is held
 * to a minimum rate instead, counted only while the server waits for its bytes: it has had
 * `requestTimeoutSeconds` of such waiting, plus a second for every `uploadMinBytesPerSecond` bytes of
 * body it sent. Time the server spends on what it read (hashing a batch's passwords, say), when a fast
 * client's bytes wait in the socket, is not the client's. A client that drips is cut as before, the
 * first time it falls behind. Then the body's iteration fails with a 408 error, which the route
 * answers, and the connection is closed once the answer is sent — as it is whenever an answer ends
 * before the body did, so that no body is left to trickle in without a deadline.
 */
export function longUpload(request: IncomingMessage, response: ServerResponse, limits: ConnectionLimits): AsyncIterable<Buffer> {
  const graceMs = limits.requestTimeoutSeconds * 1000;
  // Node keeps its own deadline unless this (internal) handle lets it be lifted: long uploads are then cut as any request.
  const parser = (request.socket as { parser?: { remove?: () => void } }).parser;
  if (graceMs === 0 || typeof parser?.remove !== "function") return request;
  parser.remove();
  const socket = request.socket;
  response.once("finish", () => {
    if (!request.complete) socket.destroySoon();
  });
  const tooSlow = () =>
    new ApiError("requestTimeout", `The upload is too slow: at least ${limits.uploadMinBytesPerSecond} bytes a second are needed after the first ${limits.requestTimeoutSeconds} s.`, { minBytesPerSecond: limits.uploadMinBytesPerSecond });
  return (async function* () {
    const chunks = request[Symbol.asyncIterator]();
    let waitedMs = 0;
    let received = 0;
    // Not returned early (that would destroy the socket before the answer is written): the finish handler above ends it.
    for (;;) {
      const earnedMs = limits.uploadMinBytesPerSecond > 0 ? (received * 1000) / limits.uploadMinBytesPerSecond : 0;
      const leftMs = graceMs + earnedMs - waitedMs;
      if (leftMs <= 0) throw tooSlow();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(tooSlow()), Math.min(leftMs, 2 ** 31 - 1))));
      const waitFrom = Date.now();
      let next: IteratorResult<unknown>;
      try {
        next = await Promise.race([chunks.next(), deadline]);
      } finally {
        clearTimeout(timer);
        waitedMs += Date.now() - waitFrom;
      }
      if (next.done) return;
      const chunk = next.value as Buffer;
      received += chunk.length;
      yield chunk;
    }
  })();
}
