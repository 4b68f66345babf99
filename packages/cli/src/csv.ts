/** RFC 4180 CSV: parse (quotes, doubled quotes, CRLF, newlines in quotes) and format. */

/** A parsed record and the file line it starts on (1-based; quoted fields may span lines). */
export interface CsvRecord {
  line: number;
  cells: string[];
}

export function parseCsvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let row: string[] = [];
  let field = "";
  let i = 0;
  let quoted = false;
  let line = 1;
  let start = 1;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // BOM
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n" || (c === "\r" && text[i + 1] !== "\n")) line++;
        field += c;
      }
    } else if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      records.push({ line: start, cells: row });
      row = [];
      field = "";
      start = ++line;
    } else field += c;
  }
  if (quoted) throw new Error(`unterminated quoted field in CSV (from line ${start})`);
  if (field !== "" || row.length > 0) {
    row.push(field);
    records.push({ line: start, cells: row });
  }
  return records.filter((r) => !(r.cells.length === 1 && r.cells[0] === ""));
}

function csvField(v: string): string {
  return /[",\r\n]|^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function csvLine(values: string[]): string {
  return values.map(csvField).join(",") + "\r\n";
}
