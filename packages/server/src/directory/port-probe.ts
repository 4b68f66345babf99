import net from "node:net";
import tls from "node:tls";

/**
 * What answers at a directory URL's host and port, asked when a connection there failed in a way
 * that suggests the wrong port or scheme: so that a failure says what is there (LDAP, TLS, a web
 * server) instead of guessing. Nothing secret is sent: an anonymous search of the root DSE, and a
 * TLS handshake that sends no data.
 */
export type PortAnswer = { kind: "ldap" } | { kind: "tls" } | { kind: "other"; firstLine: string } | { kind: "silent" };

/** An LDAP SearchRequest (RFC 4511), message 1: the root DSE, base scope, `(objectClass=*)`, attribute `1.1` (none). */
const ROOT_DSE_SEARCH = Buffer.from("302a020101632504000a01000a0100020100020100010100870b6f626a656374436c61737330050403312e31", "hex");

/** A URL's host as a connection takes it: an IPv6 address without the brackets a URL puts around it. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/** A plain connection's first answer to an LDAP request; then, if none came, whether a TLS handshake is answered. */
export async function whatAnswers(url: URL, timeoutMs: number): Promise<PortAnswer> {
  const host = hostOf(url);
  const port = Number(url.port || (url.protocol === "ldaps:" ? 636 : 389));
  const first = await firstAnswer(host, port, timeoutMs);
  if (first && first.length > 0) {
    // An LDAP message is a BER SEQUENCE; a TLS record (an alert, a handshake) begins with its type, then version 3.x.
    if (first[0] === 0x30) return { kind: "ldap" };
    if ((first[0] === 0x15 || first[0] === 0x16) && first[1] === 0x03) return { kind: "tls" };
    return { kind: "other", firstLine: printable(first) };
  }
  return (await answersTls(host, port, timeoutMs)) ? { kind: "tls" } : { kind: "silent" };
}

/** The answer's first line, as printable ASCII and short: it is said back in messages, logs and the audit log. */
function printable(bytes: Buffer): string {
  const line = bytes.toString("latin1").split(/\r?\n/)[0]!.replace(/[^\x20-\x7e]/g, "?");
  return line.length > 60 ? `${line.slice(0, 60)}…` : line;
}

function firstAnswer(host: string, port: number, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    const done = (answer: Buffer | null) => {
      socket.destroy();
      resolve(answer);
    };
    socket.once("connect", () => socket.write(ROOT_DSE_SEARCH));
    socket.once("data", (chunk: Buffer) => done(chunk));
    for (const end of ["end", "close", "error", "timeout"]) socket.once(end, () => done(null));
  });
}

/** Whether the port completes a TLS handshake, or answers it with a TLS alert (a server that speaks TLS, refusing this client). */
function answersTls(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    // Only whether TLS answers: no certificate is trusted for anything here, and no data is sent.
    const socket = tls.connect({ host, port, rejectUnauthorized: false, servername: net.isIP(host) ? undefined : host, timeout: timeoutMs });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.once("secureConnect", () => done(true));
    socket.once("error", (error: { code?: unknown }) => done(/^ERR_SSL_.*ALERT/.test(String(error.code))));
    for (const end of ["close", "timeout"]) socket.once(end, () => done(false));
  });
}
