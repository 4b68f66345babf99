import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";

/** What a path is when it is not a regular file, for the refusal. */
function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isSocket()) return "a socket";
  return "something else";
}

/**
 * Reads a file a setting names (a key, a certificate): a regular file of at most `maxBytes`. Anything
 * else is refused at once, naming the setting: a FIFO (whose open would wait for a writer for ever), a
 * directory, a device (`/dev/zero` never ends). At most `maxBytes` + 1 bytes are read, whatever the file
 * says its size is (files under /proc say 0). A file that is not there is an error whose `code` is
 * `ENOENT`; other failures say the setting and the system's code.
 */
export function readSettingFile(path: string, setting: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    // Non-blocking: opening a FIFO does not wait for a writer (a regular file reads as ever).
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0));
  } catch (error) {
    throw unreadable(setting, path, error);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new Error(`${setting} (${path}) is not a regular file but ${kindOf(stats)}: give the path of the file itself.`);
    const tooLarge = new Error(`${setting} (${path}) is larger than ${maxBytes} bytes: is it the right file?`);
    if (stats.size > maxBytes) throw tooLarge;
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    try {
      for (let n = -1; n !== 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    } catch (error) {
      throw unreadable(setting, path, error);
    }
    if (length > maxBytes) throw tooLarge;
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

function unreadable(setting: string, path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const failure = new Error(`${setting} (${path}) cannot be read (${code ?? (error as Error).message})${code === "ENOENT" ? ": there is no such file" : code === "EACCES" ? ": this user may not read it" : ""}.`);
  // A missing file is for the caller to decide about (the secret key's is made at the first start); no other code is kept, lest it read as the data directory's.
  return code === "ENOENT" ? Object.assign(failure, { code }) : failure;
}

/** The private key in PEM of the file a setting names: its text and the key, or the setting's own words when it holds none. */
export function readPrivateKey(path: string, setting: string): { pem: Buffer; key: KeyObject } {
  const pem = readSettingFile(path, setting, 64 * 1024);
  try {
    return { pem, key: createPrivateKey(pem) };
  } catch (error) {
    throw new Error(`${setting} (${path}) holds no private key in PEM that can be read (${(error as Error).message}).`);
  }
}

/** ECM_TLS_CERT_FILE and ECM_TLS_KEY_FILE: a certificate (chain) in PEM and the private key of its first certificate. */
export function readTlsFiles(tls: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  const cert = readSettingFile(tls.certFile, "ECM_TLS_CERT_FILE", 1024 * 1024);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`ECM_TLS_CERT_FILE (${tls.certFile}) holds no certificate in PEM that can be read (${(error as Error).message}).`);
  }
  const { pem, key } = readPrivateKey(tls.keyFile, "ECM_TLS_KEY_FILE");
  if (!leaf.checkPrivateKey(key)) throw new Error(`ECM_TLS_KEY_FILE (${tls.keyFile}) is not the private key of the certificate in ECM_TLS_CERT_FILE (${tls.certFile}).`);
  return { cert, key: pem };
}
