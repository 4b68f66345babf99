import { arg, noMoreArgs } from "../../args.js";
import type { Command } from "../../command.js";
import { findGroup } from "../../lookup.js";

export const grant: Command = {
  path: ["roles", "grant"],
  args: "<group> <role>",
  summary: "grant a role to a group",
  formats: [],
  async run(ctx) {
    const g = await findGroup(ctx, arg(ctx, 0, "group"));
    const role = arg(ctx, 1, "role");
    noMoreArgs(ctx, 2);
    await ctx.ecm().security.grantRole(g.guid, role);
    ctx.note(`Granted ${role} to ${g.name}`);
  },
};
