import { arg, noMoreArgs } from "../../args.js";
import type { Command } from "../../command.js";
import { UsageError } from "../../errors.js";
import { IDP_DETAIL_COLUMNS, IDP_OPTION_HELP, IDP_OPTIONS, idpFields, idpRow } from "./fields.js";

export const update: Command = {
  path: ["idps", "update"],
  args: "<alias>",
  summary: "change an identity provider (options left out keep their value)",
  options: IDP_OPTIONS,
  optionHelp: IDP_OPTION_HELP,
  async run(ctx) {
    const alias = arg(ctx, 0, "alias");
    noMoreArgs(ctx, 1);
    const fields = await idpFields(ctx);
    if (Object.keys(fields).length === 0) throw new UsageError("nothing to change: give an option");
    ctx.out(IDP_DETAIL_COLUMNS, idpRow(await ctx.ecm().security.updateIdentityProvider(alias, fields), ctx.format));
  },
};
