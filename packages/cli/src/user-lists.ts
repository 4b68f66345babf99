import type { IterUsersOptions } from "ecm-sdk";
import type { Ctx } from "./command.js";
import { ListPrinter } from "./output.js";
import { userRow } from "./rows.js";

/** Users as the server streams them, printed as they arrive (users list, groups members): any number of them, in little memory. */
export async function printUsers(ctx: Ctx, columns: string[], opts: IterUsersOptions): Promise<void> {
  const printer = new ListPrinter(ctx.io.stdout, ctx.format, columns);
  try {
    // By batch: an await per user cost about a sixth of a listing's time.
    for await (const batch of ctx.ecm().security.iterUserBatches(opts)) {
      for (const u of batch) printer.add(userRow(u));
      // The next batch is read only when the output has room: a slow reader slows the download, not fills memory.
      await printer.drained();
    }
    printer.end();
  } finally {
    printer.flush();
  }
}
