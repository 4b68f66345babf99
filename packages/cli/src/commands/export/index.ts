import type { Command } from "../../command.js";
import { exportCommand } from "./export.js";

export const exportCommands: Command[] = [exportCommand];
