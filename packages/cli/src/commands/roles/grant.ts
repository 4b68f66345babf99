import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findGroup } from "../../lookup.js";

export const grant: Command = {
  path: ["roles", "grant"],
  args: "<group> <role>",
  summary: "grant a role to a group",
  formats: [],
  async run(ctx) {
    const g = await findGroup(ctx, arg(ctx, 0, "group"));
    const role = arg(ctx, 1, "role");
    const sec = ctx.ecm().security;
    const had = (await sec.groupRoles(g.guid)).some((r) => r.name === role);
    // Granting what is granted changes nothing; the server still says whether the role exists.
    await sec.grantRole(g.guid, role);
    ctx.note(had ? `${g.name} already has ${role}: nothing to grant` : `Granted ${role} to ${g.name}`);
  },
};
