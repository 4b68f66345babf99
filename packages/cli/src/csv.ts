/** RFC 4180 CSV lines: quoted where a cell needs it (quotes, commas, line breaks, edge spaces). */

function csvField(v: string): string {
  return /[",\r\n]|^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function csvLine(values: string[]): string {
  return values.map(csvField).join(",") + "\r\n";
}
