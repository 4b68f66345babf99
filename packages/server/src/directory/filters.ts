import { AndFilter, EqualityFilter, FilterParser, NotFilter, OrFilter, type Filter } from "ldapts";

// LDAP filters (RFC 4515) as ldapts sends them, and values escaped for them.

/** Bytes that are not UTF-8 throw. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** An escaped byte 0x80–0xff that is not UTF-8, held until the filter is parsed as the lone surrogate U+DC00 + byte (as Python's surrogateescape). */
const RAW_BYTE = 0xdc00;
const RAW_BYTES = /[\udc80-\udcff]/;
const RAW_BYTES_ALL = /[\udc80-\udcff]/g;

/** The fields of a parsed assertion that ldapts sends as text (the value; a substring's parts). */
type TextFields = { value?: unknown; initial?: unknown; any?: unknown; final?: unknown };

/** The assertions of a parsed filter, through its and, or and not. */
function* assertions(filter: Filter): Generator<Filter> {
  if (filter instanceof AndFilter || filter instanceof OrFilter) for (const f of filter.filters) yield* assertions(f);
  else if (filter instanceof NotFilter) yield* assertions(filter.filter);
  else yield filter;
}

/**
 * A filter as ldapts reads it, and the first escaped byte that is not UTF-8 it can send only as another
 * (null: none). ldapts decodes each `\xx` escape as a character of its own, which it sends as UTF-8: a
 * character beyond ASCII written as its escaped UTF-8 bytes (RFC 4515: `M\c3\bcller`), or a binary value
 * (an objectGUID's bytes), went out as other bytes and matched nothing. A run of such escapes that is
 * UTF-8 is written as its characters (the same bytes); bytes that are not UTF-8 are sent as themselves
 * where ldapts can send bytes, in an equality (`(objectGUID=\a1\b2…)`): the filter is then handed over
 * parsed. Elsewhere (a substring, an ordering, an approximate or extensible match) ldapts sends only
 * text: they stay the characters it reads them as (a configuration may not save such a filter any more:
 * unsendable). Every other escape stays as it is.
 */
function parse(filter: string): { filter: string | Filter; unsent: number | null } {
  const text = filter.replace(/(?:\\[89a-f][0-9a-f])+/gi, (run) => {
    const bytes = Buffer.from(run.replace(/\\/g, ""), "hex");
    try {
      return UTF8.decode(bytes);
    } catch {
      return String.fromCharCode(...[...bytes].map((b) => RAW_BYTE + b));
    }
  });
  if (!RAW_BYTES.test(text)) return { filter: text, unsent: null };
  const parsed = FilterParser.parseString(text);
  let unsent: number | null = null;
  for (const assertion of assertions(parsed)) {
    if (assertion instanceof EqualityFilter) {
      if (typeof assertion.value === "string" && RAW_BYTES.test(assertion.value)) assertion.value = bytesOf(assertion.value);
      continue;
    }
    const fields = assertion as unknown as TextFields;
    const asText = (v: unknown) => {
      if (typeof v !== "string" || !RAW_BYTES.test(v)) return v;
      unsent ??= v.match(RAW_BYTES)![0].charCodeAt(0) - RAW_BYTE;
      return v.replace(RAW_BYTES_ALL, (c) => String.fromCharCode(c.charCodeAt(0) - RAW_BYTE));
    };
    for (const k of ["value", "initial", "final"] as const) if (k in fields) fields[k] = asText(fields[k]);
    if (Array.isArray(fields.any)) fields.any = fields.any.map(asText);
  }
  return { filter: parsed, unsent };
}

/** A value with bytes held as lone surrogates: those bytes, the rest UTF-8. */
function bytesOf(value: string): Buffer {
  return Buffer.concat([...value].map((c) => (RAW_BYTES.test(c) ? Buffer.from([c.charCodeAt(0) - RAW_BYTE]) : Buffer.from(c, "utf8"))));
}

/** A filter as ldapts sends it: the text, or the filter parsed where it holds bytes that are not UTF-8 (parse). */
export function filterForLdapts(filter: string): string | Filter {
  return parse(filter).filter;
}

/** A filter parsed as ldapts sends it. */
export function parsedFilter(filter: string): Filter {
  const f = filterForLdapts(filter);
  return typeof f === "string" ? FilterParser.parseString(f) : f;
}

/**
 * Why a filter cannot be sent as written, or null: a lone surrogate (no character of any text, and what
 * stands for a byte here), or an escaped byte that is not UTF-8 where ldapts sends only text (parse).
 */
export function unsendable(filter: string): string | null {
  if (/\p{Cs}/u.test(filter)) return "it holds a character that is not text (a lone surrogate)";
  const { unsent } = parse(filter);
  if (unsent === null) return null;
  return `escaped bytes that are not UTF-8 text (\\${unsent.toString(16).padStart(2, "0")}) can be matched only by equality, (attribute=value): elsewhere the directory is sent text`;
}

/** An LDAP filter assertion value, escaped (RFC 4515). */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
