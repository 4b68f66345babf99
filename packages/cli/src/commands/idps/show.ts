import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { IDP_DETAIL_COLUMNS, idpDetailRow } from "./fields.js";

export const show: Command = {
  path: ["idps", "show"],
  args: "<alias>",
  summary: "show an identity provider, with the redirect URI to register at it",
  async run(ctx) {
    const alias = arg(ctx, 0, "alias");
    ctx.out(IDP_DETAIL_COLUMNS, await idpDetailRow(ctx, await ctx.ecm().security.identityProvider(alias)));
  },
};
