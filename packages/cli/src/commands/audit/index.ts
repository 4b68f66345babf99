import type { Command } from "../../command.js";
import { list } from "./list.js";

export const auditCommands: Command[] = [list];
