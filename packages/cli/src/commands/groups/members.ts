import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findGroup } from "../../lookup.js";
import { EXTENDED_HELP, EXTENDED_OPTION, printUsers } from "../../user-lists.js";

export const members: Command = {
  path: ["groups", "members"],
  args: "<group>",
  summary: "list the members of a group, directly or through their profile (streamed as they arrive)",
  options: EXTENDED_OPTION,
  optionHelp: EXTENDED_HELP,
  async run(ctx) {
    const ref = arg(ctx, 0, "group");
    const g = await findGroup(ctx, ref);
    await printUsers(ctx, { groupId: g.guid });
  },
};
