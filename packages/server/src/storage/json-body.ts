/**
 * The body of a JSON array (its items' JSON, comma-separated, without the brackets) in pieces that
 * may end anywhere: what the streamed lists send as it is read, so a long list never sits in memory.
 * A piece of bytes is handed over for good: its reader may rewrite it (the fields= cut does).
 */
export type JsonBody = AsyncIterable<string | Buffer>;

/** Batches of rows as a JSON body: `toJson` gives each row's JSON; a piece per batch. */
export async function* jsonBody<T>(batches: AsyncIterable<T[]>, toJson: (batch: T[]) => Promise<string[]> | string[]): AsyncGenerator<string> {
  let first = true;
  for await (const batch of batches) {
    const items = await toJson(batch);
    if (items.length === 0) continue;
    if (!first) yield ",";
    yield items.join(",");
    first = false;
  }
}
