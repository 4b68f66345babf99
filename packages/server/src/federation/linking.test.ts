import assert from "node:assert/strict";
import { it } from "node:test";
import { identityOf } from "./linking.js";
import { DEFAULT_SETTINGS, type OidcSettings } from "./providers.js";

const settings: OidcSettings = { ...DEFAULT_SETTINGS, trustEmail: true, issuer: "https://idp.example", authorizationUrl: "https://idp.example/auth", tokenUrl: "https://idp.example/token", userInfoUrl: "https://idp.example/me", jwksUrl: "https://idp.example/jwks" };

it("takes email_verified only for the address its own answer gives in the email claim", () => {
  const verified = (c: OidcSettings, idToken: Record<string, unknown>, userInfo?: Record<string, unknown>) => identityOf(c, { sub: "s", ...idToken }, userInfo).emailVerified;
  assert.equal(verified(settings, { email: "a@example.com", email_verified: true }), true);
  assert.equal(verified(settings, { email: "a@example.com" }, { email: "a@example.com", email_verified: true }), true, "userinfo verifies the same address");
  // An ID token naming one address, userinfo verifying another: neither is verified.
  assert.equal(verified(settings, { email: "victim@example.com" }, { email: "mallory@evil.example", email_verified: true }), false);
  assert.equal(verified(settings, { email: "victim@example.com", email_verified: false }, { email: "victim@example.com", email_verified: true }), true, "userinfo's word on that very address");
  assert.equal(verified(settings, { email: "a@example.com", email_verified: "true" }), false, "only the JSON true");
  // Spaces around the address: the address verified is the one stored (trimmed), matched as the user's.
  const spaced = identityOf(settings, { sub: "s", email: " a@example.com ", email_verified: true });
  assert.deepEqual([spaced.email, spaced.emailVerified], ["a@example.com", true]);
  assert.equal(verified(settings, { email: " a@example.com" }, { email: "a@example.com ", email_verified: true }), true);
  // email_verified is about `email`: another claim taken as the email is never verified by it.
  const upn = { ...settings, emailClaim: "upn" };
  assert.equal(verified(upn, { upn: "victim@example.com", email: "mallory@evil.example", email_verified: true }), false);
  assert.equal(identityOf(upn, { sub: "s", upn: "victim@example.com" }).email, "victim@example.com", "still taken as the user's email");
});

it("takes groups the provider left out as too many (Entra ID's _claim_names) as none, not as a claim not sent", () => {
  const groups = (idToken: Record<string, unknown>) => identityOf(settings, { sub: "s", ...idToken }).groups;
  assert.deepEqual(groups({ groups: ["eng"] }), ["eng"]);
  assert.equal(groups({}), undefined, "no groups claim: the mapped groups stay as they are");
  const overage = identityOf(settings, { sub: "s", _claim_names: { groups: "src1" }, _claim_sources: { src1: { endpoint: "https://graph.example/x" } } });
  assert.deepEqual([overage.groups, overage.groupsNotSent], [[], true]);
});
