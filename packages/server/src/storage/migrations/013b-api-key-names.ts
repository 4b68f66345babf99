import { sql, type Kysely, type Migration } from "kysely";

/**
 * A key's name is unique among its account's keys, so a script or an administrator who revokes "the
 * nightly key" means one key. Names given twice before this keep the first and have the key's own
 * number added, so nothing is lost.
 */
export const apiKeyNamesMigration: Migration = {
  async up(db: Kysely<any>) {
    await sql`update api_keys set name = name || ' (' || cast(id as text) || ')'
      where exists (select 1 from api_keys k where k.user_id = api_keys.user_id and k.name = api_keys.name and k.id < api_keys.id)`.execute(db);
    await db.schema.createIndex("api_keys_user_name").unique().on("api_keys").columns(["user_id", "name"]).execute();
  },
};
