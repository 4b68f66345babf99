import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findGroup } from "../../lookup.js";
import { groupRows } from "../../rows.js";

export const show: Command = {
  path: ["groups", "show"],
  args: "<group>",
  summary: "show one group (by name or guid)",
  async run(ctx) {
    const ref = arg(ctx, 0, "group");
    const { columns, rows } = await groupRows(ctx, [await findGroup(ctx, ref)]);
    ctx.out(columns, rows[0]!);
  },
};
