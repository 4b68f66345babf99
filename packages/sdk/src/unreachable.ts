/** Why a request reached no server, in words, from the network's error (fetch's `cause` and its system code). */

/** OpenSSL's codes for a certificate no trusted CA vouches for (a private CA, a self-signed certificate). */
const UNTRUSTED_CERTIFICATE = ["SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"];

export function unreachableReason(err: unknown, baseUrl: string): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  const host = new URL(baseUrl).hostname;
  const reasons: Record<string, string> = {
    ECONNREFUSED: "nothing answers on that port: is the server running, and is the URL right?",
    ENOTFOUND: `no host is known by the name ${host} (DNS)`,
    EAI_AGAIN: `the name ${host} could not be looked up now (DNS)`,
    ECONNRESET: "the connection was closed before an answer",
    ETIMEDOUT: "no answer in time",
    EHOSTUNREACH: "the host cannot be reached (no route to it)",
    ENETUNREACH: "the network of that address cannot be reached",
    ...Object.fromEntries(UNTRUSTED_CERTIFICATE.map((c) => [c, "its certificate is signed by a CA this machine does not trust (NODE_EXTRA_CA_CERTS names a PEM file of more)"])),
    CERT_HAS_EXPIRED: "its certificate has expired",
    ERR_TLS_CERT_ALTNAME_INVALID: `its certificate is not for ${host}`,
  };
  const reason = code === undefined ? undefined : reasons[code];
  if (reason) return `${reason} (${code})`;
  // fetch's own refusal of the ports it never connects to (9, 25, 6000…: the Fetch standard's "bad ports").
  if (cause?.message === "bad port") return "fetch never connects to that port (bad port): the server is not on it";
  return code ?? cause?.message ?? (err as Error).message;
}
