// The server thread of startServerThread (server-thread.ts): the server's build, as `npm start` runs it,
// with the test servers' settings (its test-support, built with it). Plain JavaScript: no loader to start.
import { parentPort, workerData } from "node:worker_threads";
import { ADMIN_PASSWORD, startTestServer } from "../../server/dist/test-support/server.js";

const { overrides } = workerData;
const server = await startTestServer("sqlite", overrides);
parentPort.postMessage({ baseUrl: server.baseUrl, adminPassword: ADMIN_PASSWORD });
parentPort.on("message", async (m) => {
  if (m === "close") {
    await server.close();
    parentPort.postMessage("closed");
  } else {
    server.clock.advance(m.advanceClock);
    parentPort.postMessage("advanced");
  }
});
