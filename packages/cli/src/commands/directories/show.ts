import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { DIRECTORY_DETAIL_COLUMNS, directoryDetailRow, findDirectory } from "./fields.js";

export const show: Command = {
  path: ["directories", "show"],
  args: "<directory>",
  summary: "show a directory's configuration (the bind password is never shown)",
  async run(ctx) {
    const ref = arg(ctx, 0, "directory");
    ctx.out(DIRECTORY_DETAIL_COLUMNS, await directoryDetailRow(ctx, await findDirectory(ctx, ref)));
  },
};
