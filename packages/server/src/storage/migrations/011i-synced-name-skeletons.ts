import type { Migration } from "kysely";
import { fillNameSkeletons } from "./010b-name-skeletons.js";

/**
 * Directory syncs before this wrote their users and groups without look-alike keys (010b): they get
 * them here, before any write can take a name that looks like theirs. Where another name already
 * looks like one, that key stays unset, as in 010b; each sync then reports the entry.
 */
export const syncedNameSkeletonsMigration: Migration = {
  async up(db) {
    await fillNameSkeletons(db, "users", [["username", "username_skeleton"], ["login_name", "login_skeleton"]], true);
    await fillNameSkeletons(db, "groups", [["name", "name_skeleton"]], true);
  },
};
