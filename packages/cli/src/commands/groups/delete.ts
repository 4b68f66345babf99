import { arg, noMoreArgs } from "../../args.js";
import type { Command } from "../../command.js";
import { findGroup } from "../../lookup.js";

export const remove: Command = {
  path: ["groups", "delete"],
  args: "<group>",
  summary: "delete a group",
  async run(ctx) {
    const ref = arg(ctx, 0, "group");
    noMoreArgs(ctx, 1);
    const g = await findGroup(ctx, ref);
    await ctx.ecm().security.deleteGroup(g.guid);
    ctx.note(`Deleted group ${g.name}`);
  },
};
