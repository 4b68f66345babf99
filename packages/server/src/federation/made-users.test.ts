import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { providerFor, providerLogin } from "../test-support/provider-login.js";
import type { TestProvider } from "../test-support/oidc-provider.js";
import { recording } from "../test-support/recording.js";
import { describeEachStore, startTestServer } from "../test-support/server.js";
import { createProviderAdmin } from "./providers.js";

describeEachStore("users made by identity providers that no longer vouch for them", (server, kind) => {
  let admin: string;
  let corp: TestProvider;
  let made: string[];

  before(async () => {
    const s = server();
    admin = await s.login();
    corp = await providerFor(s, admin, "made-corp");
    made = [];
    for (const name of ["made-ann", "made-bob", "made-cyd"]) {
      corp.accounts.set(`${name}-sub`, { preferred_username: name });
      await providerLogin(s, "made-corp", `${name}-sub`);
      made.push((await s.api("GET", `/security/v1/users?search=${name}`, { token: admin })).body[0].id);
    }
  });
  after(async () => {
    await corp?.close();
  });

  const sourceOf = async (id: string) => (await server().api("GET", `/security/v1/users/${id}?extendedInfo=true`, { token: admin })).body.source.type;

  it("a start with no release pending reads no user, however many providers made and still vouch for", async () => {
    const { store, secrets } = server().server.deps;
    const { store: recorded, take } = recording(store);
    take();
    // What every start of every worker runs: with nothing left to do, it must not walk the users
    // (a million of them made by one provider would be read at each start).
    await createProviderAdmin(recorded, secrets, 10).releaseMadeUsers();
    const read = take().filter((q) => /\busers\b/.test(q.sql));
    assert.deepEqual(read.map((q) => q.sql), []);
    for (const id of made) assert.equal(await sourceOf(id), "identity-provider");
  });

  it("a removal that a stop cut short after its commit is finished by the next start, two nodes starting at once", async () => {
    const s = server();
    const { db } = s.server.deps.store;
    const { id: providerId } = await db.selectFrom("identity_providers").select("id").where("alias", "=", "made-corp").executeTakeFirstOrThrow();
    // A stop between the removal's commit and the release of its users: the removal and what it left to
    // do are in the store (one transaction); the users still name the provider.
    assert.equal((await s.api("DELETE", "/idp/v1/external-identity-provider/made-corp", { token: admin })).status, 204);
    for (const id of made) assert.equal(await sourceOf(id), "local");
    await db.transaction().execute(async (trx) => {
      await trx.updateTable("users").set({ identity_provider_id: providerId }).where("uuid", "in", made).execute();
      await trx.insertInto("provider_releases").values({ provider_id: providerId }).execute();
    });
    for (const id of made) assert.equal(await sourceOf(id), "identity-provider");
    const nodes = await Promise.all([0, 1].map(() => startTestServer(kind, { store: s.server.deps.config.store })));
    // A close waits for the start's release.
    await Promise.all(nodes.map((n) => n.close()));
    for (const id of made) assert.equal(await sourceOf(id), "local");
    assert.deepEqual(await db.selectFrom("provider_releases").selectAll().execute(), [], "nothing is left pending");
  });
});
