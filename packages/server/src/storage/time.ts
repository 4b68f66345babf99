/** Times are stored as ISO 8601 UTC strings: they sort as text on both stores. */
export function isoNow(): string {
  return new Date().toISOString();
}

export function isoAfter(seconds: number, from = Date.now()): string {
  return new Date(from + seconds * 1000).toISOString();
}
