import { setTimeout as sleep } from "node:timers/promises";
import { ECMConnectionError, ECMUnavailableError } from "ecm-sdk";

/** How long a long read under way waits for a server that went away (a restart) to answer again, and how often it asks. */
export const RESTART_PATIENCE_MS = 20_000;
const RESTART_POLL_MS = 1_000;

/** A failure a server restart gives: the connection refused or dropped, or a 503. */
export function isRestart(err: unknown): boolean {
  return err instanceof ECMConnectionError || err instanceof ECMUnavailableError;
}

/**
 * The patience of a long read (a list, an export, a followed sync) with a server that restarts: the
 * SDK's own retries give up after about 1.5 s, too soon for a restart. A reader calls `answered()`
 * when the server answered, and `wait(err)` when a request failed: a connection error or a 503 waits
 * a second before the next try, for up to RESTART_PATIENCE_MS from the first failure since the last
 * answer; anything else, or a longer silence, is thrown.
 */
export class RestartPatience {
  /** When the server went away (the first failure since it last answered). */
  #gone: number | undefined;

  answered(): void {
    this.#gone = undefined;
  }

  async wait(err: unknown): Promise<void> {
    this.#gone ??= Date.now();
    if (!isRestart(err) || Date.now() - this.#gone > RESTART_PATIENCE_MS) throw err;
    await sleep(RESTART_POLL_MS);
  }

  /** One request of a read under way (a poll), asked again through a restart until it is answered. */
  async read<T>(request: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        const answer = await request();
        this.answered();
        return answer;
      } catch (err) {
        await this.wait(err);
      }
    }
  }
}
