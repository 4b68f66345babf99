import type { KyselyPlugin, QueryId } from "kysely";
import type { Store } from "../storage/store.js";

/**
 * Holds the answer of the next query whose SQL matches, once the store has answered it and before the
 * caller gets it: what the caller then does with it is what it read at that moment, whatever is written
 * meanwhile (the query keeps its connection while held: write through another store).
 */
export function holdingQueries(store: Store, matches: RegExp): { store: Store; holdNext(): { reached: Promise<void>; release(): void } } {
  const matching = new WeakSet<QueryId>();
  let armed: { reached: () => void; released: Promise<void> } | undefined;
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      if (armed && matches.test(store.db.getExecutor().compileQuery(args.node, args.queryId).sql)) matching.add(args.queryId);
      return args.node;
    },
    transformResult: async (args) => {
      if (armed && matching.has(args.queryId)) {
        const { reached, released } = armed;
        armed = undefined;
        reached();
        await released;
      }
      return args.result;
    },
  };
  return {
    store: { ...store, db: store.db.withPlugin(plugin) },
    holdNext() {
      let reached!: () => void;
      let release!: () => void;
      const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
      armed = { reached, released: new Promise<void>((resolve) => (release = resolve)) };
      return { reached: reachedPromise, release };
    },
  };
}
