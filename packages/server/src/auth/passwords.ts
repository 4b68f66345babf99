import { Algorithm, hash, verify } from "@node-rs/argon2";

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
      const matches = await verify(storedHash ?? (await this.dummyHash), password);
      return matches && storedHash !== null;
    } catch {
      return false;
    }
  }
}
