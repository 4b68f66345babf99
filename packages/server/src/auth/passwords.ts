import { availableParallelism } from "node:os";
import { Algorithm, hash, verify } from "@node-rs/argon2";
import { DomainError } from "../domain/errors.js";
import { HASH_CEILING, importedHashProblem, isForeignHash, LOGIN_CEILING, verifyForeignHash, type HashCeiling } from "./imported-hashes.js";

export interface Argon2Cost {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** How much argon2 work runs at once and how much may wait (config `hashQueue`; 0 concurrency: no limit). */
export interface HashQueueLimits {
  concurrency: number;
  maxWaiting: number;
}

/** Who is waiting for a password check: attempts from an address the account knows go first. */
export interface HashPriority {
  familiar?: boolean;
}

/**
 * A bounded queue in front of argon2: at most `concurrency` hashes run at once and at most
 * `maxWaiting` wait in each lane; more is refused at once instead of queued without end, so a flood
 * of logins costs the caller a fast refusal, not everyone a growing wait. Logins from addresses
 * familiar to their account wait in a lane of their own that is served first, so the owner's login
 * is not stuck behind an attacker's.
 */
class HashQueue {
  private running = 0;
  private readonly familiar: (() => void)[] = [];
  private readonly others: (() => void)[] = [];

  constructor(private readonly limits: HashQueueLimits) {}

  async run<T>(work: () => Promise<T>, priority: HashPriority): Promise<T> {
    if (this.limits.concurrency > 0 && this.running >= this.limits.concurrency) {
      const lane = priority.familiar ? this.familiar : this.others;
      if (lane.length >= this.limits.maxWaiting) {
        // 503, not 429: the server as a whole is saturated, not this caller over its own quota.
        throw new DomainError("unavailable", "The server is busy checking passwords; try again in a moment.", { retryAfterSeconds: 1 });
      }
      await new Promise<void>((resolve) => lane.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // The slot passes to the next waiter as it is; only when nobody waits is it given back.
      const next = this.familiar.shift() ?? this.others.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** The bytes of the salt @node-rs/argon2 makes, and of the tag asked of it (RFC 9106's recommended 16 and 32). */
const SALT_BYTES = 16;
const TAG_BYTES = 32;

/** The PHC string's unpadded base64 of so many bytes. */
const base64Of = (bytes: number) => `[A-Za-z0-9+/]{${Math.ceil((bytes * 4) / 3)}}`;

/** Hashes and checks passwords with argon2id; the cost comes from the configuration. */
export class PasswordHasher {
  /** Verified against when the account does not exist, so both answers take the same time. */
  private dummyHash: Promise<string>;
  private readonly queue: HashQueue;
  /** Hashes that run at once: a bulk hasher that asks for no more than this never fills the queue. */
  readonly parallelism: number;
  /** The most an imported hash may cost to check: the default ceiling, or our own cost where that is higher. */
  private readonly ceiling: HashCeiling;
  /** The most a stored hash may cost to check at a login (LOGIN_CEILING, or our own cost where that is higher). */
  private readonly loginCeiling: HashCeiling;
  /** A hash as `hash` makes it now. */
  private readonly current: RegExp;

  constructor(
    private readonly cost: Argon2Cost,
    limits: HashQueueLimits = { concurrency: 0, maxWaiting: 0 },
  ) {
    this.queue = new HashQueue(limits);
    this.parallelism = limits.concurrency || availableParallelism();
    const raised = (ceiling: HashCeiling): HashCeiling => ({
      ...ceiling,
      argon2MemoryKiB: Math.max(ceiling.argon2MemoryKiB, cost.memoryCost),
      argon2Work: Math.max(ceiling.argon2Work, cost.memoryCost * cost.timeCost),
      argon2Parallelism: Math.max(ceiling.argon2Parallelism, cost.parallelism),
    });
    this.ceiling = raised(HASH_CEILING);
    this.loginCeiling = raised(LOGIN_CEILING);
    const { memoryCost, timeCost, parallelism } = cost;
    this.current = new RegExp(`^\\$argon2id\\$v=19\\$m=${memoryCost},t=${timeCost},p=${parallelism}\\$${base64Of(SALT_BYTES)}\\$${base64Of(TAG_BYTES)}$`);
    this.dummyHash = this.hash("no such account: constant-time decoy");
  }

  hash(password: string): Promise<string> {
    return this.queue.run(() => hash(password, { algorithm: Algorithm.Argon2id, ...this.cost, outputLen: TAG_BYTES }), {});
  }

  async verify(storedHash: string | null, password: string, priority: HashPriority = {}): Promise<boolean> {
    const against = storedHash ?? (await this.dummyHash);
    return this.queue.run(async () => {
      try {
        // A hash dearer than the ceiling (imported before there was one) is not checked: a reset gives the account a new one.
        if (importedHashProblem(against, this.loginCeiling) !== null) return false;
        const matches = isForeignHash(against) ? await verifyForeignHash(against, password) : await verify(against, password);
        return matches && storedHash !== null;
      } catch {
        return false;
      }
    }, priority);
  }

  /** Why a hash may not be imported (its format, or a cost above the ceiling), or null. */
  hashProblem(hash: string): string | null {
    return importedHashProblem(hash, this.ceiling);
  }

  /**
   * True when `storedHash` is not argon2id as `hash` makes it — the configured cost, its salt and tag
   * lengths — (an imported or older hash): replace it at the next login. An imported hash at our cost
   * with a shorter salt or tag only looks current.
   */
  needsRehash(storedHash: string): boolean {
    return !this.current.test(storedHash);
  }
}
