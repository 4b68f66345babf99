import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { createServer, type Server } from "../app.js";
import { configFromEnv, type Config } from "../config.js";
import { storeKinds, storeSkip, type StoreKind } from "./store-kinds.js";

export { storeKinds, storeSkip, type StoreKind };

export const ADMIN_PASSWORD = "Admin-Secret-1";
/** argon2id at a small cost for test servers; `configFromEnv({}).argon2` is the default cost. */
export const TEST_ARGON2: Config["argon2"] = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
/** Every test node shares this key, as the nodes of one deployment must. */
export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString("base64");

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/**
 * The clock of a test server's token lifetimes (and signing keys, and a directory's reachable note):
 * real time plus however far the test moved it. It keeps running, so what the server stamps in order (keys, sessions) stays in order.
 */
export class TestClock {
  private offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}

export interface ApiOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Local address to send from, so the server sees another client address (the loopback range: 127.0.0.2, …). */
  from?: string;
}

export interface TestServer {
  kind: StoreKind;
  /** Token lifetimes follow it: `clock.advance(301)` makes an idle token expire without waiting. */
  clock: TestClock;
  /** `http://127.0.0.1:<port>/portal` */
  baseUrl: string;
  server: Server;
  /** Logs in and returns the access token (throws if the login is refused). */
  login(username?: string, password?: string): Promise<string>;
  /** One HTTP request; `body` objects are sent as JSON; `from` sends it from that local address (127.0.0.2, …). */
  api<T = any>(method: string, path: string, options?: ApiOptions): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

/**
 * Starts a server on a fresh, empty store (temporary SQLite file or a new PostgreSQL database), listening
 * on a free port; or, given `overrides.store`, a further node on that existing store.
 */
export async function startTestServer(kind: StoreKind, overrides: Partial<Config> = {}): Promise<TestServer> {
  const cleanups: (() => Promise<void> | void)[] = [];
  let store: Config["store"];
  if (overrides.store) {
    store = overrides.store; // another node on a store that the first server owns and cleans up
  } else if (kind === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "ecm-test-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    store = { kind: "sqlite", file: join(dir, "store.sqlite3") };
  } else {
    const { url, drop } = await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!);
    cleanups.push(drop);
    store = { kind: "postgres", url, poolSize: 5 };
  }
  const config: Config = {
    ...configFromEnv({}),
    logLevel: "silent",
    adminPassword: ADMIN_PASSWORD,
    port: 0,
    store,
    secretKey: { key: TEST_SECRET_KEY, file: "/nonexistent" },
    // Tests log in from 127.0.0.1 far more often than a person: the suites that test the limits set them.
    rateLimit: { windowSeconds: 60, perAddress: 0, perAccount: 0, providerLoginsPerAddress: 0, refusedApiKeysPerAddress: 0, refusalDelayMs: 0 },
    // Same algorithm at a smaller cost (ECM_ARGON2_MEMORY_KIB, ECM_ARGON2_ITERATIONS): the suites log in
    // and set passwords thousands of times. Those about the hash queue set the default cost back.
    argon2: TEST_ARGON2,
    ...overrides,
  };
  const clock = new TestClock();
  const server = await createServer(config, { now: clock.now });
  await server.app.listen({ host: "127.0.0.1", port: 0 });
  // Building a server holds this process's event loop, for seconds on a busy machine: the other test
  // servers' and providers' kept-alive connections may have passed their 5 s meanwhile. One turn of the
  // loop lets those timers close them before the test's next request, instead of as it is sent (which
  // failed it: "fetch failed", other side closed).
  await sleep(20);
  const address = server.app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const baseUrl = `http://127.0.0.1:${port}/portal`;

  async function api<T>(method: string, path: string, options: ApiOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      headers["content-type"] ??= "application/json";
    }
    const response = options.from ? await requestFrom(options.from, baseUrl + path, { method, headers, body }) : await fetch(baseUrl + path, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: the text stays
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  return {
    kind,
    clock,
    baseUrl,
    server,
    api,
    async login(username = "sysadmin", password = ADMIN_PASSWORD) {
      const response = await api<{ access_token: string }>("POST", "/auth/v1/providers/builtin/token", { body: { username, password } });
      if (response.status !== 200) throw new Error(`login of ${username} failed: ${response.status} ${response.text}`);
      return response.body.access_token;
    },
    async close() {
      await server.close();
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}

/** fetch's answer to a request sent from `localAddress` (fetch itself cannot choose the local address). */
function requestFrom(localAddress: string, url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method, headers: init.headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === "string") headers.set(name, value);
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers }));
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

/** A new, empty database on the PostgreSQL server of `adminUrl`, dropped by `drop`. */
export async function createTemporaryDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `ecm_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Declares the same suite once per store, each with its own server started before and closed after.
 * `body` gets a getter, since the server exists only once `before` has run, and the store's kind
 * (for tests of a race only one store can show).
 */
export function describeEachStore(title: string, body: (server: () => TestServer, kind: StoreKind) => void, overrides: Partial<Config> = {}): void {
  for (const kind of storeKinds) {
    describe(`${title} [${kind}]`, { skip: storeSkip(kind) }, () => {
      let current: TestServer | undefined;
      before(async () => {
        current = await startTestServer(kind, overrides);
      });
      after(async () => {
        await current?.close();
      });
      body(() => {
        if (!current) throw new Error("test server not started");
        return current;
      }, kind);
    });
  }
}
