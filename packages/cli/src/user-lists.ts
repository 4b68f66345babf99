import { ECMError, type ECM, type ECMUser, type IterUsersOptions } from "ecm-sdk";
import type { Ctx, OptionHelp, Options } from "./command.js";
import { profileNamer } from "./lookup.js";
import { ListPrinter, textCells } from "./output.js";
import { RestartPatience } from "./restarts.js";
import { USER_COLUMNS, USER_EXTENDED_COLUMNS, userRow, withProfile } from "./rows.js";

/** `-x` of the users lists (users list, groups members): the extended users, with their columns. */
export const EXTENDED_OPTION: Options = { extended: { type: "boolean", short: "x" } };
export const EXTENDED_HELP: OptionHelp[] = [
  // Named from the columns themselves, so the help cannot leave one out.
  ["-x, --extended", `also the columns\n${USER_EXTENDED_COLUMNS.filter((c) => !USER_COLUMNS.includes(c)).join(", ")}`],
];

/**
 * Users as the server streams them, printed as they arrive (users list, groups members): any number of
 * them, in little memory; extended (more columns) with the command's `-x`.
 */
export async function printUsers(ctx: Ctx, filter: Omit<IterUsersOptions, "extendedInfo" | "after">): Promise<void> {
  const extended = ctx.values.extended === true;
  // A table or CSV names each user's profile (withProfile): the profiles, few, are read once a user has one.
  const text = textCells(ctx.format);
  let profile: ((profileId: number) => string | null) | undefined;
  const printer = new ListPrinter(ctx.io.stdout, ctx.format, withProfile(extended ? USER_EXTENDED_COLUMNS : USER_COLUMNS, ctx.format));
  try {
    // By batch: an await per user cost about a sixth of a listing's time.
    for await (const batch of batchesThroughRestarts(ctx.ecm(), { ...filter, extendedInfo: extended })) {
      // Asked mid-read: through a restart as the users are.
      if (text && !profile && batch.some((u) => u.profileId > 0)) profile = await new RestartPatience().read(() => profileNamer(ctx));
      // The name set on the user read, not on a copy (a listing of a million users makes a row of each).
      for (const u of batch) printer.add(text ? Object.assign(userRow(u), { profile: profile?.(u.profileId) ?? null }) : userRow(u));
      // The next batch is read only when the output has room: a slow reader slows the download, not fills memory.
      await printer.drained();
    }
    printer.end();
  } finally {
    printer.flush();
  }
}

/**
 * iterUserBatches, read on after the last user through a server restart (RestartPatience). A server
 * unreachable from the start is said at once.
 */
async function* batchesThroughRestarts(ecm: ECM, opts: Omit<IterUsersOptions, "after">): AsyncGenerator<ECMUser[], void, undefined> {
  let after: string | undefined;
  const patience = new RestartPatience();
  for (;;) {
    try {
      for await (const batch of ecm.security.iterUserBatches({ ...opts, after })) {
        patience.answered();
        after = batch[batch.length - 1]!.username;
        yield batch;
      }
      return;
    } catch (err) {
      // The SDK's note on where to read on names its own options: the command reads on itself (its cause is the error as it came).
      const own = err instanceof ECMError && err.cause instanceof ECMError ? err.cause : err;
      if (after === undefined) throw own;
      await patience.wait(own);
    }
  }
}
