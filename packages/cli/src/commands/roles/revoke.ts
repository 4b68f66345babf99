import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findGroup } from "../../lookup.js";
import { YES_HELP, YES_OPTION, confirm } from "../../prompt.js";

export const revoke: Command = {
  path: ["roles", "revoke"],
  args: "<group> <role>",
  summary: "revoke a role from a group",
  formats: [],
  options: YES_OPTION,
  optionHelp: [YES_HELP],
  async run(ctx) {
    const g = await findGroup(ctx, arg(ctx, 0, "group"));
    const role = arg(ctx, 1, "role");
    const sec = ctx.ecm().security;
    if ((await sec.groupRoles(g.guid)).some((r) => r.name === role)) {
      await confirm(ctx, `Revoke ${role} from every member of ${g.name}?`);
      await sec.revokeRole(g.guid, role);
      ctx.note(`Revoked ${role} from ${g.name}`);
    } else {
      // Revoking what is not granted changes nothing; the server still says whether the role exists.
      await sec.revokeRole(g.guid, role);
      ctx.note(`${g.name} does not have ${role}: nothing to revoke`);
    }
  },
};
