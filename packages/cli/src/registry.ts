/**
 * Every command of `ecm`, in the order help lists them. A command group is a folder under commands/
 * (one file per verb, an index.ts exporting its list); adding one is an import and one entry here.
 */
import type { Command } from "./command.js";
import { apiKeysCommands } from "./commands/api-keys/index.js";
import { auditCommands } from "./commands/audit/index.js";
import { directoriesCommands } from "./commands/directories/index.js";
import { exportCommands } from "./commands/export/index.js";
import { groupsCommands } from "./commands/groups/index.js";
import { idpsCommands } from "./commands/idps/index.js";
import { importCommands } from "./commands/import/index.js";
import { loginCommands } from "./commands/login/index.js";
import { rolesCommands } from "./commands/roles/index.js";
import { usersCommands } from "./commands/users/index.js";

export const COMMANDS: readonly Command[] = [
  ...loginCommands,
  ...usersCommands,
  ...apiKeysCommands,
  ...groupsCommands,
  ...rolesCommands,
  ...idpsCommands,
  ...directoriesCommands,
  ...importCommands,
  ...exportCommands,
  ...auditCommands,
];
