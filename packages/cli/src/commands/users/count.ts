import type { Command } from "../../command.js";
import { USER_FILTER_HELP, USER_FILTER_OPTIONS, userFilter } from "./fields.js";

export const count: Command = {
  path: ["users", "count"],
  args: "",
  summary: "count users",
  options: USER_FILTER_OPTIONS,
  optionHelp: USER_FILTER_HELP,
  async run(ctx) {
    const n = await ctx.ecm().security.countUsers(await userFilter(ctx));
    if (ctx.format === "table") ctx.io.stdout.write(`${n}\n`);
    else ctx.out(["count"], { count: n });
  },
};
