import type { Command } from "../../command.js";
import { EXTENDED_HELP, EXTENDED_OPTION, printUsers } from "../../user-lists.js";
import { USER_FILTER_HELP, USER_FILTER_OPTIONS, userFilter } from "./fields.js";

export const list: Command = {
  path: ["users", "list"],
  args: "",
  summary: "list users (streamed as they arrive: any number of them, in little memory)",
  options: { ...USER_FILTER_OPTIONS, ...EXTENDED_OPTION },
  optionHelp: [...USER_FILTER_HELP, ...EXTENDED_HELP],
  async run(ctx) {
    await printUsers(ctx, await userFilter(ctx));
  },
};
