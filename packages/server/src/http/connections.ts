import type { Server } from "node:http";
import type { ConnectionLimits } from "../config.js";

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
export function limitConnections(server: Server, limits: ConnectionLimits): void {
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
  if (limits.maxConnectionsPerAddress === 0) return;
  const open = new Map<string, number>();
  server.on("connection", (socket) => {
    const address = socket.remoteAddress ?? "";
    const count = (open.get(address) ?? 0) + 1;
    if (count > limits.maxConnectionsPerAddress) {
      socket.destroy();
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
