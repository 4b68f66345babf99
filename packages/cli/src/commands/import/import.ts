import { open } from "node:fs/promises";
import type { ECMImportResult } from "ecm-sdk";
import { arg } from "../../args.js";
import type { Command, Ctx } from "../../command.js";
import { finishWhenOutputCloses } from "../../closed-output.js";
import { CliError, ExitCode, fileProblem } from "../../errors.js";
import { formatBytes, ListPrinter, Progress } from "../../output.js";
import { beforeEndingSignal } from "../../signals.js";

export const importCommand: Command = {
  path: ["import"],
  args: "<file>",
  summary: "create (or with --update, update) users from a CSV or NDJSON file or a Keycloak realm export, streamed to the server",
  options: { update: { type: "boolean" }, "dry-run": { type: "boolean" }, charset: { type: "string" } },
  optionHelp: [
    ["--update", "update users that already exist (else such a row fails: the name is taken)"],
    ["--dry-run", "check every row as the import would, write nothing (a row is judged with\nevery earlier row of the file done, as the import judges it)"],
    ["--charset <name>", "the file's charset when it is not UTF-8 (windows-1252: a CSV saved by Excel\non Windows; iso-8859-15, shift_jis…)"],
    "Header row names the columns: username (required), loginName, displayName, firstName, lastName,",
    "email, remark, locked, validFrom, validTo, changePassword, neverExpire, password, passwordHash,",
    "serviceAccount, groups (names separated by \";\"). Columns are separated by commas, or by what a",
    "first line sep=X names (sep=; as Excel writes it). A file of JSON objects, one a line (NDJSON), or",
    "a JSON array of them (users list -o json) is read as such, and so is a Keycloak realm export",
    "(kc.sh export): its users, their top-level groups by name (a subgroup, or administrators, fails",
    "the row), and password hashes (pbkdf2-sha256, pbkdf2-sha512, argon2), each row numbered by its",
    "place in the users array.",
    "Use - to read standard input.",
  ],
  async run(ctx) {
    const file = arg(ctx, 0, "file");
    // `ecm import big.csv | head`: the rows are imported all the same, their results past the pipe's end dropped.
    finishWhenOutputCloses();
    return importUsers(ctx, file);
  },
};

/** The file's bytes (standard input for -) and its size (0: unknown). */
async function openInput(ctx: Ctx, file: string): Promise<{ bytes: AsyncIterable<Buffer | string>; size: number }> {
  if (file === "-") return { bytes: ctx.io.stdin, size: 0 };
  try {
    const handle = await open(file);
    const stat = await handle.stat();
    // A directory opens; only its read fails, after the request began.
    if (stat.isDirectory()) {
      await handle.close();
      throw Object.assign(new Error("a directory"), { code: "EISDIR" });
    }
    return { bytes: handle.createReadStream({ highWaterMark: 1 << 16 }), size: stat.size };
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${fileProblem(err, true)}`, ExitCode.error);
  }
}

/**
 * One request to POST /security/v1/users/import: the file goes up as it is read while the server's
 * results for each batch of rows come back and are printed (the server checks every row, dry run or
 * not). A bad row fails alone (exit 1 in the end); a failure of the whole import (session, server,
 * connection) stops it with its own exit code after the rows answered before it, which are imported.
 */
async function importUsers(ctx: Ctx, file: string): Promise<number> {
  const dryRun = ctx.values["dry-run"] === true;
  const { bytes, size } = await openInput(ctx, file);
  let sent = 0;
  const counted = (async function* () {
    for await (const chunk of bytes) {
      sent += chunk.length;
      yield chunk;
    }
  })();
  const printer = new ListPrinter(ctx.io.stdout, ctx.format, ["line", "username", "result", "message"]);
  // A bar over the bytes sent, as the rows are counted by their results.
  const progress = new Progress(ctx.io.stderr, "Importing", size, formatBytes, ctx.io.stdout);
  const counts: Record<ECMImportResult["status"], number> = { created: 0, updated: 0, unchanged: 0, failed: 0 };
  let rows = 0;
  let lastLine = 0;
  // Rows refused because their user exists: ecm import creates only, unless --update (the API updates by default): the summary says so.
  const update = ctx.values.update === true;
  let existing = 0;
  // Results are printed when the next ones are not there yet: a batch at a time, not 64 KiB at a time.
  let flushing: NodeJS.Timeout | undefined;
  const summary = () =>
    `${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.failed} failed of ${rows} ${rows === 1 ? "row" : "rows"}${dryRun ? " (dry run: nothing was changed)" : ""}` +
    (existing > 0 ? `; ${existing} ${existing === 1 ? "names a user that exists" : "name users that exist"}: --update updates them` : "");
  // Ctrl-C midway: the results answered are printed and counted, and what the rows after them may have done is said.
  const unwatch = beforeEndingSignal(() => {
    if (rows > 0) printer.end();
    const after = dryRun ? "" : " (rows sent after it may be imported too: import the file again with --update to be sure of each)";
    progress.done(`${summary()}; interrupted ${lastLine ? `after line ${lastLine}` : "before the first row"}${after}`);
  });
  const charset = ctx.values.charset as string | undefined;
  try {
    for await (const r of ctx.ecm().security.importUsers(counted, { dryRun, update, charset })) {
      rows++;
      counts[r.status]++;
      // Not a name another user holds (`existing`: one logs in with it): --update would not update that one either.
      if (!update && r.error?.code === "ECMS1301" && r.error.field === "username" && r.error.existing === undefined) existing++;
      lastLine = r.line;
      printer.add({ line: r.line, username: r.username ?? "", result: r.status, message: r.error ? `${r.error.code}-E ${r.error.message}` : "" });
      progress.update(sent, `${rows} rows`);
      await printer.drained();
      flushing ??= setTimeout(() => {
        flushing = undefined;
        printer.flush();
      }, 0);
    }
  } catch (err) {
    // The one option the SDK checks itself: a charset it does not know is the command line's fault.
    if (err instanceof TypeError && charset !== undefined && /^charset /.test(err.message)) throw new CliError(`--charset: ${err.message}`, ExitCode.usage);
    // Refused before any row: stdout stays empty (the error is on stderr), not a header or a `[]`.
    if (rows > 0) printer.end();
    progress.done(`${summary()}; stopped ${lastLine ? `after line ${lastLine}` : "before the first row"}`);
    throw err;
  } finally {
    clearTimeout(flushing);
    unwatch();
  }
  printer.end();
  progress.done(summary());
  return counts.failed > 0 ? ExitCode.error : ExitCode.ok;
}
