import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { configFromEnv } from "../config.js";
import { ADMIN_PASSWORD, describeEachStore, startTestServer, type TestServer } from "../test-support/server.js";

const TOKEN_PATH = "/auth/v1/providers/builtin/token";

describeEachStore("security headers on every answer", (server) => {
  let token: string;
  before(async () => {
    token = await server().login();
  });

  it("a strict policy, nosniff, no referrer, no framing and no-store on the API's answers, errors and tokens alike", async () => {
    const s = server();
    const answers = [
      await s.api("POST", TOKEN_PATH, { body: { username: "sysadmin", password: ADMIN_PASSWORD } }),
      await s.api("GET", "/security/v1/users", { token }),
      await s.api("GET", "/security/v1/me", { token }),
      await s.api("GET", "/security/v1/users"),
      await s.api("GET", "/no/such/thing", { token }),
      await s.api("GET", "/health"),
    ];
    for (const r of answers) {
      const csp = r.headers.get("content-security-policy") ?? "";
      assert.match(csp, /default-src 'self'/, csp);
      assert.match(csp, /frame-ancestors 'none'/, csp);
      assert.match(csp, /script-src 'self'(;|$)/, csp);
      assert.match(csp, /style-src 'self'(;|$)/, csp);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|data:/, csp);
      assert.equal(r.headers.get("x-content-type-options"), "nosniff");
      assert.equal(r.headers.get("referrer-policy"), "no-referrer");
      assert.equal(r.headers.get("x-frame-options"), "DENY");
      assert.equal(r.headers.get("cache-control"), "no-store");
      assert.equal(r.headers.get("strict-transport-security"), null, "no HSTS over plain HTTP");
    }
  });

  it("the Swagger UI gets what it needs (inline styles, data: images), only under /portal/docs/", async () => {
    const s = server();
    const page = await s.api("GET", "/docs/");
    assert.equal(page.status, 200);
    const csp = page.headers.get("content-security-policy")!;
    assert.match(csp, /style-src 'self' 'unsafe-inline'/);
    assert.match(csp, /img-src 'self' data:/);
    assert.match(csp, /script-src 'self';/, "its scripts are files, never inline");
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  });
});

describe("TLS (ECM_TLS_CERT_FILE, ECM_TLS_KEY_FILE)", () => {
  const dir = mkdtempSync(join(tmpdir(), "ecm-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  let s: TestServer;

  before(async () => {
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
    const config = configFromEnv({ ECM_TLS_CERT_FILE: certFile, ECM_TLS_KEY_FILE: keyFile, ECM_HEADERS_TIMEOUT_SECONDS: "2" });
    s = await startTestServer("sqlite", { tls: config.tls, connections: config.connections });
  });
  after(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves HTTPS with the configured certificate, and sends HSTS", { timeout: 30_000 }, async () => {
    const { port } = s.server.app.server.address() as { port: number };
    const answer = await new Promise<{ status: number; hsts: string | undefined; body: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/portal/health", ca: readFileSync(certFile), timeout: 10_000 }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, hsts: res.headers["strict-transport-security"], body }));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(answer.status, 200, answer.body);
    assert.match(answer.hsts ?? "", /^max-age=31536000; includeSubDomains$/);
  });

  it("closes a connection that never starts its TLS handshake once the headers' time is up", { timeout: 30_000 }, async () => {
    const { port } = s.server.app.server.address() as { port: number };
    const started = Date.now();
    await new Promise<void>((resolve, reject) => connect(port, "127.0.0.1").on("close", () => resolve()).on("error", reject));
    const waited = Date.now() - started;
    assert.ok(waited < 10_000, `held ${waited} ms`);
  });

  it("refuses one file without the other", () => {
    assert.throws(() => configFromEnv({ ECM_TLS_CERT_FILE: certFile }), /ECM_TLS_CERT_FILE and ECM_TLS_KEY_FILE go together/);
  });
});

describe("ECM_TRUST_PROXY names the proxies instead of trusting every hop", () => {
  it("takes a list of addresses and CIDR ranges or a hop count, and refuses `true` and what is not an address", () => {
    assert.equal(configFromEnv({}).trustProxy, false);
    assert.deepEqual(configFromEnv({ ECM_TRUST_PROXY: "10.0.0.1, 192.168.0.0/16,::1,loopback" }).trustProxy, ["10.0.0.1", "192.168.0.0/16", "::1", "loopback"]);
    assert.equal(configFromEnv({ ECM_TRUST_PROXY: "2" }).trustProxy, 2);
    assert.throws(() => configFromEnv({ ECM_TRUST_PROXY: "true" }), /forge its address/);
    for (const bad of ["proxy.example.com", "10.0.0.1/33", "10.0.0.0/8/1"]) assert.throws(() => configFromEnv({ ECM_TRUST_PROXY: bad }), /is not an IP address/, bad);
  });

  /** The client address a login's session records when the request says it was forwarded for `forwardedFor`. */
  async function recordedAddress(trustProxy: string[] | number, forwardedFor: string): Promise<string | null> {
    const s = await startTestServer("sqlite", { trustProxy });
    try {
      const r = await s.api("POST", TOKEN_PATH, { body: { username: "sysadmin", password: ADMIN_PASSWORD }, headers: { "x-forwarded-for": forwardedFor } });
      assert.equal(r.status, 200, r.text);
      const row = await s.server.deps.store.db.selectFrom("sessions").select("source_ip").orderBy("created_at", "desc").executeTakeFirstOrThrow();
      return row.source_ip;
    } finally {
      await s.close();
    }
  }

  it("believes X-Forwarded-For only from a listed proxy, and only as many hops as it is told", { timeout: 60_000 }, async () => {
    assert.equal(await recordedAddress(["127.0.0.1"], "203.0.113.7"), "203.0.113.7");
    assert.equal(await recordedAddress(["192.0.2.1"], "203.0.113.7"), "127.0.0.1", "a caller that is no listed proxy cannot forge its address");
    assert.equal(await recordedAddress(1, "198.51.100.1, 203.0.113.9"), "203.0.113.9", "one hop: the address the proxy saw, not what the client claimed before it");
  });
});

describe("ECM_PUBLIC_URL is an origin, checked at start", () => {
  it("takes an http or https origin and refuses what redirect URIs could not be built on", () => {
    assert.equal(configFromEnv({ ECM_PUBLIC_URL: "https://ecm.example.com/" }).publicUrl, "https://ecm.example.com");
    assert.equal(configFromEnv({ ECM_PUBLIC_URL: "http://127.0.0.1:8080" }).publicUrl, "http://127.0.0.1:8080");
    assert.equal(configFromEnv({}).publicUrl, undefined);
    for (const bad of ["ecm.example.com", "ftp://ecm.example.com", "https://ecm.example.com/portal", "https://user:pw@ecm.example.com", "https://ecm.example.com/?a=1"]) {
      assert.throws(() => configFromEnv({ ECM_PUBLIC_URL: bad }), /^Error: ECM_PUBLIC_URL /, bad);
    }
  });
});
