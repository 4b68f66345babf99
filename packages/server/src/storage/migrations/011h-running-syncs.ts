import { sql, type Kysely, type Migration } from "kysely";

/**
 * The runs still marked running, found without reading every run ever made: every node looks for
 * those a stopped node left at each scheduler tick (directory/directories.ts, closeStaleRuns).
 */
export const runningSyncsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex("directory_sync_runs_running").on("directory_sync_runs").column("directory_id").where(sql.ref("state"), "=", "running").execute();
  },
};
