import { ECM } from "ecm-sdk";
import { noMoreArgs, timeoutOf } from "../../args.js";
import type { Command } from "../../command.js";
import { readConfig, writeConfig } from "../../config.js";

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
    if (saved.token && saved.url && !apiKey) {
      try {
        await new ECM({ baseUrl: saved.url, token: saved.token, ...timeoutOf(ctx.values) }).logout();
      } catch {
        // already expired or unreachable: forgetting it locally is what matters
      }
    }
    const rest: typeof saved = { ...saved };
    delete rest.token;
    writeConfig(ctx.io.env, rest);
    ctx.note(apiKey ? "Logged out; the API key was forgotten here and stays valid until it is revoked (ecm api-keys revoke)" : "Logged out");
  },
};
