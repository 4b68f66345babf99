import type { Command } from "../../command.js";
import { login } from "./login.js";
import { logout } from "./logout.js";
import { passwd } from "./passwd.js";
import { whoami } from "./whoami.js";

export const loginCommands: Command[] = [login, logout, passwd, whoami];
