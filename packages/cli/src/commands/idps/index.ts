import type { Command } from "../../command.js";
import { create } from "./create.js";
import { remove } from "./delete.js";
import { list } from "./list.js";
import { show } from "./show.js";
import { test } from "./test.js";
import { update } from "./update.js";

export const idpsCommands: Command[] = [list, show, create, update, remove, test];
