import { ECM, ECMAuthError } from "ecm-sdk";
import { timeoutOf } from "../../args.js";
import { assertSavedLoginIsTheirs, serverUrl } from "../../client.js";
import type { Command, Values } from "../../command.js";
import { readConfig, writeConfig } from "../../config.js";
import { CliError, ExitCode } from "../../errors.js";

export const logout: Command = {
  path: ["logout"],
  args: "",
  summary: "end the session of ECM_TOKEN, else revoke the saved token and forget it (an API key is only forgotten; with ECM_USERNAME, only that account's login)",
  formats: [],
  async run(ctx) {
    const { env } = ctx.io;
    // The credentials every other command uses instead of a saved login are the ones logged out of.
    if (env.ECM_API_KEY) {
      ctx.note("Nothing to log out of: ECM_API_KEY is an API key, valid until it is revoked (ecm api-keys revoke)");
      return;
    }
    const saved = readConfig(env);
    if (env.ECM_TOKEN) {
      const url = serverUrl(ctx.values, env, saved.url);
      if (!url) throw new CliError("no server to end the session of ECM_TOKEN on: set ECM_URL or give --url", ExitCode.usage);
      const notRevoked = await endSession(url, env.ECM_TOKEN, ctx.values);
      if (notRevoked !== undefined) throw new CliError(`the server did not end the session of ECM_TOKEN (${notRevoked}): it stays valid until it expires`, ExitCode.error);
      ctx.note("Logged out: the session of ECM_TOKEN ended (the saved login, if any, is untouched)");
      return;
    }
    if (env.ECM_USERNAME && env.ECM_PASSWORD) {
      ctx.note("Nothing to log out of: ECM_USERNAME and ECM_PASSWORD log in anew for every command (the saved login, if any, is untouched)");
      return;
    }
    if (!saved.token) {
      ctx.note("Not logged in: no saved login to log out of");
      return;
    }
    assertSavedLoginIsTheirs(env, saved, "it stays; unset ECM_USERNAME to log out of it");
    // An API key is not a session: it is only forgotten here, and stays valid until revoked.
    const apiKey = saved.token.startsWith("ecm_");
    // The saved token is the saved server's: ended there, whatever --url says.
    const notRevoked = saved.url && !apiKey ? await endSession(saved.url, saved.token, ctx.values) : undefined;
    const rest: typeof saved = { ...saved };
    delete rest.token;
    writeConfig(env, rest);
    if (notRevoked !== undefined) throw new CliError(`the token was forgotten here, but the server did not end its session (${notRevoked}): it stays valid until it expires`, ExitCode.error);
    ctx.note(apiKey ? "Logged out; the API key was forgotten here and stays valid until it is revoked (ecm api-keys revoke)" : "Logged out");
  },
};

/** Ends a token's session: why the server did not (it stays valid until it expires), or undefined (ended, or expired already). */
async function endSession(url: string, token: string, values: Values): Promise<string | undefined> {
  try {
    await new ECM({ baseUrl: url, token, ...timeoutOf(values) }).logout();
    return undefined;
  } catch (error) {
    // Expired already: nothing left to end. Otherwise (unreachable, refused) it is said.
    if (error instanceof ECMAuthError) return undefined;
    return error instanceof Error ? error.message : String(error);
  }
}
