import type { Command } from "../../command.js";
import { grant } from "./grant.js";
import { list } from "./list.js";
import { revoke } from "./revoke.js";

export const rolesCommands: Command[] = [list, grant, revoke];
