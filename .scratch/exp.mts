import { startTestServer } from "../packages/server/src/test-support/server.js";
const s = await startTestServer("sqlite");
const t = await s.login();
for (const p of ["/security/v1/export", "/security/v1/export?groupIds="]) { const r = await s.api("GET", p, { token: t }); console.log(p, r.status, r.text.slice(0, 300)); }
await s.close();
