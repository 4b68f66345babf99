import type { Command } from "../../command.js";
import { DIRECTORY_COLUMNS, directoryRow } from "./fields.js";

export const list: Command = {
  path: ["directories", "list"],
  args: "",
  summary: "list the directories users are imported from (LDAP, Active Directory)",
  async run(ctx) {
    ctx.list(DIRECTORY_COLUMNS, (await ctx.ecm().security.directories()).map((d) => directoryRow(d, ctx.format)));
  },
};
