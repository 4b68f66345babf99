import { sql, type Kysely, type Migration } from "kysely";

/**
 * The provider session a session was opened from moves into the session's own row (it was a table of
 * its own, 012): a provider login's exchange is one insert instead of a transaction of two, and
 * back-channel logout finds the sessions to end in the table it updates.
 */
export const sessionOriginMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("sessions").addColumn("provider_id", "integer", (c) => c.references("identity_providers.id").onDelete("set null")).execute();
    await db.schema.alterTable("sessions").addColumn("provider_subject", "text").execute();
    await db.schema.alterTable("sessions").addColumn("provider_sid", "text").execute();
    const from = (column: string) => sql`(select ${sql.ref(`p.${column}`)} from provider_sessions p where p.session_id = sessions.id)`;
    await sql`update sessions set provider_id = ${from("provider_id")}, provider_subject = ${from("subject")}, provider_sid = ${from("sid")}
      where id in (select session_id from provider_sessions)`.execute(db);
    await db.schema.createIndex("sessions_provider_subject").on("sessions").columns(["provider_id", "provider_subject"]).where(sql.ref("provider_id"), "is not", null).execute();
    await db.schema.createIndex("sessions_provider_sid").on("sessions").columns(["provider_id", "provider_sid"]).where(sql.ref("provider_sid"), "is not", null).execute();
    await db.schema.dropTable("provider_sessions").execute();
  },
};
