import { randomBytes } from "node:crypto";
import pg from "pg";

/** At most this many SQL texts are prepared per process; later ones go unnamed (a bound on each connection's kept plans). */
const MAX_PREPARED = 500;

/** Statements with more parameters are mostly batches whose text varies with their size: not worth keeping. */
const MAX_PREPARED_PARAMETERS = 64;

/** Texts seen once are remembered up to this many (then forgotten together): a text is prepared at its second use. */
const MAX_SEEN_ONCE = 5000;

/**
 * Statements whose fastest plan depends on their values: searches (a pattern, a needle) and pages
 * (`limit`: whether to walk an index in order or to read and sort the few rows the filters keep
 * depends on how many they keep, which a plan made once for any value guesses). These are planned
 * at each use as before; what is kept are the lookups by key that logins, sessions and syncs make.
 */
const PLANNED_PER_VALUE = /\blike\b|\bstrpos\(|@>|\blimit\b/i;

/**
 * What PostgreSQL answers when a kept statement's result columns changed (another node's migration
 * added one): known by the routine that raises it, since the message is in the server's language.
 */
export function isPlanChanged(error: unknown): boolean {
  const e = error as { code?: unknown; routine?: unknown } | null;
  return e?.code === "0A000" && e.routine === "RevalidateCachedQuery";
}

/**
 * A pg Client class for the store's pool. Kysely sends every statement unnamed, so PostgreSQL parses
 * and plans it at each use, which was most of its time in a login (docs/benchmarks.md). Here a
 * statement with parameters is sent, from its second use on, under a name per SQL text, so each
 * connection parses it once and then only binds and runs it; PostgreSQL itself makes the plan again
 * after a schema change. Texts used once (a time written into the SQL) never take a name. The names
 * are this process's own (a random prefix), so that a pooler that wrongly shares one connection's
 * statements with another client fails them rather than running another process's statement. When a
 * kept statement's result columns changed, every name is dropped (the failed statement or
 * transaction is run again as busy: storage/busy.ts), and texts are prepared anew under new names;
 * the old ones stay on their connections until these close.
 */
export function preparingClient(): typeof pg.Client {
  const prefix = `ecm_${randomBytes(4).toString("hex")}_`;
  let names = new Map<string, string>();
  let seenOnce = new Set<string>();
  let next = 0;
  const nameOf = (text: string, values: unknown): string | undefined => {
    if (!Array.isArray(values) || values.length === 0 || values.length > MAX_PREPARED_PARAMETERS || PLANNED_PER_VALUE.test(text)) return undefined;
    const name = names.get(text);
    if (name !== undefined || names.size >= MAX_PREPARED) return name;
    if (!seenOnce.has(text)) {
      if (seenOnce.size >= MAX_SEEN_ONCE) seenOnce = new Set();
      seenOnce.add(text);
      return undefined;
    }
    seenOnce.delete(text);
    const named = `${prefix}${next++}`;
    names.set(text, named);
    return named;
  };
  return class PreparingClient extends pg.Client {
    // Kysely calls query(text, values) and awaits the promise; every other form goes through unchanged.
    override query(config: unknown, values?: unknown, callback?: unknown): any {
      const name = typeof config === "string" && callback === undefined ? nameOf(config, values) : undefined;
      if (name === undefined) return (super.query as (...args: unknown[]) => unknown)(config, values, callback);
      const result = super.query({ name, text: config as string, values: values as unknown[] });
      result.catch((error: unknown) => {
        if (isPlanChanged(error)) names = new Map();
      });
      return result;
    }
  };
}
