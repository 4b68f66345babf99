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
