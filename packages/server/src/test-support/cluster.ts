import { startMain, type Running } from "./main-process.js";
import { startHaproxy, type Haproxy } from "./haproxy.js";

export interface Cluster {
  /** The nodes, each reachable directly at its `baseUrl`. */
  nodes: Running[];
  proxy: Haproxy;
  /** `http://127.0.0.1:<proxy port>/portal`: the nodes in turn. */
  baseUrl: string;
  stop(): Promise<void>;
}

/** The port of a node's `http://127.0.0.1:<port>/portal`, as HAProxy names it. */
const addressOf = (node: Running) => new URL(node.baseUrl).host;

/**
 * `count` server processes (as `npm start` runs them) on the PostgreSQL database `databaseUrl`, behind
 * HAProxy (round-robin). They share the secret key, as the nodes of one deployment must, and trust
 * the proxy's X-Forwarded-For. The first node starts alone (it migrates the store and creates
 * sysadmin), the others together.
 */
export async function startCluster(databaseUrl: string, count: number, env: Record<string, string> = {}): Promise<Cluster> {
  const nodeEnv = { DATABASE_URL: databaseUrl, ECM_SECRET_KEY: Buffer.alloc(32, 5).toString("base64"), ECM_TRUST_PROXY: "127.0.0.1", ...env };
  const nodes: Running[] = [];
  try {
    nodes.push(await startMain(nodeEnv));
    nodes.push(...(await Promise.all(Array.from({ length: count - 1 }, () => startMain(nodeEnv)))));
    const proxy = await startHaproxy(nodes.map(addressOf));
    return {
      nodes,
      proxy,
      baseUrl: `${proxy.url}/portal`,
      async stop() {
        await proxy.stop();
        await Promise.all(nodes.map((n) => n.stop()));
      },
    };
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw error;
  }
}
