import { arg, noMoreArgs } from "../../args.js";
import type { Command } from "../../command.js";
import { findUser } from "../../lookup.js";
import { USER_EXTENDED_COLUMNS, userRow } from "../../rows.js";

export const show: Command = {
  path: ["users", "show"],
  args: "<user>",
  summary: "show one user (by username or guid), with groups and any lockout after failed logins",
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    noMoreArgs(ctx, 1);
    ctx.out(USER_EXTENDED_COLUMNS, userRow(await findUser(ctx, ref)));
  },
};
