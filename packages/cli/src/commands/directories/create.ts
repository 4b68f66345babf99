import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { namingSecretOptions } from "../../errors.js";
import { BIND_PASSWORD_OPTIONS, DIRECTORY_DETAIL_COLUMNS, DIRECTORY_OPTION_HELP, DIRECTORY_OPTIONS, directoryDetailRow, newDirectoryFields } from "./fields.js";

export const create: Command = {
  path: ["directories", "create"],
  args: "<name>",
  summary: "add a directory to import users from (--connection-url and --base-dn at least)",
  options: DIRECTORY_OPTIONS,
  optionHelp: DIRECTORY_OPTION_HELP,
  async run(ctx) {
    const name = arg(ctx, 0, "name");
    const fields = await newDirectoryFields(ctx, name);
    const created = await namingSecretOptions(ctx.ecm().security.createDirectory(fields), "bindPassword", Boolean(fields.bindPassword), BIND_PASSWORD_OPTIONS);
    ctx.out(DIRECTORY_DETAIL_COLUMNS, await directoryDetailRow(ctx, created));
  },
};
