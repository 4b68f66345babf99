import { arg, str } from "../../args.js";
import type { Command } from "../../command.js";
import { findUser } from "../../lookup.js";
import { API_KEY_COLUMNS, apiKeyRow } from "../../rows.js";

export const create: Command = {
  path: ["api-keys", "create"],
  args: "<user> <name>",
  summary: "create an API key for a user; its secret (ecm_…) is printed this once",
  options: { "expires-at": { type: "string" } },
  optionHelp: [["--expires-at DATE", "ISO 8601 date (its midnight UTC) or time with a zone when the key stops working (default: never)"]],
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const name = arg(ctx, 1, "name");
    const expires = str(ctx.values, "expires-at");
    const u = await findUser(ctx, ref);
    // As the user says it: the SDK reads a date alone as its midnight UTC, and the server refuses what is no time.
    const key = await ctx.ecm().security.createApiKey(u.guid, name, expires !== undefined && expires !== "" ? { expiresAt: expires } : {});
    ctx.out([...API_KEY_COLUMNS, "secret"], apiKeyRow(key));
    ctx.note("Keep the secret now: it is not shown again");
  },
};
