/**
 * The charset a request says its body is in. Every JSON body is read as UTF-8 (RFC 8259); an import's
 * CSV or NDJSON is read in the charset it declares, since spreadsheets save CSV in their own (Excel on
 * Windows: windows-1252).
 */

/** The `charset` parameter of a Content-Type, lowercased and unquoted; undefined when there is none. */
export function declaredCharset(contentType: string | undefined): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? "")?.[1]?.toLowerCase();
}

/** Charsets that do not write ASCII as ASCII: UTF-16 and UTF-32 (UCS-2/4, "unicode"), UTF-7, and the common EBCDIC code pages. */
const NOT_ASCII_BASED = /^(?:utf-?(?:16|32|7)|ucs-?[24]|unicode|csunicode|ebcdic|(?:cp|ibm)-?(?:0?37|500|1047|114\d))/;

/** Whether a body in this charset could be read as UTF-8 at all (its ASCII is ASCII's bytes). */
export function writesAsciiAsAscii(charset: string): boolean {
  return charset !== "" && !NOT_ASCII_BASED.test(charset);
}

/**
 * The encoding (its WHATWG name: `utf-8`, `windows-1252`, `shift_jis`…) an import's body is decoded
 * with: the declared charset's, UTF-8 when none is declared; undefined when the label names no encoding
 * the Encoding Standard decodes (a typo would otherwise be read as UTF-8, a 7-bit charset's rows then
 * imported garbled). ISO-8859-1 and US-ASCII are read as windows-1252, as browsers read them.
 */
export function importEncoding(charset: string | undefined): string | undefined {
  if (charset === undefined) return "utf-8";
  try {
    return new TextDecoder(charset).encoding;
  } catch {
    return undefined;
  }
}
