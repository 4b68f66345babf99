/** Reading secrets: standard input, the environment, or a terminal prompt that does not echo. */
import type { Ctx, Io } from "./command.js";
import { CliError, ExitCode, UsageError } from "./errors.js";

export async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  let data = "";
  for await (const chunk of stdin) data += typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8");
  return data;
}

/** Reads a password without echo from a terminal. */
async function promptHidden(io: Io, prompt: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (!stdin.isTTY || typeof stdin.setRawMode !== "function") throw new UsageError("no terminal to ask for the password");
  io.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let pw = "";
    const onData = (s: string) => {
      for (const ch of s) {
        if (ch === "\r" || ch === "\n") {
          cleanup();
          io.stderr.write("\n");
          return resolve(pw);
        }
        if (ch === "\u0003") {
          cleanup();
          io.stderr.write("\n");
          return reject(new CliError("cancelled", ExitCode.error));
        }
        if (ch === "\u007f" || ch === "\b") pw = pw.slice(0, -1);
        else pw += ch;
      }
    };
    const cleanup = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
    };
    stdin.on("data", onData);
  });
}

/** A password from --password-stdin, an environment variable, or a hidden prompt. */
export async function readPassword(ctx: Ctx, envName: string, prompt: string): Promise<string> {
  let pw: string | undefined;
  if (ctx.values["password-stdin"]) pw = (await readStdin(ctx.io.stdin)).replace(/\r?\n$/, "");
  else if (ctx.io.env[envName]) pw = ctx.io.env[envName];
  else if (ctx.io.stdin.isTTY) pw = await promptHidden(ctx.io, prompt);
  else throw new UsageError(`no password: use --password-stdin or set ${envName}`);
  if (!pw) throw new UsageError("the password is empty");
  return pw;
}
