import { arg, noMoreArgs } from "../../args.js";
import type { Command } from "../../command.js";
import { namingSecretOptions, UsageError } from "../../errors.js";
import { CLIENT_SECRET_OPTIONS, IDP_DETAIL_COLUMNS, IDP_OPTION_HELP, IDP_OPTIONS, idpFields, idpRow } from "./fields.js";

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
    const updated = await namingSecretOptions(ctx.ecm().security.updateIdentityProvider(alias, fields), "clientSecret", fields.clientSecret !== undefined, CLIENT_SECRET_OPTIONS);
    ctx.out(IDP_DETAIL_COLUMNS, idpRow(updated, ctx.format));
  },
};
