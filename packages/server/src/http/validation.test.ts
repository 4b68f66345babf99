import assert from "node:assert/strict";
import { before, it } from "node:test";
import { describeEachStore } from "../test-support/server.js";
import { encodeCursor } from "./paging.js";

describeEachStore("text the stores cannot hold", (server) => {
  let token: string;
  before(async () => {
    token = await server().login();
  });

  it("NUL and lone surrogates anywhere in a request are a 400 in the error shape, never a 500 (PostgreSQL refuses NUL)", async () => {
    const s = server();
    const group = "00000000-0000-4000-8000-000000000000";
    const cases: [string, string, unknown?][] = [
      ["POST", "/security/v1/users", { username: "nul", firstName: "a\u0000b" }],
      ["POST", "/security/v1/users", { username: "half", description: "x\udc00" }],
      ["POST", "/security/v1/users", { username: "key", "\u0000": 1 }],
      ["GET", "/security/v1/users?max=5&%00=1"], // a key the schema lets through reaches the text check itself
      ["POST", "/security/v1/user-groups", { name: "g", description: "\u0000" }],
      ["POST", "/auth/v1/providers/builtin/token", { username: "sysadmin\u0000", password: "x" }],
      ["GET", "/security/v1/users?search=%00"],
      ["GET", "/security/v1/users?search=a%00&max=5"],
      ["GET", "/security/v1/users/count?search=%00"],
      ["GET", "/security/v1/user-groups?search=%00"],
      ["GET", "/security/v1/audit-events?actor=%00"],
      ["GET", `/security/v1/users?max=1&cursor=${encodeCursor("a\u0000")}`],
      ["PUT", `/security/v1/user-groups/${group}/role-mappings/portal/%00`],
    ];
    for (const [method, path, body] of cases) {
      const r = await s.api(method, path, { token, body });
      assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)} → ${r.text}`);
      assert.match(r.body.errorMessage, /^ECMS1001-E /);
    }
    assert.equal((await s.api("GET", "/security/v1/users/count?search=nul", { token })).body, 0, "nothing written");
  });

  it("takes text outside the Basic Multilingual Plane (surrogate pairs) as it is", async () => {
    const s = server();
    const r = await s.api("POST", "/security/v1/users", { token, body: { username: "emoji", firstName: "😀 𝔘𝔫𝔦" } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.firstName, "😀 𝔘𝔫𝔦");
    const found = await s.api("GET", `/security/v1/users?search=${encodeURIComponent("😀")}`, { token });
    assert.deepEqual(found.body.map((u: { username: string }) => u.username), ["emoji"]);
  });
});
