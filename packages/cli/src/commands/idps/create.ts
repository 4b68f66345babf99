import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { namingSecretOptions, UsageError } from "../../errors.js";
import { CLIENT_SECRET_OPTIONS, IDP_DETAIL_COLUMNS, IDP_OPTION_HELP, IDP_OPTIONS, idpFields, idpDetailRow } from "./fields.js";

export const create: Command = {
  path: ["idps", "create"],
  args: "<alias>",
  summary: "add an OpenID Connect identity provider",
  options: IDP_OPTIONS,
  optionHelp: IDP_OPTION_HELP,
  async run(ctx) {
    const alias = arg(ctx, 0, "alias");
    const fields = await idpFields(ctx);
    if (fields.clientId === undefined) throw new UsageError("missing --client-id");
    const created = await namingSecretOptions(ctx.ecm().security.createIdentityProvider(alias, { ...fields, clientId: fields.clientId }), "clientSecret", fields.clientSecret !== undefined, CLIENT_SECRET_OPTIONS);
    ctx.out(IDP_DETAIL_COLUMNS, await idpDetailRow(ctx, created));
  },
};
