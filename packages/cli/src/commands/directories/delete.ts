import { arg, str } from "../../args.js";
import type { Command } from "../../command.js";
import { UsageError } from "../../errors.js";
import { YES_HELP, YES_OPTION, confirm } from "../../prompt.js";
import { findDirectory } from "./fields.js";

export const remove: Command = {
  path: ["directories", "delete"],
  args: "<directory>",
  summary: "remove a directory; its users are kept disabled (--users disable) or deleted with its groups",
  formats: [],
  options: { ...YES_OPTION, users: { type: "string" } },
  optionHelp: [["--users disable|delete", "what becomes of its users (default disable: kept as disabled local users)"], YES_HELP],
  async run(ctx) {
    const ref = arg(ctx, 0, "directory");
    const users = str(ctx.values, "users") ?? "disable";
    if (users !== "disable" && users !== "delete") throw new UsageError("--users must be disable or delete");
    const d = await findDirectory(ctx, ref);
    const fate = users === "delete" ? "Its users and groups are deleted." : "Its users stay, disabled, as local users.";
    await confirm(ctx, `Delete directory ${d.name}? ${fate}`);
    await ctx.ecm().security.deleteDirectory(d.id, { users });
    ctx.note(`Deleted directory ${d.name} (users ${users === "delete" ? "deleted" : "disabled"})`);
  },
};
