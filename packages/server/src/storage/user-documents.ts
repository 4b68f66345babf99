import { sql, type RawBuilder } from "kysely";

/**
 * Every user's REST JSON, kept by the store (migration 008): a list or an export of a million users
 * then reads text, where rendering it (a group join and a JSON object per user) capped the export at
 * ~35 000 (PostgreSQL) to ~150 000 (SQLite) users/s.
 *
 * `user_documents` holds, per user and in username order, the JSON in pieces: `base` is the plain
 * view without its closing brace, `extra` what `extendedInfo` adds that does not depend on the clock,
 * `tail` the rest; `valid_to` and `locked_out_until` stay raw, because `expired` and `lockedOutUntil`
 * depend on the time of the read. Each store's triggers rebuild a user's document whenever something
 * it shows changes: the user's row, its memberships or its profile's, a group's name, its identity
 * provider links, the name of its directory or provider (storage/dialect/<store>/user-documents.ts).
 * Bulk writers (directory syncs) switch the per-row rebuilds off for their transaction and rebuild
 * the documents they touched once, set-wise (StoreDialect.batchUserWrites).
 */

/** How a store writes JSON in SQL: a JSON literal of a value (`null` for NULL), and a comma-joined aggregate in an order. */
export interface JsonSql {
  quote(expr: string): string;
  joinInOrder(expr: string, orderBy: string): string;
}

/** What a batch of user writes did (StoreDialect.batchUserWrites): its result, and whose upkeep it owes. */
export interface BatchWrites<T> {
  result: T;
  /** Users whose document may show something else now (rows written, memberships changed). */
  documents: readonly number[];
  /**
   * Users whose row changed only in columns their document shows outside its groups, validity and
   * source (enabled, a lockout): those pieces are rewritten in place and the rest kept, so their
   * memberships are not read (a bulk action over a cold store read a page of them per user). Their
   * username, validity, profile, directory and provider must be unchanged, and their documents there:
   * anything else goes in `documents`.
   */
  ownFields?: readonly number[];
  /** Users inserted, or whose username or search text changed. */
  search: readonly number[];
  /** Groups whose memberships changed (locked against renames while the documents are rebuilt). */
  groups: readonly number[];
}

/** The users columns a document shows: an update that changes none of them leaves it as it is. */
export const DOCUMENT_SOURCE_COLUMNS = [
  "uuid", "username", "first_name", "last_name", "email", "dn", "description", "enabled", "builtin", "login_name",
  "display_name", "profile_id", "valid_from", "valid_to", "locked_out_until", "change_password", "password_never_expires",
  "directory_id", "identity_provider_id", "service_account",
] as const;

/** The columns of user_documents, in the order documentSelect gives them. */
export const DOCUMENT_COLUMNS = "user_id, username, base, extra, valid_to, locked_out_until, tail";

/**
 * The SELECT list that builds the document of `users u` (http/user-view.ts's view, field for field).
 * Concatenated rather than built with the stores' JSON object functions: PostgreSQL's put spaces
 * between keys and values, and the pieces must be cut where the clock-dependent fields go.
 */
export function documentSelect(j: JsonSql): string {
  const { base, extra, tail } = documentPieces(j);
  return `u.id as user_id, u.username, ${base} as base, ${extra} as extra, u.valid_to, u.locked_out_until, ${tail} as tail`;
}

/** The SET list that rewrites what BatchWrites.ownFields names: the pieces of the document of `users u` but `extra`. */
export function ownFieldsSet(j: JsonSql): string {
  const { base, tail } = documentPieces(j);
  return `base = ${base}, locked_out_until = u.locked_out_until, tail = ${tail}`;
}

/** The document's pieces, each an SQL expression over `users u`. */
function documentPieces(j: JsonSql): { base: string; extra: string; tail: string } {
  const q = j.quote;
  const bool = (column: string) => `case when ${column} = 1 then 'true' else 'false' end`;
  const identities = `(select '[' || ${j.joinInOrder(`'{"alias":' || ${q("p.alias")} || ',"displayName":' || ${q("p.display_name")} || '}'`, "p.alias")} || ']'
    from federated_identities f join identity_providers p on p.id = f.provider_id where f.user_id = u.id)`;
  // Own groups and the profile's, each once, in code-point order of their names.
  const groups = `(select ${j.joinInOrder(q("g.name"), "g.name")} from groups g
    where g.id in (select m.group_id from group_members m where m.user_id in (u.id, u.profile_id)))`;
  const base = `'{"id":' || ${q("u.uuid")} || ',"username":' || ${q("u.username")} || ',"firstName":' || ${q("u.first_name")}
    || ',"lastName":' || ${q("u.last_name")} || ',"email":' || ${q("u.email")} || ',"dn":' || ${q("u.dn")}
    || ',"description":' || ${q("u.description")} || ',"enabled":' || ${bool("u.enabled")} || ',"builtin":' || ${bool("u.builtin")}
    || ',"federatedIdentities":' || coalesce(${identities}, 'null') || ',"numericId":' || u.id || ',"loginName":' || ${q("u.login_name")}
    || ',"displayName":' || ${q("u.display_name")} || ',"profileId":' || u.profile_id`;
  const extra = `',"groups":[' || coalesce(${groups}, '') || '],"validFrom":' || ${q("u.valid_from")} || ',"validTo":' || ${q("u.valid_to")}
    || ',"source":' || ${sourceJson(j)}`;
  const tail = `',"changePassword":' || ${bool("u.change_password")} || ',"passwordNeverExpires":' || ${bool("u.password_never_expires")}
    || ',"serviceAccount":' || ${bool("u.service_account")} || '}'`;
  return { base, extra, tail };
}

/** The extended field `source` of `users u` (http/user-view.ts `sourceOf`): where the account comes from. */
function sourceJson({ quote: q }: JsonSql): string {
  const source = (type: string, id: string, name: string) => `'{"type":"${type}","id":' || ${q(id)} || ',"name":' || ${q(name)} || '}'`;
  const none = (type: string) => `'{"type":"${type}","id":null,"name":null}'`;
  return `case when u.builtin = 1 then ${none("builtin")}
    when u.directory_id is not null then coalesce((select ${source("directory", "s.uuid", "s.name")} from directories s where s.id = u.directory_id), ${none("directory")})
    when u.identity_provider_id is not null then coalesce((select ${source("identity-provider", "s.alias", "s.display_name")} from identity_providers s where s.id = u.identity_provider_id), ${none("identity-provider")})
    else ${none("local")} end`;
}

/** An SQL literal of a time the server made (an ISO string: nothing in it needs escaping, which this checks). */
function timeLiteral(now: string): string {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(now)) throw new Error(`not an ISO time: ${now}`);
  return `'${now}'`;
}

/**
 * The SQL of the REST JSON of the document `d` at `now` (an ISO time). lockedOutUntil goes between
 * quotes as it is: only the server writes it, as an ISO time, which holds no character JSON escapes.
 * One concat() call: PostgreSQL spends a third less on it than on a chain of `||`.
 */
export function documentJsonSql(extended: boolean, now: string): string {
  if (!extended) return `concat(d.base, '}')`;
  const at = timeLiteral(now);
  return `concat(d.base, d.extra,
    case when d.valid_to < ${at} then ',"expired":true' else ',"expired":false' end,
    case when d.locked_out_until > ${at} then concat(',"lockedOutUntil":"', d.locked_out_until, '"') else ',"lockedOutUntil":null' end,
    d.tail)`;
}

/** The REST JSON of the document `d` at `now`. */
export function documentJson(extended: boolean, now: string): RawBuilder<string> {
  return sql.raw<string>(documentJsonSql(extended, now));
}

/** The REST JSON of the `users` row in scope at `now`. */
export function userJson(extended: boolean, now: string): RawBuilder<string> {
  return sql<string>`(select ${documentJson(extended, now)} from user_documents d where d.user_id = users.id)`;
}
