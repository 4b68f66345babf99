import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { createGroup, createUser, USER_PASSWORD } from "../../test-support/accounts.js";
import type { TestProvider } from "../../test-support/oidc-provider.js";
import { providerFor, providerLogin } from "../../test-support/provider-login.js";
import { describeEachStore } from "../../test-support/server.js";

describeEachStore("a user's links to identity providers, by hand", (server) => {
  let admin: string;
  let corp: TestProvider;

  before(async () => {
    const s = server();
    admin = await s.login();
    const defaultGroup = await createGroup(s, admin, "corp-staff");
    corp = await providerFor(s, admin, "corp", { defaultGroupList: [defaultGroup] });
  });
  after(async () => {
    await corp?.close();
  });

  const me = async (token: string) => (await server().api("GET", "/security/v1/me", { token })).body;
  const audit = async (action: string) => (await server().api("GET", `/security/v1/audit-events?action=${action}`, { token: admin })).body as any[];

  it("a service account, which logs in only with its keys, is not linked; one linked before is refused at the provider's login", async () => {
    const s = server();
    const robot = await s.api<{ id: string }>("POST", "/security/v1/users", { token: admin, body: { username: "robot-linked", serviceAccount: true } });
    assert.equal(robot.status, 201, robot.text);
    const refused = await s.api("PUT", `/security/v1/users/${robot.body.id}/federated-identities/corp`, { token: admin, body: { subject: "robot-at-corp" } });
    assert.equal(refused.status, 409, refused.text);
    assert.match(refused.body.errorMessage, /A service account logs in only with its API keys/);
    // A link made before this was refused.
    const { db } = s.server.deps.store;
    const [user, provider] = await Promise.all([
      db.selectFrom("users").select("id").where("uuid", "=", robot.body.id).executeTakeFirstOrThrow(),
      db.selectFrom("identity_providers").select("id").where("alias", "=", "corp").executeTakeFirstOrThrow(),
    ]);
    await db.insertInto("federated_identities").values({ provider_id: provider.id, subject: "robot-at-corp", user_id: user.id, created_at: new Date().toISOString(), by_system_administrator: 1 }).execute();
    // Refused at the callback: no login code, no success, and its groups do not follow the provider's.
    await assert.rejects(providerLogin(s, "corp", "robot-at-corp"), /callback answered 401/);
    const events = (await audit("auth.provider-login")).filter((e) => e.targetId === robot.body.id);
    assert.deepEqual(events.map((e) => [e.outcome, e.details.reason]), [["failure", "service-account"]]);
    const groups = (await s.api<{ name: string }[]>("GET", `/security/v1/users/${robot.body.id}/user-groups`, { token: admin })).body.map((g) => g.name);
    assert.deepEqual(groups, ["users"]);
  });

  it("a user of identity providers only is not asked to change a password it does not have (it would be held at its password page)", async () => {
    const s = server();
    corp.accounts.set("pat-at-corp", { preferred_username: "pat.provider" });
    const pat = await me(await providerLogin(s, "corp", "pat-at-corp"));
    const put = await s.api("PUT", `/security/v1/users/${pat.id}`, { token: admin, body: { changePassword: true } });
    assert.equal(put.status, 400, put.text);
    assert.match(put.body.errorMessage, /logs in through identity providers only and has no password here to change/);
    const imported = await s.api("POST", "/security/v1/users/import", { token: admin, body: `${JSON.stringify({ username: pat.username, changePassword: true })}\n`, headers: { "content-type": "application/x-ndjson" } });
    assert.match(imported.text.split("\n")[0]!, /"status":"failed".*has no password here to change/);
    assert.equal((await s.api("GET", `/security/v1/users/${pat.id}?extendedInfo=true`, { token: admin })).body.changePassword, false);
    // One asked to change a password it never had, then linked: the link takes that back, as it could never be done.
    const quinn = await s.api<{ id: string }>("POST", "/security/v1/users", { token: admin, body: { username: "quinn.linked", changePassword: true } });
    assert.equal(quinn.status, 201, quinn.text);
    assert.equal((await s.api("PUT", `/security/v1/users/${quinn.body.id}/federated-identities/corp`, { token: admin, body: { subject: "quinn-at-corp" } })).status, 204);
    assert.equal((await s.api("GET", `/security/v1/users/${quinn.body.id}?extendedInfo=true`, { token: admin })).body.changePassword, false);
  });

  it("links and unlinks by hand; the linked user logs in through the provider", async () => {
    const s = server();
    const hank = await createUser(s, admin, "hank");
    const path = `/security/v1/users/${hank.uuid}/federated-identities/corp`;
    assert.equal((await s.api("PUT", path, { token: admin, body: { subject: "hank-at-corp" } })).status, 204);
    assert.equal((await s.api("PUT", path, { token: admin, body: { subject: "hank-at-corp" } })).status, 204, "idempotent");
    const hankGroups = (await s.api("GET", `/security/v1/users/${hank.uuid}/user-groups`, { token: admin })).body.map((g: { name: string }) => g.name);
    assert.ok(hankGroups.includes("corp-staff"), `a user of the provider joins its default groups: ${hankGroups.join(", ")}`);
    assert.ok((await audit("user.link")).some((e) => e.targetId === hank.uuid && e.details.by === "administrator" && e.details.groupsJoined?.[0] === "corp-staff"), "audited with the groups joined");
    assert.deepEqual((await s.api("GET", `/security/v1/users/${hank.uuid}`, { token: admin })).body.federatedIdentities, [{ alias: "corp", displayName: "corp SSO" }]);
    // The links with their subjects (what an unlink may name), for administrators only.
    const links = await s.api("GET", `/security/v1/users/${hank.uuid}/federated-identities`, { token: admin });
    assert.deepEqual([links.status, links.body], [200, [{ alias: "corp", displayName: "corp SSO", subject: "hank-at-corp" }]]);
    assert.equal((await s.api("GET", `/security/v1/users/${(await createUser(s, admin, "hank-unlinked")).uuid}/federated-identities`, { token: admin })).body.length, 0);
    assert.equal((await s.api("GET", "/security/v1/users/00000000-0000-4000-8000-000000000000/federated-identities", { token: admin })).status, 404);
    assert.equal((await s.api("GET", `/security/v1/users/${hank.uuid}/federated-identities`, { token: await s.login("hank-unlinked", USER_PASSWORD) })).status, 403);
    corp.accounts.set("hank-at-corp", { preferred_username: "someone-else" });
    const token = await providerLogin(s, "corp", "hank-at-corp");
    assert.equal((await me(token)).id, hank.uuid);
    // The subject is taken: another user cannot have it.
    const other = await createUser(s, admin, "hank2");
    assert.equal((await s.api("PUT", `/security/v1/users/${other.uuid}/federated-identities/corp`, { token: admin, body: { subject: "hank-at-corp" } })).status, 409);
    for (const body of [{}, { subject: "" }, { subject: "x", more: 1 }, { subject: "s".repeat(256) }, { subject: " " }, { subject: "hank-at-corp\n" }]) {
      assert.equal((await s.api("PUT", path, { token: admin, body })).status, 400, JSON.stringify(body));
    }
    // A subject pasted with a space around it would be a link no login ever uses: said, not kept.
    const padded = await s.api("PUT", path, { token: admin, body: { subject: " hank-at-corp" } });
    assert.equal(padded.status, 400, padded.text);
    assert.match(padded.body.errorMessage, /subject must not start or end with white space/);
    assert.equal((await s.api("PUT", `/security/v1/users/${hank.uuid}/federated-identities/nope`, { token: admin, body: { subject: "x" } })).status, 404);
    // An unlink that names a subject removes that link only.
    const wrong = await s.api("DELETE", path, { token: admin, body: { subject: "someone-else-at-corp" } });
    assert.equal(wrong.status, 409, wrong.text);
    assert.match(wrong.body.errorMessage, /^ECMS1302-E The user is linked to another subject of this identity provider: nothing was unlinked\.$/);
    for (const body of [{ subject: "" }, { subject: "hank-at-corp", more: 1 }]) {
      assert.equal((await s.api("DELETE", path, { token: admin, body })).status, 400, JSON.stringify(body));
    }
    assert.equal((await s.api("GET", "/security/v1/me", { token })).status, 200, "still linked");
    // Linked to another subject instead: the sessions of the replaced one end too.
    assert.equal((await s.api("PUT", path, { token: admin, body: { subject: "hank-new-at-corp" } })).status, 204);
    assert.equal((await s.api("GET", "/security/v1/me", { token })).status, 401, "the replaced subject's sessions end");
    assert.equal((await s.api("PUT", path, { token: admin, body: { subject: "hank-at-corp" } })).status, 204);
    const again = await providerLogin(s, "corp", "hank-at-corp");
    assert.equal((await s.api("DELETE", path, { token: admin, body: { subject: "hank-at-corp" } })).status, 204);
    assert.equal((await s.api("GET", "/security/v1/me", { token: again })).status, 401, "its provider sessions end");
    assert.equal((await s.api("DELETE", path, { token: admin, body: { subject: "hank-at-corp" } })).status, 404);
    assert.equal((await s.api("DELETE", path, { token: admin })).status, 404);
    assert.equal((await s.api("GET", `/security/v1/users/${hank.uuid}`, { token: admin })).body.federatedIdentities, null);
    const events = await audit("user.unlink");
    assert.ok(events.some((e) => e.targetId === hank.uuid && e.details.subject === "hank-at-corp" && !e.details.leftWithoutLogin));
    const user = await createUser(s, admin, "plain");
    assert.equal((await s.api("PUT", `/security/v1/users/${user.uuid}/federated-identities/corp`, { token: await s.login("plain", USER_PASSWORD) , body: { subject: "y" } })).status, 403);
  });
});
