import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

/**
 * Counts `n` hits on `key` in fixed windows of `windowMs`, in the store so that every process and node
 * counts together: one upsert, which starts a new window when the last one is over.
 * Returns the hits in the current window (these included) and when it ends.
 */
export async function countHit(db: Kysely<Database>, key: string, windowMs: number, now = Date.now(), n = 1): Promise<{ hits: number; resetAt: number }> {
  const nowIso = new Date(now).toISOString();
  const resetAt = new Date(now + windowMs).toISOString();
  const over = sql<boolean>`rate_limits.reset_at <= ${nowIso}`;
  const row = await db
    .insertInto("rate_limits")
    .values({ key, hits: n, reset_at: resetAt })
    .onConflict((oc) =>
      oc.column("key").doUpdateSet({
        hits: sql<number>`case when ${over} then ${n} else rate_limits.hits + ${n} end`,
        reset_at: sql<string>`case when ${over} then ${resetAt} else rate_limits.reset_at end`,
      }),
    )
    .returning(["hits", "reset_at"])
    .executeTakeFirstOrThrow();
  return { hits: row.hits, resetAt: Date.parse(row.reset_at) };
}

/**
 * countHit that remembers, per process, the keys the store counted past their limit: until that
 * window ends they are refused again without store I/O, so a flood past a limit costs no writes.
 * Safe with several processes and nodes: a window past its limit stays so until it ends, whoever
 * counts next. At most `remembered` keys are kept (past that, hits go to the store as before).
 */
export class RateCounters {
  private readonly over = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly remembered = 100_000,
  ) {}

  /** Counts a hit on `key` against `max` per window of `windowMs`; past `max`, the hits are at least `max + 1`. */
  async hit(key: string, windowMs: number, max: number): Promise<{ hits: number; resetAt: number }> {
    const now = Date.now();
    const until = this.overUntil(key, now);
    if (until !== undefined) return { hits: max + 1, resetAt: until };
    const counted = await countHit(this.db, key, windowMs, now);
    if (counted.hits > max) this.remember(key, counted.resetAt, now);
    return counted;
  }

  /** When the window in which this process saw `key` counted past its limit ends; undefined when it did not (or it has ended). */
  overUntil(key: string, now = Date.now()): number | undefined {
    const until = this.over.get(key);
    return until !== undefined && until > now ? until : undefined;
  }

  private remember(key: string, until: number, now: number): void {
    if (this.over.size >= this.remembered) {
      for (const [k, end] of this.over) if (end <= now) this.over.delete(k);
      if (this.over.size >= this.remembered) return;
    }
    this.over.set(key, until);
  }
}

/** Removes counters whose window is over (they would restart at 1 anyway). */
export async function pruneRateCounters(db: Kysely<Database>): Promise<void> {
  await db.deleteFrom("rate_limits").where("reset_at", "<", new Date().toISOString()).execute();
}
