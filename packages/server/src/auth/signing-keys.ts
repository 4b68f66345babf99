import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { calculateJwkThumbprint, errors as joseErrors, type JWK, type JWTVerifyGetKey } from "jose";
import type { Kysely } from "kysely";
import { recordAudit, type Actor } from "../domain/audit.js";
import { DomainError } from "../domain/errors.js";
import { readPrivateKey } from "../setting-file.js";
import type { Database } from "../storage/schema.js";
import type { SecretBox } from "./secret-box.js";

/** Algorithms of the keys this service signs with: generated keys are ES256; a key file may be P-256 or Ed25519. */
export const TOKEN_ALGORITHMS = ["ES256", "EdDSA"] as const;

/** How often a node re-reads which key signs: a rotation on one node reaches every node within this. */
const REFRESH_MS = 60_000;
/** Least time between two re-reads for a token naming a key this node does not know (a forged kid costs no more). */
const RELOAD_MIN_MS = 1_000;

export interface SigningKey {
  kid: string;
  alg: (typeof TOKEN_ALGORITHMS)[number];
  key: KeyObject;
}

/** A key as system administrators see it: never its private part. */
export interface SigningKeyView {
  kid: string;
  algorithm: string;
  createdAt: string;
  retiredAt: string | null;
  /** Where the private key lives: sealed in the store, or in ECM_TOKEN_KEY_FILE. */
  source: "store" | "file";
}

/** A public key as published: a JWK with its kid, algorithm and use. */
export type PublishedKey = JWK & { kid: string; kty: string; alg: string; use: string };

function algorithmOf(key: KeyObject): SigningKey["alg"] {
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ES256";
  if (key.asymmetricKeyType === "ed25519") return "EdDSA";
  throw new Error(`ECM_TOKEN_KEY_FILE must hold a P-256 (ES256) or Ed25519 (EdDSA) private key in PEM, not ${key.asymmetricKeyType}`);
}

/** The public JWK of a private key, with its RFC 7638 thumbprint as `kid`. */
async function publicJwkOf(privateKey: KeyObject): Promise<PublishedKey> {
  const jwk = createPublicKey(privateKey).export({ format: "jwk" }) as JWK & { kty: string };
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: algorithmOf(privateKey), use: "sig" };
}

/**
 * The token signing keys, kept in the store so every node signs and verifies with the same ones: the
 * newest unretired key signs; retired keys still verify until every token they signed has expired
 * (`maxTokenSeconds`, the absolute session lifetime), then `purge` removes them. Private keys are
 * sealed with the secret box, or come from a file (`ECM_TOKEN_KEY_FILE`) and never enter the store.
 */
export class SigningKeys {
  private verifying = new Map<string, KeyObject>();
  private signer: SigningKey | undefined;
  private signerReadAt = 0;
  private reloadedAt = 0;
  /** Re-reads of the keys begun so far, and the number of the one whose keys `verifying` holds. */
  private readsBegun = 0;
  private readHeld = 0;
  private nextReload: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly secrets: SecretBox,
    private readonly keyFile: string | undefined,
    private readonly maxTokenSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** At start: registers the key file's key (retiring the others), or makes the first key of an empty store. */
  async init(): Promise<void> {
    if (this.keyFile !== undefined) {
      const { key } = readPrivateKey(this.keyFile, "ECM_TOKEN_KEY_FILE");
      const jwk = await publicJwkOf(key);
      await this.db.transaction().execute(async (trx) => {
        const known = await trx.selectFrom("signing_keys").select("kid").where("kid", "=", jwk.kid).executeTakeFirst();
        if (known) return;
        await this.retireAll(trx);
        await trx.insertInto("signing_keys").values({ kid: jwk.kid, algorithm: jwk.alg!, public_jwk: JSON.stringify(jwk), private_key: null, created_at: this.isoNow() }).execute();
      });
      this.signer = { kid: jwk.kid, alg: algorithmOf(key), key };
      this.signerReadAt = Number.POSITIVE_INFINITY;
    } else if (!(await this.readSigner())) {
      // An empty store: the first key. Nodes starting at once may each make one: each then retires all
      // but the newest, so one signs (on every node within a minute) and the others verify until purged.
      await this.create(this.db);
      await this.db
        .updateTable("signing_keys")
        .set({ retired_at: this.isoNow() })
        .where("retired_at", "is", null)
        .where("kid", "!=", (eb) => eb.selectFrom("signing_keys").select("kid").where("retired_at", "is", null).orderBy("created_at", "desc").orderBy("kid", "desc").limit(1))
        .execute();
      await this.readSigner();
    }
    await this.reload();
  }

  /** The key that signs now (re-read every minute, so a rotation elsewhere is followed). */
  async current(): Promise<SigningKey> {
    if (this.now() - this.signerReadAt > REFRESH_MS) await this.readSigner();
    return this.signer!;
  }

  /** For jose's jwtVerify: the public key a token's `kid` names, if the store has it. */
  readonly verificationKey: JWTVerifyGetKey = async (header) => {
    const kid = header.kid ?? "";
    if (!this.verifying.has(kid)) await this.readBegunAfter(this.readsBegun);
    const key = this.verifying.get(kid);
    if (!key) throw new joseErrors.JWKSNoMatchingKey();
    return key;
  };

  /** The published keys (`GET /auth/v1/certs`): every key that may have signed a token still valid. */
  async jwks(): Promise<{ keys: PublishedKey[] }> {
    const rows = await this.db.selectFrom("signing_keys").select("public_jwk").orderBy("created_at", "desc").execute();
    return { keys: rows.map((r) => JSON.parse(r.public_jwk) as PublishedKey) };
  }

  async list(): Promise<SigningKeyView[]> {
    const rows = await this.db.selectFrom("signing_keys").selectAll().orderBy("created_at", "desc").execute();
    return rows.map((r) => ({ kid: r.kid, algorithm: r.algorithm, createdAt: r.created_at, retiredAt: r.retired_at, source: r.private_key === null ? "file" : "store" }));
  }

  /** A new key signs from now on (on every node within a minute); the old ones verify until their tokens expire. */
  async rotate(actor: Actor): Promise<SigningKeyView[]> {
    if (this.keyFile !== undefined) {
      throw new DomainError("refused", "The signing key comes from ECM_TOKEN_KEY_FILE: put a new key in that file and restart each node.");
    }
    await this.db.transaction().execute(async (trx) => {
      const retired = await this.retireAll(trx);
      const kid = await this.create(trx);
      await recordAudit(trx, actor, { action: "signing-key.rotate", target: { type: "signing-key", id: kid }, details: { retired } });
    });
    await this.readSigner();
    await this.reload();
    return this.list();
  }

  /** Removes keys retired long enough ago that no token they signed can still be valid. */
  async purge(): Promise<void> {
    const before = new Date(this.now() - (this.maxTokenSeconds * 1000 + 2 * REFRESH_MS)).toISOString();
    await this.db.deleteFrom("signing_keys").where("retired_at", "<", before).execute();
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }

  private async retireAll(db: Kysely<Database>): Promise<string[]> {
    const rows = await db.updateTable("signing_keys").set({ retired_at: this.isoNow() }).where("retired_at", "is", null).returning("kid").execute();
    return rows.map((r) => r.kid);
  }

  /** Makes, seals and stores a new ES256 key; returns its kid. */
  private async create(db: Kysely<Database>): Promise<string> {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = await publicJwkOf(privateKey);
    const sealed = this.secrets.seal(privateKey.export({ format: "pem", type: "pkcs8" }) as string);
    await db.insertInto("signing_keys").values({ kid: jwk.kid, algorithm: jwk.alg!, public_jwk: JSON.stringify(jwk), private_key: sealed, created_at: this.isoNow() }).execute();
    return jwk.kid;
  }

  /** Reads the newest unretired key (false when there is none); a node with a key file keeps its own. */
  private async readSigner(): Promise<boolean> {
    if (this.keyFile !== undefined) return true;
    const row = await this.db.selectFrom("signing_keys").select(["kid", "private_key"]).where("retired_at", "is", null).orderBy("created_at", "desc").orderBy("kid", "desc").limit(1).executeTakeFirst();
    if (!row) return false;
    if (row.private_key === null) {
      throw new Error("The store's signing key lives in ECM_TOKEN_KEY_FILE on another node: give this node the same ECM_TOKEN_KEY_FILE.");
    }
    if (row.kid !== this.signer?.kid) {
      const key = createPrivateKey(this.secrets.open(row.private_key));
      this.signer = { kid: row.kid, alg: algorithmOf(key), key };
    }
    this.signerReadAt = this.now();
    return true;
  }

  /**
   * A token naming an unknown key waits for a re-read instead of being refused: a key made on another
   * node just after this one re-read its keys must still verify. Only a re-read begun after the token
   * looked (`seen` re-reads had begun then) can have it: one under way since before may have read the
   * keys before that key was made, so the token then waits for the next one too. At most two re-reads,
   * shared by every token that waits, at most one per RELOAD_MIN_MS: a made-up kid costs no more.
   */
  private async readBegunAfter(seen: number): Promise<void> {
    while (this.readHeld <= seen) await this.reloadSoon();
  }

  private reloadSoon(): Promise<void> {
    this.nextReload ??= (async () => {
      const wait = this.reloadedAt + RELOAD_MIN_MS - this.now();
      if (wait > 0) await sleep(wait);
      await this.reload();
    })().finally(() => {
      this.nextReload = undefined;
    });
    return this.nextReload;
  }

  /** Re-reads the keys that verify; of two re-reads under way at once, the one begun later is kept. */
  private async reload(): Promise<void> {
    const read = ++this.readsBegun;
    this.reloadedAt = this.now();
    const rows = await this.db.selectFrom("signing_keys").select(["kid", "public_jwk"]).execute();
    if (read < this.readHeld) return;
    this.verifying = new Map(rows.map((row) => [row.kid, createPublicKey({ key: JSON.parse(row.public_jwk), format: "jwk" })]));
    this.readHeld = read;
  }
}
