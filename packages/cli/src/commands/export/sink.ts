import { closeSync, renameSync, rmSync, writeSync } from "node:fs";
import { openPrivateTemp } from "../../config.js";
import { CliError, ExitCode } from "../../errors.js";
import type { Writer } from "../../output.js";

const FILE_ERRORS: Record<string, string> = {
  ENOENT: "no such directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
  ENOSPC: "no space left on the device",
  EROFS: "read-only file system",
};

/**
 * Where export output goes: standard output (waiting when the pipe is full) or a file created 0600
 * under a temporary name and renamed when complete, so a failed export leaves no partial file.
 */
export class ExportSink {
  #fd: number | undefined;
  #tmp = "";
  #pending = "";
  constructor(
    readonly out: Writer,
    readonly file: string | undefined,
  ) {
    if (file) ({ tmp: this.#tmp, fd: this.#fd } = this.#onFile(() => openPrivateTemp(file)));
  }

  /** A failed file operation names the user's file (not the temporary one beside it) and removes the temporary. */
  #onFile<T>(op: () => T): T {
    try {
      return op();
    } catch (err) {
      if (this.#tmp) rmSync(this.#tmp, { force: true });
      const code = (err as NodeJS.ErrnoException).code ?? "";
      throw new CliError(`cannot write ${this.file}: ${FILE_ERRORS[code] ?? (code || (err as Error).message)}`, ExitCode.error);
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
    if (ok) this.#onFile(() => renameSync(this.#tmp, this.file!));
    else rmSync(this.#tmp, { force: true });
  }
}
