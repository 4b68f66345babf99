import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findUser } from "../../lookup.js";
import { YES_HELP, YES_OPTION, confirm } from "../../prompt.js";

export const remove: Command = {
  path: ["users", "delete"],
  args: "<user>",
  summary: "delete a user",
  formats: [],
  options: YES_OPTION,
  optionHelp: [YES_HELP],
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const u = await findUser(ctx, ref);
    await confirm(ctx, `Delete user ${u.username} (${u.displayName})?`);
    await ctx.ecm().security.deleteUser(u.guid);
    ctx.note(`Deleted user ${u.username}`);
  },
};
