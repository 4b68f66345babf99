import assert from "node:assert/strict";
import { before, it } from "node:test";
import { describeEachStore } from "../../test-support/server.js";

const PASSWORD = "Correct-Horse-1";

describeEachStore("the caller's own account (/security/v1/me)", (server) => {
  let token: string;
  before(async () => {
    token = await server().login();
  });

  const loginStatus = (username: string, password: string) => server().api("POST", "/auth/v1/providers/builtin/token", { body: { username, password } });
  const createUser = async (body: Record<string, unknown>) => {
    const r = await server().api("POST", "/security/v1/users", { token, body });
    assert.equal(r.status, 201, r.text);
    return r.body;
  };

  it("GET /me answers the caller's own user, whatever its roles; without a token, 401", async () => {
    const s = server();
    await createUser({ username: "self.viewer", password: PASSWORD });
    const own = await s.api("GET", "/security/v1/me", { token: await s.login("self.viewer", PASSWORD) });
    assert.equal(own.status, 200, own.text);
    assert.equal(own.body.username, "self.viewer");
    assert.equal((await s.api("GET", "/security/v1/me")).status, 401);
  });

  it("PUT /me/password loses to an administrator's reset committed while its new password was hashed", async () => {
    const s = server();
    const user = await createUser({ username: "self.reset.race", password: PASSWORD });
    const own = await s.login("self.reset.race", PASSWORD);
    // The change's hash waits until the reset is done: the order a slow hash leaves to chance.
    const { hasher } = s.server.deps;
    const hash = hasher.hash.bind(hasher);
    let reached!: () => void;
    let release!: () => void;
    const atHash = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    hasher.hash = async (password) => {
      hasher.hash = hash;
      reached();
      await released;
      return hash(password);
    };
    const change = s.api("PUT", "/security/v1/me/password", { token: own, body: { currentPassword: PASSWORD, newPassword: "Owner-Keeps-It-7" } });
    await atHash;
    const reset = await s.api("PUT", `/security/v1/users/${user.id}/reset-password`, { token, body: { type: "password", value: "Admin-Chose-It-9" } });
    assert.equal(reset.status, 204, reset.text);
    release();
    const refused = await change;
    assert.equal(refused.status, 409, refused.text);
    assert.match(refused.body.errorMessage, /log in again/);
    assert.equal((await loginStatus("self.reset.race", "Admin-Chose-It-9")).status, 200);
    assert.equal((await loginStatus("self.reset.race", "Owner-Keeps-It-7")).status, 401);
  });

  it("PUT /me/password: needs the current password, keeps this token, revokes the others", async () => {
    const s = server();
    await createUser({ username: "self.service", password: PASSWORD });
    const tokenA = await s.login("self.service", PASSWORD);
    const tokenB = await s.login("self.service", PASSWORD);
    const wrong = await s.api("PUT", "/security/v1/me/password", { token: tokenA, body: { currentPassword: "not-it-at-all", newPassword: "Another-Pass-4" } });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body.errorMessage, /current password is incorrect/);
    const same = await s.api("PUT", "/security/v1/me/password", { token: tokenA, body: { currentPassword: PASSWORD, newPassword: PASSWORD } });
    assert.equal(same.status, 400);
    const short = await s.api("PUT", "/security/v1/me/password", { token: tokenA, body: { currentPassword: PASSWORD, newPassword: "short" } });
    assert.equal(short.status, 400);
    const anonymous = await s.api("PUT", "/security/v1/me/password", { body: { currentPassword: PASSWORD, newPassword: "Another-Pass-4" } });
    assert.equal(anonymous.status, 401);
    const ok = await s.api("PUT", "/security/v1/me/password", { token: tokenA, body: { currentPassword: PASSWORD, newPassword: "Another-Pass-4" } });
    assert.equal(ok.status, 204, ok.text);
    assert.equal((await s.api("GET", "/security/v1/me", { token: tokenA })).status, 200);
    assert.equal((await s.api("GET", "/security/v1/me", { token: tokenB })).status, 401);
    assert.equal((await loginStatus("self.service", "Another-Pass-4")).status, 200);
    assert.equal((await loginStatus("self.service", PASSWORD)).status, 401);
  });
});
