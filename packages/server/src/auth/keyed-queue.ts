/**
 * Work under one key runs one at a time, in the order it came; other keys' work does not wait. At
 * most `maxWaiting` wait behind the running one (more are turned away: `run` answers undefined), and
 * none waits longer than `maxWaitMs` for the one before it (a hung one does not hold its key for good).
 */
export class KeyedQueue {
  readonly #queues = new Map<string, { tail: Promise<unknown>; pending: number }>();

  constructor(
    private readonly maxWaiting: number,
    private readonly maxWaitMs: number,
  ) {}

  /** `work`'s promise once its turn came, or undefined (not run) when `maxWaiting` wait already. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> | undefined {
    let queue = this.#queues.get(key);
    if (queue && queue.pending > this.maxWaiting) return undefined;
    if (!queue) this.#queues.set(key, (queue = { tail: Promise.resolve(), pending: 0 }));
    const entry = queue;
    entry.pending++;
    const ahead = entry.tail;
    const turn = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.maxWaitMs).unref();
      void ahead.then(() => (clearTimeout(timer), resolve()));
    });
    const done = turn.then(work);
    entry.tail = done.then(() => undefined, () => undefined);
    return done.finally(() => {
      if (--entry.pending === 0) this.#queues.delete(key);
    });
  }

  /** Keys with work running or waiting (for tests: an empty queue keeps nothing). */
  get size(): number {
    return this.#queues.size;
  }
}
