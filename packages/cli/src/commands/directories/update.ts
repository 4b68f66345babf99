import { arg, str } from "../../args.js";
import type { Command } from "../../command.js";
import { namingSecretOptions, UsageError } from "../../errors.js";
import { BIND_PASSWORD_OPTIONS, DIRECTORY_DETAIL_COLUMNS, DIRECTORY_OPTION_HELP, DIRECTORY_OPTIONS, directoryFields, directoryDetailRow, findDirectory } from "./fields.js";

export const update: Command = {
  path: ["directories", "update"],
  args: "<directory>",
  summary: "change a directory (options left out keep their value, the bind password too)",
  options: { ...DIRECTORY_OPTIONS, name: { type: "string" } },
  optionHelp: [...DIRECTORY_OPTION_HELP, ["--name NAME", "rename it"]],
  async run(ctx) {
    const ref = arg(ctx, 0, "directory");
    const fields = await directoryFields(ctx);
    const name = str(ctx.values, "name");
    if (name !== undefined) fields.name = name;
    if (Object.keys(fields).length === 0) throw new UsageError("nothing to change: give an option");
    const d = await findDirectory(ctx, ref);
    const updated = await namingSecretOptions(ctx.ecm().security.updateDirectory(d.id, fields), "bindPassword", Boolean(fields.bindPassword), BIND_PASSWORD_OPTIONS);
    ctx.out(DIRECTORY_DETAIL_COLUMNS, await directoryDetailRow(ctx, updated));
  },
};
