import { CompiledQuery, sql, type Kysely } from "kysely";
import { DOCUMENT_COLUMNS, DOCUMENT_SOURCE_COLUMNS, documentJsonSql, documentSelect, ownFieldsSet, type BatchWrites, type JsonSql } from "../../user-documents.js";

/**
 * SQLite's kept user documents (storage/user-documents.ts). The table has no rowid: its rows sit in
 * username order, so a list reads them front to back. SQLite has one writer at a time, so a trigger
 * that rebuilds a document sees every change before it.
 */

export const sqliteJson: JsonSql = {
  quote: (expr) => `json_quote(${expr})`,
  joinInOrder: (expr, orderBy) => `group_concat(${expr}, ',' order by ${orderBy})`,
};

/** The columns a rewrite in place changes: all but the key and the user's id. */
const UPDATED_COLUMNS = DOCUMENT_COLUMNS.split(", ").filter((c) => c !== "user_id" && c !== "username");

/**
 * The two statements that rebuild the documents of the users `where` selects (a condition on `users u`):
 * a renamed user's document is moved (its key is the username); the others are rewritten in place,
 * found by username, so the user_id index is neither read nor written for them. Deleted and inserted
 * again, each document cost a write to a page of that index, and found by user id a read (a bulk
 * action over 90 000 users wrote a third more pages). The conflict's condition leaves alone a document
 * still held under this username by another user renamed in the same batch, whose own refresh (at
 * the batch's end) moves it; a trigger that fires mid-batch for this user then skips it rather than
 * failing the batch, and the batch's refresh writes it.
 */
const refreshStatements = (where: string) => [
  `delete from user_documents where user_id in (select u.id from users u where (${where})
    and not exists (select 1 from user_documents d where d.username = u.username and d.user_id = u.id))`,
  `insert into user_documents (${DOCUMENT_COLUMNS}) select ${documentSelect(sqliteJson)} from users u where ${where} order by u.username
    on conflict (username) do update set ${UPDATED_COLUMNS.map((c) => `${c} = excluded.${c}`).join(", ")}
      where user_documents.user_id = excluded.user_id`,
];
const refresh = (where: string) => refreshStatements(where).map((s) => `${s};`).join("\n  ");

/** A user and the users whose profile it is. */
const userAndDependents = (id: string) => `u.id = ${id} or u.profile_id = ${id}`;

/**
 * True unless a bulk writer has switched the per-row rebuilds off (batchUserWrites). It sets the flag
 * and clears it again inside its own transaction: SQLite has one writer at a time, and readers see
 * committed data only, so no other writer ever sees it set.
 */
export const NOT_DEFERRED = "(select deferred from user_documents_deferral) = 0";

const shownColumnChanged = DOCUMENT_SOURCE_COLUMNS.map((c) => `old.${c} is not new.${c}`).join(" or ");
/** Each trigger rebuilds the documents of the users whose JSON the change shows in. */
const TRIGGERS: [name: string, definition: string][] = [
  ["user_documents_user_ai", `after insert on users when ${NOT_DEFERRED} begin ${refresh("u.id = new.id")} end`],
  ["user_documents_user_au", `after update of ${DOCUMENT_SOURCE_COLUMNS.join(", ")} on users when (${shownColumnChanged}) and ${NOT_DEFERRED} begin ${refresh("u.id = new.id")} end`],
  ["user_documents_member_ai", `after insert on group_members when ${NOT_DEFERRED} begin ${refresh(userAndDependents("new.user_id"))} end`],
  ["user_documents_member_ad", `after delete on group_members when ${NOT_DEFERRED} begin ${refresh(userAndDependents("old.user_id"))} end`],
  ["user_documents_group_au", `after update of name on groups when old.name is not new.name begin
      ${refresh("u.id in (select user_id from group_members where group_id = new.id) or u.profile_id in (select user_id from group_members where group_id = new.id)")} end`],
  ["user_documents_identity_ai", `after insert on federated_identities begin ${refresh("u.id = new.user_id")} end`],
  ["user_documents_identity_ad", `after delete on federated_identities begin ${refresh("u.id = old.user_id")} end`],
  ["user_documents_identity_au", `after update of provider_id, user_id on federated_identities begin ${refresh("u.id in (old.user_id, new.user_id)")} end`],
  ["user_documents_provider_au", `after update of alias, display_name on identity_providers begin
      ${refresh("u.id in (select user_id from federated_identities where provider_id = new.id) or u.identity_provider_id = new.id")} end`],
  ["user_documents_directory_au", `after update of name on directories when old.name is not new.name begin ${refresh("u.directory_id = new.id")} end`],
];

/**
 * Migration 008: the table (migration 011 fills it: the documents show columns added since, see
 * installUserDocuments); drops migration 007's group names and export index, which it replaces.
 */
export async function createUserDocuments(db: Kysely<any>): Promise<void> {
  for (const t of ["users_group_names_member_ai", "users_group_names_member_ad", "users_group_names_rename", "users_group_names_profile", "users_group_names_insert"]) {
    await sql`drop trigger if exists ${sql.id(t)}`.execute(db);
  }
  await sql`drop index if exists users_export`.execute(db);
  const columns = await sql<{ name: string }>`select name from pragma_table_info('users')`.execute(db);
  if (columns.rows.some((c) => c.name === "group_names")) await sql`alter table users drop column group_names`.execute(db);
  await sql`create table user_documents (username text not null primary key, user_id integer not null unique references users(id) on delete cascade,
    base text not null, extra text not null, valid_to text, locked_out_until text, tail text not null) without rowid`.execute(db);
}

/** Every document rebuilt with the current definition, and its triggers (re)made: run by the migrations that change what a document shows. */
export async function installUserDocuments(db: Kysely<any>): Promise<void> {
  await suspendUserDocuments(db);
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
  await createTriggers(db);
}

/** The triggers made anew with the current statements, the documents left as they are (they show the same). */
export async function remakeDocumentTriggers(db: Kysely<any>): Promise<void> {
  await suspendUserDocuments(db);
  await createTriggers(db);
}

async function createTriggers(db: Kysely<any>): Promise<void> {
  for (const [name, definition] of TRIGGERS) await sql.raw(`create trigger ${name} ${definition}`).execute(db);
}

/** Migration 011: the flag batchUserWrites sets (see NOT_DEFERRED). */
export async function createDocumentsDeferral(db: Kysely<any>): Promise<void> {
  await sql`create table user_documents_deferral (deferred integer not null)`.execute(db);
  await sql`insert into user_documents_deferral values (0)`.execute(db);
}

/**
 * Runs `work` in the transaction `trx` without the per-row rebuilds of the documents of users it
 * inserts or updates and of memberships it changes, then rebuilds the documents of the users it
 * names (and of the users whose profile they are) in one statement: a sync's batch rebuilds each
 * document once instead of once per row and membership. The search index keeps its triggers, but for
 * inserts (sqlite-dialect.ts keys and indexes a batch's new users set-wise, inside `work`).
 */
export async function batchUserWrites<T>(trx: Kysely<any>, work: () => Promise<BatchWrites<T>>): Promise<T> {
  await sql`update user_documents_deferral set deferred = 1`.execute(trx);
  const { result, documents, ownFields = [] } = await work();
  if (ownFields.length > 0) {
    // Found by username, the documents' key, as a rewrite in place is (refreshStatements).
    await trx.executeQuery(CompiledQuery.raw(`update user_documents set ${ownFieldsSet(sqliteJson)}
      from users u where u.id in (select value from json_each(?)) and user_documents.username = u.username and user_documents.user_id = u.id`, [sqlJsonIds(ownFields)]));
  }
  if (documents.length > 0) {
    // The ids are bound (each statement names them twice), so the statements' text, and their compiled form, is kept.
    const ids = "select value from json_each(?)";
    const list = sqlJsonIds(documents);
    // One list, not `u.id in (…) or u.profile_id in (…)`: SQLite answers that OR by reading every user.
    for (const statement of refreshStatements(`u.id in (${ids} union select p.id from users p where p.profile_id in (${ids}))`)) await trx.executeQuery(CompiledQuery.raw(statement, [list, list]));
  }
  await sql`update user_documents_deferral set deferred = 0`.execute(trx);
  return result;
}

/** A JSON array of ids (integers only): one parameter for a list of any length. */
function sqlJsonIds(ids: readonly number[]): string {
  if (!ids.every(Number.isInteger)) throw new Error("user ids must be integers");
  return `[${ids.join(",")}]`;
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
