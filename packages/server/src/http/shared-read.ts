/**
 * `read`, shared by the callers that ask while it runs: however many ask at once, one read runs (one
 * connection of the store's pool) and each gets its result, read after the first of them asked. For
 * the public reads anyone may send without end — the health check, the providers a login page lists,
 * the token keys — which a flood would otherwise turn into a pool connection each, leaving none for
 * the requests of the people logged in.
 */
export function sharedWhileRunning<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => (running ??= read().finally(() => (running = undefined)));
}
