import type { Server } from "../../app.js";
import type { AdminActor } from "../../domain/users.js";

/** What a command works with: the server's own services on the store, and who runs it. */
export interface AdminContext {
  server: Server;
  /** The audit actor: the tool, naming the operating-system account and machine it ran as. */
  actor: AdminActor;
}

/** One command of `npm run admin` (tools/admin.ts); its result is the one line printed. */
export interface AdminCommand {
  name: string;
  /** Arguments after the name, e.g. `<username>`. */
  args: string;
  summary: string;
  /** Throws a UsageError for a wrong command line: checked before the store is opened. */
  checkArgs(args: string[]): void;
  run(args: string[], context: AdminContext): Promise<string>;
}

/** Thrown for a wrong command line: the message and the usage are printed, exit code 2. */
export class UsageError extends Error {}
