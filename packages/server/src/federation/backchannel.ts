import { createHash } from "node:crypto";
import { errors as joseErrors } from "jose";
import type { Kysely } from "kysely";
import { perMinute, recordAudit, type AuditTally } from "../domain/audit.js";
import { DomainError } from "../domain/errors.js";
import { countHit } from "../storage/rate-counters.js";
import type { Database } from "../storage/schema.js";
import { isoNow } from "../storage/time.js";
import type { JwksCache } from "./jwks.js";
import { CLOCK_TOLERANCE_SECONDS } from "./login-flow.js";
import { providerActor, SIGNING_ALGORITHMS, type Provider } from "./providers.js";
import { isUnreachable } from "./refusals.js";

const LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";
/** The oldest logout token taken (by its `iat`). */
const MAX_TOKEN_AGE_SECONDS = 600;

const invalidToken = (message: string) => new DomainError("invalid", `The logout_token is not valid: ${message}.`, { field: "logout_token" });

/**
 * OpenID Connect Back-Channel Logout: the provider says a session (`sid`) or every session of a
 * subject (`sub`) has ended. The token is checked like an ID token (signature, issuer, audience,
 * age) plus the logout event; the sessions opened from it are revoked in the store, so on every node.
 */
export async function backchannelLogout(db: Kysely<Database>, jwks: JwksCache, refusals: AuditTally, p: Provider, logoutToken: string, sourceIp: string | null): Promise<number> {
  const actor = providerActor(p.alias, sourceIp);
  const target = { type: "identity-provider", id: p.uuid, name: p.alias };
  // Anyone may post tokens here: refusals are counted, one event per address, reason and minute.
  const refused = (error: unknown) => {
    const reason = (error as Error).message;
    refusals.add(actor, perMinute(actor, { action: "auth.backchannel-logout", target, outcome: "failure", details: { reason } }));
    return error;
  };
  let claims: Record<string, unknown>;
  try {
    claims = await verifyLogoutToken(jwks, p, logoutToken);
  } catch (error) {
    throw refused(error);
  }
  const sid = typeof claims.sid === "string" ? claims.sid : undefined;
  const sub = typeof claims.sub === "string" ? claims.sub : undefined;
  // Each token is taken once (2.6): a replayed one would end the sessions its subject opened since. Its
  // `jti` is remembered in the store (so on every node) for as long as the token could be taken, in the
  // transaction that ends the sessions: a logout that fails is not remembered, and may be sent again.
  const jti = createHash("sha256").update(String(claims.jti)).digest("base64url");

  return db.transaction().execute(async (trx) => {
    const { hits } = await countHit(trx, `logout-jti|${p.id}|${jti}`, (MAX_TOKEN_AGE_SECONDS + 2 * CLOCK_TOLERANCE_SECONDS) * 1000);
    if (hits > 1) throw refused(invalidToken("it was used before"));
    const revoked = await trx
      .updateTable("sessions")
      .set({ revoked_at: isoNow() })
      .where("provider_id", "=", p.id)
      .where("revoked_at", "is", null)
      .$if(sid !== undefined, (q) => q.where("provider_sid", "=", sid!))
      .$if(sub !== undefined, (q) => q.where("provider_subject", "=", sub!))
      .executeTakeFirst();
    // A login finished but not yet exchanged for a token ends too.
    await trx
      .deleteFrom("login_codes")
      .where("provider_id", "=", p.id)
      .$if(sid !== undefined, (q) => q.where("sid", "=", sid!))
      .$if(sub !== undefined, (q) => q.where("subject", "=", sub!))
      .execute();
    const count = Number(revoked.numUpdatedRows);
    await recordAudit(trx, actor, {
      action: "auth.backchannel-logout",
      target,
      details: { ...(sub !== undefined ? { subject: sub } : {}), ...(sid !== undefined ? { sid } : {}), sessionsEnded: count },
    });
    return count;
  });
}

/** Why jose refused a logout token, in people's words (its own are a library's). */
function logoutTokenProblem(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "it is too old (check the clocks of this server and of the provider)";
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return `its ${error.claim} claim is missing`;
    if (error.claim === "iss") return "it comes from another issuer than this provider";
    if (error.claim === "aud") return "it was issued to another application (check the client id)";
    return `its ${error.claim} is out of range (check the clocks of this server and of the provider)`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "its signature does not verify";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "it is signed with a key the provider does not publish";
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) return "it is signed with an algorithm this server does not take";
  if (error instanceof joseErrors.JOSEError) return "it is not a signed JWT";
  throw error;
}

/** The logout token's claims when it is one (OpenID Connect Back-Channel Logout 1.0, 2.6). */
async function verifyLogoutToken(jwks: JwksCache, p: Provider, logoutToken: string): Promise<Record<string, unknown>> {
  let claims: Record<string, unknown>;
  try {
    ({ payload: claims } = await jwks.verify(logoutToken, p.config.jwksUrl, "logout-token", {
      issuer: p.config.issuer,
      audience: p.clientId,
      algorithms: SIGNING_ALGORITHMS,
      requiredClaims: ["iat", "jti"],
      maxTokenAge: MAX_TOKEN_AGE_SECONDS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    }));
  } catch (error) {
    if (isUnreachable(error)) throw new DomainError("unavailable", "The identity provider's keys cannot be read; the logout token was not checked. Send it again later.", { retryAfterSeconds: 30 });
    throw invalidToken(logoutTokenProblem(error));
  }
  const events = claims.events as Record<string, unknown> | undefined;
  if (typeof events !== "object" || events === null || typeof events[LOGOUT_EVENT] !== "object") throw invalidToken("it carries no back-channel logout event");
  if ("nonce" in claims) throw invalidToken("it carries a nonce");
  if (typeof claims.sid !== "string" && typeof claims.sub !== "string") throw invalidToken("it names neither sid nor sub");
  return claims;
}
