/**
 * Test helper: an HTTP proxy in front of the real server that misbehaves on demand, per request —
 * drops the connection, answers 503, or never answers — before passing requests through unchanged.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** drop the connection; 503 with Retry-After: 0; 503 with Retry-After: one hour; never answer. */
export type Fault = "drop" | "503" | "503-retry-later" | "hold";

export interface FlakyProxy {
  baseUrl: string;
  /** Faults for the next requests, in order; afterwards requests pass through. */
  faults: Fault[];
  requests: number;
  /** `METHOD /path status` of each request passed through, in order (the test may clear it). */
  passed: string[];
  close(): Promise<void>;
}

export async function startFlakyProxy(targetBaseUrl: string): Promise<FlakyProxy> {
  const target = new URL(targetBaseUrl);
  const server = http.createServer((req, res) => {
    proxy.requests++;
    const fault = proxy.faults.shift();
    if (fault === "drop") return req.socket.destroy();
    if (fault === "hold") return;
    if (fault === "503" || fault === "503-retry-later") {
      const body = JSON.stringify({ errorMessage: "ECMS1901-E The service is unavailable.", additionalInfo: "{}" });
      res.writeHead(503, { "content-type": "application/json", "retry-after": fault === "503" ? "0" : "3600" });
      return res.end(body);
    }
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        proxy.passed.push(`${req.method} ${req.url!.split("?")[0]} ${up.statusCode}`);
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => req.socket.destroy());
    req.pipe(upstream);
  });
  const proxy: FlakyProxy = {
    baseUrl: "",
    faults: [],
    requests: 0,
    passed: [],
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  proxy.baseUrl = `http://127.0.0.1:${port}${target.pathname}`;
  return proxy;
}
