/** Questions on a terminal (passwords without echo, confirmations) and secrets from stdin or the environment. */
import type { Ctx, Io, OptionHelp, Options } from "./command.js";
import { CliError, ExitCode, UsageError } from "./errors.js";
import { terminalSafe } from "./output.js";

export async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  let data = "";
  for await (const chunk of stdin) data += typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8");
  return data;
}

const isTerminal = (io: Io) => io.stdin.isTTY === true;

const cancelled = () => new CliError("cancelled", ExitCode.error);

/** Asks on the terminal and reads one line; `hidden` reads it in raw mode without echo (passwords). */
async function ask(io: Io, prompt: string, hidden: boolean): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (!isTerminal(io) || (hidden && typeof stdin.setRawMode !== "function")) throw new UsageError("no terminal to ask on");
  io.stderr.write(prompt);
  if (hidden) stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let line = "";
    const onData = (s: string) => {
      for (let i = 0; i < s.length; i++) {
        const ch = s[i]!;
        // Enter answers; Ctrl-C and Ctrl-D (raw mode hands them over as characters) cancel.
        if (ch === "\r" || ch === "\n" || ch === "\u0003" || ch === "\u0004") {
          cleanup();
          // What was typed ahead (the next answer) stays for the next question.
          const rest = s.slice(i + (ch === "\r" && s[i + 1] === "\n" ? 2 : 1));
          if (rest !== "") stdin.unshift(rest);
          if (hidden) io.stderr.write("\n");
          return ch === "\r" || ch === "\n" ? resolve(line) : reject(cancelled());
        }
        if (ch === "\u007f" || ch === "\b") line = line.slice(0, -1);
        // A key's escape sequence (an arrow: ESC [ A) is no part of an answer: skipped to its final byte.
        else if (ch === "\u001b") {
          if (s[i + 1] === "[" || s[i + 1] === "O") for (i += 2; i < s.length && !(s[i]! >= "@" && s[i]! <= "~"); i++);
        }
        // Other control characters (Tab) are none either.
        else if (ch >= " ") line += ch;
      }
    };
    // The input ended (Ctrl-D on an empty line, when the terminal reads lines): no answer.
    const onEnd = () => {
      cleanup();
      if (hidden) io.stderr.write("\n");
      reject(cancelled());
    };
    const cleanup = () => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      if (hidden) stdin.setRawMode(false);
      stdin.pause();
    };
    stdin.on("data", onData);
    stdin.once("end", onEnd);
  });
}

/**
 * A secret — a password, or `what` else (an API key) — from --password-stdin, an environment variable,
 * or a hidden prompt (asked twice when `repeat`).
 */
export async function readPassword(ctx: Ctx, envName: string, prompt: string, repeat = false, what = "password"): Promise<string> {
  let pw: string | undefined;
  if (ctx.values["password-stdin"]) pw = (await readStdin(ctx.io.stdin)).replace(/\r?\n$/, "");
  else if (ctx.io.env[envName]) pw = ctx.io.env[envName];
  else if (isTerminal(ctx.io)) {
    pw = await ask(ctx.io, prompt, true);
    // A typo in a password nobody can see would lock its owner out: type it twice.
    if (repeat && pw && (await ask(ctx.io, "Repeat it: ", true)) !== pw) throw new CliError("the two passwords differ; nothing changed", ExitCode.error);
  } else throw new UsageError(`no ${what}: use --password-stdin or set ${envName}`);
  if (!pw) throw new UsageError(`the ${what} is empty`);
  return pw;
}

/** The option of every command that asks before it removes something. */
export const YES_OPTION: Options = { yes: { type: "boolean", short: "y" } };
export const YES_HELP: OptionHelp = ["-y, --yes", "do not ask for confirmation (it is asked only on a terminal)"];

/** On a terminal, asks before a destructive step unless --yes; scripts (no terminal) are not asked. */
export async function confirm(ctx: Ctx, question: string): Promise<void> {
  if (ctx.values.yes === true || !isTerminal(ctx.io)) return;
  // The question names things the server holds (a display name may carry terminal controls that rewrite it).
  const answer = (await ask(ctx.io, `${terminalSafe(question)} [y/N] `, false)).trim().toLowerCase();
  if (answer !== "y" && answer !== "yes") throw cancelled();
}
