import { str } from "../../args.js";
import type { Command } from "../../command.js";
import { GROUP_COLUMNS, groupRow } from "../../rows.js";

export const list: Command = {
  path: ["groups", "list"],
  args: "",
  summary: "list groups",
  options: { search: { type: "string", short: "s" } },
  optionHelp: [["-s, --search TEXT", "substring of the group name"]],
  async run(ctx) {
    const search = str(ctx.values, "search");
    ctx.list(GROUP_COLUMNS, (await ctx.ecm().security.groups(search !== undefined ? { search } : {})).map(groupRow));
  },
};
