import type { Kysely, Migration } from "kysely";

/** Longest name a key may be given (the route's limit). */
const MAX_NAME = 128;

/**
 * A key's name is unique among its account's keys, so a script or an administrator who revokes "the
 * nightly key" means one key. Names given twice before this keep the first; each later key takes the
 * name with the first free number after it — "nightly (2)", or "(3)" when "nightly (2)" is taken too —
 * so nothing is lost and no name given by hand is taken.
 */
export const apiKeyNamesMigration: Migration = {
  async up(db: Kysely<any>) {
    const keys: { id: number; user_id: number; name: string }[] = await db.selectFrom("api_keys").select(["id", "user_id", "name"]).orderBy("user_id").orderBy("id").execute();
    const taken = new Set(keys.map((k) => `${k.user_id}\u0000${k.name}`));
    const seen = new Set<string>();
    for (const key of keys) {
      const own = `${key.user_id}\u0000${key.name}`;
      if (!seen.has(own)) {
        seen.add(own);
        continue;
      }
      let name = key.name;
      for (let n = 2; taken.has(`${key.user_id}\u0000${name}`); n++) name = `${key.name.slice(0, MAX_NAME - ` (${n})`.length)} (${n})`;
      taken.add(`${key.user_id}\u0000${name}`);
      seen.add(`${key.user_id}\u0000${name}`);
      await db.updateTable("api_keys").set({ name }).where("id", "=", key.id).execute();
    }
    await db.schema.createIndex("api_keys_user_name").unique().on("api_keys").columns(["user_id", "name"]).execute();
    // It begins with the account, so it also finds an account's keys: the index of 013 only for that goes.
    await db.schema.dropIndex("api_keys_user").ifExists().execute();
  },
};
