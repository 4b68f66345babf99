import net from "node:net";
import tls from "node:tls";
import { Client, InvalidCredentialsError, NoSuchObjectError, ResultCodeError, type Entry, type Filter } from "ldapts";
import type { DirectoryProblem } from "../storage/directory-queries.js";
import { connectionUrls, type Directory } from "./config.js";
import { EntryValues, MEMBER_ATTRIBUTES } from "./entries.js";
import { filterForLdapts } from "./filters.js";
import { hostOf, whatAnswers } from "./port-probe.js";

/**
 * One connection to a directory over ldapts: the URLs tried in order, StartTLS or LDAPS with the
 * configured CA, paged searches, members read in ranges, and failures said in words.
 *
 * A connection is used once: ldapts would silently reconnect a dropped socket, in plain text and
 * unauthenticated, so the transport refuses a second connect and the operation fails instead.
 */

/** Where a directory operation failed: what an administrator must look at. */
export type DirectoryStep = "connect" | "tls" | "insecure" | "bind" | "base" | "search";

export class DirectoryError extends Error {
  constructor(
    readonly step: DirectoryStep,
    message: string,
    /** The directory did not answer in time (a hung server, not a dropped connection: asking again would wait as long again). */
    readonly timedOut = false,
  ) {
    super(message);
    this.name = "DirectoryError";
  }
}

/**
 * The directory refused the service account's bind (bindDn, bindPassword), or no bindPassword is stored
 * for it: the directory answers, but no user can be looked up or synced through it.
 */
export class ServiceBindRefused extends DirectoryError {
  constructor(message: string) {
    super("bind", message);
  }
}

/**
 * What /health and the audit log say of a failure: the directory refuses the service account's bind
 * (`bind-refused`), or answers over a connection its configuration sends no passwords over
 * (`insecure`) — neither a matter of reaching it —, or it cannot be reached.
 */
export function problemOf(error: DirectoryError): DirectoryProblem {
  const reason = error instanceof ServiceBindRefused ? "bind-refused" : error.step === "insecure" ? "insecure" : "unreachable";
  return { reason, message: error.message };
}

/** TLS failures: a certificate the CA does not vouch for, a name mismatch, a handshake that failed. */
function isTlsError(error: unknown): boolean {
  const code = String((error as { code?: unknown })?.code ?? "");
  const message = String((error as Error)?.message ?? "");
  return /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|HOSTNAME/i.test(code) || /certificate|ssl|tls|handshake|self[- ]signed/i.test(message);
}

/** What the directory's refusals most often mean for the service account and its searches. */
const RESULT_WORDS: Record<number, string> = {
  3: "the directory stopped the search at its time limit: raise the limit for the service account, or narrow the user filter",
  4: "the directory stopped the search at its size limit: let the service account read more entries (OpenLDAP: limits … size.prtotal=unlimited; Active Directory: MaxPageSize) or narrow the user filter",
  8: "the directory wants a stronger authentication: use ldaps:// or StartTLS",
  11: "the directory stopped the search at an administrative limit: lower pageSize to the page size it allows, raise the service account's limits, or narrow the user filter",
  12: "the directory does not support paged searches (RFC 2696), which a sync needs",
  13: "the directory wants an encrypted connection: use ldaps:// or StartTLS",
  50: "the service account may not read this: give it read access to the users and groups",
  51: "the directory is busy: try again later",
  52: "the directory is unavailable: try again later",
  53: "the directory is unwilling to do this (often: the search asks more than it allows, or the account is restricted)",
};

/** The directory's own diagnostic of a refusal ("" when it sent none; ldapts appends "Code: 0x…" to it). */
function diagnosticOf(error: ResultCodeError): string {
  return error.message.replace(/\s*Code: 0x[0-9a-f]+$/i, "").trim();
}

/** "LDAP result 2: <the directory's diagnostic>". */
function resultOf(error: ResultCodeError): string {
  const diagnostic = diagnosticOf(error);
  return `LDAP result ${error.code}${diagnostic ? `: ${diagnostic}` : ""}`;
}

/** A refusal in words, with the directory's own diagnostic when it sent one. */
export function resultInWords(error: ResultCodeError): string {
  const words = RESULT_WORDS[error.code];
  if (!words) return `${diagnosticOf(error) || "the directory refused the operation"} (LDAP result ${error.code})`;
  return `${words} (${resultOf(error)}).`;
}

/** Whether a failure is the directory not answering in time. */
function isTimeout(error: unknown): boolean {
  return String((error as { code?: unknown })?.code ?? "") === "ETIMEDOUT" || /timeout|timed out/i.test((error as Error)?.message ?? "");
}

/** OpenSSL's codes for a certificate chain that no trusted CA vouches for (a private CA, a self-signed certificate). */
const UNTRUSTED_CERTIFICATE = ["SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"];

/** Why a connection failed, in words, from the system's error code; the error's own message otherwise. */
function networkReason(error: unknown, url: URL): string {
  const code = String((error as { code?: unknown })?.code ?? "");
  const message = (error as Error)?.message ?? String(error);
  const reasons: Record<string, string> = {
    ENOTFOUND: `no server is known by the name ${url.hostname} (DNS)`,
    EAI_AGAIN: `the name ${url.hostname} could not be looked up now (DNS)`,
    ECONNREFUSED: "the server refused the connection (nothing listens on that port)",
    ECONNRESET: "the server closed the connection",
    ETIMEDOUT: "no answer in time",
    EHOSTUNREACH: "the host cannot be reached (no route to it)",
    ENETUNREACH: "the network of that address cannot be reached",
    ...Object.fromEntries(UNTRUSTED_CERTIFICATE.map((c) => [c, "its certificate is signed by a CA this server does not trust: put that CA's certificate (PEM) in caCertificate"])),
    ...Object.fromEntries(["ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", "ERR_SSL_UNSUPPORTED_PROTOCOL"].map((c) => [c, "the server and this one share no TLS version: this one speaks TLS 1.2 and later, enable them at the server"])),
    ERR_TLS_CERT_ALTNAME_INVALID: `its certificate is for ${certificateNames(error)}, not ${url.hostname}: connect by a name the certificate holds, or give the server a certificate for this one`,
  };
  // OpenSSL's own failures: its reason ("sslv3 alert handshake failure"), not its lines of source file and error numbers.
  const openSsl = (error as { reason?: unknown })?.reason;
  const reason = reasons[code] ?? (isTimeout(error) ? "no answer in time" : typeof openSsl === "string" ? `the TLS handshake failed: ${openSsl}` : undefined);
  return reason ? `${reason} (${code || "timeout"})` : message;
}

/** The names a server's certificate holds (its subjectAltName, else its subject's CN), from Node's name-mismatch error. */
function certificateNames(error: unknown): string {
  const cert = (error as { cert?: { subjectaltname?: string; subject?: { CN?: string } } })?.cert;
  return cert?.subjectaltname || (cert?.subject?.CN ? `CN=${cert.subject.CN}` : "other names");
}

/** A failure that happened while reaching the directory (or, `during` a step, after it had answered), in words. */
function connectionFailure(url: URL, error: unknown, during?: DirectoryStep): DirectoryError {
  const message = networkReason(error, url);
  if (isTlsError(error)) return new DirectoryError("tls", `TLS with ${url.host} failed: ${message}`, isTimeout(error));
  if (during) return new DirectoryError("connect", `The connection to ${url.host} was lost during the ${during}: ${message}`, isTimeout(error));
  return new DirectoryError("connect", `Cannot connect to ${url.host}: ${message}`, isTimeout(error));
}

/**
 * A first request that met a port of another protocol: a plain connection closed unanswered (a port that
 * speaks TLS, or something else), or a TLS handshake the port does not answer. What answers there is
 * asked (see port-probe) and said; null when the failure is not of that kind, or LDAP as configured answers.
 */
async function wrongPort(url: URL, error: unknown, timeoutMs: number): Promise<DirectoryError | null> {
  const check = "check the port (LDAP's is 389, LDAPS's 636)";
  if (url.protocol === "ldap:" && /^Connection closed before message response was received/.test((error as Error)?.message ?? "")) {
    const answer = await whatAnswers(url, timeoutMs);
    if (answer.kind === "tls") return new DirectoryError("tls", `${url.host} answers TLS, not plain LDAP: if it is the directory's LDAPS port, use ldaps://${url.host}; else the server's plain LDAP port (389).`);
    if (answer.kind === "other") return new DirectoryError("connect", `${url.host} does not answer LDAP: it answered "${answer.firstLine}" — ${check}.`);
    if (answer.kind === "silent") return new DirectoryError("connect", `${url.host} closed the connection without answering LDAP, and answers no TLS either: ${check}.`);
    return null;
  }
  if (url.protocol === "ldaps:" && speaksNoTls(error)) {
    const failed = `TLS with ${url.host} failed: the server does not answer TLS on this port`;
    const code = String((error as { code?: unknown }).code);
    const answer = await whatAnswers(url, timeoutMs);
    if (answer.kind === "ldap") return new DirectoryError("tls", `${failed}, which speaks plain LDAP — use ldap://${url.host} with StartTLS, or the server's LDAPS port (636) (${code})`);
    const said = answer.kind === "other" ? `it answered "${answer.firstLine}" — ` : "";
    return new DirectoryError("tls", `${failed}, nor LDAP: ${said}check the port (LDAPS's is 636, LDAP's 389) (${code})`);
  }
  return null;
}

/**
 * An LDAPS handshake that met a port without TLS: a server that drops the handshake unanswered (slapd's plain
 * port), or one that answers in plain text (OpenSSL then reads no TLS record: "wrong version number").
 */
function speaksNoTls(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === "ERR_SSL_WRONG_VERSION_NUMBER" || (code === "ECONNRESET" && /before secure TLS connection was established/.test(String(message)));
}

/** A server that answered the StartTLS request with a refusal (one without TLS set up: "unsupported extended operation"). */
function startTlsRefused(url: URL, error: ResultCodeError): DirectoryError {
  return new DirectoryError("tls", `${url.host} refused StartTLS (${resultOf(error)}): set up TLS at the server, or use its ldaps:// URL.`);
}

/**
 * The URLs of this process's connections that could not be made lately (a server down, one that does not
 * answer), by directory and URL: tried after the others for a minute, as a first server that does not
 * answer would otherwise cost every new connection — each login's that opens one, each sync — its
 * timeout before the next URL. After the minute it is first again, as configured (a primary back in
 * service is used again). A TLS failure answered in time is the directory's configuration (its CA,
 * StartTLS), not an outage: it moves nothing, and one directory's outage moves nothing for another that names the URL.
 */
const failedUntil = new Map<string, number>();
const TRIED_LAST_MS = 60_000;

const lately = {
  inTryOrder(d: Pick<Directory, "id">, urls: URL[]): URL[] {
    const now = Date.now();
    const down = (url: URL) => (failedUntil.get(lately.key(d, url)) ?? 0) > now;
    return [...urls.filter((url) => !down(url)), ...urls.filter(down)];
  },
  key: (d: Pick<Directory, "id">, url: URL) => `${d.id} ${url.href}`,
  failed: (d: Pick<Directory, "id">, url: URL) => void failedUntil.set(lately.key(d, url), Date.now() + TRIED_LAST_MS),
  answered: (d: Pick<Directory, "id">, url: URL) => void failedUntil.delete(lately.key(d, url)),
};

/** Active Directory's application and configuration partitions, referred to from a domain's root: they hold no users. */
const NO_USERS_PARTITION = /^ldaps?:\/\/[^/]*\/(DC=DomainDnsZones|DC=ForestDnsZones|CN=Configuration)(,|$)/i;

export class DirectoryConnection {
  private constructor(
    private readonly client: Client,
    /** The URL that answered. */
    readonly url: URL,
    /** Whether what is sent is encrypted (LDAPS or StartTLS). */
    readonly secure: boolean,
    private readonly d: Directory,
  ) {}

  /**
   * Connects to the first URL that answers (StartTLS first where configured). A URL that cannot be
   * reached or fails TLS is skipped (`failed` hears why); the error of the last one is thrown. A URL
   * that failed lately is tried after the others (see lately), but where `failed` is given (a
   * connection test, which says what each URL does): then each is tried in its order.
   */
  static async open(d: Directory, failed?: (error: DirectoryError) => void): Promise<DirectoryConnection> {
    let last: DirectoryError | undefined;
    const urls = connectionUrls(d);
    for (const url of failed ? urls : lately.inTryOrder(d, urls)) {
      const client = new Client({
        url: `${url.protocol}//${url.host}`,
        timeout: d.timeoutSeconds * 1000,
        connectTimeout: d.timeoutSeconds * 1000,
        // ldapts takes TLS options on an ldap:// URL as "TLS from the start": StartTLS gets them itself.
        ...(url.protocol === "ldaps:" ? { tlsOptions: tlsOptionsOf(d, url) } : {}),
        strictDN: false,
        ...singleUseTransport(url),
      });
      const startTls = d.startTls && url.protocol === "ldap:";
      try {
        if (startTls) await startTlsWithin(client, tlsOptionsOf(d, url), d.timeoutSeconds * 1000);
        else await client.search("", { scope: "base", filter: "(objectClass=*)", attributes: ["1.1"] });
        lately.answered(d, url);
        return new DirectoryConnection(client, url, url.protocol === "ldaps:" || startTls, d);
      } catch (error) {
        await client.unbind().catch(() => {});
        // A server that answered StartTLS with a refusal is reachable: what fails is its TLS.
        const refusedStartTls = startTls && error instanceof ResultCodeError;
        last = error instanceof DirectoryError ? error : refusedStartTls ? startTlsRefused(url, error) : (await wrongPort(url, error, d.timeoutSeconds * 1000)) ?? connectionFailure(url, error);
        if (last.step === "connect" || last.timedOut) lately.failed(d, url);
        failed?.(last);
      }
    }
    throw last ?? new DirectoryError("connect", "No connectionUrl is configured.");
  }

  /**
   * Binds as `dn`. A password never crosses an unencrypted connection unless the directory allows it.
   * False when the directory refuses the credentials.
   */
  async bind(dn: string, password: string): Promise<boolean> {
    const refusal = this.passwordRefusal();
    if (refusal) throw refusal;
    try {
      await this.client.bind(dn, password);
      return true;
    } catch (error) {
      if (error instanceof InvalidCredentialsError) return false;
      throw this.failure("bind", error);
    }
  }

  /** Why no password may cross this connection (its configuration refuses an unencrypted one); null when they may. */
  passwordRefusal(): DirectoryError | null {
    if (this.secure || this.d.allowUnencryptedPasswords) return null;
    return new DirectoryError("insecure", `${this.url.host} is not encrypted (no LDAPS, no StartTLS): passwords are not sent over it unless allowUnencryptedPasswords is set.`);
  }

  /** Binds with the configured service account (anonymous without a bindDn). */
  async bindService(password: string | null): Promise<void> {
    if (this.d.bindDn === null) return;
    // A DN with an empty password is an unauthenticated bind (RFC 4513): refused, or taken as anonymous.
    if (!password) throw new ServiceBindRefused(`No bindPassword is stored for ${this.d.bindDn}: send it (or remove bindDn to read anonymously).`);
    let bound: boolean;
    try {
      bound = await this.bind(this.d.bindDn, password);
    } catch (error) {
      // Refused for another reason than its credentials (the account locked there, a stronger authentication wanted): the service account's bind still.
      throw error instanceof DirectoryError && error.step === "bind" ? new ServiceBindRefused(error.message) : error;
    }
    if (!bound) throw new ServiceBindRefused(`The directory refused the bind as ${this.d.bindDn}: check bindDn and bindPassword.`);
  }

  /** One entry by DN, or null when it does not exist (or does not match `filter`). */
  async read(dn: string, attributes: string[], binary: string[] = [], filter = "(objectClass=*)"): Promise<Entry | null> {
    try {
      const { searchEntries } = await this.client.search(dn, { scope: "base", filter: filterForLdapts(filter), attributes, explicitBufferAttributes: binary });
      return searchEntries[0] ?? null;
    } catch (error) {
      if (error instanceof NoSuchObjectError) return null;
      throw this.failure("search", error);
    }
  }

  /**
   * Every entry under `base` matching `filter`, a page at a time (RFC 2696). The next page is asked
   * for before this one is handed on, so the directory reads it while the caller writes this one:
   * memory holds two pages. `referrals`, when given, collects the continuation references met (a
   * subtree another server holds: not followed), the first ten, but for Active Directory's partitions
   * that hold no users (it names them below a domain's root at every search from there).
   */
  async *search(base: string, filter: string | Filter, attributes: string[], binary: string[] = [], referrals?: string[]): AsyncGenerator<Entry[]> {
    const pages = this.client.searchPaginated(base, { scope: "sub", filter: typeof filter === "string" ? filterForLdapts(filter) : filter, attributes, explicitBufferAttributes: binary, paged: { pageSize: this.d.pageSize } });
    let next: Promise<IteratorResult<{ searchEntries: Entry[] }>> | undefined;
    try {
      for (next = pages.next(); ; ) {
        const page = await next;
        if (page.done) return;
        next = pages.next();
        // A caller that stops early leaves the read ahead unawaited: its failure is no one's.
        next.catch(() => {});
        for (const uri of (page.value as { searchReferences?: string[] }).searchReferences ?? []) {
          if (referrals && referrals.length < 10 && !referrals.includes(uri) && !NO_USERS_PARTITION.test(uri)) referrals.push(uri);
        }
        if (page.value.searchEntries.length > 0) yield page.value.searchEntries;
      }
    } catch (error) {
      if (error instanceof NoSuchObjectError) throw new DirectoryError("base", `The search base ${base} does not exist in the directory.`);
      throw this.failure("search", error);
    }
  }

  /**
   * A group's member values, in chunks, each with the attribute it is of. Where the directory splits a long attribute (Active
   * Directory past 1 500 values: `member;range=0-1499` and the plain name empty), the next ranges
   * are read until the one that ends in `*`.
   */
  async *members(values: EntryValues): AsyncGenerator<{ attribute: string; values: string[] }> {
    for (const attribute of MEMBER_ATTRIBUTES) {
      const plain = values.all(attribute);
      if (plain.length > 0) yield { attribute, values: plain.map(String) };
      let ranged = rangedValues(values, attribute);
      while (ranged) {
        yield { attribute, values: ranged.values };
        if (ranged.end === null) break;
        const next = `${attribute};range=${ranged.end + 1}-*`;
        const entry = await this.read(values.entry.dn, [next]);
        ranged = entry ? rangedValues(new EntryValues(entry), attribute) : null;
      }
    }
  }

  private failure(step: DirectoryStep, error: unknown): DirectoryError {
    if (error instanceof DirectoryError) return error;
    if (!this.client.isConnected || /socket|connection|ECONN|closed|timeout/i.test((error as Error)?.message ?? "")) return connectionFailure(this.url, error, step);
    return new DirectoryError(step, `${this.url.host}: ${error instanceof ResultCodeError ? resultInWords(error) : (error as Error)?.message ?? String(error)}`);
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => {});
  }
}

/** `attribute;range=a-b` (b a number, or null for `*`) among an entry's attributes, with its values. */
function rangedValues(values: EntryValues, attribute: string): { values: string[]; end: number | null } | null {
  const prefix = `${attribute.toLowerCase()};range=`;
  // ldapts also lists an attribute that was asked for (`member;range=1500-*`) and not answered, empty: the answered range is the one with values.
  const names = values.names().filter((n) => n.startsWith(prefix));
  const name = names.find((n) => values.all(n).length > 0) ?? names[0];
  if (name === undefined) return null;
  const end = name.slice(prefix.length).split("-")[1];
  return { values: values.all(name).map(String), end: end === undefined || end === "*" ? null : Number(end) };
}

/**
 * StartTLS, its handshake bounded by the directory's timeout too: ldapts bounds the request, not the
 * handshake after it, and a server that stalls there would hold the login (or sync) for good. On
 * time, the connection is closed (ldapts hands the socket it upgrades over in `options.socket`).
 */
async function startTlsWithin(client: Client, options: tls.ConnectionOptions, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      options.socket?.destroy();
      reject(Object.assign(new Error("the TLS handshake after StartTLS did not finish in time"), { code: "ETIMEDOUT" }));
    }, ms);
  });
  try {
    await Promise.race([client.startTLS(options), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function tlsOptionsOf(d: Directory, url: URL): tls.ConnectionOptions {
  // An IPv6 address is bracketed in a URL: without them it is an address, which is sent as no server name
  // (the certificate is then checked against the address connected to).
  const host = hostOf(url);
  return { ...(d.caCertificate ? { secureContext: secureContextFor(d.caCertificate) } : {}), servername: net.isIP(host) ? undefined : host, minVersion: "TLSv1.2" };
}

/**
 * The TLS contexts of the directories' CAs, made once: a context trusting a CA and the root
 * certificates parses all ~140 of them, milliseconds of CPU that every connection (each login's
 * bind, each sync) would spend again. The newest few are kept, for CAs changed since.
 */
const secureContexts = new Map<string, tls.SecureContext>();
const SECURE_CONTEXTS_KEPT = 32;

function secureContextFor(caCertificate: string): tls.SecureContext {
  let context = secureContexts.get(caCertificate);
  if (!context) {
    context = tls.createSecureContext({ ca: [tls.rootCertificates.join("\n"), caCertificate], minVersion: "TLSv1.2" });
    if (secureContexts.size >= SECURE_CONTEXTS_KEPT) secureContexts.delete(secureContexts.keys().next().value!);
    secureContexts.set(caCertificate, context);
  }
  return context;
}

/** Transports that connect once: a second connect (ldapts reconnecting a dropped socket) fails. */
function singleUseTransport(url: URL): { createConnection?: typeof net.connect; createSecureConnection?: typeof tls.connect } {
  let used = false;
  const refuse = () => {
    const socket = new net.Socket();
    process.nextTick(() => socket.destroy(new Error("the connection to the directory was lost")));
    return socket;
  };
  if (url.protocol === "ldaps:") {
    // Also used by StartTLS upgrades (with an existing socket), which ldaps:// never does.
    return { createSecureConnection: ((...args: Parameters<typeof tls.connect>) => (used ? (refuse() as tls.TLSSocket) : ((used = true), tls.connect(...args)))) as typeof tls.connect };
  }
  return { createConnection: ((...args: Parameters<typeof net.connect>) => (used ? refuse() : ((used = true), net.connect(...args)))) as typeof net.connect };
}
