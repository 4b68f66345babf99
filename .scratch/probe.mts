import { startTestServer } from "../packages/server/src/test-support/server.js";
const s = await startTestServer("sqlite");
const t = await s.login();
for (const [m, p, body] of [["GET", "/security/v1/users/%E0%A4%A"], ["GET", "/security/v1/users/" + "a".repeat(200)], ["PATCH", "/security/v1/users"], ["GET", "/security/v1/users?locked=true"], ["POST", "/security/v1/users", { username: "x", foo: 1, bar: 2 }], ["POST", "/security/v1/users", { username: "x", email: "nope" }], ["POST", "/security/v1/users", { username: "x y" }], ["GET", "/security/v1/users?max=abc"],["GET", "/secu%rity"], ["GET","/docs/"]] as const) {
  const r = await s.api(m, p, { token: t, body });
  console.log(m, p.slice(0, 60), r.status, r.text.slice(0, 300), r.headers.get("allow"));
}
await s.close();
