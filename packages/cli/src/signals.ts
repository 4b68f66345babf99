/** The signals that end a command midway (Ctrl-C, a service stop, a closed terminal). */
const ENDING_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Runs `last` when one of them comes, then ends the process as that signal would have (its status tells
 * the shell so). Answers the function that stops watching, for when the command ends on its own.
 */
export function beforeEndingSignal(last: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    unwatch();
    last();
    process.kill(process.pid, signal);
  };
  const unwatch = () => {
    for (const signal of ENDING_SIGNALS) process.off(signal, onSignal);
  };
  for (const signal of ENDING_SIGNALS) process.once(signal, onSignal);
  return unwatch;
}
