/**
 * The worker thread's fetch against plain HTTP peers on loopback: what it hands over is what was sent,
 * in order; aborts, drops and refusals end as fetch's would; and it never keeps a script's process
 * alive once nothing is being read. The users list through it runs in users-stream.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { workerFetch } from "../worker-fetch.js";

async function peer(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

async function readAll(res: Response): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of res.body!) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

test("an answer of many pieces arrives whole and in order, with its status and headers", async () => {
  // 6 MB in 64 KiB writes: more than the worker reads ahead, so the reads wait for each other.
  const piece = (i: number) => Buffer.alloc(65_536, i % 251);
  const server = await peer((req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream", "x-seen-auth": req.headers.authorization ?? "" });
    let i = 0;
    const write = () => {
      while (i < 96) if (!res.write(piece(i++))) return void res.once("drain", write);
      res.end();
    };
    write();
  });
  try {
    const res = await workerFetch(server.url, { headers: { authorization: "Bearer t" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-seen-auth"), "Bearer t");
    const body = await readAll(res);
    assert.equal(body.length, 96 * 65_536);
    for (let i = 0; i < 96; i++) assert.equal(body[i * 65_536], i % 251, `piece ${i}`);
  } finally {
    await server.close();
  }
});

test("an error status and a no-content answer come back as they are", async () => {
  const server = await peer((req, res) => {
    if (req.url === "/gone") return res.writeHead(404, { "content-type": "application/json" }).end('{"errorMessage":"not here"}');
    res.writeHead(204).end();
  });
  try {
    const missing = await workerFetch(server.url + "gone");
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { errorMessage: "not here" });
    const empty = await workerFetch(server.url);
    assert.equal(empty.status, 204);
    assert.equal(await empty.text(), "");
  } finally {
    await server.close();
  }
});

test("a refused connection and one that drops mid-answer fail as fetch fails", async () => {
  const server = await peer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.write("[1,2,3");
    setTimeout(() => res.socket?.destroy(), 50);
  });
  const { url } = server;
  try {
    const res = await workerFetch(url);
    await assert.rejects(readAll(res), (e: unknown) => e instanceof TypeError || e instanceof Error);
  } finally {
    await server.close();
  }
  await assert.rejects(workerFetch(url), (e: unknown) => e instanceof TypeError && (e.cause as { code?: string }).code === "ECONNREFUSED");
});

test("an abort before the answer and one while reading it end the request", async () => {
  let answered = 0;
  const server = await peer((req, res) => {
    if (req.url === "/slow") return; // never answers
    answered++;
    res.writeHead(200);
    res.write("x".repeat(1000)); // and never ends
  });
  try {
    const before = new AbortController();
    const pending = workerFetch(server.url + "slow", { signal: before.signal });
    setTimeout(() => before.abort(new Error("stop waiting")), 50);
    await assert.rejects(pending, /stop waiting/);

    const during = new AbortController();
    const res = await workerFetch(server.url, { signal: during.signal });
    const reader = res.body!.getReader();
    assert.equal((await reader.read()).value?.byteLength, 1000);
    const next = reader.read();
    during.abort(new Error("enough"));
    await assert.rejects(next, /enough/);
    assert.equal(answered, 1);
  } finally {
    await server.close();
  }
});

test("a script's process ends once its read is done, and not before", async () => {
  const server = await peer((_req, res) => {
    res.writeHead(200);
    // The answer ends after the script's own work is over: only the read keeps it alive meanwhile.
    setTimeout(() => res.end("late but whole"), 300);
  });
  try {
    const module = fileURLToPath(new URL("../worker-fetch.ts", import.meta.url));
    // Twice: the second read starts when the thread is already there, idle.
    const read = `workerFetch(${JSON.stringify(server.url)}).then((r) => r.text()).then((t) => console.log(t))`;
    const script = `import { workerFetch } from ${JSON.stringify(module)}; ${read}.then(() => ${read});`;
    const child = spawn(process.execPath, ["--max-old-space-size=300", "--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const killer = setTimeout(() => child.kill(), 20_000);
    const code = await new Promise((resolve) => child.on("exit", resolve));
    clearTimeout(killer);
    assert.equal(code, 0, "the process ended on its own");
    assert.equal(out, "late but whole\nlate but whole\n");
  } finally {
    await server.close();
  }
});
