import {
  ECMAbortError,
  ECMAuthError,
  ECMConflictError,
  ECMConnectionError,
  ECMNotFoundError,
  ECMPermissionError,
  ECMPreconditionError,
  ECMTimeoutError,
  ECMTooManyRequestsError,
  ECMUnavailableError,
  ECMValidationError,
} from "ecm-sdk";
import { readConfig } from "./config.js";
import { printable } from "./output.js";

/** Why a file could not be read or written, in words (`ENOENT`: the file read, or the directory written into, is missing). */
export function fileProblem(err: unknown, reading: boolean): string {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const words: Record<string, string> = {
    ENOENT: reading ? "no such file" : "no such directory",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EISDIR: "it is a directory",
    ENOTDIR: "a part of the path is not a directory",
    ENOSPC: "no space left on the device",
    EROFS: "read-only file system",
  };
  return words[code] ?? (code || (err as Error).message);
}

/** Exit codes scripts can rely on (also in `ecm --help`). */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  conflict: 5,
  permission: 6,
  invalid: 7,
  unavailable: 8,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  other error (server error, some import rows failed)
  2  usage error (unknown command or option, missing argument)
  3  not logged in, session expired or wrong credentials
  4  not found
  5  conflict (already exists, built-in object, stale version)
  6  permission denied
  7  invalid input rejected by the server
  8  server unreachable, unavailable, timed out or refusing more requests for now: try again later`;

/** Wrong command line: exit 2 with a hint, the help of the command it is about (`ecm users list`), once known. */
export class UsageError extends Error {
  helpOf = "ecm";
}

/** An error the CLI itself detects, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * A create or update the server refused for want of a write-only secret (`field`) the command did not
 * send: the server names its field, the refusal here the options that give it. One sent and refused
 * is said as the server says it.
 */
export async function namingSecretOptions<T>(call: Promise<T>, field: string, sent: boolean, options: string): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (!sent && error instanceof ECMValidationError && (error.additionalInfo as { field?: unknown } | null)?.field === field) {
      throw new CliError(`${error.message} (give it with ${options})`, ExitCode.invalid);
    }
    throw error;
  }
}

/**
 * The command's option that gave the field the server refused, named after its words: the server says
 * `validTo`, `config.issuer`, `from`; the person typed `--valid-to`, `--issuer`, `--from`. "" when no
 * option of the command gives it (an argument, a field of a file).
 */
export function refusedOption(err: unknown, options: readonly string[]): string {
  if (!(err instanceof ECMValidationError)) return "";
  const field = (err.additionalInfo as { field?: unknown } | null)?.field;
  if (typeof field !== "string") return "";
  const option = field.slice(field.lastIndexOf(".") + 1).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return options.includes(option) ? ` (--${option})` : "";
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return ExitCode.usage;
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ECMAuthError) return ExitCode.auth;
  if (err instanceof ECMNotFoundError) return ExitCode.notFound;
  if (err instanceof ECMConflictError || err instanceof ECMPreconditionError) return ExitCode.conflict;
  if (err instanceof ECMPermissionError) return ExitCode.permission;
  if (err instanceof ECMValidationError) return ExitCode.invalid;
  if (
    err instanceof ECMConnectionError ||
    err instanceof ECMUnavailableError ||
    err instanceof ECMTimeoutError ||
    err instanceof ECMAbortError ||
    err instanceof ECMTooManyRequestsError
  ) {
    return ExitCode.unavailable;
  }
  return ExitCode.error;
}

/** What to do about a credential the server no longer takes: the variables override any saved login, so a new login would not help. */
function credentialHint(env: NodeJS.ProcessEnv): string {
  if (env.ECM_API_KEY) return "check ECM_API_KEY: it is used instead of any saved login";
  if (env.ECM_TOKEN) return "check ECM_TOKEN: it is used instead of any saved login";
  // A saved key is revoked, expired or its account may not log in: `ecm login` alone would ask for a password.
  if (readConfig(env).token?.startsWith("ecm_")) return 'the saved API key no longer works: run "ecm login --api-key" with another one';
  return 'run "ecm login"';
}

/** A password change due before anything else, made here (a directory's user changes it in the directory). */
function passwordChangeHere(err: unknown): err is ECMPermissionError {
  if (!(err instanceof ECMPermissionError)) return false;
  const info = err.additionalInfo as { passwordChangeRequired?: unknown; passwordChangeIn?: unknown } | null;
  if (info?.passwordChangeRequired !== true) return false;
  // A server older than passwordChangeIn names the route in its message instead.
  return info.passwordChangeIn === undefined ? err.serverMessage.includes("/me/password") : info.passwordChangeIn === "here";
}

/** One line, no stack trace. */
export function messageOf(err: unknown, env: NodeJS.ProcessEnv = {}): string {
  let msg: string;
  if (err instanceof ECMAuthError && err.code === "ECMS1101") {
    msg = `${err.message} (${credentialHint(env)})`;
  } else if (passwordChangeHere(err)) {
    msg = `${err.message} (run "ecm passwd")`;
  } else if (err instanceof Error) msg = err.message;
  else msg = String(err);
  if (err instanceof UsageError) msg += ` (see "${err.helpOf} --help")`;
  // One line, and nothing a server or a file could put in it drives the terminal.
  return printable(msg.replace(/\s*\n\s*/g, " "));
}
