import { accessSync, closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { openPrivateTemp } from "../../config.js";
import { CliError, ExitCode, fileProblem } from "../../errors.js";
import type { Writer } from "../../output.js";
import { beforeEndingSignal } from "../../signals.js";

/**
 * The file an export replaces: the one a symbolic link names, made or not yet (the link stays), or
 * none where the path is not a regular file (a pipe, a device), which is written to as it is.
 */
function replacedFile(file: string): string | null {
  try {
    // There (links followed): a regular file is replaced where it really is; anything else — a pipe,
    // a device, /dev/stdout — is written to as it is.
    return statSync(file).isFile() ? realpathSync(file) : null;
  } catch {
    // Not there yet: the path itself, or where a link to a file not made yet points (links of links followed, a few).
  }
  let path = file;
  for (let hops = 0; hops < 8; hops++) {
    try {
      if (!lstatSync(path).isSymbolicLink()) break;
      path = resolve(dirname(path), readlinkSync(path));
    } catch {
      break;
    }
  }
  return path;
}

/**
 * Throws where a file is there that this user may not write (EACCES), as the shell's `>` refuses it:
 * the rename over it would replace it all the same, a read-only backup with the rest.
 */
function mayReplace(target: string): void {
  try {
    accessSync(target, constants.W_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** Whether `file` is this process's standard output (a socket, which a parent may hand over, cannot be opened by its name). */
function isStandardOutput(file: string): boolean {
  try {
    const [named, output] = [statSync(file), fstatSync(1)];
    return named.dev === output.dev && named.ino === output.ino;
  } catch {
    return false;
  }
}

/**
 * Where export output goes: standard output (waiting when the pipe is full), or a file created 0600
 * under a temporary name and renamed over the file when complete, so a failed export leaves no
 * partial file. A pipe or a device given as the file is written to, never replaced.
 */
export class ExportSink {
  #fd: number | undefined;
  /** The temporary file renamed over `#target` when complete ("" when writing to the path itself). */
  #tmp = "";
  #target = "";
  #pending = "";
  /** Some of the output went where it cannot be taken back (standard output, a pipe or a device given as the file). */
  #sent = false;
  /** Whether the export goes to standard output (no file, or a name of it). */
  readonly toStandardOutput: boolean;
  constructor(
    readonly out: Writer,
    readonly file: string | undefined,
  ) {
    // The output itself (/dev/stdout, /dev/fd/1), whatever it is — a pipe, a socket, a terminal: written as standard output is.
    this.toStandardOutput = file === undefined || isStandardOutput(file);
    if (file === undefined || this.toStandardOutput) return;
    this.#onFile(() => {
      const target = replacedFile(file);
      if (target === null) this.#fd = openSync(file, "w");
      else {
        mayReplace(target);
        ({ tmp: this.#tmp, fd: this.#fd } = openPrivateTemp((this.#target = target)));
      }
    });
    // Ended by a signal midway (Ctrl-C): the partial file goes with it.
    if (this.#tmp) this.#unwatch = beforeEndingSignal(() => rmSync(this.#tmp, { force: true }));
  }

  /** Stops watching for signals (the export ended on its own). */
  #unwatch = () => {};

  /** A failed file operation names the user's file (not the temporary one beside it) and removes the temporary. */
  #onFile<T>(op: () => T): T {
    try {
      return op();
    } catch (err) {
      if (this.#tmp) rmSync(this.#tmp, { force: true });
      throw new CliError(`cannot write ${this.file}: ${fileProblem(err, false)}`, ExitCode.error);
    }
  }

  /** Small pieces are batched: millions of tiny writes would cost more than the export. */
  async write(text: string): Promise<void> {
    this.#pending += text;
    if (this.#pending.length >= 65536) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#pending === "") return;
    const text = this.#pending;
    this.#pending = "";
    if (this.#tmp === "") this.#sent = true;
    if (this.#fd !== undefined) this.#onFile(() => writeSync(this.#fd!, text));
    else if (this.out.write(text) === false && this.out.once) {
      await new Promise<void>((resolve) => this.out.once!("drain", () => resolve()));
    }
  }

  /** Whether what was written can be taken back, for an export read again from its start: a file's temporary, or nothing sent yet. */
  canStartAgain(): boolean {
    return this.#tmp !== "" || !this.#sent;
  }

  /** Forgets what was written (canStartAgain() said it can be): the temporary file starts empty again. */
  startAgain(): void {
    this.#pending = "";
    if (this.#tmp) this.#onFile(() => {
      closeSync(this.#fd!);
      this.#fd = openPrivateTemp(this.#target).fd;
    });
  }

  async close(ok: boolean): Promise<void> {
    if (ok) await this.flush();
    this.#unwatch();
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    if (!this.#tmp) return;
    if (ok) this.#onFile(() => renameSync(this.#tmp, this.#target));
    else rmSync(this.#tmp, { force: true });
  }
}
