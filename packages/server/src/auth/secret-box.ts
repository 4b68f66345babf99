import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { readSettingFile } from "../setting-file.js";
import { dirname } from "node:path";

/** Where the key that seals stored secrets comes from (config.ts). */
export interface SecretKeySource {
  /** The key itself, base64 (32 bytes): `ECM_SECRET_KEY`. */
  key?: string;
  /** A file holding the key in base64; created (0600) with a random key when it does not exist yet. */
  file: string;
}

const PREFIX = "v1";

/**
 * Seals the secrets the store keeps for talking to others (a directory's bind password, an identity
 * provider's client secret) with AES-256-GCM under a key from configuration, so a copy of the store
 * alone does not reveal them. Every sealed value names the key it was sealed with (a short hash), so
 * a node started with another key says so instead of failing on garbage.
 */
export class SecretBox {
  readonly keyId: string;
  constructor(
    private readonly key: Buffer,
    /** Where the key came from, for the refusal of a secret sealed with another ("from ECM_SECRET_KEY", …). */
    private readonly origin = "",
  ) {
    if (key.length !== 32) throw new Error(`The secret key${origin ? ` ${origin}` : ""} must be 32 bytes (base64 of 32 random bytes).`);
    this.keyId = createHash("sha256").update(key).digest("base64url").slice(0, 8);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return [PREFIX, this.keyId, Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")].join(":");
  }

  /** A key for another use (signing the provider-login cookie), derived from this one: the same on every node. */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(hkdfSync("sha256", this.key, "", `ecm-security:${purpose}`, 32));
  }

  /**
   * A keyed hash of `text` (HMAC-SHA256 under a key derived for `purpose`): equal texts get equal
   * tags, so they can be correlated, and without the key a tag reveals nothing of the text.
   */
  tag(purpose: string, text: string): string {
    return createHmac("sha256", this.deriveKey(purpose)).update(text).digest("base64url").slice(0, 22);
  }

  open(sealed: string): string {
    const [prefix, keyId, data] = sealed.split(":");
    if (prefix !== PREFIX || data === undefined) throw new Error("This is not a sealed secret.");
    if (keyId !== this.keyId) throw new Error(`The secret was sealed with another key (${keyId}); this server has key ${this.keyId}${this.origin ? ` ${this.origin}` : ""}: give every node the same ECM_SECRET_KEY.`);
    const raw = Buffer.from(data, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
  }
}

/** The key file's text: base64 of 32 bytes, a line (a file of more is not a key file). */
const readKeyFile = (file: string) => readSettingFile(file, "ECM_SECRET_KEY_FILE", 4096).toString("utf8");

/** The configured key, or the key file's (made on first start, readable by the server's user only). */
export function loadSecretBox(source: SecretKeySource): SecretBox {
  if (source.key) return new SecretBox(Buffer.from(source.key, "base64"), "from ECM_SECRET_KEY");
  let text: string;
  let origin = `read from ${source.file}`;
  try {
    text = readKeyFile(source.file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    mkdirSync(dirname(source.file), { recursive: true, mode: 0o700 });
    text = randomBytes(32).toString("base64");
    origin = `made at this start in ${source.file}, as neither ECM_SECRET_KEY nor that file was there`;
    try {
      writeFileSync(source.file, `${text}\n`, { mode: 0o600, flag: "wx" });
    } catch (raced) {
      // Another process on this data directory made it first: use theirs.
      if ((raced as NodeJS.ErrnoException).code !== "EEXIST") throw raced;
      text = readKeyFile(source.file);
    }
    chmodSync(source.file, 0o600);
  }
  return new SecretBox(Buffer.from(text.trim(), "base64"), origin);
}
