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
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = {
      ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      ...(payload ? { "content-type": "application/json" } : {}),
    };
    const answer = await exchange(new URL(this.baseUrl + path), method, this.agent, headers, payload, onChunk);
    return { status: answer.status, body: answer.body.toString("utf8"), bytes: answer.bytes };
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
  return async (url, init) => {
    const answer = await exchange(url, init.method, agent, init.headers, init.body);
    const headers = new Headers();
    for (let i = 0; i < answer.rawHeaders.length; i += 2) headers.append(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
    return new Response(answer.status === 204 || answer.status === 304 ? null : answer.body, { status: answer.status, headers });
  };
}

/**
 * One request on a kept-alive socket of `agent`; the body's chunks go to `onChunk` instead of the
 * answer when it is given. A reused socket that the server had just closed as idle is sent on again,
 * once, on a new one (nothing was answered: the request never reached the server).
 */
async function exchange(
  url: URL,
  method: string,
  agent: http.Agent,
  headers: Record<string, string> | undefined,
  body: string | undefined,
  onChunk?: (chunk: Buffer) => void,
): Promise<{ status: number; rawHeaders: string[]; body: ReturnType<typeof Buffer.concat>; bytes: number }> {
  const once = () =>
    new Promise<Awaited<ReturnType<typeof exchange>>>((resolve, reject) => {
      let answered = false;
      const req = http.request(url, { method, agent, headers: body === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(body) } }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (onChunk) onChunk(chunk);
          else chunks.push(chunk);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks), bytes }));
        res.on("error", reject);
      });
      req.on("error", (error) => reject(Object.assign(error, { safeToResend: req.reusedSocket && !answered })));
      req.end(body);
    });
  try {
    return await once();
  } catch (error) {
    const { code, safeToResend } = error as NodeJS.ErrnoException & { safeToResend?: boolean };
    if (!safeToResend || (code !== "EPIPE" && code !== "ECONNRESET")) throw error;
    return once();
  }
}
