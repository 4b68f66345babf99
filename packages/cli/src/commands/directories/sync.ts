import { setTimeout as sleep } from "node:timers/promises";
import { ECMNotFoundError, type ECMDirectory, type ECMDirectorySync } from "ecm-sdk";
import { arg, str } from "../../args.js";
import type { Command, Ctx } from "../../command.js";
import { CliError, ExitCode, UsageError } from "../../errors.js";
import { Progress } from "../../output.js";
import { RestartPatience } from "../../restarts.js";
import { SYNC_COLUMNS, findDirectory, syncRow } from "./fields.js";

/** How often --wait asks for the run's progress. */
const POLL_MS = 250;

export const sync: Command = {
  path: ["directories", "sync"],
  args: "<directory>",
  summary: "start a sync of a directory's users in the background (--wait: follow it to its end)",
  options: { mode: { type: "string" }, force: { type: "boolean" }, wait: { type: "boolean", short: "w" }, status: { type: "boolean" } },
  optionHelp: [
    ["--mode full|changed", "full (default) reads every user and disables those gone; changed reads what changed since the last run (every user after a change of attributeMapping, userFilter, userSearchBase or groupFilter)"],
    ["--force", "(full) disable the users gone even past the directory's disable limit, and all of them when the directory answers none"],
    ["-w, --wait", "show the progress (a bar on a terminal) and the run's end; exit 1 unless it succeeded"],
    ["--status", "start nothing: show the current or last run (with --wait: wait for its end)"],
  ],
  async run(ctx) {
    const ref = arg(ctx, 0, "directory");
    const mode = str(ctx.values, "mode");
    if (mode !== undefined && mode !== "full" && mode !== "changed") throw new UsageError("--mode must be full or changed");
    if (ctx.values.status && (mode !== undefined || ctx.values.force)) throw new UsageError("--status starts nothing: --mode and --force do not apply");
    if (ctx.values.force && mode === "changed") throw new UsageError("--force applies to a full sync: a changed sync disables nobody");
    const d = await findDirectory(ctx, ref);
    const sec = ctx.ecm().security;
    const previous = await sec.directorySync(d.id).catch((err: unknown) => {
      if (err instanceof ECMNotFoundError && !ctx.values.status) return null;
      throw err;
    });
    let run = ctx.values.status ? previous! : await sec.startDirectorySync(d.id, { mode: mode ?? "full", force: ctx.values.force === true });
    if (ctx.values.wait) run = await follow(ctx, d, run, previous);
    ctx.out(SYNC_COLUMNS, syncRow(run, ctx.format));
    return ctx.values.wait && run.state !== "succeeded" ? ExitCode.error : ExitCode.ok;
  },
};

/**
 * Polls the run until it ends, with a bar on a terminal over the users seen; the total is what the
 * last full sync saw (unknown for the first and for a `changed` one: a count instead of a bar).
 */
async function follow(ctx: Ctx, d: ECMDirectory, run: ECMDirectorySync, previous: ECMDirectorySync | null): Promise<ECMDirectorySync> {
  const total = run.mode === "full" && previous?.mode === "full" && previous.state === "succeeded" && previous.id !== run.id ? previous.seen : 0;
  const progress = new Progress(ctx.io.stderr, `Syncing ${d.name}`, total);
  // Through a restart of the server: the run's end as the server then tells it (interrupted, when the restart ended it), not a connection error.
  const patience = new RestartPatience();
  while (run.state === "running") {
    progress.update(run.seen, `users, ${run.usersPerSecond}/s`);
    await sleep(POLL_MS);
    const latest = await patience.read(() => ctx.ecm().security.directorySync(d.id));
    // GET …/sync shows the latest run: one begun since (a periodic one, another administrator's) means this one ended.
    run = latest.id === run.id ? latest : await endedRun(ctx, d, run);
  }
  progress.done(
    `${run.state}: ${run.created} created, ${run.updated} updated, ${run.disabled} disabled, ${run.unchanged} unchanged, ${run.failed} failed of ${run.seen} ${run.seen === 1 ? "user" : "users"}; ${run.joined} joined and ${run.left} left groups` +
      (run.message ? ` — ${run.message}` : ""),
  );
  return run;
}

/** A run that ended while a newer one began, as its audit event tells it. */
async function endedRun(ctx: Ctx, d: ECMDirectory, run: ECMDirectorySync): Promise<ECMDirectorySync> {
  const events = await ctx.ecm().admin.auditEvents({ action: "directory.sync", target: d.id }, { max: 50 });
  const event = events.items.find((e) => e.details?.runId === run.id);
  if (!event) throw new CliError(`sync ${run.id} of ${d.name} ended and another began; its end is in the audit log (action directory.sync)`, ExitCode.error);
  const details = event.details!;
  const count = (key: keyof ECMDirectorySync) => (typeof details[key] === "number" ? (details[key] as number) : (run[key] as number));
  return {
    ...run,
    state: event.outcome === "success" ? "succeeded" : details.interrupted === true ? "interrupted" : "failed",
    finishedAt: event.time,
    ...Object.fromEntries((["seen", "created", "updated", "disabled", "unchanged", "failed", "joined", "left"] as const).map((k) => [k, count(k)])),
    message: typeof details.message === "string" ? details.message : null,
  };
}
