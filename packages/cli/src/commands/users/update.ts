import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { UsageError } from "../../errors.js";
import { findUser } from "../../lookup.js";
import { USER_EXTENDED_COLUMNS, userRow } from "../../rows.js";
import { USER_FIELD_HELP, USER_FIELD_OPTIONS, userFieldsFrom } from "./fields.js";

export const update: Command = {
  path: ["users", "update"],
  args: "<user>",
  summary: "change fields of a user (others keep their value)",
  options: USER_FIELD_OPTIONS,
  optionHelp: USER_FIELD_HELP,
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const fields = userFieldsFrom(ctx.values);
    if (Object.keys(fields).length === 0) throw new UsageError("nothing to change: give at least one field option");
    const u = await findUser(ctx, ref);
    ctx.out(USER_EXTENDED_COLUMNS, userRow(await ctx.ecm().security.updateUser(u.guid, fields)));
  },
};
