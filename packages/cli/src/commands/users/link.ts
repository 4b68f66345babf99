import { ECMConflictError, ECMNotFoundError } from "ecm-sdk";
import { arg, str } from "../../args.js";
import type { Command } from "../../command.js";
import { CliError, ExitCode } from "../../errors.js";
import { findUser } from "../../lookup.js";
import { YES_HELP, YES_OPTION, confirm } from "../../prompt.js";

export const link: Command = {
  path: ["users", "link"],
  args: "<user> <alias> <subject>",
  summary: "link a user to an identity provider's subject (its `sub` there)",
  formats: [],
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const alias = arg(ctx, 1, "alias");
    const subject = arg(ctx, 2, "subject");
    const u = await findUser(ctx, ref);
    await ctx.ecm().security.linkUser(u.guid, alias, subject);
    ctx.note(`Linked ${u.username} to ${alias}`);
  },
};

export const unlink: Command = {
  path: ["users", "unlink"],
  args: "<user> <alias>",
  summary: "remove a user's link to an identity provider",
  formats: [],
  options: { subject: { type: "string" }, ...YES_OPTION },
  optionHelp: [["--subject SUB", "only if the link is to this subject (else exit 5, the link kept)"], YES_HELP],
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const alias = arg(ctx, 1, "alias");
    const u = await findUser(ctx, ref);
    const sec = ctx.ecm().security;
    const subject = str(ctx.values, "subject");
    // A removal like a membership's: asked about when there is a link to remove (aliases are told apart without regard to case).
    const linked = (await sec.userLinks(u.guid)).find((f) => f.alias.toLowerCase() === alias.toLowerCase());
    // A link to another subject is kept: nothing is asked, and the server says first whether the caller
    // may change the user at all (403), then that the link stays (409, said here in the link's words).
    const otherSubject = linked !== undefined && subject !== undefined && linked.subject !== subject;
    if (linked && !otherSubject) await confirm(ctx, `Unlink ${u.username} from ${alias}? It no longer logs in through it.`);
    try {
      await sec.unlinkUser(u.guid, alias, { subject });
    } catch (error) {
      if (otherSubject && error instanceof ECMConflictError) throw new CliError(`${u.username} is linked to ${alias} as another subject, not ${subject}: nothing unlinked`, ExitCode.conflict);
      if (!(error instanceof ECMNotFoundError)) throw error;
      // No such link, as a membership that is not there: said, exit 0. A provider that does not exist stays a not-found.
      await sec.identityProvider(alias);
      ctx.note(`${u.username} is not linked to ${alias}: nothing to unlink`);
      return;
    }
    ctx.note(`Unlinked ${u.username} from ${alias}`);
  },
};
