import { startTestServer } from "../packages/server/src/test-support/server.js";
const s = await startTestServer("sqlite");
const t = await s.login();
const me = (await s.api("GET", "/security/v1/me", { token: t })).body;
for (const n of [100, 5000, 400000]) {
  const r = await s.api("PUT", `/security/v1/users/${me.id}`, { token: t, body: `{"groups":${"[".repeat(n)}${"]".repeat(n)}}` });
  console.log(n, r.status, r.text.slice(0, 200));
}
await s.close();
