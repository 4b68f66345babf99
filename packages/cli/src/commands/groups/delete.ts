import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findGroup } from "../../lookup.js";
import { YES_HELP, YES_OPTION, confirm } from "../../prompt.js";

export const remove: Command = {
  path: ["groups", "delete"],
  args: "<group>",
  summary: "delete a group",
  formats: [],
  options: YES_OPTION,
  optionHelp: [YES_HELP],
  async run(ctx) {
    const ref = arg(ctx, 0, "group");
    const g = await findGroup(ctx, ref);
    await confirm(ctx, `Delete group ${g.name}?`);
    await ctx.ecm().security.deleteGroup(g.guid);
    ctx.note(`Deleted group ${g.name}`);
  },
};
