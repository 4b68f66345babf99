import type { Kysely, Migration } from "kysely";
import { searchTextFor } from "../../domain/user-fields.js";
import { rekey } from "./010d-nfkc-keys.js";

/**
 * The users search folds case as Unicode does (searchFold, domain/user-fields.ts): ß is ss and every
 * sigma σ. `users.search_text` stored before is written again where it differs (only rows holding
 * such letters change; the search indexes follow through their triggers).
 */
export const searchCaseFoldMigration: Migration = {
  async up(db: Kysely<any>) {
    await rekey(db, "users", ["username", "first_name", "last_name", "email", "search_text"], (row) => ({ search_text: searchTextFor(row as Parameters<typeof searchTextFor>[0]) }));
  },
};
