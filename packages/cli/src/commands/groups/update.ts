import { arg, str } from "../../args.js";
import type { Command } from "../../command.js";
import { UsageError } from "../../errors.js";
import { findGroup } from "../../lookup.js";
import { groupRows } from "../../rows.js";

export const update: Command = {
  path: ["groups", "update"],
  args: "<group>",
  summary: "rename a group or change its description",
  options: { name: { type: "string", short: "n" }, description: { type: "string", short: "d" } },
  optionHelp: [["-n, --name NAME"], ["-d, --description TEXT", "(\"\" clears)"]],
  async run(ctx) {
    const ref = arg(ctx, 0, "group");
    const name = str(ctx.values, "name");
    const description = str(ctx.values, "description");
    if (name === undefined && description === undefined) throw new UsageError("nothing to change: give --name or --description");
    const g = await findGroup(ctx, ref);
    const updated = await ctx.ecm().security.updateGroup(g.guid, {
      ...(name !== undefined ? { name } : {}),
      ...(description !== undefined ? { description: description === "" ? null : description } : {}),
    });
    const { columns, rows } = await groupRows(ctx, [updated]);
    ctx.out(columns, rows[0]!);
  },
};
