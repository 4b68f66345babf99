import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startMain } from "../test-support/main-process.js";

/** Two logins through "a proxy" at 127.0.0.1 that names its clients in X-Forwarded-For. */
async function forwardedLogins(env: Record<string, string>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "ecm-forwarding-"));
  const server = await startMain({ ECM_DATA_DIR: dir, ECM_ADMIN_PASSWORD: "Forwarded-Admin-Pass-7", ...env });
  try {
    for (const client of ["198.51.100.7", "198.51.100.8"]) {
      const r = await fetch(`${server.baseUrl}/auth/v1/providers/builtin/token`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": client },
        body: JSON.stringify({ username: "nobody", password: "not-the-password-1" }),
      });
      assert.equal(r.status, 401);
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return server.output();
}

describe("X-Forwarded-For from a peer ECM_TRUST_PROXY does not name", () => {
  it("is logged as a warning once, naming the peer: every client behind it would share its address for the login limits and lockouts", async () => {
    const log = await forwardedLogins({});
    const warnings = log.split("\n").filter((line) => line.includes("ECM_TRUST_PROXY"));
    assert.equal(warnings.length, 1, log);
    const warning = JSON.parse(warnings[0]!);
    assert.equal(warning.level, 40);
    assert.equal(warning.peer, "127.0.0.1");
    assert.match(warning.msg, /X-Forwarded-For from 127\.0\.0\.1.*ECM_TRUST_PROXY/);
  });

  it("is not, from a proxy it trusts", async () => {
    const log = await forwardedLogins({ ECM_TRUST_PROXY: "127.0.0.1" });
    assert.doesNotMatch(log, /ECM_TRUST_PROXY/);
  });
});
