import { closeSync, renameSync, rmSync, writeSync } from "node:fs";
import { openPrivateTemp } from "../../config.js";
import type { Writer } from "../../output.js";

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

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
    if (file) ({ tmp: this.#tmp, fd: this.#fd } = openPrivateTemp(file));
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
    if (this.#fd !== undefined) writeSync(this.#fd, text);
    else if (this.out.write(text) === false && this.out.once) {
      await new Promise<void>((resolve) => this.out.once!("drain", () => resolve()));
    }
  }

  async close(ok: boolean): Promise<void> {
    if (ok) await this.flush();
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    if (ok) renameSync(this.#tmp, this.file!);
    else rmSync(this.#tmp, { force: true });
  }
}
