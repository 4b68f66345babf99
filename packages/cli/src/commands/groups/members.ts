import { arg, noMoreArgs } from "../../args.js";
import type { Command } from "../../command.js";
import { findGroup } from "../../lookup.js";
import { USER_COLUMNS, userRow } from "../../rows.js";

export const members: Command = {
  path: ["groups", "members"],
  args: "<group>",
  summary: "list the members of a group",
  async run(ctx) {
    const ref = arg(ctx, 0, "group");
    noMoreArgs(ctx, 1);
    const g = await findGroup(ctx, ref);
    ctx.list(USER_COLUMNS, (await ctx.ecm().security.groupMembers(g.guid)).map(userRow));
  },
};
