import { closeSync, fchmodSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** What `ecm login` stores: never the password. */
export interface StoredConfig {
  url?: string;
  token?: string;
  username?: string;
}

function configPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== "" ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), ".config");
  return join(base, "ecm", "config.json");
}

export function readConfig(env: NodeJS.ProcessEnv): StoredConfig {
  try {
    const parsed = JSON.parse(readFileSync(configPath(env), "utf8")) as unknown;
    if (!parsed || typeof parsed !== "object") return {};
    const c = parsed as Record<string, unknown>;
    const out: StoredConfig = {};
    if (typeof c.url === "string") out.url = c.url;
    if (typeof c.token === "string") out.token = c.token;
    if (typeof c.username === "string") out.username = c.username;
    return out;
  } catch {
    return {};
  }
}

/**
 * A private file beside `path` to write and then rename over it: created 0600 from the start (no window
 * where its content is readable by others), after removing one a crashed run left behind.
 */
export function openPrivateTemp(path: string): { tmp: string; fd: number } {
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, "wx", 0o600);
  fchmodSync(fd, 0o600); // exactly 0600, whatever the umask
  return { tmp, fd };
}

/** Writes the config with mode 0600 in a 0700 directory. */
export function writeConfig(env: NodeJS.ProcessEnv, config: StoredConfig): string {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const { tmp, fd } = openPrivateTemp(path);
  try {
    writeSync(fd, JSON.stringify(config, null, 2) + "\n");
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return path;
}
