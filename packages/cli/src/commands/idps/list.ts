import { noMoreArgs } from "../../args.js";
import type { Command } from "../../command.js";
import { IDP_COLUMNS, idpRow } from "./fields.js";

export const list: Command = {
  path: ["idps", "list"],
  args: "",
  summary: "list identity providers (OpenID Connect)",
  async run(ctx) {
    noMoreArgs(ctx, 0);
    ctx.list(IDP_COLUMNS, (await ctx.ecm().security.identityProviders()).map((p) => idpRow(p, ctx.format)));
  },
};
