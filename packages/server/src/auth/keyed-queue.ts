/**
 * Work under one key runs one at a time, in the order it came; other keys' work does not wait. At
 * most `maxWaiting` wait behind the running one (more are turned away: `run` answers undefined), and
 * none waits longer than `maxWaitMs` for the one before it (a hung one does not hold its key for good).
 */
export class KeyedQueue {
  readonly #queues = new Map<string, { tail: Promise<unknown>; pending: number }>();
  /** Work finished, counted by the bucket of its key (finishedCount). */
  readonly #finished = new Uint32Array(FINISHED_BUCKETS);

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
      this.#finished[bucketOf(key)]!++;
      if (--entry.pending === 0) this.#queues.delete(key);
    });
  }

  /**
   * A count that moves whenever work under `key` finishes (and sometimes when another key's does: keys
   * share a bucket of counts, so that nothing is kept per key once its work is done). The same count at
   * two moments: no work under `key` finished in between.
   */
  finishedCount(key: string): number {
    return this.#finished[bucketOf(key)]!;
  }

  /** Keys with work running or waiting (for tests: an empty queue keeps nothing). */
  get size(): number {
    return this.#queues.size;
  }
}

const FINISHED_BUCKETS = 4096;

/** FNV-1a of the key's UTF-16 units, to a bucket of finishedCount. */
function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % FINISHED_BUCKETS;
}
