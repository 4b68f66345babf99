import { arg } from "../../args.js";
import type { Command, Ctx } from "../../command.js";
import { CliError, ExitCode } from "../../errors.js";
import { findUser } from "../../lookup.js";
import { YES_HELP, YES_OPTION, confirm } from "../../prompt.js";

export const revoke: Command = {
  path: ["api-keys", "revoke"],
  args: "<user> <key>",
  summary: "revoke one of a user's API keys (by id, name or prefix): it stops working at once",
  formats: [],
  options: YES_OPTION,
  optionHelp: [YES_HELP],
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const which = arg(ctx, 1, "key");
    const u = await findUser(ctx, ref);
    const sec = ctx.ecm().security;
    // A name as the server keeps it (trimmed, NFKC): typed decomposed or composed, it is the same.
    const name = which.trim().normalize("NFKC");
    const matches = (await sec.apiKeys(u.guid)).filter((k) => k.id === which || k.name === name || k.prefix === which);
    if (matches.length === 0) {
      // A revoked key is deleted: the audit log remembers it. Revoked already is said, exit 0, as a membership that is not there.
      const revoked = await revokedKeyName(ctx, u.guid, (d) => d.keyId === which.toLowerCase() || d.name === name || d.prefix === which);
      if (revoked === undefined) throw new CliError(`${u.username} has no API key ${which}`, ExitCode.notFound);
      ctx.note(`${u.username}'s API key ${revoked} was revoked already: nothing to revoke`);
      return;
    }
    if (matches.length > 1) throw new CliError(`${which} names ${matches.length} of ${u.username}'s API keys; give the id`, ExitCode.usage);
    await confirm(ctx, `Revoke the API key ${matches[0]!.name} of ${u.username}? Scripts using it stop at once.`);
    await sec.revokeApiKey(u.guid, matches[0]!.id);
    ctx.note(`Revoked API key ${matches[0]!.name} of ${u.username}`);
  },
};

/** The name of a key of the user's that the audit log says was revoked and `matches`, if any. */
async function revokedKeyName(ctx: Ctx, userGuid: string, matches: (details: { keyId?: unknown; name?: unknown; prefix?: unknown }) => boolean): Promise<string | undefined> {
  let cursor: string | null = null;
  do {
    const page = await ctx.ecm().admin.auditEvents({ action: "api-key.revoke", target: userGuid, outcome: "success" }, { max: 500, cursor });
    const event = page.items.find((e) => e.details !== null && matches(e.details));
    if (event) return String(event.details!.name);
    cursor = page.next;
  } while (cursor !== null);
  return undefined;
}
