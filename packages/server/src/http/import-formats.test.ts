import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { csvRecords, MAX_ROW_CHARS, type InputRecord } from "./import-formats.js";

async function records(...pieces: string[]): Promise<InputRecord[]> {
  const out: InputRecord[] = [];
  for await (const r of csvRecords((async function* () {
    yield* pieces;
  })())) out.push(r);
  return out;
}

describe("CSV records", () => {
  it("counts separators and quotes toward the row's limit: a row of nothing but commas is one refused row, not an array without end", async () => {
    const commas = ",".repeat(4 * 1024 * 1024);
    const rows = await records("username,email\n", "alice,a@example.com\n", commas.slice(0, 1_000_000), commas.slice(1_000_000), "\n", '"""",""\n', "bob,b@example.com\n");
    assert.deepEqual(
      rows.map((r) => ("problem" in r ? [r.line, r.problem] : [r.line, r.fields.username])),
      [
        [2, "alice"],
        [3, `The row is longer than ${MAX_ROW_CHARS} characters.`],
        [4, '"'],
        [5, "bob"],
      ],
    );
  });

  it("refuses a header longer than a row may be, commas or not", async () => {
    await assert.rejects(records(`username${",".repeat(MAX_ROW_CHARS)}\n`, "alice\n"), /The CSV header is longer than 65536 characters/);
  });

  it("takes away the formula guard an export puts on a cell, but never from a password, which no export writes", async () => {
    const rows = await records("username,displayName,groups,password\n", "guarded,'=SUM(A1),'-team;other,'=Secret-Start-1\n");
    assert.deepEqual(rows, [{ line: 2, fields: { username: "guarded", displayName: "=SUM(A1)", groups: ["-team", "other"], password: "'=Secret-Start-1" } }]);
  });

  it("says a JSON body sent as CSV is JSON (a users list saved with -o json): not which of its pieces are unknown columns", async () => {
    await assert.rejects(records('[{"id":4,"username":"ann","locked":false},\n', '{"id":5,"username":"bob"}]\n'), /The body is JSON, not CSV: send it as application\/x-ndjson, one JSON object a line\./);
    await assert.rejects(records('\uFEFF {"username":"ann"}\n'), /The body is JSON, not CSV/);
  });

  it("keeps quoted commas, doubled quotes and line breaks inside quotes", async () => {
    const rows = await records('username,firstName\n"a,b","x ""y""\nz"\n');
    assert.deepEqual(rows, [{ line: 2, fields: { username: "a,b", firstName: 'x "y"\nz' } }]);
  });
});
