import { arg, noMoreArgs } from "../../args.js";
import type { Command } from "../../command.js";
import { findGroup } from "../../lookup.js";

export const revoke: Command = {
  path: ["roles", "revoke"],
  args: "<group> <role>",
  summary: "revoke a role from a group",
  async run(ctx) {
    const g = await findGroup(ctx, arg(ctx, 0, "group"));
    const role = arg(ctx, 1, "role");
    noMoreArgs(ctx, 2);
    await ctx.ecm().security.revokeRole(g.guid, role);
    ctx.note(`Revoked ${role} from ${g.name}`);
  },
};
