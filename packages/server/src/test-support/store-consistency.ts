import { sql, type Kysely } from "kysely";
import { postgresJson } from "../storage/dialect/postgres/user-documents.js";
import { sqliteJson } from "../storage/dialect/sqlite/user-documents.js";
import type { Database } from "../storage/schema.js";
import { openStore, type StoreLocation } from "../storage/store.js";
import { DOCUMENT_COLUMNS, documentSelect } from "../storage/user-documents.js";

/** Rows of a query as comparable lines. */
async function lines(db: Kysely<Database>, query: string): Promise<string[]> {
  return (await sql.raw(query).execute(db)).rows.map((row) => JSON.stringify(Object.values(row as object).map((v) => (typeof v === "bigint" ? Number(v) : v))));
}

/** What `kept` holds that `fresh` does not, and the reverse, in a few lines (empty when they agree). */
function difference(what: string, kept: string[], fresh: string[]): string[] {
  const keptSet = new Set(kept);
  const freshSet = new Set(fresh);
  const stale = kept.filter((l) => !freshSet.has(l));
  const missing = fresh.filter((l) => !keptSet.has(l));
  if (stale.length === 0 && missing.length === 0) return [];
  return [`${what}: ${stale.length} kept rows not in a fresh build (${stale.slice(0, 2).join(" ")}), ${missing.length} missing (${missing.slice(0, 2).join(" ")})`];
}

/** Rows a query finds that must not exist, as a problem. */
async function none(db: Kysely<Database>, what: string, query: string): Promise<string[]> {
  const found = await lines(db, query);
  return found.length === 0 ? [] : [`${what}: ${found.length} (${found.slice(0, 3).join(" ")})`];
}

/**
 * Everything the store keeps beside its rows, checked against the rows themselves, with the server
 * stopped or running: no partial user (each in the `users` group), memberships and profiles pointing
 * to existing users and groups, every kept document equal to one built afresh, the kept user count,
 * and the search entries (SQLite: the FTS index's rows, one per keyed user; PostgreSQL: user_search, its buckets' arrival
 * counts and the short-needle counts, and the disabled users kept apart). Answers the problems found, none when consistent.
 */
export async function storeProblems(location: StoreLocation): Promise<string[]> {
  const store = await openStore(location);
  const { db } = store;
  try {
    const json = location.kind === "sqlite" ? sqliteJson : postgresJson;
    const problems = [
      ...(await none(db, "memberships of a user or group that does not exist", "select m.group_id, m.user_id from group_members m where not exists (select 1 from users u where u.id = m.user_id) or not exists (select 1 from groups g where g.id = m.group_id)")),
      ...(await none(db, "users whose profile does not exist", "select u.username from users u where u.profile_id > 0 and not exists (select 1 from users p where p.id = u.profile_id)")),
      ...(await none(db, "users outside the users group", "select u.username from users u where not exists (select 1 from group_members m join groups g on g.id = m.group_id where m.user_id = u.id and g.name = 'users')")),
      ...(await none(db, "bulk action runs whose counts do not add up", "select uuid from bulk_actions where processed <> changed + unchanged + refused")),
      ...(await none(db, "a kept user count that is not the number of users", "select n from user_count where n <> (select count(*) from users)")),
      ...difference(
        "kept user documents",
        await lines(db, `select ${DOCUMENT_COLUMNS} from user_documents order by user_id`),
        await lines(db, `select ${documentSelect(json)} from users u order by u.id`),
      ),
    ];
    if (location.kind === "sqlite") {
      problems.push(...(await none(db, "user document upkeep left deferred", "select deferred from user_documents_deferral where deferred <> 0")));
      // The index holds each user under its sort key (the order of usernames), when it has one.
      problems.push(...difference("search index entries", await lines(db, "select rowid from users_search order by rowid"), await lines(db, "select sort_key from users where sort_key is not null order by sort_key")));
      problems.push(...difference("order keys in username order", await lines(db, "select username from users where sort_key is not null order by sort_key"), await lines(db, "select username from users where sort_key is not null order by username")));
    } else {
      problems.push(...difference("search entries", await lines(db, "select user_id, username, search_text from user_search order by user_id"), await lines(db, "select id, username, search_text from users order by id")));
      problems.push(...difference("disabled users", await lines(db, "select username from disabled_users order by username"), await lines(db, "select username from users where enabled = 0 order by username")));
      // A bucket's `rows` counts arrivals only (deletes and renames away leave it): never fewer than it holds.
      problems.push(...(await none(db, "search buckets counting fewer rows than they hold", "select b.bucket, b.rows from user_search_buckets b where b.rows < (select count(*) from user_search s where s.bucket = b.bucket)")));
      problems.push(
        ...difference(
          "short-needle counts",
          await lines(db, "select gram, bucket, users from user_search_grams where users <> 0 order by gram, bucket"),
          await lines(db, "select g, coalesce(s.counted_in, s.bucket), count(*)::int from user_search s, ecm_distinct_grams(s.search_text) g group by 1, 2 order by 1, 2"),
        ),
      );
    }
    return problems;
  } finally {
    await store.close();
  }
}

/** A GET of the API as an administrator (TestServer.api fits, and so does `bearerCall`). */
export type Call = (method: "GET", path: string) => Promise<{ status: number; text: string; headers: Headers }>;

/** `Call` over fetch with a bearer token, for a server in another process. */
export function bearerCall(baseUrl: string, token: string): Call {
  return async (method, path) => {
    const response = await fetch(baseUrl + path, { method, headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, text: await response.text(), headers: response.headers };
  };
}

/**
 * What the API shows of the store, checked against itself: the count equals the list, paged and
 * whole; the export parses, holds as many users, and its memberships point to its users and groups.
 */
export async function apiProblems(call: Call): Promise<string[]> {
  const problems: string[] = [];
  const read = async (path: string) => {
    const { status, text } = await call("GET", path);
    if (status !== 200) throw new Error(`GET ${path}: ${status} ${text}`);
    return JSON.parse(text);
  };
  const count = (await read("/security/v1/users/count")) as number;
  const all = ((await read("/security/v1/users")) as { username: string }[]).map((u) => u.username);
  if (all.length !== count) problems.push(`the users count says ${count}, the list holds ${all.length}`);
  const paged: string[] = [];
  for (let cursor: string | undefined, pages = 0; pages < 10_000; pages++) {
    const { status, text, next } = await page(call, `/security/v1/users?max=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (status !== 200) throw new Error(`paged list: ${status} ${text}`);
    paged.push(...(JSON.parse(text) as { username: string }[]).map((u) => u.username));
    if (!next) break;
    cursor = next;
  }
  if (paged.join("\n") !== all.join("\n")) problems.push(`the paged list (${paged.length}) is not the whole list (${all.length})`);
  const exported = (await read("/security/v1/export")) as { users: { id: string }[]; groups: { id: string }[]; memberships: { userId: string; groupId: string }[] };
  if (exported.users.length !== count) problems.push(`the export holds ${exported.users.length} users, the count says ${count}`);
  const userIds = new Set(exported.users.map((u) => u.id));
  const groupIds = new Set(exported.groups.map((g) => g.id));
  const dangling = exported.memberships.filter((m) => !userIds.has(m.userId) || !groupIds.has(m.groupId));
  if (dangling.length > 0) problems.push(`${dangling.length} exported memberships name a user or group the export does not hold`);
  return problems;
}

/** One page of a list and the cursor of the next (from its Link header). */
async function page(call: Call, path: string): Promise<{ status: number; text: string; next?: string }> {
  const response = await call("GET", path);
  const next = /[?&]cursor=([^&>]+)[^>]*>;\s*rel="next"/.exec(response.headers.get("link") ?? "")?.[1];
  return { ...response, next: next && decodeURIComponent(next) };
}
