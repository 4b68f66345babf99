import { ECM } from "ecm-sdk";
import { noMoreArgs, timeoutOf } from "../../args.js";
import type { Command } from "../../command.js";
import { readConfig, writeConfig } from "../../config.js";

export const logout: Command = {
  path: ["logout"],
  args: "",
  summary: "revoke the saved token and forget it",
  formats: [],
  async run(ctx) {
    noMoreArgs(ctx, 0);
    const saved = readConfig(ctx.io.env);
    if (saved.token && saved.url) {
      try {
        await new ECM({ baseUrl: saved.url, token: saved.token, ...timeoutOf(ctx.values) }).logout();
      } catch {
        // already expired or unreachable: forgetting it locally is what matters
      }
    }
    const rest: typeof saved = { ...saved };
    delete rest.token;
    writeConfig(ctx.io.env, rest);
    ctx.note("Logged out");
  },
};
