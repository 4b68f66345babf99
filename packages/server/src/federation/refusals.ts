import { errors as joseErrors } from "jose";
import * as oidc from "openid-client";
import { DomainError } from "../domain/errors.js";
import { LoginRefused } from "./linking.js";
import { PROVIDER_ANSWER_MAX, tooLarge } from "./bounded-fetch.js";

/**
 * Why a provider's answer was refused, from openid-client's and jose's errors: the check in the audit
 * log's words (`reason`), what it means in people's words (the answer, the browser's page), and the
 * library's own words for the server log. The libraries' wording ("invalid response encountered",
 * ERR_JWS_…) helps an operator, not the person logging in.
 */

/** A failed check of the provider's answer; `reason` names the check in the audit log. */
export function checkFailed(reason: string, message: string): DomainError {
  return new DomainError("invalid", `The identity provider's answer failed a check: ${message}.`, { reason });
}

/** The provider could not be reached (or timed out). */
export function isUnreachable(error: unknown): boolean {
  const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  // openid-client wraps its own timeouts as a ClientError with code OAUTH_TIMEOUT.
  return (error instanceof TypeError && e.message === "fetch failed") || e.name === "TimeoutError" || e.name === "AbortError" || e.code === "OAUTH_TIMEOUT" || error instanceof joseErrors.JWKSTimeout;
}

/** The HTTP status of a provider failing itself (5xx), which openid-client hands on as the cause of its error; null for anything else. */
export function failingStatus(error: unknown): number | null {
  const status = (error as { cause?: { status?: unknown } }).cause?.status;
  return error instanceof oidc.ClientError && typeof status === "number" && status >= 500 ? status : null;
}

/**
 * The provider's token endpoint refuses this service's client credentials (`invalid_client`: a wrong
 * client secret or id, or another authentication method): a fault of the provider's configuration
 * here, which an administrator must mend, not a refusal of the person logging in.
 */
function clientRefused(): DomainError {
  return new DomainError("unavailable", "This identity provider is misconfigured here: it does not accept this service's client id and secret. Please tell an administrator.", {
    reason: "invalid-client-credentials",
    // An administrator must mend it: not worth trying again in the 5 s of a busy server.
    retryAfterSeconds: 300,
  });
}

/**
 * The provider's authorization endpoint refusing the request as this service sends it (RFC 6749
 * 4.1.2.1: scopes it does not allow this client, a flow or parameter it does not take): like a client
 * refused, a setting to mend here, whoever logs in.
 */
const REQUEST_REFUSED = new Set(["invalid_request", "unauthorized_client", "unsupported_response_type", "invalid_scope"]);
/** The provider's own trouble at its authorization endpoint (RFC 6749 4.1.2.1): nothing wrong with the login, try again later. */
const PROVIDER_TROUBLE = new Set(["server_error", "temporarily_unavailable"]);

/** The provider's error answer to the login request: a setting to mend, its passing trouble, or the person refused (access_denied, or what else it says). */
function authorizationRefused(error: oidc.AuthorizationResponseError): DomainError {
  const reason = `provider-error:${error.error}`;
  if (REQUEST_REFUSED.has(error.error)) {
    return new DomainError("unavailable", "This identity provider is misconfigured here: it refuses the login request this service sends it (its scopes or client settings). Please tell an administrator.", {
      reason,
      retryAfterSeconds: 300,
    });
  }
  if (PROVIDER_TROUBLE.has(error.error)) return new DomainError("unavailable", "The identity provider cannot complete logins now; try again later.", { reason, retryAfterSeconds: 30 });
  return new LoginRefused(reason, null);
}

/** The token endpoint's refusal is of the client itself, not of the code it was sent (a challenge, a 401, invalid_client or unauthorized_client). */
export function isInvalidClient(error: unknown): boolean {
  // A token endpoint challenges (401) only a client it does not accept, whatever error it names or
  // none (Basic realm=…); unauthorized_client is a client the provider does not let use this flow.
  if (error instanceof oidc.WWWAuthenticateChallengeError) return true;
  return error instanceof oidc.ResponseBodyError && (error.error === "invalid_client" || error.error === "unauthorized_client" || error.status === 401);
}

const CLOCKS = "if this repeats, check the clocks of this server and of the provider";

/** Each ID token claim whose check failed, in people's words. */
const CLAIM_FAILED: Record<string, string> = {
  iss: "the ID token comes from another issuer than this provider (wrong issuer)",
  aud: "the ID token was issued to another application (wrong audience: check the client id)",
  azp: "the ID token was issued to another application (wrong authorized party: check the client id)",
  exp: `the ID token has expired (${CLOCKS})`,
  iat: `the ID token's time of issue is too far in the past or in the future (${CLOCKS})`,
  nbf: `the ID token is not valid yet (${CLOCKS})`,
  nonce: "the ID token belongs to another login (nonce mismatch)",
  c_hash: "the ID token belongs to another login (its code hash does not match)",
  s_hash: "the ID token belongs to another login (its state hash does not match)",
  auth_time: "the login at the provider is too long ago",
  sub: "the ID token names no user (its sub claim is empty, or longer than the 255 characters OpenID Connect allows)",
};

/** Claims whose value an operator may see in the server log (never the nonce, never personal data). */
const LOGGED_CLAIMS = ["iss", "aud", "azp", "exp", "iat", "nbf"];

export const claimFailed = (claim: string) => checkFailed(`id-token-${claim}`, CLAIM_FAILED[claim] ?? `the ID token's ${claim} claim is not valid`);
const claimMissing = (claim: string) => checkFailed(`id-token-${claim}-missing`, `the ID token has no ${claim} claim`);
const badSignature = () => checkFailed("id-token-signature", "the ID token's signature is not valid (it was not made with a key the provider publishes)");
const unknownKey = () => checkFailed("id-token-unknown-key", "the ID token was signed with a key the provider does not publish");
const badAlgorithm = () => checkFailed("id-token-algorithm", "the ID token is not signed with a public-key algorithm accepted here");
const malformed = () => checkFailed("id-token-malformed", "the ID token could not be read");

/**
 * oauth4webapi's failure inside openid-client's ClientError: its message and, where it names one, the
 * ID token's claim or the JSON answer's attribute (userinfo's `sub`) whose check failed.
 */
function innerFailure(error: oidc.ClientError): { message: string; claim?: string; attribute?: string } {
  const inner = error.cause as { message?: string; cause?: { claim?: string; attribute?: string } } | undefined;
  return { message: typeof inner?.message === "string" ? inner.message : error.message, claim: inner?.cause?.claim, attribute: inner?.cause?.attribute };
}

/** Which check an openid-client or jose failure is, as the error the route answers (unknown failures are rethrown). */
export function classify(error: unknown, step: "token" | "userinfo" = "token"): DomainError {
  if (error instanceof DomainError) return error;
  // A provider that cannot be reached, or that fails itself (HTTP 5xx): nothing wrong with the login, try again later.
  if (isUnreachable(error) || failingStatus(error) !== null) {
    return new DomainError("unavailable", "The identity provider cannot be reached; try again later.", { reason: "provider-unavailable", retryAfterSeconds: 30 });
  }
  if (tooLarge(error)) return checkFailed("answer-too-large", `an answer of the provider is larger than ${PROVIDER_ANSWER_MAX}`);
  if (error instanceof oidc.AuthorizationResponseError) return authorizationRefused(error);
  const userinfoInvalid = () => checkFailed("userinfo-response-invalid", "the provider's user information endpoint (config.userInfoUrl) did not answer with the user's claims (see the server log)");
  // The user information endpoint refusing the access token (401, a challenge) says nothing of the client's credentials.
  if (step === "userinfo" && (error instanceof oidc.ResponseBodyError || error instanceof oidc.WWWAuthenticateChallengeError)) return userinfoInvalid();
  if (isInvalidClient(error)) return clientRefused();
  // invalid_grant: the code was used already, has expired, or was issued for another login (PKCE, redirect) — a failed check, not a refused person.
  if (error instanceof oidc.ResponseBodyError && error.error === "invalid_grant") return checkFailed("code-refused", "the provider did not take the login's code (used already, expired, or issued for another login); log in again");
  if (error instanceof oidc.ResponseBodyError) return new LoginRefused(`token-refused:${error.error}`, null);
  if (error instanceof oidc.ClientError) {
    // The ID token's claims, checked by openid-client at the code exchange (its signature is jose's, below).
    const { message, claim, attribute } = innerFailure(error);
    if (claim) return claimFailed(claim);
    const missing = /^JWT "(\w+)" \(.*\) claim missing$/.exec(message)?.[1];
    if (missing) return claimMissing(missing);
    if (/"alg" header parameter/.test(message)) return badAlgorithm();
    if (/"id_token" property/.test(message)) return checkFailed("id-token-missing", "the provider sent no ID token");
    if (error.code === "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED" && attribute === "sub") return checkFailed("userinfo-subject-mismatch", "the ID token and the provider's user information are of two different users");
    if (error.code === "OAUTH_RESPONSE_IS_NOT_CONFORM" || error.code === "OAUTH_RESPONSE_IS_NOT_JSON") {
      return step === "userinfo" ? userinfoInvalid() : checkFailed("token-response-invalid", "the provider's token endpoint gave an answer that is not one (see the server log)");
    }
    return malformed();
  }
  // jose says JWTExpired for a token issued too long ago (maxTokenAge) too: its claim tells which.
  if (error instanceof joseErrors.JWTExpired) return claimFailed(error.claim === "iat" ? "iat" : "exp");
  if (error instanceof joseErrors.JWTClaimValidationFailed) return error.reason === "missing" ? claimMissing(error.claim) : claimFailed(error.claim);
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return badSignature();
  if (error instanceof joseErrors.JWKSNoMatchingKey) return unknownKey();
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) return badAlgorithm();
  if (error instanceof joseErrors.JOSEError) return malformed();
  throw error;
}

/**
 * The library's words for a refusal, for the server log: class, code, message, and the failed
 * claim's value where it is one an operator may see (issuer, audience, times). Never a token, a
 * code, a nonce or a secret; null where there is nothing more than the refusal says.
 */
export function libraryDetail(error: unknown): string | null {
  if (error instanceof DomainError || !(error instanceof Error)) return null;
  const code = (error as { code?: unknown }).code;
  const parts = [`${error.name}${typeof code === "string" ? ` ${code}` : ""}: ${error.message}`];
  let claim: string | undefined;
  let claims: Record<string, unknown> | undefined;
  if (error instanceof oidc.ClientError) {
    const inner = innerFailure(error);
    if (inner.message !== error.message) parts.push(inner.message);
    claim = inner.claim;
    claims = (error.cause as { cause?: { claims?: Record<string, unknown> } } | undefined)?.cause?.claims;
  } else if (error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired) {
    claim = error.claim;
    claims = error.payload as Record<string, unknown>;
  } else if (error instanceof oidc.ResponseBodyError || error instanceof oidc.AuthorizationResponseError) {
    parts.push(`the provider says: ${error.error}${error.error_description ? ` (${error.error_description})` : ""}`);
  } else if (error instanceof oidc.WWWAuthenticateChallengeError) {
    for (const { scheme, parameters } of error.cause) parts.push(`the provider's ${scheme} challenge says: ${parameters.error ?? "no error"}${parameters.error_description ? ` (${parameters.error_description})` : ""}`);
  }
  if (claim && LOGGED_CLAIMS.includes(claim) && claims && claim in claims) parts.push(`the token's ${claim} is ${JSON.stringify(claims[claim])}`);
  return parts.join("; ");
}
