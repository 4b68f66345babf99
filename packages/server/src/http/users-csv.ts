import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import type { UserFilter, UserJson, UserQueries } from "../storage/user-queries.js";
import { keysetBatches } from "../storage/keyset.js";
import { whileAuthorized } from "./auth-guard.js";

/** The columns of the users CSV, in order: the extended view's fields (lists joined by `;`: listCell). */
const COLUMNS = [
  "id", "numericId", "username", "loginName", "firstName", "lastName", "displayName", "email", "description", "enabled", "builtin",
  "dn", "profileId", "validFrom", "validTo", "expired", "lockedOutUntil", "changePassword", "passwordNeverExpires", "serviceAccount", "groups", "federatedIdentities",
] as const;

/**
 * One CSV cell (RFC 4180). Text a spreadsheet would run as a formula (starting with = + - @, a tab or
 * a carriage return) gets a leading `'`, as OWASP advises, so opening an export runs nothing; so does
 * text that starts with `'`s before one of those, so that an import, which takes one `'` away again
 * (http/import-formats.ts), gets back what was exported.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value !== "string") return String(value);
  const text = /^'*[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * A cell of names (a user's groups): joined by `;`, a `;` or `\` inside a name written `\;`, `\\`, so
 * that the import (listCellNames) reads a name holding `;` back as that one name: read as several, a
 * group a security administrator named `x;administrators` put its members in `administrators`.
 */
export function listCell(names: readonly string[]): string {
  return names.map((name) => name.replace(/[\\;]/g, "\\$&")).join(";");
}

/**
 * The names of a list cell (listCell): split at each `;` not escaped; `\;` and `\\` are `;` and `\`, any other `\` is kept (`DOMAIN\staff` from another system).
 * Empty names (`staff;;users`) are kept, for the import to refuse as it refuses an NDJSON row's.
 */
export function listCellNames(cell: string): string[] {
  return `;${cell}`.match(/;(?:\\[\\;]|[^;])*/g)!.map((name) => name.slice(1).replace(/\\([\\;])/g, "$1"));
}

function cellOf(user: Record<string, unknown>, column: (typeof COLUMNS)[number]): unknown {
  const value = user[column];
  if (column === "groups") return Array.isArray(value) ? listCell(value as string[]) : value;
  if (column === "federatedIdentities") return Array.isArray(value) ? listCell(value.map((f: { alias: string }) => f.alias)) : value;
  return value;
}

/** Every user matching `filter` as CSV lines (a header first), read in keyset batches so memory stays flat. */
async function* usersCsv(users: UserQueries, filter: UserFilter): AsyncGenerator<string> {
  yield `\uFEFF${COLUMNS.join(",")}\r\n`; // the BOM tells spreadsheets the file is UTF-8
  const batches = keysetBatches<UserJson, string>((after, n) => users.listPageJson(filter, after, n, true), (u) => u.username, undefined, 1000);
  for await (const batch of batches) {
    yield batch.map((row) => {
      const user = JSON.parse(row.json) as Record<string, unknown>;
      return `${COLUMNS.map((c) => csvCell(cellOf(user, c))).join(",")}\r\n`;
    }).join("");
  }
}

/** Sends the users CSV as a download, streamed. */
export function sendUsersCsv(reply: FastifyReply, users: UserQueries, filter: UserFilter): FastifyReply {
  return reply.type("text/csv; charset=utf-8").header("content-disposition", 'attachment; filename="users.csv"').send(Readable.from(whileAuthorized(reply.request, usersCsv(users, filter))));
}

/**
 * True when the client asks for CSV rather than JSON: `text/csv` with a weight above 0 and at least
 * that of JSON (`application/json`, `application/*`, `*\/*`), as RFC 9110 12.5.1 weighs them.
 */
export function wantsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  let csv = 0;
  let json = 0;
  for (const range of accept.split(",")) {
    const [type, ...params] = range.split(";").map((p) => p.trim().toLowerCase());
    const weight = params.find((p) => p.startsWith("q="));
    const q = weight === undefined ? 1 : Number(weight.slice(2));
    if (!(q >= 0 && q <= 1)) continue;
    if (type === "text/csv") csv = Math.max(csv, q);
    else if (type === "application/json" || type === "application/*" || type === "*/*") json = Math.max(json, q);
  }
  return csv > 0 && csv >= json;
}
