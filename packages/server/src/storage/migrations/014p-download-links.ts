import type { Kysely, Migration } from "kysely";

/**
 * `download_links`: a users CSV a browser saves to disk as it comes (POST /security/v1/users/csv-links).
 * A browser's download sends no Authorization header, so the link is the credential: the store keeps
 * only its SHA-256, it is taken away at its first use and lives a minute at most, and it acts for the
 * session that made it — ended, the link no longer works. Its filter is what it exports.
 */
export const downloadLinksMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("download_links")
      .addColumn("link_hash", "text", (c) => c.primaryKey())
      .addColumn("session_id", "text", (c) => c.notNull().references("sessions.id").onDelete("cascade"))
      .addColumn("filter", "text", (c) => c.notNull())
      .addColumn("expires_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("download_links_expires").on("download_links").column("expires_at").execute();
  },
};
