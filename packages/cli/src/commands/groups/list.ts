import { str } from "../../args.js";
import type { Command } from "../../command.js";
import { groupRows } from "../../rows.js";

export const list: Command = {
  path: ["groups", "list"],
  args: "",
  summary: "list groups",
  options: { search: { type: "string", short: "s" } },
  optionHelp: [["-s, --search TEXT", "substring of the group name"]],
  async run(ctx) {
    const search = str(ctx.values, "search");
    const { columns, rows } = await groupRows(ctx, await ctx.ecm().security.groups(search !== undefined ? { search } : {}));
    ctx.list(columns, rows);
  },
};
