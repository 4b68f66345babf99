import pg from "pg";

/** At most this many SQL texts are prepared per process; later ones go unnamed (a bound on each connection's kept plans). */
const MAX_PREPARED = 500;

/** Statements with more parameters are mostly batches whose text varies with their size: not worth keeping. */
const MAX_PREPARED_PARAMETERS = 64;

/**
 * Statements whose fastest plan depends on the value searched for (a pattern, a needle): a plan made
 * once for any value could read the wrong index, so these are planned at each use as before.
 */
const PLANNED_PER_VALUE = /\blike\b|\bstrpos\(|@>/i;

/** What PostgreSQL answers when a kept statement's result columns changed (another node's migration added one). */
export function isPlanChanged(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === "0A000" && typeof e.message === "string" && e.message.includes("cached plan must not change result type");
}

/**
 * A pg Client class for the store's pool. Kysely sends every statement unnamed, so PostgreSQL parses
 * and plans it at each use, which was most of its time in a login (docs/benchmarks.md). Here a
 * statement with parameters is sent under a name per SQL text, so each connection prepares it once
 * and then only binds and runs it; PostgreSQL itself makes the plan again after a schema change.
 * When a kept statement's result columns changed, every name is dropped (the failed statement or
 * transaction is run again as busy: storage/busy.ts), and texts are prepared anew under new names.
 */
export function preparingClient(): typeof pg.Client {
  let names = new Map<string, string>();
  let next = 0;
  const nameOf = (text: string, values: unknown): string | undefined => {
    if (!Array.isArray(values) || values.length === 0 || values.length > MAX_PREPARED_PARAMETERS || PLANNED_PER_VALUE.test(text)) return undefined;
    let name = names.get(text);
    if (name === undefined && names.size < MAX_PREPARED) names.set(text, (name = `ecm_${next++}`));
    return name;
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
