/** Addresses a warning names, at most, in an hour: a flood of addresses adds at most this many lines. */
const MAX_KEYS = 16;
const PERIOD_MS = 3_600_000;

/**
 * Whether a warning about `key` (an address) is to be said now: once per key, for at most 16 keys an
 * hour. Counted afresh each hour, so that keys someone used up cannot silence a later, real cause.
 */
export function oncePerAddress(): (key: string) => boolean {
  let said = new Set<string>();
  let since = Date.now();
  return (key) => {
    if (Date.now() - since >= PERIOD_MS) {
      said = new Set();
      since = Date.now();
    }
    if (said.has(key) || said.size >= MAX_KEYS) return false;
    said.add(key);
    return true;
  };
}
