import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findUser } from "../../lookup.js";
import { ROLE_COLUMNS, roleRow } from "../../rows.js";

export const roles: Command = {
  path: ["users", "roles"],
  args: "<user>",
  summary: "list the effective roles of a user",
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const u = await findUser(ctx, ref);
    ctx.list(ROLE_COLUMNS, (await ctx.ecm().security.roles(u.guid)).map(roleRow));
  },
};
