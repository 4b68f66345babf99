import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findUser } from "../../lookup.js";
import { USER_EXTENDED_COLUMNS, userRow } from "../../rows.js";

export const lock: Command = {
  path: ["users", "lock"],
  args: "<user>",
  summary: "lock (disable) a user",
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const u = await findUser(ctx, ref);
    ctx.out(USER_EXTENDED_COLUMNS, userRow(await ctx.ecm().security.lockUser(u.guid)));
  },
};
