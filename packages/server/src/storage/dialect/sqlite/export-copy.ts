import { sql, type Kysely } from "kysely";

/**
 * What lets SQLite stream a million users' extended JSON in username order without a random read
 * and a group join per user.
 *
 * Rows sit in insertion order, so reading them in username order is a random read each; and the
 * group names took a join per user (~5 µs). So each user keeps its effective group names (its own
 * and its profile's, sorted, as a JSON array) in `users.group_names`, kept by triggers, and an index
 * holds every column the JSON reads in username order: the export reads that index front to back.
 */

/** The JSON array of the group names of the `users` row in scope: its own groups and its profile's. */
const GROUP_NAMES = sql.raw(`(select json_group_array(name order by name) from (select distinct g.name as name
  from group_members m join groups g on g.id = m.group_id where m.user_id in (users.id, users.profile_id)))`);

const TRIGGERS = ["users_group_names_member_ai", "users_group_names_member_ad", "users_group_names_rename", "users_group_names_profile", "users_group_names_insert"];

/** The columns of the covering index: all that StoreDialect.userJson reads (the id is the rowid). */
const EXPORT_COLUMNS = sql.raw(`username, uuid, first_name, last_name, email, dn, description, enabled, builtin, login_name, display_name,
  profile_id, valid_from, valid_to, locked_out_until, change_password, password_never_expires, group_names`);

/** Migration 007: the column, its triggers, its values, and the index. */
export async function createExportCopy(db: Kysely<any>): Promise<void> {
  await sql`alter table users add column group_names text not null default '[]'`.execute(db);
  await rebuildExportCopy(db);
}

/** Drops the triggers and the index for a bulk load: rebuilding them once afterwards is many times faster. */
export async function dropExportCopy(db: Kysely<any>): Promise<void> {
  for (const t of TRIGGERS) await sql`drop trigger if exists ${sql.id(t)}`.execute(db);
  await sql`drop index if exists users_export`.execute(db);
}

/** Computes every user's group names, then creates the triggers that keep them and the index. */
export async function rebuildExportCopy(db: Kysely<any>): Promise<void> {
  await sql`update users set group_names = ${GROUP_NAMES}`.execute(db);
  await createGroupNameTriggers(db);
  await sql`create index users_export on users(${EXPORT_COLUMNS})`.execute(db);
}

/**
 * A membership change touches the member and the users whose profile it is; a rename, every such user
 * of the group (built-in groups, which every user joins, cannot be renamed).
 */
async function createGroupNameTriggers(db: Kysely<any>): Promise<void> {
  await sql`create trigger users_group_names_member_ai after insert on group_members begin
    update users set group_names = ${GROUP_NAMES} where id = new.user_id or profile_id = new.user_id; end`.execute(db);
  await sql`create trigger users_group_names_member_ad after delete on group_members begin
    update users set group_names = ${GROUP_NAMES} where id = old.user_id or profile_id = old.user_id; end`.execute(db);
  await sql`create trigger users_group_names_rename after update of name on groups begin
    update users set group_names = ${GROUP_NAMES}
    where id in (select user_id from group_members where group_id = new.id) or profile_id in (select user_id from group_members where group_id = new.id); end`.execute(db);
  await sql`create trigger users_group_names_profile after update of profile_id on users begin
    update users set group_names = ${GROUP_NAMES} where id = new.id; end`.execute(db);
  await sql`create trigger users_group_names_insert after insert on users when new.profile_id > 0 begin
    update users set group_names = ${GROUP_NAMES} where id = new.id; end`.execute(db);
}
