/** What `ecm` does when the reader of its output goes away (`ecm … | head`): a list stops there; a change goes on. */
let finishing = false;

/** Called by a command that changes things (an import): it goes on to its end, its results no longer printed. */
export function finishWhenOutputCloses(): void {
  finishing = true;
}

/** From the process's output "error" handler on EPIPE: true when the command goes on, its output dropped from now on. */
export function goOnWithoutOutput(stdout: NodeJS.WriteStream): boolean {
  if (!finishing) return false;
  // A write to the closed pipe would wait for a "drain" that never comes: dropped instead, and whoever waits let go.
  stdout.write = (() => true) as typeof stdout.write;
  stdout.emit("drain");
  return true;
}
