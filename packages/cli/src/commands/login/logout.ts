import { ECM, ECMAuthError } from "ecm-sdk";
import { noMoreArgs, timeoutOf } from "../../args.js";
import type { Command } from "../../command.js";
import { readConfig, writeConfig } from "../../config.js";
import { CliError, ExitCode } from "../../errors.js";

export const logout: Command = {
  path: ["logout"],
  args: "",
  summary: "revoke the saved token and forget it (a saved API key is only forgotten)",
  formats: [],
  async run(ctx) {
    noMoreArgs(ctx, 0);
    const saved = readConfig(ctx.io.env);
    // An API key is not a session: it is only forgotten here, and stays valid until revoked.
    const apiKey = saved.token?.startsWith("ecm_") === true;
    /** Why the server did not end the session (it stays valid until it expires), or undefined. */
    let notRevoked: string | undefined;
    if (saved.token && saved.url && !apiKey) {
      try {
        await new ECM({ baseUrl: saved.url, token: saved.token, ...timeoutOf(ctx.values) }).logout();
      } catch (error) {
        // Expired already: nothing left to end. Otherwise (unreachable, refused) it is said, and forgotten here all the same.
        if (!(error instanceof ECMAuthError)) notRevoked = error instanceof Error ? error.message : String(error);
      }
    }
    const rest: typeof saved = { ...saved };
    delete rest.token;
    writeConfig(ctx.io.env, rest);
    if (notRevoked !== undefined) throw new CliError(`the token was forgotten here, but the server did not end its session (${notRevoked}): it stays valid until it expires`, ExitCode.error);
    ctx.note(apiKey ? "Logged out; the API key was forgotten here and stays valid until it is revoked (ecm api-keys revoke)" : "Logged out");
  },
};
