import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findUser } from "../../lookup.js";
import { API_KEY_COLUMNS, apiKeyRow } from "../../rows.js";

export const list: Command = {
  path: ["api-keys", "list"],
  args: "<user>",
  summary: "list a user's API keys (never their secrets)",
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const u = await findUser(ctx, ref);
    ctx.list(API_KEY_COLUMNS, (await ctx.ecm().security.apiKeys(u.guid)).map(apiKeyRow));
  },
};
