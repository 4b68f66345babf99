import { Readable } from "node:stream";
import type pg from "pg";

/**
 * `COPY (…one text column, never null…) TO STDOUT WITH (FORMAT binary)` read as the column's bytes,
 * the rows joined by commas, in the pieces the socket delivers.
 *
 * Binary, not CSV: PostgreSQL's CSV (and text) output looks at every byte of every value for
 * characters to quote; at a million kept user documents that was half the backend's time for the
 * COPY (COPY of the extended list to /dev/null: 4.7–5.7 s as CSV, 2.3–2.4 s binary, a loaded machine).
 *
 * PostgreSQL sends every row as a message of its own: a `d`, the message's length, then the row — the
 * number of columns (2 bytes), the value's length (4) and the value — the first row after the
 * format's 19-byte header; the last message is the trailer (-1 as 2 bytes). Each piece the socket
 * delivers is walked once: the values are moved to its start over the headers (never past where they
 * are read: a comma takes one byte of the 11 skipped before each value), so nothing is allocated a
 * row (pg-copy-streams' reader made a Buffer a row and joined them again). The messages around the rows
 * are skipped; an error, or what follows CopyDone, is handed back to pg's own reader, as
 * pg-copy-streams does.
 *
 * A pg "submittable": `client.query(new CopyRows(sql))`.
 */
export class CopyRows extends Readable {
  readonly #text: string;
  #connection: any;
  #pgDataHandler: ((chunk: Buffer) => void) | undefined;
  readonly #onReadable = () => this.#forward();
  #wanted = false;
  #forwarding = false;
  #finished = false;
  /** The bytes of a message's header read so far (a header may span two pieces). */
  readonly #header = Buffer.alloc(5);
  #headerLength = 0;
  /** Bytes of the current message still to come; of them, the headers still to skip before the value; whether it is a row. */
  #left = 0;
  #skip = 0;
  #row = false;
  #rows = 0;
  /** The format's header is still to come (in the first row's message). */
  #first = true;

  constructor(text: string) {
    super();
    this.#text = text;
  }

  /** Called by pg with the connection the query runs on. */
  submit(connection: any): void {
    this.#connection = connection;
    const stream = connection.stream;
    const listeners = stream.listeners("data");
    if (listeners.length !== 1) throw new Error("the connection's stream has not one reader");
    this.#pgDataHandler = listeners[0];
    stream.removeListener("data", this.#pgDataHandler);
    stream.pause();
    stream.on("readable", this.#onReadable);
    connection.query(this.#text);
    this.#forward();
  }

  override _read(): void {
    this.#wanted = true;
    this.#forward();
  }

  #forward(): void {
    if (this.#forwarding || !this.#wanted || this.#finished || !this.#connection) return;
    this.#forwarding = true;
    const stream = this.#connection.stream;
    let chunk: Buffer | null;
    while (this.#wanted && !this.#finished && (chunk = stream.read()) !== null) this.#parse(chunk);
    this.#forwarding = false;
  }

  /** Moves the values of `chunk` to its start, a comma between rows, and pushes them; hands pg what follows the copy. */
  #parse(chunk: Buffer): void {
    const length = chunk.length;
    let pos = 0;
    let written = 0;
    while (pos < length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, length - pos);
        pos += n;
        this.#skip -= n;
        this.#left -= n;
        if (this.#skip > 0 || !this.#row || this.#rows++ === 0) continue;
        // A row after the first: its comma, over the headers just skipped (at least one of them in this piece).
        chunk[written++] = COMMA;
        continue;
      }
      if (this.#left > 0) {
        const n = Math.min(this.#left, length - pos);
        if (this.#row) {
          if (written !== pos) chunk.copyWithin(written, pos, pos + n);
          written += n;
        }
        pos += n;
        this.#left -= n;
        continue;
      }
      let code: number;
      let size: number;
      if (this.#headerLength === 0 && length - pos >= 5) {
        code = chunk[pos]!;
        size = chunk.readUInt32BE(pos + 1);
        if (code === ERROR) return this.#finish(chunk, written, chunk.subarray(pos), false);
        pos += 5;
        if (code === COPY_DONE) return this.#finish(chunk, written, chunk.subarray(pos), true);
      } else {
        const n = Math.min(5 - this.#headerLength, length - pos);
        chunk.copy(this.#header, this.#headerLength, pos, pos + n);
        this.#headerLength += n;
        pos += n;
        if (this.#headerLength < 5) continue;
        this.#headerLength = 0;
        code = this.#header[0]!;
        size = this.#header.readUInt32BE(1);
        if (code === ERROR) return this.#finish(chunk, written, Buffer.concat([this.#header, chunk.subarray(pos)]), false);
        if (code === COPY_DONE) return this.#finish(chunk, written, chunk.subarray(pos), true);
      }
      this.#left = size - 4;
      // CopyOutResponse before the rows, notices and the like between them: skipped whole.
      if (code !== COPY_DATA) {
        this.#row = false;
        this.#skip = this.#left;
        continue;
      }
      const headers = (this.#first ? FILE_HEADER : 0) + ROW_HEADER;
      this.#first = false;
      // The trailer (-1 columns), alone or after the header when there are no rows: skipped whole.
      this.#row = this.#left !== headers - ROW_HEADER + TRAILER;
      this.#skip = this.#row ? headers : this.#left;
    }
    if (written > 0) this.#wanted = this.push(chunk.subarray(0, written));
  }

  /**
   * The rows before `rest` pushed, `rest` handed to pg: what follows CopyDone (the stream then ends),
   * or an error, which pg's reader hands to handleError once it has read all of it.
   */
  #finish(chunk: Buffer, written: number, rest: Buffer, done: boolean): void {
    if (written > 0) this.push(chunk.subarray(0, written));
    this.#finished = true;
    const stream = this.#connection.stream;
    stream.removeListener("readable", this.#onReadable);
    stream.addListener("data", this.#pgDataHandler);
    // Whatever pg's reader now does with the error or the completion (this stream's handleError, handleCommandComplete).
    this.#pgDataHandler!(rest);
    // As pg-copy-streams: resumed after pg's reader has handled what it was given, which may pause it.
    process.nextTick(() => stream.resume());
    if (done) this.push(null);
  }

  // pg calls these on its active query.
  handleError(error: Error): void {
    this.destroy(error);
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {}
}

const COMMA = 0x2c;
/** The binary format's header, a row's (the number of columns, the value's length) and the trailer, in bytes. */
const FILE_HEADER = 19;
const ROW_HEADER = 6;
const TRAILER = 2;
const ERROR = 0x45; // E
const COPY_DONE = 0x63; // c
const COPY_DATA = 0x64; // d

/** pg's query(), which takes a submittable: its types only know pg's own. */
export function copyRows(client: pg.PoolClient, text: string): CopyRows {
  return (client as unknown as { query(q: CopyRows): CopyRows }).query(new CopyRows(text));
}
