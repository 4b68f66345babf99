import type { Config } from "./config.js";

/**
 * Why the server (or a tool on its store: npm run admin, npm run seed) could not start, in one line
 * that says what to change — never the database URL: it may hold a password.
 */
export function startupFailure(error: unknown, config: Config | undefined): string {
  const e = error as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
  const where = config ? `${config.host}:${config.port}` : "";
  // The listening address's name did not resolve: HOST's fault, not the store's (whose lookups fail alike).
  if (e.syscall === "getaddrinfo" && config && e.hostname === config.host) return `${config.host} cannot be listened on (${e.code}: no such name): set HOST to an address of this machine.`;
  switch (e.code) {
    case "EADDRINUSE":
      return `${where} is already in use by another program (set PORT or HOST).`;
    case "EADDRNOTAVAIL":
      return `${config?.host} is not an address of this machine (set HOST).`;
    case "EACCES":
    case "EPERM":
    case "EROFS":
    case "ENOTDIR":
    case "ENOSPC":
      if (e.syscall === "listen") return `not permitted to listen on ${where} (ports below 1024 need privileges; set PORT).`;
      return `${e.path ?? "the data directory"} cannot be written (${e.code}): set ECM_DATA_DIR to a directory this user may write.`;
    case "SQLITE_CANTOPEN":
    case "SQLITE_READONLY":
    case "SQLITE_PERM":
      return `the SQLite store ${config?.store.kind === "sqlite" ? config.store.file : ""} cannot be opened for writing (${e.code}): set ECM_DATA_DIR to a directory this user may write.`;
    case "ECONNREFUSED":
    case "ENOTFOUND":
    case "ETIMEDOUT":
      return `PostgreSQL cannot be reached (${e.code}${e.address ? ` at ${e.address}${e.port ? `:${e.port}` : ""}` : ""}): check DATABASE_URL and that the server runs.`;
  }
  return (e instanceof Error ? e.message : String(error)).split("\n")[0]!;
}
