/** Helpers every command uses to read its options and arguments. */
import type { Ctx, Values } from "./command.js";
import { UsageError } from "./errors.js";

export function str(v: Values, k: string): string | undefined {
  const x = v[k];
  return typeof x === "string" ? x : undefined;
}

/** true for --yes, false for --no, undefined for neither; both is a usage error. */
export function flagPair(v: Values, yes: string, no: string): boolean | undefined {
  if (v[yes] && v[no]) throw new UsageError(`--${yes} and --${no} exclude each other`);
  return v[yes] ? true : v[no] ? false : undefined;
}

export function arg(ctx: Ctx, i: number, name: string): string {
  const a = ctx.args[i];
  if (a === undefined || a === "") throw new UsageError(`missing argument <${name}>`);
  return a;
}

/**
 * The arguments a command's usage line names (`<group> <user>...`, `[<directory>]`), counted before it
 * runs: one missing is said as that, not as whatever the server answers about the ones given.
 */
export function checkArgs(usage: string, args: readonly string[]): void {
  const names = usage.match(/\[?<[^>]+>(\.\.\.)?\]?/g) ?? [];
  names.forEach((name, i) => {
    if (!name.startsWith("[") && (args[i] === undefined || args[i] === "")) throw new UsageError(`missing argument ${name.replace("...", "")}`);
  });
  if (!names.some((name) => name.includes("...")) && args.length > names.length) throw new UsageError(`unexpected argument: ${args[names.length]}`);
}

export function timeoutOf(values: Values): { timeout?: number } {
  const t = str(values, "timeout");
  if (t === undefined) return {};
  const n = Number(t);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError("--timeout must be a positive number of milliseconds");
  return { timeout: n };
}
