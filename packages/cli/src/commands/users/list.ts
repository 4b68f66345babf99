import { noMoreArgs } from "../../args.js";
import type { Command } from "../../command.js";
import { USER_COLUMNS, USER_EXTENDED_COLUMNS } from "../../rows.js";
import { printUsers } from "../../user-lists.js";
import { USER_FILTER_HELP, USER_FILTER_OPTIONS, userFilter } from "./fields.js";

export const list: Command = {
  path: ["users", "list"],
  args: "",
  summary: "list users (streamed as they arrive: any number of them, in little memory)",
  options: {
    ...USER_FILTER_OPTIONS,
    extended: { type: "boolean", short: "x" },
  },
  optionHelp: [
    ...USER_FILTER_HELP,
    // Named from the columns themselves, so the help cannot leave one out.
    "-x, --extended        also the columns",
    `                      ${USER_EXTENDED_COLUMNS.filter((c) => !USER_COLUMNS.includes(c)).join(", ")}`,
  ],
  async run(ctx) {
    noMoreArgs(ctx, 0);
    const extended = ctx.values.extended === true;
    await printUsers(ctx, extended ? USER_EXTENDED_COLUMNS : USER_COLUMNS, { extendedInfo: extended, ...userFilter(ctx.values) });
  },
};
