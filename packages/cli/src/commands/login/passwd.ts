import type { Command } from "../../command.js";
import { CliError, ExitCode, UsageError } from "../../errors.js";
import { readPassword, readStdin } from "../../prompt.js";

export const passwd: Command = {
  path: ["passwd"],
  args: "",
  summary: "change your own password (the current one is asked for)",
  formats: [],
  options: { "password-stdin": { type: "boolean" } },
  optionHelp: [["--password-stdin", "read the current password and then the new one, a line each, from standard input (else ECM_PASSWORD and ECM_NEW_PASSWORD, else asked)"]],
  async run(ctx) {
    // Said before a password is asked for that could change nothing (the server would say so only after).
    const me = await ctx.ecm().security.me();
    if (me.serviceAccount) throw new CliError(`${me.username} is a service account: it has no password to change (it authenticates with API keys)`, ExitCode.conflict);
    // The server would take whatever was typed for a wrong current password, a failed login toward a lockout.
    if (me.hasPassword === false) throw new CliError(`${me.username} has no password here to change: it logs in only through its directory, identity providers or API keys`, ExitCode.conflict);
    let current: string;
    let next: string;
    if (ctx.values["password-stdin"]) {
      const lines = (await readStdin(ctx.io.stdin)).split(/\r?\n/);
      [current, next] = [lines[0] ?? "", lines[1] ?? ""];
      if (!current || !next) throw new UsageError("--password-stdin takes two lines: the current password, then the new one");
    } else {
      current = await readPassword(ctx, "ECM_PASSWORD", "Current password: ");
      next = await readPassword(ctx, "ECM_NEW_PASSWORD", "New password: ", true);
    }
    await ctx.ecm().security.changeMyPassword(current, next);
    // The server ends the other sessions; this one (a saved login's) goes on.
    ctx.note("Password changed; your other sessions were ended");
  },
};
