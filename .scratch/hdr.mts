import { startTestServer } from "../packages/server/src/test-support/server.js";
import { writeFileSync } from "node:fs";
const s = await startTestServer("sqlite");
const t = await s.login();
for (const p of ["/security/v1/users", "/docs/", "/docs/static/swagger-ui.css", "/nope"]) { const r = await s.api("GET", p, { token: t }); console.log(p, r.status, JSON.stringify(Object.fromEntries(r.headers))); }
writeFileSync("/tmp/secb-url", s.baseUrl);
await new Promise((r) => setTimeout(r, 40000));
await s.close();
