import type { Kysely, Migration } from "kysely";

/**
 * Why a directory's users cannot log in, besides since when: `unreachable` (no connection, or TLS
 * failed) or `insecure` (it answers, but only over a connection its configuration refuses to send
 * passwords over). Directories listed before are taken as unreachable, all that was said then.
 */
export const directoryProblemMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("directory_sync_state").addColumn("unreachable_reason", "text").execute();
    await db.updateTable("directory_sync_state").set({ unreachable_reason: "unreachable" }).where("unreachable_since", "is not", null).execute();
  },
};
