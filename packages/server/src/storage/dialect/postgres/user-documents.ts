import { sql, type Kysely } from "kysely";
import type pg from "pg";
import { copyRows } from "./copy-rows.js";
import { retryingBusy, type BusyPolicy } from "../../busy.js";
import type { JsonBody } from "../../json-body.js";
import { DOCUMENT_COLUMNS, DOCUMENT_SOURCE_COLUMNS, documentJsonSql, documentSelect, ownFieldsSet, type JsonSql } from "../../user-documents.js";

/**
 * PostgreSQL's kept user documents (storage/user-documents.ts).
 *
 * Writers run concurrently under READ COMMITTED, so a trigger that rebuilds a document could read
 * the data as it was before another transaction's change and write over that transaction's own
 * rebuild. Two rules prevent it:
 * - a rebuild locks the documents first, then builds them in a new statement, whose snapshot holds
 *   every change committed before the lock (so the last rebuild of a user sees all earlier ones);
 * - a change that decides *whose* documents to rebuild from other rows locks those rows against the
 *   change that would alter the answer: a membership locks its group (against a rename, which
 *   rebuilds the group's members) and a member that is a profile (against an assignment of that
 *   profile, which reads the profile's groups); an assignment locks its profile and the profile's
 *   groups; a link to an identity provider locks the provider (against a rename of it).
 * Whichever transaction takes the lock second then sees the first one's change.
 */

export const postgresJson: JsonSql = {
  quote: (expr) => `coalesce(to_json(${expr})::text, 'null')`,
  joinInOrder: (expr, orderBy) => `string_agg(${expr}, ',' order by ${orderBy})`,
};

/**
 * Set (`set local`) by a bulk writer for its transaction only (batchUserWrites): the per-row upkeep of
 * documents and search entries is off for that transaction, which brings them up to date set-wise.
 */
export const DEFERRED = "current_setting('ecm.deferred_user_upkeep', true) is distinct from 'on'";

/** The triggers (table, name, the rest of the definition): disabled during bulk loads. */
const TRIGGERS: [table: string, name: string, definition: string][] = [
  ["users", "user_documents_user_insert", `after insert on users for each row when (${DEFERRED}) execute function ecm_user_documents_user()`],
  ["users", "user_documents_user_update", `after update of ${DOCUMENT_SOURCE_COLUMNS.join(", ")} on users for each row
    when ((${DOCUMENT_SOURCE_COLUMNS.map((c) => `old.${c}`).join(", ")}) is distinct from (${DOCUMENT_SOURCE_COLUMNS.map((c) => `new.${c}`).join(", ")}) and ${DEFERRED})
    execute function ecm_user_documents_user()`],
  ["group_members", "user_documents_member_insert", `after insert on group_members referencing new table as changed for each statement when (${DEFERRED}) execute function ecm_user_documents_member()`],
  ["group_members", "user_documents_member_delete", `after delete on group_members referencing old table as changed for each statement when (${DEFERRED}) execute function ecm_user_documents_member()`],
  ["groups", "user_documents_group_rename", "after update of name on groups for each row when (old.name is distinct from new.name) execute function ecm_user_documents_group()"],
  ["federated_identities", "user_documents_identity_insert", "after insert on federated_identities referencing new table as changed for each statement execute function ecm_user_documents_identity()"],
  ["federated_identities", "user_documents_identity_delete", "after delete on federated_identities referencing old table as changed for each statement execute function ecm_user_documents_identity()"],
  ["federated_identities", "user_documents_identity_update", "after update of provider_id, user_id on federated_identities for each row execute function ecm_user_documents_identity_moved()"],
  ["identity_providers", "user_documents_provider_rename", `after update of alias, display_name on identity_providers for each row
    when ((old.alias, old.display_name) is distinct from (new.alias, new.display_name)) execute function ecm_user_documents_provider()`],
  ["directories", "user_documents_directory_rename", "after update of name on directories for each row when (old.name is distinct from new.name) execute function ecm_user_documents_directory()"],
];

/** Migration 008: the table (migration 011 fills it: the documents show columns added since, see installUserDocuments). */
export async function createUserDocuments(db: Kysely<any>): Promise<void> {
  // Rebuilt in username order and updated in place where the page has room, so a list's index scan reads the heap mostly in order.
  await sql`create table user_documents (user_id integer primary key references users(id) on delete cascade, username text collate "C" not null,
    base text not null, extra text not null, valid_to text, locked_out_until text, tail text not null) with (fillfactor = 90)`.execute(db);
}

/** Every document rebuilt with the current definition, its functions and triggers (re)made: run by the migrations that change what a document shows. */
export async function installUserDocuments(db: Kysely<any>): Promise<void> {
  for (const [table, name] of TRIGGERS) await sql.raw(`drop trigger if exists ${name} on ${table}`).execute(db);
  await createFunctions(db);
  await sql`drop index if exists user_documents_username`.execute(db);
  await sql`truncate user_documents`.execute(db);
  await fillUserDocuments(db);
  for (const [, name, definition] of TRIGGERS) await sql.raw(`create trigger ${name} ${definition}`).execute(db);
  await sql`analyze user_documents`.execute(db);
}

/** Stops the triggers for a bulk load: building every document once afterwards is many times faster. */
export async function suspendUserDocuments(db: Kysely<any>): Promise<void> {
  for (const [table, name] of TRIGGERS) await sql.raw(`alter table ${table} disable trigger ${name}`).execute(db);
}

/** After a bulk load: every document rebuilt in username order, the triggers back on. */
export async function resumeUserDocuments(db: Kysely<any>): Promise<void> {
  // Without statistics of the freshly loaded tables the planner joins each user's groups by scanning (100 000 users: 80 s instead of 6).
  await sql`analyze users, group_members, groups, federated_identities, identity_providers`.execute(db);
  await sql`drop index user_documents_username`.execute(db);
  await sql`truncate user_documents`.execute(db);
  await fillUserDocuments(db);
  for (const [table, name] of TRIGGERS) await sql.raw(`alter table ${table} enable trigger ${name}`).execute(db);
}

/** Every user's document in username order, then the username index (built once, not row by row). */
async function fillUserDocuments(db: Kysely<any>) {
  await sql.raw(`insert into user_documents (${DOCUMENT_COLUMNS}) select ${documentSelect(postgresJson)} from users u order by u.username`).execute(db);
  await sql`create index user_documents_username on user_documents(username)`.execute(db);
}

/**
 * Rebuilds the documents of `ids` and of the users whose profile they are, after writes made with
 * the per-row upkeep off (batchUserWrites), with the locks the triggers take: the groups of the
 * changed memberships against renames, and members that are profiles against assignments.
 */
export async function refreshUserDocuments(db: Kysely<any>, ids: readonly number[], groupIds: readonly number[]): Promise<void> {
  await sql`select 1 from groups where id = any(${[...groupIds]}::integer[]) order by id for share`.execute(db);
  await sql`select 1 from users where id = any(${[...ids]}::integer[]) and profile_id = 0 order by id for share`.execute(db);
  await sql`select ecm_refresh_user_documents(array(select id from users where id = any(${[...ids]}::integer[]) or profile_id = any(${[...ids]}::integer[])))`.execute(db);
}

/** BatchWrites.ownFields: the pieces of these users' documents but `extra`, rewritten in place, locked in the order the refresh locks them. */
export async function refreshOwnFields(db: Kysely<any>, ids: readonly number[]): Promise<void> {
  await sql`select 1 from user_documents where user_id = any(${[...ids]}::integer[]) order by user_id for no key update`.execute(db);
  await sql`update user_documents set ${sql.raw(ownFieldsSet(postgresJson))} from users u where u.id = any(${[...ids]}::integer[]) and user_documents.user_id = u.id`.execute(db);
}

async function createFunctions(db: Kysely<any>) {
  await sql.raw(`create or replace function ecm_refresh_user_documents(ids integer[]) returns void language plpgsql as $$
    begin
      perform 1 from user_documents where user_id = any(ids) order by user_id for no key update;
      insert into user_documents (${DOCUMENT_COLUMNS}) select ${documentSelect(postgresJson)} from users u where u.id = any(ids)
        on conflict (user_id) do update set username = excluded.username, base = excluded.base, extra = excluded.extra,
          valid_to = excluded.valid_to, locked_out_until = excluded.locked_out_until, tail = excluded.tail;
    end $$`).execute(db);
  await sql`create or replace function ecm_user_documents_user() returns trigger language plpgsql as $$
    begin
      if new.profile_id > 0 and (tg_op = 'INSERT' or new.profile_id <> old.profile_id) then
        perform 1 from users where id = new.profile_id for no key update;
        perform 1 from groups where id in (select group_id from group_members where user_id = new.profile_id) order by id for share;
      end if;
      perform ecm_refresh_user_documents(array[new.id]);
      return null;
    end $$`.execute(db);
  await sql`create or replace function ecm_user_documents_member() returns trigger language plpgsql as $$
    begin
      perform 1 from groups where id in (select group_id from changed) order by id for share;
      perform 1 from users where id in (select user_id from changed) and profile_id = 0 order by id for share;
      perform ecm_refresh_user_documents(array(select id from users
        where id in (select user_id from changed) or profile_id in (select user_id from changed)));
      return null;
    end $$`.execute(db);
  await sql`create or replace function ecm_user_documents_group() returns trigger language plpgsql as $$
    begin
      perform ecm_refresh_user_documents(array(select user_id from group_members where group_id = new.id
        union select id from users where profile_id in (select user_id from group_members where group_id = new.id)));
      return null;
    end $$`.execute(db);
  await sql`create or replace function ecm_user_documents_identity() returns trigger language plpgsql as $$
    begin
      perform 1 from identity_providers where id in (select provider_id from changed) order by id for share;
      perform ecm_refresh_user_documents(array(select user_id from changed));
      return null;
    end $$`.execute(db);
  await sql`create or replace function ecm_user_documents_identity_moved() returns trigger language plpgsql as $$
    begin
      perform 1 from identity_providers where id = new.provider_id for share;
      perform ecm_refresh_user_documents(array[old.user_id, new.user_id]);
      return null;
    end $$`.execute(db);
  await sql`create or replace function ecm_user_documents_provider() returns trigger language plpgsql as $$
    begin
      perform ecm_refresh_user_documents(array(select user_id from federated_identities where provider_id = new.id
        union select id from users where identity_provider_id = new.id));
      return null;
    end $$`.execute(db);
  await sql`create or replace function ecm_user_documents_directory() returns trigger language plpgsql as $$
    begin
      perform ecm_refresh_user_documents(array(select id from users where directory_id = new.id));
      return null;
    end $$`.execute(db);
}

/**
 * Every user's JSON after `after` (a username) in username order, as a JSON body, from one COPY:
 * the rows come as a byte stream, without a message and a string per row (reading them as batches
 * joined by string_agg took 5–10 times as long), as commas and documents (copy-rows.ts).
 *
 * A COPY holds its connection for the whole download, as slow as the client reads: at most half the
 * pool streams this way, so slow clients cannot starve the other requests; past that, `fallback`.
 */
export function postgresUserDocuments(pool: pg.Pool, poolSize: number, busy: BusyPolicy) {
  const most = Math.max(1, Math.floor(poolSize / 2));
  let streaming = 0;
  return async function* (after: string | undefined, extended: boolean, now: string, fallback: () => JsonBody): AsyncGenerator<Buffer | string> {
    if (streaming >= most) return yield* fallback();
    streaming++;
    try {
      yield* copyDocuments(pool, busy, after, extended, now);
    } finally {
      streaming--;
    }
  };
}

async function* copyDocuments(pool: pg.Pool, busy: BusyPolicy, after: string | undefined, extended: boolean, now: string): AsyncGenerator<Buffer> {
  // The connection is waited for as Kysely's are (storage/busy.ts): a full pool is tried again, then StoreBusy.
  const client = await retryingBusy(busy, () => pool.connect());
  let finished = false;
  try {
    // Username order from the index: the planner would rather sort a table it finds out of order, which spills a million documents to disk.
    await client.query("begin read only");
    await client.query("set local enable_seqscan = off");
    yield* copyRows(client, `copy (${userDocumentsQuery(after, extended, now, (s) => client.escapeLiteral(s))}) to stdout with (format binary)`) as AsyncIterable<Buffer>;
    await client.query("commit");
    finished = true;
  } finally {
    // A client that went away leaves the COPY half read: that connection is closed, not reused.
    client.release(!finished);
  }
}

/** The documents after `after` in username order (`literal` quotes a string for SQL). */
export function userDocumentsQuery(after: string | undefined, extended: boolean, now: string, literal: (s: string) => string): string {
  const from = after === undefined ? "" : `where d.username > ${literal(after)}`;
  return `select ${documentJsonSql(extended, now)} from user_documents d ${from} order by d.username`;
}
