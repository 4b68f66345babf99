/**
 * Every row of a keyset-paged query, in batches: reads pages of `batchSize` after a cursor until a
 * short page, so memory stays flat however many rows there are.
 */
export async function* keysetBatches<T, C>(
  page: (after: C | undefined, limit: number) => Promise<T[]>,
  cursorOf: (row: T) => C,
  after: C | undefined,
  batchSize: number,
): AsyncGenerator<T[]> {
  for (;;) {
    const batch = await page(after, batchSize);
    if (batch.length > 0) yield batch;
    if (batch.length < batchSize) return;
    after = cursorOf(batch[batch.length - 1]!);
  }
}
