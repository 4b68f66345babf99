import { Algorithm, hash, verify } from "@node-rs/argon2";
import { isForeignHash, verifyForeignHash } from "./imported-hashes.js";

export interface Argon2Cost {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** Hashes and checks passwords with argon2id; the cost comes from the configuration. */
export class PasswordHasher {
  /** Verified against when the account does not exist, so both answers take the same time. */
  private dummyHash: Promise<string>;

  constructor(private readonly cost: Argon2Cost) {
    this.dummyHash = this.hash("no such account: constant-time decoy");
  }

  hash(password: string): Promise<string> {
    return hash(password, { algorithm: Algorithm.Argon2id, ...this.cost });
  }

  async verify(storedHash: string | null, password: string): Promise<boolean> {
    try {
      const against = storedHash ?? (await this.dummyHash);
      const matches = isForeignHash(against) ? await verifyForeignHash(against, password) : await verify(against, password);
      return matches && storedHash !== null;
    } catch {
      return false;
    }
  }

  /** True when `storedHash` is not argon2id with the configured cost (an imported or older hash): replace it at the next login. */
  needsRehash(storedHash: string): boolean {
    const { memoryCost, timeCost, parallelism } = this.cost;
    return !storedHash.startsWith(`$argon2id$v=19$m=${memoryCost},t=${timeCost},p=${parallelism}$`);
  }
}
