import { closeSync, lstatSync, openSync, readlinkSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { openPrivateTemp } from "../../config.js";
import { CliError, ExitCode, fileProblem } from "../../errors.js";
import type { Writer } from "../../output.js";

/**
 * The file an export replaces: the one a symbolic link names, made or not yet (the link stays), or
 * none where the path is not a regular file (a pipe, a device), which is written to as it is.
 */
function replacedFile(file: string): string | null {
  let path = file;
  // A link to a file not made yet: where it points (links of links followed, a few).
  for (let hops = 0; hops < 8; hops++) {
    try {
      if (!lstatSync(path).isSymbolicLink()) break;
      path = resolve(dirname(path), readlinkSync(path));
    } catch {
      break;
    }
  }
  try {
    return statSync(path).isFile() ? path : null;
  } catch {
    return path;
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
  constructor(
    readonly out: Writer,
    readonly file: string | undefined,
  ) {
    if (file === undefined) return;
    this.#onFile(() => {
      const target = replacedFile(file);
      if (target === null) this.#fd = openSync(file, "w");
      else ({ tmp: this.#tmp, fd: this.#fd } = openPrivateTemp((this.#target = target)));
    });
  }

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
    if (this.#fd !== undefined) this.#onFile(() => writeSync(this.#fd!, text));
    else if (this.out.write(text) === false && this.out.once) {
      await new Promise<void>((resolve) => this.out.once!("drain", () => resolve()));
    }
  }

  async close(ok: boolean): Promise<void> {
    if (ok) await this.flush();
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    if (!this.#tmp) return;
    if (ok) this.#onFile(() => renameSync(this.#tmp, this.#target));
    else rmSync(this.#tmp, { force: true });
  }
}
