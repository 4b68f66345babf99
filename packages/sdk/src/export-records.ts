/**
 * Splits the export document — one JSON object whose members are arrays or single values — into
 * records as the bytes arrive, so that a directory of a million users never has to fit in one string.
 */
import { JsonSplitter } from "./json-split.js";
import type { ECMExport } from "./types.js";

/** One member of the export document: an array member yields one record per element. */
export interface ExportRecord {
  /** The member's name: `roles`, `groups`, `roleMappings`, `users`, `memberships`, `exportedAt`, … */
  kind: string;
  value: unknown;
}

export async function* exportRecords(bytes: AsyncIterable<Uint8Array>): AsyncGenerator<ExportRecord> {
  const splitter = new JsonSplitter("object");
  for await (const chunk of bytes) {
    for (const { key, values } of splitter.push(chunk)) for (const value of values) yield { kind: key!, value };
  }
  splitter.end();
}

/** The export document rebuilt as its bytes arrive (ECM's and ECMSync's exportSecuritySystem). */
export class ExportReader {
  readonly #splitter = new JsonSplitter("object");
  readonly #doc: Record<string, unknown> = {};

  push(chunk: Uint8Array): void {
    for (const { key, values, elements } of this.#splitter.push(chunk)) {
      if (!elements) this.#doc[key!] = values[0];
      else {
        const list = (this.#doc[key!] ??= []) as unknown[];
        for (const v of values) list.push(v);
      }
    }
  }

  end(): ECMExport {
    this.#splitter.end();
    return this.#doc as ECMExport;
  }
}
