import { sql, type Kysely } from "kysely";
import { DOCUMENT_COLUMNS, DOCUMENT_SOURCE_COLUMNS, documentJsonSql, documentSelect, type JsonSql } from "../../user-documents.js";

/**
 * SQLite's kept user documents (storage/user-documents.ts). The table has no rowid: its rows sit in
 * username order, so a list reads them front to back. SQLite has one writer at a time, so a trigger
 * that rebuilds a document sees every change before it.
 */

const sqliteJson: JsonSql = {
  quote: (expr) => `json_quote(${expr})`,
  joinInOrder: (expr, orderBy) => `group_concat(${expr}, ',' order by ${orderBy})`,
};

/** Rebuilds the documents of the users `where` selects (a condition on `users u`). */
const refresh = (where: string) => `delete from user_documents where user_id in (select u.id from users u where ${where});
  insert into user_documents (${DOCUMENT_COLUMNS}) select ${documentSelect(sqliteJson)} from users u where ${where};`;

/** A user and the users whose profile it is. */
const userAndDependents = (id: string) => `u.id = ${id} or u.profile_id = ${id}`;

const shownColumnChanged = DOCUMENT_SOURCE_COLUMNS.map((c) => `old.${c} is not new.${c}`).join(" or ");
/** Each trigger rebuilds the documents of the users whose JSON the change shows in. */
const TRIGGERS: [name: string, definition: string][] = [
  ["user_documents_user_ai", `after insert on users begin ${refresh("u.id = new.id")} end`],
  ["user_documents_user_au", `after update of ${DOCUMENT_SOURCE_COLUMNS.join(", ")} on users when ${shownColumnChanged} begin ${refresh("u.id = new.id")} end`],
  ["user_documents_member_ai", `after insert on group_members begin ${refresh(userAndDependents("new.user_id"))} end`],
  ["user_documents_member_ad", `after delete on group_members begin ${refresh(userAndDependents("old.user_id"))} end`],
  ["user_documents_group_au", `after update of name on groups when old.name is not new.name begin
      ${refresh("u.id in (select user_id from group_members where group_id = new.id) or u.profile_id in (select user_id from group_members where group_id = new.id)")} end`],
  ["user_documents_identity_ai", `after insert on federated_identities begin ${refresh("u.id = new.user_id")} end`],
  ["user_documents_identity_ad", `after delete on federated_identities begin ${refresh("u.id = old.user_id")} end`],
  ["user_documents_identity_au", `after update of provider_id, user_id on federated_identities begin ${refresh("u.id in (old.user_id, new.user_id)")} end`],
  ["user_documents_provider_au", `after update of alias, display_name on identity_providers begin
      ${refresh("u.id in (select user_id from federated_identities where provider_id = new.id)")} end`],
];

/** Migration 008: the table, its contents and its triggers; drops migration 007's group names and export index, which it replaces. */
export async function createUserDocuments(db: Kysely<any>): Promise<void> {
  for (const t of ["users_group_names_member_ai", "users_group_names_member_ad", "users_group_names_rename", "users_group_names_profile", "users_group_names_insert"]) {
    await sql`drop trigger if exists ${sql.id(t)}`.execute(db);
  }
  await sql`drop index if exists users_export`.execute(db);
  const columns = await sql<{ name: string }>`select name from pragma_table_info('users')`.execute(db);
  if (columns.rows.some((c) => c.name === "group_names")) await sql`alter table users drop column group_names`.execute(db);
  await sql`create table user_documents (username text not null primary key, user_id integer not null unique references users(id) on delete cascade,
    base text not null, extra text not null, valid_to text, locked_out_until text, tail text not null) without rowid`.execute(db);
  await rebuildUserDocuments(db);
}

/** Drops the triggers for a bulk load: rebuilding every document once afterwards is many times faster. */
export async function suspendUserDocuments(db: Kysely<any>): Promise<void> {
  for (const [name] of TRIGGERS) await sql.raw(`drop trigger if exists ${name}`).execute(db);
}

/** Builds every user's document, in username order, and the triggers that keep them. */
export async function rebuildUserDocuments(db: Kysely<any>): Promise<void> {
  await sql`delete from user_documents`.execute(db);
  await sql.raw(`insert into user_documents (${DOCUMENT_COLUMNS}) select ${documentSelect(sqliteJson)} from users u order by u.username`).execute(db);
  for (const [name, definition] of TRIGGERS) await sql.raw(`create trigger ${name} ${definition}`).execute(db);
}

/**
 * Every user's JSON after `after` (a username) in username order, as a JSON body, a batch per query.
 * Bytes, not text: building a JavaScript string of a batch that holds non-ASCII names cost four
 * times the query itself. The subquery cannot be merged into the aggregate (it has a LIMIT), so
 * group_concat takes its rows in its order (an ORDER BY inside group_concat sorts them again: half
 * as long again).
 */
export async function* sqliteUserDocuments(db: Kysely<any>, after: string | undefined, extended: boolean, now: string, batchSize = 1000): AsyncGenerator<Buffer | string> {
  for (let first = true; ; first = false) {
    const { rows } = await documentBatchQuery(after, extended, now, batchSize).execute(db);
    const batch = rows[0]!;
    if (batch.json === null) return;
    if (!first) yield ",";
    yield batch.json;
    if (batch.count < batchSize) return;
    after = batch.last!;
  }
}

/** One batch: how many documents, the last username, and the documents joined by commas. */
export function documentBatchQuery(after: string | undefined, extended: boolean, now: string, batchSize: number) {
  const from = after === undefined ? sql`` : sql`where d.username > ${after}`;
  return sql<{ count: number; last: string | null; json: Buffer | null }>`select count(*) as count, max(username) as last,
    cast(group_concat(json, ',') as blob) as json
    from (select d.username, ${sql.raw(documentJsonSql(extended, now))} as json from user_documents d ${from} order by d.username limit ${batchSize})`;
}
