import type { Command } from "../../command.js";
import { IDP_COLUMNS, idpRow } from "./fields.js";

export const list: Command = {
  path: ["idps", "list"],
  args: "",
  summary: "list identity providers (OpenID Connect)",
  async run(ctx) {
    ctx.list(IDP_COLUMNS, (await ctx.ecm().security.identityProviders()).map((p) => idpRow(p)));
  },
};
