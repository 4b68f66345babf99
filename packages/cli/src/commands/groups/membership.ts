import type { ECMUser } from "ecm-sdk";
import { arg } from "../../args.js";
import type { Command, Ctx } from "../../command.js";
import { findGroup, findUser } from "../../lookup.js";
import { YES_HELP, YES_OPTION, confirm } from "../../prompt.js";

/** The users the command names, every one found before anything is changed: a mistyped name leaves the group as it was. */
async function findUsers(ctx: Ctx): Promise<ECMUser<true>[]> {
  arg(ctx, 1, "user");
  const users = [];
  for (const ref of ctx.args.slice(1)) users.push(await findUser(ctx, ref));
  return users;
}

export const addMember: Command = {
  path: ["groups", "add-member"],
  args: "<group> <user>...",
  summary: "add users to a group",
  formats: [],
  async run(ctx) {
    const g = await findGroup(ctx, arg(ctx, 0, "group"));
    const users = await findUsers(ctx);
    const sec = ctx.ecm().security;
    for (const u of users) {
      // The user's own memberships (not its profile's): one a sync or a login mapping made becomes one made by hand.
      const before = (await sec.userGroups(u.guid, { direct: true })).find((x) => x.guid === g.guid);
      if (before && before.syncedBy === undefined && before.mappedBy === undefined) {
        ctx.note(`${u.username} is already in ${g.name}: nothing to add`);
        continue;
      }
      await sec.addUserToGroup(u.guid, g.guid);
      ctx.note(before ? `${u.username} is in ${g.name} by hand now: ${before.syncedBy !== undefined ? "a sync of its directory" : "a login through its identity provider"} no longer removes it` : `Added ${u.username} to ${g.name}`);
    }
  },
};

export const removeMember: Command = {
  path: ["groups", "remove-member"],
  args: "<group> <user>...",
  summary: "remove users from a group",
  formats: [],
  options: YES_OPTION,
  optionHelp: [YES_HELP],
  async run(ctx) {
    const g = await findGroup(ctx, arg(ctx, 0, "group"));
    const users = await findUsers(ctx);
    const members = users.filter((u) => u.groups.includes(g.name));
    for (const u of users) if (!members.includes(u)) ctx.note(`${u.username} is not in ${g.name}: nothing to remove`);
    if (members.length === 0) return;
    await confirm(ctx, `Remove ${members.map((u) => u.username).join(", ")} from ${g.name}?`);
    const sec = ctx.ecm().security;
    for (const u of members) {
      await sec.removeUserFromGroup(u.guid, g.guid);
      // `groups` also lists the groups a user takes over from its profile, which no removal here changes.
      const still = u.profileId > 0 && (await sec.getUser(u.guid)).groups.includes(g.name);
      ctx.note(still ? `${u.username} is in ${g.name} through its profile: remove it there` : `Removed ${u.username} from ${g.name}`);
    }
  },
};
