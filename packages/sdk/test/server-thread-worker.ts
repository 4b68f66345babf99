import { parentPort, workerData } from "node:worker_threads";
import { ADMIN_PASSWORD, startTestServer } from "../../server/src/test-support/server.js";

const { overrides } = workerData as { overrides: Record<string, unknown> };
const server = await startTestServer("sqlite", overrides);
parentPort!.postMessage({ baseUrl: server.baseUrl, adminPassword: ADMIN_PASSWORD });
parentPort!.on("message", async (m: "close" | { advanceClock: number }) => {
  if (m === "close") {
    await server.close();
    parentPort!.postMessage("closed");
  } else {
    server.clock.advance(m.advanceClock);
    parentPort!.postMessage("advanced");
  }
});
