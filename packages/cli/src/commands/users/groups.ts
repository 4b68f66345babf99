import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findUser } from "../../lookup.js";
import { groupRows } from "../../rows.js";

export const groups: Command = {
  path: ["users", "groups"],
  args: "<user>",
  summary: "list the groups of a user",
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const u = await findUser(ctx, ref);
    const { columns, rows } = await groupRows(ctx, await ctx.ecm().security.userGroups(u.guid));
    ctx.list(columns, rows);
  },
};
