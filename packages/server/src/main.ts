import { createServer } from "./app.js";
import { configFromEnv } from "./config.js";

/** `npm start`: configuration from the environment, then listen until SIGINT/SIGTERM. */
const config = configFromEnv();
const server = await createServer(config);
if (server.generatedAdminPassword) {
  // Shown once, on the console only (not through the logger, whose output may be shipped elsewhere).
  process.stdout.write(`\nCreated built-in user "sysadmin" with password: ${server.generatedAdminPassword}\nIt is not shown again.\n\n`);
}
await server.app.listen({ host: config.host, port: config.port });

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
