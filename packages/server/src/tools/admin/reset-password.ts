import { randomBytes } from "node:crypto";
import { DomainError } from "../../domain/errors.js";
import { UsageError, type AdminCommand } from "./command.js";

/**
 * Break glass for a locked-out or forgotten administrator: a new random password that must be
 * changed at the next login, the lockouts lifted and every session ended, each step audited.
 */
export const resetPasswordCommand: AdminCommand = {
  name: "reset-password",
  args: "<username>",
  summary: "new temporary password (printed once), lockouts cleared, sessions ended",
  checkArgs(args) {
    if (args.length !== 1) throw new UsageError("reset-password takes one username.");
  },
  async run(args, { server, actor }) {
    const username = args[0]!;
    const { users, userAdmin } = server.deps;
    const user = await users.findByUsername(username);
    if (!user) throw new DomainError("not-found", `There is no user "${username}".`);
    const password = randomBytes(18).toString("base64url");
    await userAdmin.resetPassword(actor, user.uuid, password, true, undefined);
    await userAdmin.clearLockout(actor, user.uuid, undefined);
    return `${username}: password reset, lockouts cleared, sessions ended; temporary password (to be changed at the next login): ${password}`;
  },
};
