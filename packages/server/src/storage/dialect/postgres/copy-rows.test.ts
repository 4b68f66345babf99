import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { createTemporaryDatabase, storeSkip } from "../../../test-support/server.js";
import { CopyRows, copyRows } from "./copy-rows.js";

const url = process.env.ECM_TEST_DATABASE_URL;

/** A protocol message: its code, its length (itself included) and its body. */
const message = (code: string, body: string | Buffer) => {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const header = Buffer.alloc(5);
  header.write(code, 0, "latin1");
  header.writeUInt32BE(bytes.length + 4, 1);
  return Buffer.concat([header, bytes]);
};

const ROWS = ["{\"a\":1}", "", "{\"b\":\"ü ✓\"}", "x".repeat(300), "{}"];
/** The binary format's header, a row of one text value, and the trailer. */
const FILE_HEADER = Buffer.concat([Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)]);
const row = (value: string) => {
  const bytes = Buffer.from(value);
  const header = Buffer.alloc(6);
  header.writeInt16BE(1, 0);
  header.writeInt32BE(bytes.length, 2);
  return Buffer.concat([header, bytes]);
};
const TRAILER = Buffer.from([0xff, 0xff]);
/** What PostgreSQL sends for a binary COPY TO STDOUT of `rows`, with a notice among them. */
const copyOf = (rows: string[]) =>
  Buffer.concat([
    message("H", Buffer.from([1, 0, 1, 0, 1])),
    ...(rows.length === 0 ? [message("d", Buffer.concat([FILE_HEADER, TRAILER]))] : [
      message("d", Buffer.concat([FILE_HEADER, row(rows[0]!)])),
      ...rows.slice(1, 2).map((r) => message("d", row(r))),
      message("N", "a notice\0"),
      ...rows.slice(2).map((r) => message("d", row(r))),
      message("d", TRAILER),
    ]),
    message("c", ""),
  ]);
const COPY = copyOf(ROWS);
const AFTER = Buffer.concat([message("C", "COPY 5\0"), message("Z", "I")]);

/** A stand-in for pg's connection: its socket delivers `pieces` one at a time; what pg's own reader is handed is kept. */
function fakeConnection(pieces: Buffer[], onHanded: (handed: Buffer) => void = () => {}) {
  const stream = new PassThrough();
  const handed: Buffer[] = [];
  let allWritten!: () => void;
  const written = new Promise<void>((resolve) => (allWritten = resolve));
  stream.on("data", (chunk: Buffer) => {
    handed.push(chunk);
    onHanded(Buffer.concat(handed));
  });
  return {
    handed,
    /** Once the socket has delivered every piece (to this stream or, after the copy, to pg). */
    delivered: () => written.then(() => new Promise((r) => setTimeout(r, 5))),
    connection: {
      stream,
      query() {
        let i = 0;
        const next = () => {
          if (i < pieces.length) stream.write(pieces[i++], () => setImmediate(next));
          else allWritten();
        };
        next();
      },
    },
  };
}

async function read(copy: CopyRows): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of copy) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

describe("binary COPY rows read as comma-joined bytes", () => {
  it("gives the rows joined by commas, whatever pieces the socket cuts the messages into, and hands pg what follows CopyDone", async () => {
    for (const rows of [ROWS, [], ["only"]]) {
      const all = Buffer.concat([copyOf(rows), AFTER]);
      for (const size of [1, 2, 3, 4, 5, 6, 7, 11, 12, 19, 25, 64, 333, all.length]) {
        const pieces: Buffer[] = [];
        for (let at = 0; at < all.length; at += size) pieces.push(Buffer.from(all.subarray(at, at + size)));
        const { connection, handed, delivered } = fakeConnection(pieces);
        const copy = new CopyRows("copy …");
        copy.submit(connection);
        assert.equal(await read(copy), rows.join(","), `${rows.length} rows, pieces of ${size}`);
        await delivered();
        assert.deepEqual(Buffer.concat(handed), AFTER, `${rows.length} rows, pieces of ${size}: what pg reads on`);
      }
    }
  });

  it("hands an error to pg, which ends the stream with it", async () => {
    const error = message("E", "SERROR\0Mboom\0\0");
    // The first two rows, then the error.
    for (const size of [1, 4, 7, 1000]) {
      const all = Buffer.concat([COPY.subarray(0, COPY.indexOf("a notice") - 5), error, message("Z", "I")]);
      const pieces: Buffer[] = [];
      for (let at = 0; at < all.length; at += size) pieces.push(Buffer.from(all.subarray(at, at + size)));
      const copy = new CopyRows("copy …");
      // pg's reader, once handed the whole error, tells the query.
      let told = false;
      const { connection, handed } = fakeConnection(pieces, (bytes) => {
        if (!told && bytes.length >= error.length) copy.handleError(new Error("boom"));
        told ||= bytes.length >= error.length;
      });
      copy.submit(connection);
      await assert.rejects(read(copy), /boom/);
      assert.equal(Buffer.concat(handed).subarray(0, error.length).toString("latin1"), error.toString("latin1"), `pieces of ${size}`);
    }
  });
});

describe("COPY rows from PostgreSQL", { skip: storeSkip("postgres") }, () => {
  let client: pg.Client;
  let drop: () => Promise<void>;
  before(async () => {
    const database = await createTemporaryDatabase(url!);
    drop = database.drop;
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  });
  after(async () => {
    await client.end();
    await drop();
  });

  it("reads every row of a long COPY, and the connection goes on", async () => {
    const sql = "copy (select g || repeat('é', g % 700) from generate_series(1, 20000) g) to stdout with (format binary)";
    const expected = Array.from({ length: 20000 }, (_, i) => `${i + 1}${"é".repeat((i + 1) % 700)}`).join(",");
    assert.equal(await read(copyRows(client as unknown as pg.PoolClient, sql)), expected);
    assert.deepEqual((await client.query("select 2 as two")).rows, [{ two: 2 }]);
  });

  it("fails with PostgreSQL's error when the COPY fails midway, and the connection goes on", async () => {
    const sql = "copy (select (1 / (15000 - g))::text from generate_series(1, 20000) g) to stdout with (format binary)";
    await assert.rejects(read(copyRows(client as unknown as pg.PoolClient, sql)), /division by zero/);
    assert.deepEqual((await client.query("select 3 as three")).rows, [{ three: 3 }]);
  });

  it("reads a COPY of no rows as nothing", async () => {
    assert.equal(await read(copyRows(client as unknown as pg.PoolClient, "copy (select 'x' where false) to stdout with (format binary)")), "");
  });
});
