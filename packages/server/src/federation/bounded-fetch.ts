/** The most a provider's answer (discovery document, keys, token, userinfo) may hold: far past any real one. */
export const PROVIDER_ANSWER_MAX_BYTES = 1024 * 1024;

/** PROVIDER_ANSWER_MAX_BYTES in words. */
export const PROVIDER_ANSWER_MAX = `${PROVIDER_ANSWER_MAX_BYTES / 1024 / 1024} MiB`;

/** An answer past PROVIDER_ANSWER_MAX_BYTES: its reading was stopped there. */
export class AnswerTooLarge extends Error {
  constructor(readonly url: string) {
    super(`the answer is larger than ${PROVIDER_ANSWER_MAX}`);
    this.name = "AnswerTooLarge";
  }
}

/** Whether `error` is an AnswerTooLarge, or a library's error caused by one (openid-client wraps what its fetch throws). */
export function tooLarge(error: unknown): boolean {
  return error instanceof AnswerTooLarge || (error as { cause?: unknown } | null)?.cause instanceof AnswerTooLarge;
}

/**
 * `fetch`, with the answer read to the end only up to PROVIDER_ANSWER_MAX_BYTES: a provider (or
 * whoever answers at an address an administrator typed) cannot make the server hold an answer of
 * any size. The libraries that read it (openid-client, jose) get it whole, as from `fetch`.
 */
export async function boundedFetch(url: string | URL, init?: object): Promise<Response> {
  // The libraries' own option types (a Uint8Array body): what Node's fetch takes.
  const response = await fetch(url, init as RequestInit);
  const declared = Number(response.headers.get("content-length"));
  if (declared > PROVIDER_ANSWER_MAX_BYTES) {
    await response.body?.cancel();
    throw new AnswerTooLarge(String(url));
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop by the throw cancels the rest of the answer.
  for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > PROVIDER_ANSWER_MAX_BYTES) throw new AnswerTooLarge(String(url));
    chunks.push(chunk);
  }
  // The body is decoded already: its length and encoding headers no longer describe it.
  const headers = new Headers(response.headers);
  headers.delete("content-encoding");
  headers.delete("content-length");
  const body = [204, 205, 304].includes(response.status) ? null : Buffer.concat(chunks);
  const copy = new Response(body, { status: response.status, statusText: response.statusText, headers });
  // openid-client compares the answer's URL with the one it asked (redirects are refused).
  Object.defineProperty(copy, "url", { value: response.url });
  return copy;
}
