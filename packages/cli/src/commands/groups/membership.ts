import type { Security } from "ecm-sdk";
import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findGroup, findUser } from "../../lookup.js";

/** `groups add-member|remove-member <group> <user>...`: one membership change per user named. */
function membershipCommand(
  name: string,
  summary: string,
  done: string,
  preposition: string,
  change: (sec: Security, userGuid: string, groupGuid: string) => Promise<unknown>,
): Command {
  return {
    path: ["groups", name],
    args: "<group> <user>...",
    summary,
    async run(ctx) {
      const g = await findGroup(ctx, arg(ctx, 0, "group"));
      arg(ctx, 1, "user");
      for (const ref of ctx.args.slice(1)) {
        const u = await findUser(ctx, ref);
        await change(ctx.ecm().security, u.guid, g.guid);
        ctx.note(`${done} ${u.username} ${preposition} ${g.name}`);
      }
    },
  };
}

export const addMember = membershipCommand("add-member", "add users to a group", "Added", "to", (sec, user, group) => sec.addUserToGroup(user, group));
export const removeMember = membershipCommand("remove-member", "remove users from a group", "Removed", "from", (sec, user, group) =>
  sec.removeUserFromGroup(user, group),
);
