import assert from "node:assert/strict";
import { request, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { before, it } from "node:test";
import { describeEachStore, type ApiResponse } from "../test-support/server.js";

/** Routes whose query string is open by design: an identity provider's redirect carries parameters of its own (code, state, iss, session_state, …). */
const OPEN_QUERY = new Set(["GET /portal/auth/v1/providers/:alias/callback"]);

const PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000";
const concrete = (url: string) => url.replace(/^\/portal/, "").replace(/:\w+/g, PLACEHOLDER_ID).replace("*", "index.html");

/** Node's client: it fails on bytes after an answer to HEAD, where fetch would drop them unseen. */
function nodeRequest(url: string, method: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function assertErrorShape(r: ApiResponse, status: number, what: string) {
  assert.equal(r.status, status, `${what}: ${r.text.slice(0, 200)}`);
  assert.match(r.body.errorMessage, /^ECMS\d{4}-E /, what);
  assert.equal(typeof r.body.additionalInfo, "string", what);
}

/** Whatever is sent, the answer is a 4xx in the error shape, says what is wrong in words, and echoes nothing. */
describeEachStore("bad input always gets the error shape", (server) => {
  let token: string;
  before(async () => {
    token = await server().login();
  });

  it("malformed percent-encoding and over-long path parameters go through the one error handler and do not echo the URL", async () => {
    const s = server();
    for (const [path, status] of [["/security/v1/users/%E0%A4%A", 400], ["/secu%rity/v1/users", 400], [`/security/v1/users/${"x".repeat(300)}`, 414]] as const) {
      const r = await s.api("GET", path, { token });
      assertErrorShape(r, status, path);
      assert.ok(!r.text.includes(path.slice(-20)), `${path} is echoed: ${r.text}`);
      // The router answers these itself, past the hooks that set every answer's security headers: set here too.
      assert.match(r.headers.get("content-security-policy") ?? "", /default-src 'none'; frame-ancestors 'none'/, path);
      assert.equal(r.headers.get("x-content-type-options"), "nosniff", path);
      assert.equal(r.headers.get("x-frame-options"), "DENY", path);
      assert.equal(r.headers.get("cache-control"), "no-store", path);
    }
  });

  it("a query's malformed percent-encoding is a 400 too, not taken as the text it spells", async () => {
    const s = server();
    await s.api("POST", "/security/v1/users", { token, body: { username: "percent_literal", lastName: "x%zz %E0%A4 100%" } });
    // Each would have found that user, its escapes searched for as literal text; the second is UTF-8's bytes cut short.
    for (const query of ["search=%zz", "search=%E0%A4", "search=100%", "search=%2", "%zz=1", "max=1&search=%zz"]) {
      for (const path of [`/security/v1/users?${query}`, `/security/v1/users/count?${query}`]) {
        const r = await s.api("GET", path, { token });
        assertErrorShape(r, 400, path);
        assert.match(r.body.errorMessage, /^ECMS1001-E The query is not valid: it has a malformed percent-encoding/, path);
        assert.ok(!r.text.includes("%zz") && !r.text.includes("%E0"), `${path} is echoed: ${r.text}`);
      }
    }
    // Well-formed, the same characters are searched for as text.
    const found = await s.api("GET", "/security/v1/users?search=%25zz%20%25E0%25A4%20100%25", { token });
    assert.deepEqual(found.body.map((u: { username: string }) => u.username), ["percent_literal"], found.text);
  });

  it("a method a path does not have is a 405 with Allow, on every path of the route table", async () => {
    const s = server();
    const byUrl = new Map<string, Set<string>>();
    for (const { method, url } of s.server.routes) byUrl.set(url, (byUrl.get(url) ?? new Set()).add(method));
    for (const [url, methods] of byUrl) {
      const missing = ["PATCH", "PUT", "DELETE", "POST"].find((m) => !methods.has(m))!;
      const r = await s.api(missing, concrete(url), { token });
      assertErrorShape(r, 405, `${missing} ${url}`);
      const allow = r.headers.get("allow")!.split(", ");
      for (const m of methods) assert.ok(allow.includes(m), `${missing} ${url}: Allow ${allow} lacks ${m}`);
      // With a body too (it is not read), and on a path of its own every method it lacks, though a pattern
      // with parameters fits it (GET …/users/import is no user named "import"): Allow names its own methods only.
      const own = !url.includes(":") && !url.includes("*");
      if (methods.has("HEAD")) methods.add("GET");
      for (const method of own ? ["GET", "PATCH", "PUT", "DELETE", "POST"].filter((m) => !methods.has(m)) : [missing]) {
        const withBody = await s.api(method, concrete(url), { token, body: method === "GET" ? undefined : { description: "x" } });
        assertErrorShape(withBody, 405, `${method} ${url} with a body`);
        if (own) assert.deepEqual(withBody.headers.get("allow")!.split(", ").sort(), [...methods].sort(), `${method} ${url}`);
      }
    }
    const unknown = await s.api("GET", "/no/such/path-<b>said-back</b>", { token });
    assertErrorShape(unknown, 404, "unknown path");
    assert.ok(!unknown.text.includes("said-back"), unknown.text);
  });

  it("unknown query parameters are a 400 that names them, on every route", async () => {
    const s = server();
    for (const { method, url } of s.server.routes.filter((r) => r.method === "GET" && !OPEN_QUERY.has(`${r.method} ${r.url}`))) {
      const r = await s.api(method, `${concrete(url)}?locked=true&colour=red`, { token });
      assertErrorShape(r, 400, `${method} ${url}`);
      assert.match(r.body.errorMessage, /Unknown query parameters: locked, colour/, url);
      assert.deepEqual(JSON.parse(r.body.additionalInfo).unknown, ["locked", "colour"], url);
    }
  });

  it("unknown body fields are named too", async () => {
    const r = await server().api("POST", "/security/v1/users", { token, body: { username: "named", colour: "red", size: 3 } });
    assertErrorShape(r, 400, "unknown fields");
    assert.match(r.body.errorMessage, /^ECMS1001-E Unknown fields: colour, size; known: username, /);
    assert.deepEqual(JSON.parse(r.body.additionalInfo), { in: "body", unknown: ["colour", "size"] });
  });

  it("a list where an object belongs is said to be one", async () => {
    const r = await server().api("POST", "/security/v1/users", { token, body: [1] });
    assertErrorShape(r, 400, "a list body");
    assert.match(r.body.errorMessage, /^ECMS1001-E body must be an object\.$/);
  });

  it("validation messages speak to people, not in regular expressions", async () => {
    const s = server();
    const cases: [string, string, unknown, string][] = [
      ["POST", "/security/v1/users", { username: "mail", email: "not-an-address" }, "email is not an e-mail address."],
      ["POST", "/security/v1/users", { username: "has space" }, "username may hold only letters of any script (with their accents and signs), digits and . _ - @."],
      ["POST", "/security/v1/users", { loginName: "x" }, "username is required."],
      // A misspelt name is the likely cause of a missing one: said with it, nested or not.
      ["POST", "/security/v1/users", { userName: "x" }, "Unknown field: userName; known: username, "],
      ["POST", "/idp/v1/external-identity-provider", { providerType: "oidc", alias: "typo", displayName: "Typo", clientId: "c", customGroupList: [{ idpGroupName: "staff", localGrupId: "00000000-0000-4000-8000-000000000000" }] }, "customGroupList/0/localGroupId is required; unknown field in customGroupList/0: localGrupId (known: idpGroupName, localGroupId)."],
      ["POST", "/security/v1/users", { username: "t", validTo: "next week" }, "validTo is not an ISO 8601 date or time with a zone, such as 2030-12-31 or 2030-12-31T23:59:59Z."],
      ["POST", "/security/v1/users", { username: "t", enabled: "yes" }, "enabled must be true or false."],
      ["POST", "/security/v1/users", { username: "x".repeat(65) }, "username must be at most 64 characters long."],
      ["POST", "/security/v1/user-groups", { name: "a/b" }, "name must not hold / or control characters, nor start or end with white space."],
      ["GET", "/security/v1/users?max=many", undefined, "max must be a whole number."],
      ["GET", "/security/v1/users?max=0", undefined, "max must be at least 1."],
      ["GET", "/security/v1/users?search=a&search=b", undefined, "search is given 2 times; give it once."],
      ["GET", "/security/v1/users?max=2&max=3&max=4", undefined, "max is given 3 times; give it once."],
      ["GET", "/security/v1/audit-events?outcome=maybe", undefined, 'outcome must be one of "success", "failure".'],
      ["POST", "/security/v1/users/bulk-actions", { action: "explode", filter: {} }, 'action must be one of "disable", "enable", "clear-lockout", "add-to-group", "remove-from-group", "delete".'],
    ];
    for (const [method, path, body, message] of cases) {
      const r = await s.api(method, path, { token, body });
      assertErrorShape(r, 400, `${path} ${JSON.stringify(body)}`);
      if (message.endsWith(", ")) assert.ok(r.body.errorMessage.startsWith(`ECMS1001-E ${message}`), r.body.errorMessage);
      else assert.equal(r.body.errorMessage, `ECMS1001-E ${message}`);
    }
  });

  it("a body of another type, or too large, is told what to send instead", async () => {
    const s = server();
    const form = await s.api("POST", "/security/v1/users", { token, body: "username=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
    assertErrorShape(form, 415, "form body");
    assert.equal(form.body.errorMessage, "ECMS1004-E Send the body as application/json, not application/x-www-form-urlencoded.");
    const big = await s.api("POST", "/security/v1/users", { token, body: JSON.stringify({ username: "big", description: "x".repeat(2_000_000) }) });
    assertErrorShape(big, 413, "big body");
    assert.match(big.body.errorMessage, /^ECMS1003-E The body is larger than the \d+ bytes this server takes \(ECM_BODY_LIMIT_BYTES\)\.$/);
  });

  it("a body that is not what it says is refused in words of our own: empty, not JSON, not UTF-8, compressed, a prototype key", async () => {
    const s = server();
    const send = async (body: string | Buffer, headers: Record<string, string> = {}) => {
      const response = await fetch(`${s.baseUrl}/security/v1/users`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : new Uint8Array(body) });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: JSON.parse(text), text } as ApiResponse;
    };
    const cases: [string | Buffer, Record<string, string>, number, string][] = [
      ["", {}, 400, "ECMS1002-E The body is empty; send a JSON object."],
      ['{"username":', {}, 400, "ECMS1002-E The body is not valid JSON."],
      [Buffer.from('{"username":"u8","firstName":"a\xff\xfeb"}', "latin1"), {}, 400, "ECMS1001-E The body is not valid UTF-8."],
      ['{"username":"gz"}', { "content-encoding": "br" }, 415, "ECMS1004-E Send the body uncompressed: this server does not take Content-Encoding br."],
      ['{"username":"proto","__proto__":{"isAdmin":true}}', {}, 400, "ECMS1001-E The body has a field named __proto__ or constructor.prototype, which is not taken."],
    ];
    for (const [body, headers, status, message] of cases) {
      const r = await send(body, headers);
      assertErrorShape(r, status, message);
      assert.equal(r.body.errorMessage, message);
    }
    assert.equal((await s.api("GET", "/security/v1/users?search=u8", { token })).body.length, 0, "nothing written");
    // Numbers in a query are decimal digits, not whatever Number() takes.
    for (const max of ["0x10", "1e3", "%205", "5.0"]) {
      const r = await s.api("GET", `/security/v1/users?max=${max}`, { token });
      assertErrorShape(r, 400, `max=${max}`);
      assert.equal(r.body.errorMessage, "ECMS1001-E max must be a whole number.");
    }
    assert.equal((await s.api("GET", "/security/v1/users?max=5", { token })).status, 200);
    // A request that takes no body says so of one sent, rather than ignoring what the caller thinks it asked for.
    const rotate = (body: unknown) => s.api("POST", "/security/v1/signing-keys/rotate", { token, body });
    const fields = await rotate({ algorithm: "RS256", keep: true });
    assertErrorShape(fields, 400, "fields where no body is taken");
    assert.equal(fields.body.errorMessage, "ECMS1001-E Unknown fields: algorithm, keep; it takes none.");
    assert.equal((await rotate([1])).body.errorMessage, "ECMS1001-E This request takes no body: send none, or {}.");
    const unchanged = (await s.api("GET", "/security/v1/signing-keys", { token })).body.length;
    assert.equal((await rotate({})).status, 200, "{} is no body");
    assert.equal((await s.api("GET", "/security/v1/signing-keys", { token })).body.length, unchanged + 1);
    // The caller's names are repeated in a refusal, but not without bound.
    const long = await s.api("GET", `/health?${"q".repeat(5000)}=1`);
    assertErrorShape(long, 400, "a long unknown name");
    assert.ok(long.text.length < 500, long.text);
  });

  it("a route that takes no body is not refused for an empty one sent as JSON (clients that always say JSON)", async () => {
    const s = server();
    const group = await s.api("POST", "/security/v1/user-groups", { token, body: { name: "empty-json-body" } });
    const bare = (method: string, path: string) => fetch(`${s.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
    const grant = await bare("PUT", `/security/v1/user-groups/${group.body.id}/role-mappings/portal/user`);
    assert.equal(grant.status, 204, await grant.text());
    assert.equal((await bare("DELETE", `/security/v1/user-groups/${group.body.id}`)).status, 204);
    // A route that needs a body still says so.
    const create = await bare("POST", "/security/v1/user-groups");
    assert.equal(create.status, 400);
    assert.equal(((await create.json()) as { errorMessage: string }).errorMessage, "ECMS1002-E The body is empty; send a JSON object.");
  });

  it("JSON nested deeper than the bound is a 400 before it is parsed, also where a field takes any value", async () => {
    const s = server();
    const me = (await s.api("GET", "/security/v1/me", { token })).body;
    const nested = (depth: number) => `{"dn":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    // Within the bound, the body is parsed and reaches the route (which says dn is not changed this way).
    const within = await s.api("PUT", `/security/v1/users/${me.id}`, { token, body: nested(31) });
    assert.match(within.body.errorMessage, /^ECMS1001-E dn cannot be changed with PUT/);
    for (const depth of [33, 10_000, 400_000]) {
      const r = await s.api("PUT", `/security/v1/users/${me.id}`, { token, body: nested(depth) });
      assertErrorShape(r, 400, `depth ${depth}`);
      assert.match(r.body.errorMessage, /nested more than 32 levels/);
    }
  });

  it("what Node's HTTP parser refuses is answered in the error shape too", async () => {
    const { port } = new URL(server().baseUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => socket.write("GARBAGE / HTTP/1.1\r\n\r\n"));
      let text = "";
      socket.on("data", (d) => (text += d));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
      socket.setTimeout(10_000, () => socket.destroy());
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /\r\n\r\n\{"errorMessage":"ECMS1001-E The request is not valid HTTP\.","additionalInfo":"\{\}"\}$/);
    // With the headers every answer has: not run, framed, sniffed or kept.
    for (const header of [/^Content-Security-Policy: default-src 'none'/m, /^X-Content-Type-Options: nosniff/m, /^Cache-Control: no-store/m]) assert.match(answer, header);
  });

  it("a body said to be in a charset that does not write ASCII as ASCII (UTF-16) is a 415, not read as UTF-8; one that does is read", async () => {
    const s = server();
    for (const [path, type, body] of [
      ["/security/v1/users", "application/json; charset=utf-16", JSON.stringify({ username: "charset_a" })],
      ["/security/v1/users", 'application/json; charset="UTF-32LE"', JSON.stringify({ username: "charset_b" })],
      ["/security/v1/users/import", "text/csv; charset=cp037", "username\ncharset_c\n"],
    ] as const) {
      const r = await s.api("POST", path, { token, body, headers: { "content-type": type } });
      assertErrorShape(r, 415, type);
      assert.match(r.body.errorMessage, /^ECMS1004-E Send the body as UTF-8: this server reads no (utf-16|utf-32le|cp037) charset\.$/, type);
    }
    // ASCII reads the same in these (Apache HttpClient says ISO-8859-1 by default); a byte beyond ASCII that is not UTF-8 is still refused.
    for (const [type, username] of [["application/json; charset=UTF-8", "charset_d"], ['application/json; charset="ISO-8859-1"', "charset_e"], ["application/json; charset=us-ascii", "charset_f"]] as const) {
      const r = await s.api("POST", "/security/v1/users", { token, body: JSON.stringify({ username }), headers: { "content-type": type } });
      assert.equal(r.status, 201, `${type}: ${r.text}`);
    }
  });

  it("a client that asks before sending its body (Expect: 100-continue) is asked for it only when the request is taken; a refused one is answered unsent", async () => {
    const { port } = new URL(server().baseUrl);
    /** Sends the head only; once an answer's head arrives, the body if that was a 100. Answers every head received. */
    const ask = (head: string, body: string) =>
      new Promise<string[]>((resolve, reject) => {
        const socket = connect(Number(port), "127.0.0.1", () => socket.write(head));
        let text = "";
        let sent = false;
        socket.on("data", (d) => {
          text += d;
          if (!sent && text.startsWith("HTTP/1.1 100 ") && text.includes("\r\n\r\n")) {
            sent = true;
            socket.write(body);
          }
        });
        socket.on("close", () => resolve(text.split("\r\n").filter((line) => line.startsWith("HTTP/1.1 "))));
        socket.on("error", reject);
        socket.setTimeout(10_000, () => socket.destroy());
      });
    const head = (path: string, headers: string, length: number) => `POST /portal${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\n${headers}Content-Length: ${length}\r\n\r\n`;
    const login = JSON.stringify({ username: "sysadmin", password: "not the password" });
    // Taken: the 100, then the body is read and answered.
    assert.deepEqual(await ask(head("/auth/v1/providers/builtin/token", "Content-Type: application/json\r\n", login.length), login), ["HTTP/1.1 100 Continue", "HTTP/1.1 401 Unauthorized"]);
    const row = '{"username":"asked_first"}\n';
    const importing = `Authorization: Bearer ${token}\r\nContent-Type: application/x-ndjson\r\n`;
    assert.deepEqual(await ask(head("/security/v1/users/import", importing, row.length), row), ["HTTP/1.1 100 Continue", "HTTP/1.1 200 OK"]);
    // Refused before the body: no caller, a type not taken, a declared length over the limit.
    assert.deepEqual(await ask(head("/security/v1/users/import", "Content-Type: application/x-ndjson\r\n", 1e9), ""), ["HTTP/1.1 401 Unauthorized"]);
    assert.deepEqual(await ask(head("/security/v1/users/import", `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\n`, 1e9), ""), ["HTTP/1.1 415 Unsupported Media Type"]);
    assert.deepEqual(await ask(head("/security/v1/users", `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\n`, 1e9), ""), ["HTTP/1.1 413 Payload Too Large"]);
    assert.deepEqual(await ask(head("/security/v1/users", "Content-Type: application/json\r\n", 100), ""), ["HTTP/1.1 401 Unauthorized"]);
    // A path that is no route still reads the body it asked for, then answers: the client is not left waiting.
    assert.deepEqual(await ask(head("/no/such/route", `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\n`, 2), "{}"), ["HTTP/1.1 100 Continue", "HTTP/1.1 404 Not Found"]);
    // HTTP/1.0 has no 100 (RFC 9110 10.1.1): its body comes with the head, and the answer is the only one.
    const old = await ask(`POST /portal/auth/v1/providers/builtin/token HTTP/1.0\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: ${login.length}\r\n\r\n${login}`, "");
    assert.deepEqual(old, ["HTTP/1.1 401 Unauthorized"]);
  });

  it("what Node would answer itself is in the error shape: no Host header, an Expect it does not take, a CONNECT", async () => {
    const { port } = new URL(server().baseUrl);
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), "127.0.0.1", () => socket.write(request));
        let text = "";
        socket.on("data", (d) => (text += d));
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
        socket.setTimeout(10_000, () => socket.destroy());
      });
    const noHost = await raw("GET /portal/health HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert.match(noHost, /^HTTP\/1\.1 400 [\s\S]*"ECMS1001-E The request has no Host header\."/);
    const expect = await raw('POST /portal/auth/v1/providers/builtin/token HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    assert.match(expect, /^HTTP\/1\.1 417 [\s\S]*Cache-Control: no-store[\s\S]*"ECMS1001-E This server takes no Expect other than 100-continue, not 200-ok\."/);
    const tunnel = await raw("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    assert.match(tunnel, /^HTTP\/1\.1 405 [\s\S]*Allow: [\s\S]*"ECMS\d{4}-E CONNECT is not allowed/);
    // A CONNECT whose client resets the connection at once ends that connection only.
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.write("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
        socket.resetAndDestroy();
        resolve();
      });
    });
    // HTTP/1.0 has no Host header to send (a load balancer's health check): answered.
    assert.match(await raw("GET /portal/health HTTP/1.0\r\n\r\n"), /^HTTP\/1\.1 200 /);
    assert.equal((await server().api("GET", "/health")).status, 200, "the server is still there");
  });

  it("a HEAD the parser refuses is answered without a body, which a client can read; a GET gets the error shape", async () => {
    const s = server();
    const tooLarge = `/security/v1/users?search=${"a".repeat(20_000)}`;
    const head = await nodeRequest(`${s.baseUrl}${tooLarge}`, "HEAD");
    assert.equal(head.status, 431);
    assert.equal(head.body, "");
    const get = await s.api("GET", tooLarge, { token });
    assertErrorShape(get, 431, "GET");
    assert.equal(Number(head.headers["content-length"]), Buffer.byteLength(get.text));
  });

  it("so is one whose headers arrive in pieces, the request line long before the headers that are too large", async () => {
    const s = server();
    const { hostname, port } = new URL(s.baseUrl);
    const inPieces = (method: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(`${method} /portal/security/v1/users HTTP/1.1\r\nHost: ${hostname}\r\n`);
          setTimeout(() => socket.write(`X-Padding: ${"a".repeat(20_000)}\r\n\r\n`), 100);
        });
        let text = "";
        socket.on("data", (d) => (text += d));
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
        socket.setTimeout(10_000, () => socket.destroy());
      });
    const head = await inPieces("HEAD");
    assert.match(head, /^HTTP\/1\.1 431 /);
    assert.ok(head.endsWith("\r\n\r\n"), `no body after the headers: ${JSON.stringify(head.slice(-80))}`);
    const get = await inPieces("GET");
    assert.match(get, /^HTTP\/1\.1 431 [^]*\r\n\r\n\{"errorMessage":"ECMS\d{4}-E The request headers are too large\."/);
  });

  it("and one that follows another request on a kept-alive connection", async () => {
    const { hostname, port } = new URL(server().baseUrl);
    const afterAnother = (first: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write(`${first} /portal/health HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`));
        let text = "";
        socket.on("data", (d) => {
          // The first answer is in: the next request, on the same connection.
          if (text === "") setTimeout(() => socket.write(`HEAD /portal/health?x=${"a".repeat(20_000)} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`), 50);
          text += d;
        });
        socket.on("close", () => resolve(text.slice(text.indexOf("HTTP/1.1 431"))));
        socket.on("error", reject);
        socket.setTimeout(10_000, () => socket.destroy());
      });
    for (const first of ["GET", "HEAD"]) {
      const answer = await afterAnother(first);
      assert.match(answer, /^HTTP\/1\.1 431 /, `after a ${first}`);
      assert.ok(answer.endsWith("\r\n\r\n"), `after a ${first}, no body: ${JSON.stringify(answer.slice(-80))}`);
    }
  });

  it("and one that arrives with the rest of a body the answer before did not wait for", async () => {
    const { hostname, port } = new URL(server().baseUrl);
    const body = JSON.stringify({ username: "x".repeat(200) });
    const answer = await new Promise<string>((resolve, reject) => {
      // No token: the 401 is answered before the body is read.
      const socket = connect(Number(port), hostname, () =>
        socket.write(`POST /portal/security/v1/users HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`),
      );
      let text = "";
      socket.on("data", (d) => {
        if (text === "") setTimeout(() => socket.write(`${body}HEAD /portal/health?x=${"a".repeat(20_000)} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`), 50);
        text += d;
      });
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
      socket.setTimeout(10_000, () => socket.destroy());
    });
    assert.match(answer, /^HTTP\/1\.1 401 /);
    const refused = answer.slice(answer.indexOf("HTTP/1.1 431"));
    assert.match(refused, /^HTTP\/1\.1 431 /);
    assert.ok(refused.endsWith("\r\n\r\n"), `no body: ${JSON.stringify(refused.slice(-80))}`);
  });
});
