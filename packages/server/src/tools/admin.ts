import { hostname, userInfo } from "node:os";
import { createServer, type Server } from "../app.js";
import { configFromEnv, type Config } from "../config.js";
import type { AdminActor } from "../domain/users.js";
import { SYSTEM_ADMINISTRATOR } from "../domain/roles.js";
import { DomainError } from "../domain/errors.js";
import { startupFailure } from "../startup-failure.js";
import { storeExists } from "../storage/store.js";
import { UsageError, type AdminCommand } from "./admin/command.js";
import { resetPasswordCommand } from "./admin/reset-password.js";
import { rotateKeysCommand } from "./admin/rotate-keys.js";

/** Every command, in help order. Add one: a module under tools/admin/ and an entry here. */
const COMMANDS: AdminCommand[] = [resetPasswordCommand, rotateKeysCommand];

const usage = () => ["usage: npm run admin -- <command> [arguments]", ...COMMANDS.map((c) => `  ${`${c.name} ${c.args}`.padEnd(32)}${c.summary}`)].join("\n");

/**
 * `npm run admin -- <command> …`: break-glass administration for whoever has the server machine —
 * it works on the store the server uses (the same configuration: DATABASE_URL or ECM_DATA_DIR and
 * the secret key), needs no network and no token, and audits what it does as `admin-tool`.
 */
async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const asked = name === "help" || name === "--help";
    if (name !== undefined && !asked) process.stderr.write(`unknown command: ${name}\n`);
    process.stderr.write(`${usage()}\n`);
    return asked ? 0 : 2;
  }
  let config: Config | undefined;
  let server: Server | undefined;
  const actor: AdminActor = { id: null, name: `admin-tool (${userInfo().username}@${hostname()})`, sourceIp: null, roles: [SYSTEM_ADMINISTRATOR] };
  try {
    // A wrong command line opens no store (on a fresh data directory it would make one, and sysadmin with a password nobody sees).
    command.checkArgs(args);
    config = { ...configFromEnv(), logLevel: "warn" };
    // The server's store, never a new one: that would be a store with a sysadmin whose password nobody sees.
    if (!(await storeExists(config.store))) {
      const where = config.store.kind === "sqlite" ? `in ${config.store.file} (ECM_DATA_DIR)` : "in the database of DATABASE_URL";
      process.stderr.write(`${command.name}: there is no store ${where}: run this with the server's configuration.\n`);
      return 1;
    }
    server = await createServer(config);
    process.stdout.write(`${await command.run(args, { server, actor })}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n${usage()}\n`);
      return 2;
    }
    // A refused change, or a configuration the server would not start with either: one line, as the server says it.
    process.stderr.write(`${command.name}: ${error instanceof DomainError ? error.message : startupFailure(error, config)}\n`);
    return 1;
  } finally {
    await server?.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
