import type { Command } from "../../command.js";
import { count } from "./count.js";
import { create } from "./create.js";
import { remove } from "./delete.js";
import { groups } from "./groups.js";
import { link, unlink } from "./link.js";
import { list } from "./list.js";
import { lock } from "./lock.js";
import { resetPassword } from "./reset-password.js";
import { roles } from "./roles.js";
import { show } from "./show.js";
import { unlock } from "./unlock.js";
import { update } from "./update.js";

export const usersCommands: Command[] = [list, count, show, create, update, lock, unlock, remove, resetPassword, groups, roles, link, unlink];
