import http from "node:http";
import type { SendInit } from "../../test-support/oidc-provider.js";

/** A keep-alive HTTP client for the bench: one agent, sockets reused across requests. */
export class BenchClient {
  private readonly agent: http.Agent;
  private token = "";

  /** `localAddress`: send from this address (another loopback address looks like another client). */
  constructor(private readonly baseUrl: string, connections: number, localAddress?: string) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections, localAddress });
  }

  setToken(token: string) {
    this.token = token;
  }

  /** Sends a request and reads the whole body; `onChunk` sees the body as it streams. */
  async request(method: string, path: string, body?: unknown, onChunk?: (chunk: Buffer) => void): Promise<{ status: number; body: string; bytes: number }> {
    try {
      return await this.send(method, path, body, onChunk);
    } catch (error) {
      // The server closed an idle keep-alive socket just as it was reused: send once more on a new one.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EPIPE" && code !== "ECONNRESET") throw error;
      return this.send(method, path, body, onChunk);
    }
  }

  private send(method: string, path: string, body?: unknown, onChunk?: (chunk: Buffer) => void): Promise<{ status: number; body: string; bytes: number }> {
    const url = new URL(this.baseUrl + path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
            ...(payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          res.on("data", (chunk: Buffer) => {
            bytes += chunk.length;
            if (onChunk) onChunk(chunk);
            else chunks.push(chunk);
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), bytes }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  async get(path: string): Promise<string> {
    const r = await this.request("GET", path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body.slice(0, 200)}`);
    return r.body;
  }

  close() {
    this.agent.destroy();
  }
}

/**
 * fetch's answer made with node:http on kept-alive sockets: the bench's browsers use it, since fetch
 * costs several times the CPU per request, and the bench's client shares the machine with the server.
 */
export function httpSender(agent: http.Agent): (url: URL, init: SendInit) => Promise<Response> {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const req = http.request(url, { method: init.method, agent, headers: init.body === undefined ? init.headers : { ...init.headers, "content-length": Buffer.byteLength(init.body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const headers = new Headers();
          for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          const body = res.statusCode === 204 || res.statusCode === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status: res.statusCode, headers }));
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(init.body);
    });
}
