import type { Kysely, Migration } from "kysely";
import { searchTextFor } from "../../domain/user-fields.js";
import { rekey } from "./010d-nfkc-keys.js";

/**
 * The users search folds case as Unicode does (searchFold, domain/user-fields.ts): ß is ss and every
 * sigma σ. `users.search_text` stored before is written again where it differs (only rows holding
 * such letters change; the search indexes follow through their triggers). By the live searchTextFor,
 * as the search compares with it (domain/stored-keys.test.ts pins its output); the columns read are
 * named to it, so that a field it comes to need fails to compile here rather than keys rows without it.
 */
export const searchCaseFoldMigration: Migration = {
  async up(db: Kysely<any>) {
    await rekey(db, "users", ["username", "first_name", "last_name", "email", "search_text"], (row) => ({ search_text: searchTextFor({ username: row.username, first_name: row.first_name, last_name: row.last_name, email: row.email }) }));
  },
};
