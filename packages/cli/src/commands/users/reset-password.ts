import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findUser } from "../../lookup.js";
import { readPassword } from "../../prompt.js";
import { CliError, ExitCode } from "../../errors.js";

export const resetPassword: Command = {
  path: ["users", "reset-password"],
  args: "<user>",
  summary: "set a new password for a user",
  formats: [],
  options: { "password-stdin": { type: "boolean" } },
  optionHelp: [["--password-stdin", "read the new password from standard input (else ECM_NEW_PASSWORD, else asked twice)"]],
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const u = await findUser(ctx, ref);
    // What the server refuses is said before a password is asked for: one's own (a reset would skip the
    // current one), a service account's (it has none), a directory user's (its directory has it), one an
    // identity provider made (it logs in through providers only: none can be given it).
    if ((await ctx.ecm().security.me()).guid === u.guid) throw new CliError("your own password is changed with ecm passwd, which asks for the current one", ExitCode.conflict);
    if (u.serviceAccount) throw new CliError(`${u.username} is a service account: it has no password to reset (it authenticates with API keys)`, ExitCode.conflict);
    const source = await ctx.ecm().security.userSource(u.guid);
    if (source.type === "directory") throw new CliError(`the password of ${u.username} is managed by its directory ${source.name}: change it there`, ExitCode.conflict);
    if (source.type === "identity-provider") throw new CliError(`${u.username} logs in through identity providers only (it came from ${source.id}): it has no password here to reset`, ExitCode.conflict);
    const password = await readPassword(ctx, "ECM_NEW_PASSWORD", `New password for ${u.username}: `, true);
    await ctx.ecm().security.resetPassword(u.guid, password);
    ctx.note(`Password of ${u.username} reset`);
  },
};
