import { randomBytes } from "node:crypto";
import * as oidc from "openid-client";
import type { SecretBox } from "../auth/secret-box.js";
import { boundedFetch } from "./bounded-fetch.js";
import { clientConfiguration, type Provider } from "./providers.js";
import { failingStatus, isInvalidClient, isUnreachable } from "./refusals.js";

export interface ProviderTestStep {
  step: "keys" | "client";
  ok: boolean;
  message: string;
}

export interface ProviderTestResult {
  ok: boolean;
  message: string;
  steps: ProviderTestStep[];
}

/** The provider publishes signing keys at its JWKS URL. */
async function keysStep(p: Provider, timeoutSeconds: number): Promise<ProviderTestStep> {
  try {
    const response = await boundedFetch(p.config.jwksUrl, { signal: AbortSignal.timeout(timeoutSeconds * 1000), headers: { accept: "application/json" } });
    if (!response.ok) return { step: "keys", ok: false, message: `The provider's keys (config.jwksUrl) answer HTTP ${response.status}.` };
    const keys = ((await response.json()) as { keys?: { use?: string }[] }).keys;
    const signing = Array.isArray(keys) ? keys.filter((k) => k.use === undefined || k.use === "sig").length : 0;
    if (signing === 0) return { step: "keys", ok: false, message: "The provider's key set (config.jwksUrl) holds no signing key: no ID token could be checked." };
    return { step: "keys", ok: true, message: `The provider publishes ${signing} signing key${signing === 1 ? "" : "s"}.` };
  } catch (error) {
    if (isUnreachable(error)) return { step: "keys", ok: false, message: "The provider's keys (config.jwksUrl) cannot be reached." };
    return { step: "keys", ok: false, message: "The provider's keys (config.jwksUrl) are not a JSON key set." };
  }
}

/**
 * The token endpoint accepts this service's client credentials: a code no login made is sent with
 * them, which a provider answers `invalid_grant` once it has accepted the client, `invalid_client`
 * when not. The secret goes only to the stored token endpoint, as at every login.
 */
async function clientStep(p: Provider, secrets: SecretBox, redirectUri: string, timeoutSeconds: number): Promise<ProviderTestStep> {
  const configuration = clientConfiguration(p, secrets, timeoutSeconds);
  const code = `ecm-security-test-${randomBytes(16).toString("base64url")}`;
  const accepted: ProviderTestStep = { step: "client", ok: true, message: "The token endpoint accepts this service's client credentials." };
  try {
    await oidc.genericGrantRequest(configuration, "authorization_code", { code, redirect_uri: redirectUri, code_verifier: randomBytes(32).toString("base64url") });
    return accepted;
  } catch (error) {
    if (error instanceof oidc.ResponseBodyError && error.error === "invalid_grant") return accepted;
    if (isUnreachable(error)) return { step: "client", ok: false, message: "The token endpoint (config.tokenUrl) cannot be reached." };
    // Its own trouble, as a login takes it (a 503 to try again), not a refusal of this client.
    const failing = failingStatus(error);
    if (failing !== null) return { step: "client", ok: false, message: `The token endpoint (config.tokenUrl) answers HTTP ${failing}: the provider is failing now; test again later.` };
    if (isInvalidClient(error)) {
      return { step: "client", ok: false, message: "The token endpoint refuses this service's client credentials: check clientId, clientSecret and config.clientAuthMethod against the client registered at the provider." };
    }
    if (error instanceof oidc.ResponseBodyError) return { step: "client", ok: false, message: `The token endpoint refuses this service's requests: ${error.error}${error.error_description ? ` (${error.error_description})` : ""}.` };
    return { step: "client", ok: false, message: "The token endpoint (config.tokenUrl) gives answers that are not a token endpoint's." };
  }
}

/**
 * An administrator's check of a stored provider, through what a login needs of it besides a person:
 * its keys, and its token endpoint taking this service's client credentials (a wrong secret shows
 * here, not first at a user's login). Nothing is written.
 */
export async function testProvider(p: Provider, secrets: SecretBox, redirectUri: string, timeoutSeconds: number): Promise<ProviderTestResult> {
  const steps = [await keysStep(p, timeoutSeconds), await clientStep(p, secrets, redirectUri, timeoutSeconds)];
  const failed = steps.find((s) => !s.ok);
  return { ok: !failed, message: failed?.message ?? "The provider's keys and its token endpoint work with this configuration.", steps };
}
