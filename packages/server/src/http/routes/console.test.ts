import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";
import { before, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { ensureBuilt } from "../../../../console/build.mjs";
import { describeEachStore } from "../../test-support/server.js";
import { CONSOLE_DIR } from "./console.js";

before(async () => {
  await ensureBuilt();
});

describeEachStore("the console's files", (server, kind) => {
  it("serves the entry page under the strict CSP, never cached, naming hashed files that are cached for good, pre-compressed", async () => {
    const s = server();
    const origin = new URL(s.baseUrl).origin;
    const redirect = await fetch(`${s.baseUrl}/console`, { redirect: "manual" });
    assert.equal(redirect.status, 302);
    assert.equal(new URL(redirect.headers.get("location")!, `${s.baseUrl}/console`).pathname, "/portal/console/");
    // The service's root sends everyone to the console, with or without its slash.
    for (const root of ["", "/"]) {
      const toConsole = await fetch(`${s.baseUrl}${root}`, { redirect: "manual" });
      assert.equal(toConsole.status, 302, root);
      assert.equal(new URL(toConsole.headers.get("location")!, `${s.baseUrl}${root}`).pathname, "/portal/console/", root);
    }
    const index = await fetch(`${s.baseUrl}/console/`);
    assert.equal(index.status, 200);
    // The policy of every answer: the console's own scripts and styles only.
    const csp = index.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(index.headers.get("cache-control"), "no-cache");
    const html = await index.text();
    assert.doesNotMatch(html, /<script>|<style|style=/, "nothing inline");
    const script = /<script type="module" src="(main-[A-Z0-9]+\.js)">/.exec(html)?.[1];
    assert.ok(script, html);
    const brotli = await fetch(`${origin}/portal/console/${script}`, { headers: { "accept-encoding": "br" }, decompress: false } as RequestInit);
    assert.equal(brotli.headers.get("content-encoding"), "br");
    assert.match(brotli.headers.get("content-type") ?? "", /javascript/);
    assert.equal(brotli.headers.get("cache-control"), "public, max-age=31536000, immutable");
    const raw = await new Promise<Buffer>((resolve, reject) => {
      import("node:http").then(({ get }) => get(`${origin}/portal/console/${script}`, { headers: { "accept-encoding": "gzip" } }, (res) => {
        assert.equal(res.headers["content-encoding"], "gzip");
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c)).on("end", () => resolve(Buffer.concat(chunks))).on("error", reject);
      }), reject);
    });
    assert.match(gunzipSync(raw).toString("utf8"), /ecm-console/);
    const missing = await s.api("GET", "/console/no-such-file.js");
    assert.equal(missing.status, 404);
    assert.match(missing.body.errorMessage, /^ECMS1202-E /);
    // A path that would leave the console's folder names no resource either.
    const outside = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      // Node's client sends the path as written (fetch would resolve the dots first).
      const { hostname, port } = new URL(origin);
      import("node:http").then(({ get }) => get({ hostname, port, path: "/portal/console/%2e%2e/%2e%2e/package.json" }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c)).on("end", () => resolve({ status: res.statusCode!, body })).on("error", reject);
      }), reject);
    });
    assert.deepEqual([outside.status, JSON.parse(outside.body).errorMessage], [404, "ECMS1202-E No such resource."]);
  });

  it("a file removed while it is asked for (the console rebuilt under a running server) is a 404 in the spec's shape, never a 500", { skip: kind !== "sqlite" && "the files are the same on every store" }, async () => {
    const s = server();
    // A file of this test's own, taken away and put back again and again while it is asked for: some
    // requests find it gone between looking it up and opening it.
    const name = `gone-${randomUUID()}.js`;
    const [file, away] = [`${CONSOLE_DIR}${name}`, `${CONSOLE_DIR}${name}.away`];
    await writeFile(file, "export {};\n");
    let stop = false;
    const churn = (async () => {
      while (!stop) {
        await rename(file, away);
        await rename(away, file);
      }
    })();
    try {
      const answers = new Map<number, number>();
      for (let i = 0; i < 400; i++) {
        const res = await fetch(`${s.baseUrl}/console/${name}`, { headers: { "accept-encoding": "identity" } });
        const text = await res.text();
        answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
        if (res.status === 404) assert.match(JSON.parse(text).errorMessage, /^ECMS1202-E /);
        else assert.equal(res.status, 200, text);
      }
      assert.ok(answers.get(404), `the file was never found gone: ${JSON.stringify([...answers])}`);
    } finally {
      stop = true;
      await churn;
      await rm(file, { force: true });
    }
  });

  it("a console page asked for by its path is sent to the page's hash route", async () => {
    const s = server();
    for (const [path, hash] of [["users", "#/users"], ["users/42?search=ann%20b&enabled=true", "#/users/42?search=ann%20b&enabled=true"], ["audit/", "#/audit"]]) {
      const res = await fetch(`${s.baseUrl}/console/${path}`, { redirect: "manual" });
      assert.equal(res.status, 302, path);
      assert.equal(res.headers.get("location"), `/portal/console/${hash}`, path);
    }
    // Files, other methods and anything but plain words are no pages.
    for (const [method, path] of [["GET", "/console/chunks/no-such.js"], ["GET", "/console/users/a.b"], ["POST", "/console/users"], ["GET", "/console/users?x=a;b"]] as const) {
      const res = await fetch(`${s.baseUrl}${path}`, { method, redirect: "manual" });
      assert.ok([400, 404, 405].includes(res.status), `${method} ${path}: ${res.status}`);
    }
  });
});
