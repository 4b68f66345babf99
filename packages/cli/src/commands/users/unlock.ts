import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findUser } from "../../lookup.js";
import { USER_EXTENDED_COLUMNS, userRow } from "../../rows.js";

export const unlock: Command = {
  path: ["users", "unlock"],
  args: "<user>",
  summary: "unlock (enable) a user and clear a lockout after failed logins",
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const sec = ctx.ecm().security;
    const u = await findUser(ctx, ref);
    await sec.clearLockout(u.guid);
    ctx.out(USER_EXTENDED_COLUMNS, userRow(await sec.unlockUser(u.guid)));
  },
};
