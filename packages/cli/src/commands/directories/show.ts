import { arg, noMoreArgs } from "../../args.js";
import type { Command } from "../../command.js";
import { DIRECTORY_DETAIL_COLUMNS, directoryRow, findDirectory } from "./fields.js";

export const show: Command = {
  path: ["directories", "show"],
  args: "<directory>",
  summary: "show a directory's configuration (the bind password is never shown)",
  async run(ctx) {
    const ref = arg(ctx, 0, "directory");
    noMoreArgs(ctx, 1);
    ctx.out(DIRECTORY_DETAIL_COLUMNS, directoryRow(await findDirectory(ctx, ref), ctx.format));
  },
};
