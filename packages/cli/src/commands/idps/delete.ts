import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { YES_HELP, YES_OPTION, confirm } from "../../prompt.js";

export const remove: Command = {
  path: ["idps", "delete"],
  args: "<alias>",
  summary: "remove an identity provider, its links and its sessions",
  formats: [],
  options: YES_OPTION,
  optionHelp: [YES_HELP],
  async run(ctx) {
    const alias = arg(ctx, 0, "alias");
    const p = await ctx.ecm().security.identityProvider(alias);
    await confirm(ctx, `Delete identity provider ${p.alias}? Its users lose this way to log in.`);
    await ctx.ecm().security.deleteIdentityProvider(p.alias);
    ctx.note(`Deleted identity provider ${p.alias}`);
  },
};
