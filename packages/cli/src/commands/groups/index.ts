import type { Command } from "../../command.js";
import { create } from "./create.js";
import { remove } from "./delete.js";
import { list } from "./list.js";
import { members } from "./members.js";
import { addMember, removeMember } from "./membership.js";
import { roles } from "./roles.js";
import { show } from "./show.js";
import { update } from "./update.js";

export const groupsCommands: Command[] = [list, show, create, update, remove, members, addMember, removeMember, roles];
