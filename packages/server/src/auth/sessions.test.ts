import assert from "node:assert/strict";
import { it } from "node:test";
import { insertUser } from "../test-support/fixtures.js";
import { describeEachStore } from "../test-support/server.js";

describeEachStore("token verifier (Sessions.authenticate)", (server) => {
  it("refuses the token of a disabled user whose session row is still live (disabling revokes too: this is the second line)", async () => {
    const { store, sessions } = server().server.deps;
    const user = await insertUser(store, { username: "verifier.disabled" });
    const { access_token } = await sessions.issue(user, null, { bySystemAdministrator: true });
    assert.equal((await sessions.authenticate(access_token))?.user.id, user.id);
    // Disabled behind the API's back: no revocation, so only the verifier's own check can refuse.
    await store.db.updateTable("users").set({ enabled: 0 }).where("id", "=", user.id).execute();
    assert.equal(await sessions.authenticate(access_token), null);
    const session = await store.db.selectFrom("sessions").select("revoked_at").where("user_id", "=", user.id).executeTakeFirstOrThrow();
    assert.equal(session.revoked_at, null);
  });
});
