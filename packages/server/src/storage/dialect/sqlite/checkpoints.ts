import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type BetterSqlite3 from "better-sqlite3";

/** How often the checkpointing thread looks for committed pages to copy into the database file. */
const CHECKPOINT_EVERY_MS = 50;
/**
 * The write connection's own automatic checkpoint, kept as a safety net: it runs once the log has
 * grown past this many pages (4 KiB each) — the thread behind or gone, or readers keeping the log
 * from starting over.
 */
const FALLBACK_CHECKPOINT_PAGES = 10_000;

/** Runs in the thread: its own connection, a passive checkpoint (never waits for, never blocks, a reader or the writer). */
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma("busy_timeout = 0");
const timer = setInterval(() => {
  // Passive: where another process's checkpoint holds the lock it answers busy and copies nothing (that one does the work).
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {
    // The file unreadable for a moment: the next turn tries again, and the write connection's own checkpoint remains.
  }
}, workerData.everyMs);
parentPort.on("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * SQLite in WAL mode appends each commit's pages to the -wal file; a checkpoint copies them into the
 * database file and syncs it. Run by the connection that committed, it would stall the event loop
 * for the copy and the sync (about a seventh of a bulk action's time, longer when the disk is
 * flushing) — so a thread of its own does it while the process goes on, and `database`'s own
 * checkpoint is left as the safety net. Answers a function that stops the thread (its connection
 * closed) and waits for it.
 */
export function checkpointInBackground(database: BetterSqlite3.Database): () => Promise<void> {
  database.pragma(`wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  // Plain JavaScript: none of the process's own loader flags (tsx in development) for the thread.
  const worker = new Worker(THREAD, { eval: true, execArgv: [], workerData: { file: database.name, driver, everyMs: CHECKPOINT_EVERY_MS } });
  // The checkpoints are an optimisation: a failed thread leaves them to the write connection.
  worker.on("error", () => {});
  worker.unref();
  const exited = new Promise<void>((done) => worker.once("exit", () => done()));
  return async () => {
    // Held until it has closed its connection (unreferenced, the wait would not keep the process up).
    worker.ref();
    worker.postMessage("stop");
    await exited;
  };
}
