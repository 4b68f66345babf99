import { arg, str } from "../../args.js";
import type { Command } from "../../command.js";
import { groupRows } from "../../rows.js";

export const create: Command = {
  path: ["groups", "create"],
  args: "<name>",
  summary: "create a group",
  options: { description: { type: "string", short: "d" } },
  optionHelp: [["-d, --description TEXT"]],
  async run(ctx) {
    const name = arg(ctx, 0, "name");
    const description = str(ctx.values, "description");
    const { columns, rows } = await groupRows(ctx, [await ctx.ecm().security.createGroup(name, description !== undefined ? { description } : {})]);
    ctx.out(columns, rows[0]!);
  },
};
