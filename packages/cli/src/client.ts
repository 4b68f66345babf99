import { ECM, normalizeBaseUrl } from "ecm-sdk";
import { str, timeoutOf } from "./args.js";
import type { Values } from "./command.js";
import { readConfig, type StoredConfig } from "./config.js";
import { CliError, ExitCode, UsageError } from "./errors.js";

/**
 * A client acting with an API key. A value that is not one (a password or token pasted by mistake) is refused
 * here as wrong credentials, naming where it came from, rather than as the SDK's TypeError.
 */
export function apiKeyClient(url: string, apiKey: string, from: string, t: { timeout?: number }): ECM {
  try {
    // White space around a key pasted into a variable or a file is no part of it: a key holds none.
    return new ECM({ baseUrl: url, apiKey: apiKey.trim(), ...t });
  } catch (error) {
    // The URL was checked before (serverUrl): what the SDK refuses here is the key.
    if (error instanceof TypeError) throw new CliError(`${from} is not an API key: API keys start with ecm_ and hold only letters, digits, - and _`, ExitCode.auth);
    throw error;
  }
}

/**
 * The server's URL from --url, else ECM_URL, else the saved login's (undefined: none), checked here so
 * that a wrong one is said as the option or variable it came from, not as the SDK's `baseUrl`.
 */
export function serverUrl(values: Values, env: NodeJS.ProcessEnv, savedUrl: string | undefined): string | undefined {
  const [url, from] = str(values, "url") !== undefined ? [str(values, "url"), "--url"] : env.ECM_URL ? [env.ECM_URL, "ECM_URL"] : [savedUrl, "the saved login's URL"];
  if (url === undefined) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol !== "http:" && parsed?.protocol !== "https:") throw new UsageError(`${from} must be an http(s) URL such as http://127.0.0.1:8080/portal, not ${JSON.stringify(url)}`);
  return url;
}

/** A login name as the server compares it (packages/server/src/domain/user-fields.ts `fold`). */
function loginFold(name: string): string {
  return name.normalize("NFKC").toLowerCase();
}

/**
 * ECM_USERNAME names whom a command acts as: with its password unset or empty (a script's secret
 * missing), the saved login of another account is not used instead (nor logged out of). Names compare as
 * logins take them (the server's fold: any letter case or Unicode form). A login saved by an earlier ecm
 * without its account's name is not taken for anyone's. `remedy`: what to do about it, for the command.
 */
export function assertSavedLoginIsTheirs(env: NodeJS.ProcessEnv, saved: StoredConfig, remedy: string): void {
  if (!env.ECM_USERNAME || (saved.username !== undefined && loginFold(saved.username) === loginFold(env.ECM_USERNAME))) return;
  const whose = saved.username === undefined ? "does not say whose it is" : `is ${saved.username}'s`;
  throw new CliError(
    `ECM_USERNAME is ${JSON.stringify(env.ECM_USERNAME)} but ECM_PASSWORD is not set, and the saved login ${whose}: ${remedy}`,
    ExitCode.auth,
  );
}

/** Builds the client from --url / ECM_URL / saved URL and ECM_API_KEY / ECM_TOKEN / ECM_USERNAME+ECM_PASSWORD / saved key or token. */
export function makeClient(values: Values, env: NodeJS.ProcessEnv): ECM {
  const saved = readConfig(env);
  const url = serverUrl(values, env, saved.url);
  if (!url) throw new CliError('not logged in: run "ecm login --url URL" (or set ECM_URL)', ExitCode.auth);
  const t = timeoutOf(values);
  if (env.ECM_API_KEY) return apiKeyClient(url, env.ECM_API_KEY, "ECM_API_KEY", t);
  if (env.ECM_TOKEN) return new ECM({ baseUrl: url, token: env.ECM_TOKEN, ...t });
  if (env.ECM_USERNAME && env.ECM_PASSWORD) {
    return new ECM({ baseUrl: url, username: env.ECM_USERNAME, password: env.ECM_PASSWORD, ...t });
  }
  // The saved token belongs to the saved URL only.
  if (saved.token && saved.url && normalizeBaseUrl(url) === normalizeBaseUrl(saved.url)) {
    assertSavedLoginIsTheirs(env, saved, `set ECM_PASSWORD to act as ${env.ECM_USERNAME}, or unset ECM_USERNAME to use the saved login`);
    // `ecm login --api-key` saves the key in the token's place: it is sent the same way and never expires by idling.
    return new ECM({ baseUrl: url, ...(saved.token.startsWith("ecm_") ? { apiKey: saved.token } : { token: saved.token }), ...t });
  }
  throw new CliError(
    `not logged in to ${url}: run "ecm login" (or set ECM_API_KEY, ECM_TOKEN, or ECM_USERNAME and ECM_PASSWORD)`,
    ExitCode.auth,
  );
}
