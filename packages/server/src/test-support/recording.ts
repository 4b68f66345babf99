import type { CompiledQuery, KyselyPlugin, RootOperationNode } from "kysely";
import type { Store } from "../storage/store.js";

/** Records every query a piece of work sends, so its plan can be checked. */
export function recording(store: Store): { store: Store; take(): CompiledQuery[] } {
  let nodes: RootOperationNode[] = [];
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      nodes.push(args.node);
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  return {
    store: { ...store, db: store.db.withPlugin(plugin) },
    take() {
      const compiled = nodes
        .map((n) => store.db.getExecutor().compileQuery(n, { queryId: "explain" }))
        .filter((q) => /^\s*select\b/i.test(q.sql)); // Kysely selects and the dialects' raw selects
      nodes = [];
      return compiled;
    },
  };
}
