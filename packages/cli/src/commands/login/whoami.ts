import type { Command } from "../../command.js";
import { USER_EXTENDED_COLUMNS, userRow } from "../../rows.js";

export const whoami: Command = {
  path: ["whoami"],
  args: "",
  summary: "show the signed-in account",
  async run(ctx) {
    const me = await ctx.ecm().security.me();
    ctx.out(USER_EXTENDED_COLUMNS, userRow(me));
  },
};
