import type { Command } from "../../command.js";
import { importCommand } from "./import.js";

export const importCommands: Command[] = [importCommand];
