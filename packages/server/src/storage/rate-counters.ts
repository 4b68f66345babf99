import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

/**
 * Counts a hit on `key` in fixed windows of `windowMs`, in the store so that every process and node
 * counts together: one upsert per hit, which starts a new window when the last one is over.
 * Returns the hits in the current window and when it ends.
 */
export async function countHit(db: Kysely<Database>, key: string, windowMs: number, now = Date.now()): Promise<{ hits: number; resetAt: number }> {
  const nowIso = new Date(now).toISOString();
  const resetAt = new Date(now + windowMs).toISOString();
  const over = sql<boolean>`rate_limits.reset_at <= ${nowIso}`;
  const row = await db
    .insertInto("rate_limits")
    .values({ key, hits: 1, reset_at: resetAt })
    .onConflict((oc) =>
      oc.column("key").doUpdateSet({
        hits: sql<number>`case when ${over} then 1 else rate_limits.hits + 1 end`,
        reset_at: sql<string>`case when ${over} then ${resetAt} else rate_limits.reset_at end`,
      }),
    )
    .returning(["hits", "reset_at"])
    .executeTakeFirstOrThrow();
  return { hits: row.hits, resetAt: Date.parse(row.reset_at) };
}

/** Removes counters whose window is over (they would restart at 1 anyway). */
export async function pruneRateCounters(db: Kysely<Database>): Promise<void> {
  await db.deleteFrom("rate_limits").where("reset_at", "<", new Date().toISOString()).execute();
}
