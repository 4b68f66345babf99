import type { Kysely, Migration } from "kysely";
import { searchFold } from "../../domain/user-fields.js";
import { rekey } from "./010d-nfkc-keys.js";

/**
 * Groups are searched as users are (searchFold: İZMİR finds İzmir, GROSSE Große): by `groups.search_key`,
 * written with the name from now on, and here for the groups stored before (groups are few).
 */
export const groupSearchKeysMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("groups").addColumn("search_key", "text", (c) => c.notNull().defaultTo("")).execute();
    await rekey(db, "groups", ["name", "search_key"], (row) => ({ search_key: searchFold(row.name) }));
  },
};
