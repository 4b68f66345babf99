import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { ECM } from "ecm-sdk";
import { checkArgs, str } from "./args.js";
import { makeClient } from "./client.js";
import type { Command, Ctx, Io, Values } from "./command.js";
import { ExitCode, UsageError, exitCodeOf, messageOf, refusedOption } from "./errors.js";
import { GLOBAL_OPTIONS, commandGroups, commandHelp, formatsOf, groupHelp, mainHelp } from "./help.js";
import { printList, printObject, terminalSafe, type OutputFormat } from "./output.js";
import { COMMANDS } from "./registry.js";
import { didYouMean } from "./suggest.js";

export type { Io } from "./command.js";

function cliVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Whether `arg` (`--output`, `-o`, `--url=…`) is one of the options every command takes. */
function globalOption(arg: string): boolean {
  const name = arg.replace(/=.*$/, "");
  return Object.entries(GLOBAL_OPTIONS).some(([long, o]) => name === `--${long}` || (o.short !== undefined && name === `-${o.short}`));
}

/** Finds the command named by the first words that are not options. */
function findCommand(argv: string[]): { command?: Command; words: string[] } {
  const words: string[] = [];
  // Global options that take a value: the word after them is not a command word.
  const valued = new Set(
    Object.entries(GLOBAL_OPTIONS).flatMap(([name, o]) => (o.type === "string" ? [`--${name}`, ...(o.short ? [`-${o.short}`] : [])] : [])),
  );
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if (a.startsWith("-")) {
      if (valued.has(a)) i++;
      continue;
    }
    words.push(a);
  }
  const two = COMMANDS.find((c) => c.path.length === 2 && c.path[0] === words[0] && c.path[1] === words[1]);
  if (two) return { command: two, words: words.slice(0, 2) };
  const one = COMMANDS.find((c) => c.path.length === 1 && c.path[0] === words[0]);
  if (one) return { command: one, words: words.slice(0, 1) };
  return { words };
}

/**
 * `--profile-id -1` as `--profile-id=-1`: parseArgs takes a value that starts with a dash for an
 * option of its own, and -1 is the seed's "no profile".
 */
function negativeValuesJoined(argv: readonly string[], options: Record<string, { type: string }>): string[] {
  const takesValue = new Set(Object.entries(options).filter(([, o]) => o.type === "string").map(([name]) => `--${name}`));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    // After `--` every word is a positional argument, as parseArgs takes it.
    if (argv[i] === "--") return [...out, ...argv.slice(i)];
    const next = argv[i + 1];
    if (takesValue.has(argv[i]!) && next !== undefined && /^-\d+(\.\d+)?$/.test(next)) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]!);
  }
  return out;
}

/** Runs the command line; returns the exit code. Never throws. */
export async function run(argv: string[], io: Io): Promise<number> {
  // Whose help a usage error points at: the command's, once the words name one (or a group of them).
  let helpOf = "ecm";
  // Whose options a refusal of the server names (a field it refused, given by one of them).
  let options: string[] = [];
  try {
    if (argv[0] === "--version" || argv[0] === "-V") {
      io.stdout.write(`${cliVersion()}\n`);
      return ExitCode.ok;
    }
    const { command, words } = findCommand(argv);
    const wantsHelp = argv.includes("--help") || argv.includes("-h");
    if (!command) {
      if (words.length === 0 || words[0] === "help") {
        if (words.length === 0 && !wantsHelp && argv.length > 0) {
          // only options, no command: still parse them to report unknown ones
          parseArgs({ args: argv, options: GLOBAL_OPTIONS, allowPositionals: true, strict: true });
        }
        const asked = wantsHelp || words[0] === "help";
        (asked ? io.stdout : io.stderr).write(mainHelp());
        return asked ? ExitCode.ok : ExitCode.usage;
      }
      if (commandGroups().includes(words[0]!)) {
        helpOf = `ecm ${words[0]}`;
        if (words.length === 1) {
          if (wantsHelp) {
            io.stdout.write(groupHelp(words[0]!));
            return ExitCode.ok;
          }
          io.stderr.write(groupHelp(words[0]!));
          return ExitCode.usage;
        }
        const verbs = COMMANDS.filter((c) => c.path[0] === words[0] && c.path.length > 1).map((c) => c.path[1]!);
        throw new UsageError(`unknown command: ${words.join(" ")}${didYouMean(words[1]!, verbs, `${words[0]} `)}`);
      }
      // `ecm --outptu json users list`: the mistyped option, not the value it took for a command.
      const stray = argv.slice(0, argv.indexOf(words[0]!)).find((a) => a.startsWith("-") && !globalOption(a));
      if (stray) throw new UsageError(`Unknown option '${stray}'${didYouMean(stray.replace(/^-+/, "").replace(/=.*$/, ""), Object.keys(GLOBAL_OPTIONS), "--")}`);
      throw new UsageError(`unknown command: ${words[0]}${didYouMean(words[0]!, COMMANDS.map((c) => c.path[0]!))}`);
    }
    helpOf = `ecm ${command.path.join(" ")}`;
    if (wantsHelp) {
      io.stdout.write(commandHelp(command));
      return ExitCode.ok;
    }
    let parsed;
    const allOptions = { ...GLOBAL_OPTIONS, ...command.options };
    options = Object.keys(command.options ?? {});
    try {
      parsed = parseArgs({
        args: negativeValuesJoined(argv, allOptions),
        options: allOptions,
        allowPositionals: true,
        strict: true,
      });
    } catch (err) {
      const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, "").replace(/\s*\n\s*/g, " ");
      const unknown = /^Unknown option '(--?[^']+)'/.exec(message)?.[1];
      const names = Object.keys(allOptions).map((n) => `--${n}`);
      throw new UsageError(message + (unknown?.startsWith("--") ? didYouMean(unknown, names) : ""));
    }
    const positionals = [...parsed.positionals];
    for (const w of words) {
      const i = positionals.indexOf(w);
      if (i >= 0) positionals.splice(i, 1);
    }
    checkArgs(command.args, positionals);
    const values = parsed.values as Values;
    const formats = formatsOf(command);
    const fmt = str(values, "output");
    if (fmt !== undefined && formats.length === 0) throw new UsageError(`ecm ${command.path.join(" ")} prints no data: --output does not apply`);
    if (fmt !== undefined && !formats.includes(fmt as OutputFormat)) throw new UsageError(`--output must be one of ${formats.join(", ")}`);
    const format = (fmt ?? formats[0] ?? "table") as OutputFormat;
    let client: ECM | undefined;
    const ctx: Ctx = {
      io,
      format,
      values,
      args: positionals,
      ecm: () => (client ??= makeClient(values, io.env)),
      out: (columns, row) => printObject(io.stdout, format, columns, row),
      list: (columns, rows) => printList(io.stdout, format, columns, rows),
      note: (text) => io.stderr.write(terminalSafe(text) + "\n"),
    };
    const code = await command.run(ctx);
    return code ?? ExitCode.ok;
  } catch (err) {
    if (err instanceof UsageError) err.helpOf = helpOf;
    io.stderr.write(`ecm: ${messageOf(err, io.env)}${refusedOption(err, options)}\n`);
    return exitCodeOf(err);
  }
}
