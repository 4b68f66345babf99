import { ECMConflictError } from "ecm-sdk";
import { arg, str } from "../../args.js";
import type { Command } from "../../command.js";
import { CliError, ExitCode, namingSecretOptions, UsageError } from "../../errors.js";
import { CLIENT_SECRET_OPTIONS, IDP_DETAIL_COLUMNS, IDP_OPTION_HELP, IDP_OPTIONS, idpFields, idpDetailRow } from "./fields.js";

export const update: Command = {
  path: ["idps", "update"],
  args: "<alias>",
  summary: "change an identity provider (options left out keep their value)",
  options: { ...IDP_OPTIONS, links: { type: "string" } },
  optionHelp: [
    ...IDP_OPTION_HELP,
    ["--links keep|remove", "asked when a new issuer (--from-url, --issuer) or --client-id would move the provider's links: keep them (the same people, with the same subjects) or remove them (as deleting the provider does)"],
  ],
  async run(ctx) {
    const alias = arg(ctx, 0, "alias");
    const links = str(ctx.values, "links");
    if (links !== undefined && links !== "keep" && links !== "remove") throw new UsageError("--links must be keep or remove");
    const fields = await idpFields(ctx);
    if (Object.keys(fields).length === 0) throw new UsageError("nothing to change: give an option");
    const updated = await namingSecretOptions(ctx.ecm().security.updateIdentityProvider(alias, { ...fields, links }), "clientSecret", fields.clientSecret !== undefined, CLIENT_SECRET_OPTIONS).catch((error: unknown) => {
      // The server names its query parameter: here it is an option.
      if (error instanceof ECMConflictError && (error.additionalInfo as { field?: unknown } | null)?.field === "links") throw new CliError(`${error.message} (give --links keep or --links remove)`, ExitCode.conflict);
      throw error;
    });
    ctx.out(IDP_DETAIL_COLUMNS, await idpDetailRow(ctx, updated));
  },
};
