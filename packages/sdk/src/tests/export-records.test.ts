import { test } from "node:test";
import assert from "node:assert/strict";
import { exportRecords, type ExportRecord } from "../index.js";

async function* pieces(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

async function collect(text: string, size: number): Promise<ExportRecord[]> {
  const out: ExportRecord[] = [];
  for await (const r of exportRecords(pieces(text, size))) out.push(r);
  return out;
}

test("exportRecords splits the document into records whatever the chunk boundaries", async () => {
  const doc = {
    exportedAt: "2026-01-01T00:00:00Z",
    count: 5,
    flag: true,
    none: null,
    nested: { a: [1, { b: '}]"\\,' }] },
    roles: [],
    groups: [{ id: "g", name: "日本 😀", list: [1, 2] }],
    users: [{ u: "a,b" }, { u: 'c"]}' }],
    scalars: ["x", 2, null],
    empty: {},
  };
  const expected: ExportRecord[] = [];
  for (const [kind, v] of Object.entries(doc)) {
    if (Array.isArray(v)) for (const value of v) expected.push({ kind, value });
    else expected.push({ kind, value: v });
  }
  for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2)]) {
    // Size 1 splits every character, and the UTF-8 bytes of 日 and 😀.
    for (const size of [1, 2, 3, 7, 4096]) assert.deepEqual(await collect(text, size), expected, `chunks of ${size}`);
  }
});

test("an object without members is a document of no records, however it is spaced", async () => {
  for (const text of ["{}", "{ }", "{\n}\n", " {}  "]) for (const size of [1, 4096]) assert.deepEqual(await collect(text, size), [], JSON.stringify(text));
  await assert.rejects(collect("{} x", 1), /more after its end/);
});

test("exportRecords rejects what is not one JSON object", async () => {
  await assert.rejects(collect("[1]", 2), /not a JSON object/);
  await assert.rejects(collect('{"a":1} x', 2), /more after its end/);
  await assert.rejects(collect('{"a":[1,2', 2), /ends before it is complete/);
  await assert.rejects(collect("{1:2}", 2), /a member name that is not a string/);
});
