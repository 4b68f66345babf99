import assert from "node:assert/strict";
import { it } from "node:test";
import { describeEachStore, startTestServer } from "../test-support/server.js";
import { seedStore } from "./seed-data.js";

/** `npm run seed`'s store is one the server reads like its own: its directory and providers too. */
describeEachStore("a seeded store", (_server, kind) => {
  it("answers its directory, its identity providers and their users as the server's own", async () => {
    const s = await startTestServer(kind);
    try {
      await seedStore(s.server.deps.store, { users: 200, seed: 3, passwordHash: "not-a-login" });
      const token = await s.login();
      const directories = await s.api<{ name: string; enabled: boolean; syncPeriodSeconds: { full: number } }[]>("GET", "/security/v1/external-user-storage", { token });
      assert.equal(directories.status, 200, directories.text);
      assert.deepEqual(directories.body.map((d) => [d.name, d.enabled, d.syncPeriodSeconds.full]), [["seeded-ldap", false, 0]]);
      const providers = await s.api<{ alias: string; enabled: boolean; clientSecret: string | null }[]>("GET", "/idp/v1/external-identity-provider", { token });
      assert.equal(providers.status, 200, providers.text);
      assert.deepEqual(providers.body.map((p) => [p.alias, p.enabled]), [["seeded-entra", false], ["seeded-google", false]]);
      const offered = await s.api<unknown[]>("GET", "/auth/v1/providers");
      assert.equal(offered.status, 200, offered.text);
      assert.deepEqual(offered.body, [], "disabled providers are not offered on the login page");
      const fromDirectory = await s.api<{ dn: string | null }[]>("GET", "/security/v1/users?source=directory&max=5", { token });
      assert.equal(fromDirectory.status, 200, fromDirectory.text);
      assert.ok(fromDirectory.body.length > 0 && fromDirectory.body.every((u) => u.dn !== null), "seeded directory users, with their DN");
      const users = await s.api<{ federatedIdentities: { alias: string }[] | null }[]>("GET", "/security/v1/users?max=300", { token });
      const aliases = new Set(users.body.flatMap((u) => u.federatedIdentities ?? []).map((f) => f.alias));
      assert.ok(aliases.size > 0 && [...aliases].every((a) => a.startsWith("seeded-")), `users linked to the seeded providers: ${[...aliases]}`);
    } finally {
      await s.close();
    }
  });
});
