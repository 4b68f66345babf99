import { noMoreArgs, str } from "../../args.js";
import type { Command } from "../../command.js";
import { UsageError } from "../../errors.js";
import { ListPrinter } from "../../output.js";
import { USER_COLUMNS, USER_EXTENDED_COLUMNS, userRow } from "../../rows.js";
import { USER_FILTER_HELP, USER_FILTER_OPTIONS, userFilter } from "./fields.js";

export const list: Command = {
  path: ["users", "list"],
  args: "",
  summary: "list users (streams page by page)",
  options: {
    ...USER_FILTER_OPTIONS,
    extended: { type: "boolean", short: "x" },
    "page-size": { type: "string" },
  },
  optionHelp: [
    ...USER_FILTER_HELP,
    "-x, --extended        also groups, remark, validFrom, validTo, lockedOut, lockedOutUntil",
    "    --page-size N     users per request (default 500)",
  ],
  async run(ctx) {
    noMoreArgs(ctx, 0);
    const filter = userFilter(ctx.values);
    const ps = str(ctx.values, "page-size");
    const pageSize = ps === undefined ? 500 : Number(ps);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 10_000) throw new UsageError("--page-size must be 1..10000");
    const extended = ctx.values.extended === true;
    const printer = new ListPrinter(ctx.io.stdout, ctx.format, extended ? USER_EXTENDED_COLUMNS : USER_COLUMNS);
    for await (const u of ctx.ecm().security.iterUsers({ extendedInfo: extended, pageSize, ...filter })) {
      printer.add(userRow(u));
    }
    printer.end();
  },
};
