import type { Command } from "../../command.js";
import { ROLE_COLUMNS, roleRow } from "../../rows.js";

export const list: Command = {
  path: ["roles", "list"],
  args: "",
  summary: "list all roles",
  async run(ctx) {
    ctx.list(ROLE_COLUMNS, (await ctx.ecm().security.roles()).map(roleRow));
  },
};
