import { arg, noMoreArgs } from "../../args.js";
import type { Command } from "../../command.js";
import { findUser } from "../../lookup.js";

export const remove: Command = {
  path: ["users", "delete"],
  args: "<user>",
  summary: "delete a user",
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    noMoreArgs(ctx, 1);
    const u = await findUser(ctx, ref);
    await ctx.ecm().security.deleteUser(u.guid);
    ctx.note(`Deleted user ${u.username}`);
  },
};
