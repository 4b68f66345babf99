import type { FastifyInstance } from "fastify";
import { oncePerAddress } from "./warn-once.js";

/**
 * Logs a warning, once per peer, when a request names its client in X-Forwarded-For but comes from a
 * peer that ECM_TRUST_PROXY does not name. Behind such a proxy every client has the proxy's address:
 * the logins it forwards share one address's limit, one guesser's wrong passwords lock every client
 * there out of the account, and the address is familiar to every account — a setting missing or naming
 * another address, which nothing else would show until logins fail for everyone.
 */
export function warnOfUntrustedForwarding(app: FastifyInstance): void {
  const warnNow = oncePerAddress();
  app.addHook("onRequest", async (request) => {
    // An empty header names no client (a trusted proxy may send one): nothing to warn of.
    if (!String(request.headers["x-forwarded-for"] ?? "").trim()) return;
    // A trusted peer's request has the addresses it forwarded beyond its own (request.ips, with trustProxy set).
    if ((request.ips?.length ?? 1) > 1) return;
    const peer = request.socket.remoteAddress ?? "";
    if (!warnNow(peer)) return;
    request.log.warn(
      { peer },
      `Requests come with X-Forwarded-For from ${peer}, which ECM_TRUST_PROXY does not name: the client address of the login limits, lockouts and audit log is then ${peer} for every client behind it. If it is your proxy or load balancer, set ECM_TRUST_PROXY to its address.`,
    );
  });
}
