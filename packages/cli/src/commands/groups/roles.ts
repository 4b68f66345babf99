import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findGroup } from "../../lookup.js";
import { ROLE_COLUMNS, roleRow } from "../../rows.js";

export const roles: Command = {
  path: ["groups", "roles"],
  args: "<group>",
  summary: "list the roles granted to a group",
  options: { available: { type: "boolean" } },
  optionHelp: [["--available", "the roles that could still be granted instead"]],
  async run(ctx) {
    const ref = arg(ctx, 0, "group");
    const g = await findGroup(ctx, ref);
    const sec = ctx.ecm().security;
    const roles = ctx.values.available ? await sec.availableGroupRoles(g.guid) : await sec.groupRoles(g.guid);
    ctx.list(ROLE_COLUMNS, roles.map(roleRow));
  },
};
