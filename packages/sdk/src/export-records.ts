/**
 * Splits the export document — one JSON object whose members are scalars or arrays — into records
 * as the bytes arrive, so that a directory of a million users never has to fit in one string.
 */

/** One member of the export document: an array member yields one record per element. */
export interface ExportRecord {
  /** The member's name: `roles`, `groups`, `roleMappings`, `users`, `memberships`, `exportedAt`, … */
  kind: string;
  value: unknown;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function malformed(what: string): Error {
  return new SyntaxError(`export document: ${what}`);
}

export async function* exportRecords(bytes: AsyncIterable<Uint8Array>): AsyncGenerator<ExportRecord> {
  const decoder = new TextDecoder();
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** Inside a top-level array: its elements are the records, at depth 2. */
  let inArray = false;
  // (asserted: assignments inside feed() are invisible to the narrowing after the loop)
  let expect = "start" as "start" | "key" | "colon" | "value" | "end";
  let kind = "";
  /** Text of the value (or key) being read; null when between values. */
  let captured: string | null = null;
  let from = 0;
  const done: ExportRecord[] = [];
  const finish = (text: string) => {
    if (expect === "key") kind = JSON.parse(text) as string;
    else done.push({ kind, value: JSON.parse(text) as unknown });
    captured = null;
  };

  const feed = (chunk: string) => {
    from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) {
          inString = false;
          if (expect === "key") {
            finish(captured + chunk.slice(from, i + 1));
            expect = "colon";
          }
        }
        continue;
      }
      if (isSpace(c)) continue;
      if (captured === null) {
        if (expect === "start") {
          if (c !== OPEN_BRACE) throw malformed("not a JSON object");
          depth = 1;
          expect = "key";
          continue;
        }
        if (expect === "end") throw malformed("text after the end");
        if (inArray) {
          if (c === COMMA) continue;
          if (c === CLOSE_BRACKET) {
            inArray = false;
            depth = 1;
            expect = "key";
            continue;
          }
        } else if (expect === "key") {
          if (c === COMMA) continue;
          if (c === CLOSE_BRACE) {
            depth = 0;
            expect = "end";
            continue;
          }
          if (c !== QUOTE) throw malformed("expected a member name");
        } else if (expect === "colon") {
          if (c !== COLON) throw malformed("expected ':'");
          expect = "value";
          continue;
        } else if (c === OPEN_BRACKET) {
          inArray = true;
          depth = 2;
          continue;
        }
        // A value (or key) starts here.
        captured = "";
        from = i;
      }
      if (c === QUOTE) {
        inString = true;
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        depth++;
        continue;
      }
      const base = inArray ? 2 : 1;
      if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (depth === base) {
          // A scalar ends at its container's end: the array's, or the document's.
          finish(captured + chunk.slice(from, i));
          depth--;
          inArray = false;
          expect = depth === 1 ? "key" : "end";
          continue;
        }
        depth--;
        if (depth === base) {
          finish(captured + chunk.slice(from, i + 1));
          if (!inArray) expect = "key";
        }
        continue;
      }
      if (c === COMMA && depth === base) {
        finish(captured + chunk.slice(from, i));
        if (!inArray) expect = "key";
      }
    }
    if (captured !== null) captured += chunk.slice(from);
  };

  for await (const bytesChunk of bytes) {
    feed(decoder.decode(bytesChunk, { stream: true }));
    yield* done.splice(0);
  }
  feed(decoder.decode());
  yield* done.splice(0);
  if (expect !== "end") throw malformed("unexpected end");
}
