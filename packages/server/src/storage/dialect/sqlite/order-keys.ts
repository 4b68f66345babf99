import { sql, type Kysely } from "kysely";

/**
 * SQLite's order keys (see sqlite-dialect.ts): `users.sort_key` grows with the username and is the
 * search index's rowid, so the index yields its hits in username order. A user without a key is
 * searched row by row, so a bulk writer (an import's or a directory sync's batch) keys its new users
 * itself: those that fall between the same two keyed neighbours are spread over the gap between
 * them, and where that gap is too narrow, the neighbourhood is renumbered first. A first sync writes
 * its pages in username order into one gap: spread alone, each page takes what the last one left
 * and the fourth finds none.
 */
export const ORDER_KEY_GAP = 1n << 32n;
/** Narrower than this, a batch's users are not squeezed into a gap: its neighbourhood is renumbered (each user keeps 16 halvings for later single inserts). */
const MIN_SPACING = 1n << 16n;
/** What a renumbered neighbourhood is spread to at least, so that the next batches into it fit without renumbering it again. */
const RENUMBERED_SPACING = 1n << 20n;
/** Runs of at least this many users check for a short tail first: appending in username order (a first sync, an import in order) keeps the full spacing. */
const TAIL_RUN = 64;

/** A user of a batch, with the keys of its keyed neighbours in username order (null: none on that side). */
interface Placing {
  id: number;
  username: string;
  prev: bigint | null;
  next: bigint | null;
}

/**
 * A JSON array of integers, bound as one parameter: a list of any length in a statement whose text
 * stays the same, so its compiled form is kept (store.ts) — written into the text, each batch's
 * statements were compiled anew. Order keys pass 2^53, so they are joined, not JSON.stringify'd.
 */
function jsonIntegers(values: readonly (number | bigint)[]): string {
  if (!values.every((v) => typeof v === "bigint" || Number.isInteger(v))) throw new Error("order keys and user ids must be integers");
  return `[${values.join(",")}]`;
}
const idsIn = (ids: readonly number[]) => sql`(select value from json_each(${jsonIntegers(ids)}))`;
const bigOrNull = (text: string | null) => (text === null ? null : BigInt(text));

/**
 * Gives the users `ids` names that have no order key (a bulk writer's new users, whose insert trigger
 * it deferred: batchUserWrites) their keys and index entries, set-wise. Keys are read as text: past
 * 2^53 a JavaScript number would round them.
 */
export async function keyBatch(db: Kysely<any>, ids: readonly number[]): Promise<void> {
  const fresh = (await sql<{ id: number }>`select id from users where id in ${idsIn(ids)} and sort_key is null`.execute(db)).rows.map((r) => r.id);
  if (fresh.length === 0) return;
  const indexed = new Set(fresh);
  const keys = new PendingKeys(db);
  let placing = await neighbours(db, fresh);
  while (placing.length > 0) {
    const first = placing[0]!;
    let n = 1;
    while (n < placing.length && placing[n]!.prev === first.prev && placing[n]!.next === first.next) n++;
    const renumbered = await placeRun(keys, placing.slice(0, n));
    for (const id of renumbered) indexed.add(id);
    if (renumbered.length > 0) {
      // Keys of other users moved: the rest's neighbours are read again, once the new keys are written.
      await keys.write();
      placing = await neighbours(db, placing.slice(n).map((p) => p.id));
    } else placing = placing.slice(n);
  }
  await keys.write();
  await sql`insert into users_search(rowid, search_text) select sort_key, search_text || char(31, 31) from users where id in ${idsIn([...indexed])}`.execute(db);
}

/** The users `ids` in username order, each with its keyed neighbours' keys (through users_keyed_username, migration 011b). */
async function neighbours(db: Kysely<any>, ids: readonly number[]): Promise<Placing[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ id: number; username: string; prev: string | null; next: string | null }>`select u.id, u.username,
      (select cast(p.sort_key as text) from users p where p.username < u.username and p.sort_key is not null order by p.username desc limit 1) as prev,
      (select cast(n.sort_key as text) from users n where n.username > u.username and n.sort_key is not null order by n.username limit 1) as next
    from users u where u.id in ${idsIn(ids)} order by u.username`.execute(db);
  return rows.map((r) => ({ id: r.id, username: r.username, prev: bigOrNull(r.prev), next: bigOrNull(r.next) }));
}

interface Keyed {
  id: number;
  username: string;
  key: string;
}

/**
 * The keys a batch gives, written in one statement: a batch in no username order (an import of
 * `u1, u2, … u10, u11`) falls into a hundred gaps between the keys of the batches before it, and a
 * statement per gap was a sixth of an import's store time. Written before anything reads keys again
 * (a run's neighbourhood, its tail), which must see them.
 */
class PendingKeys {
  #pairs: string[] = [];
  constructor(readonly db: Kysely<any>) {}

  /** Keys `users` (in username order, none keyed) as `low` + `spacing` × 1, 2, 3, … */
  add(users: readonly { id: number }[], low: bigint, spacing: bigint): void {
    users.forEach((u, i) => this.#pairs.push(`[${u.id},${low + spacing * BigInt(i + 1)}]`));
  }

  async write(): Promise<void> {
    if (this.#pairs.length === 0) return;
    const pairs = this.#pairs.join(",");
    this.#pairs = [];
    await sql`update users set sort_key = j.value ->> 1 from json_each(${`[${pairs}]`}) j where users.id = j.value ->> 0`.execute(this.db);
  }
}

/**
 * Keys a run of users that fall between the same two keyed neighbours; answers the ids of other
 * users it renumbered to make room (their index entries are rewritten by the caller).
 */
async function placeRun(keys: PendingKeys, run: Placing[]): Promise<number[]> {
  const { db } = keys;
  const { prev, next } = run[0]!;
  const low = prev ?? 0n;
  const n = BigInt(run.length);
  if (next === null) {
    keys.add(run, low, ORDER_KEY_GAP);
    return [];
  }
  const spacing = (next - low) / (n + 1n);
  if (run.length < TAIL_RUN && spacing >= MIN_SPACING) {
    keys.add(run, low, spacing);
    return [];
  }
  await keys.write();
  if (run.length >= TAIL_RUN) {
    // Few keyed users after the run: they move up with it, and everyone keeps the full spacing.
    const tail = await keyedFrom(db, sql`sort_key >= ${String(next)} order by sort_key`, run.length + 1);
    if (tail.length <= run.length) return renumber(keys, [...run, ...tail], tail, low, ORDER_KEY_GAP);
  }
  if (spacing >= MIN_SPACING) {
    keys.add(run, low, spacing);
    return [];
  }
  // Too narrow: widen the neighbourhood, k keyed users on each side, until it has room (or reaches the end).
  const firstName = run[0]!.username;
  const lastName = run[run.length - 1]!.username;
  for (let k = 1; ; k *= 2) {
    const before = await keyedFrom(db, sql`username < ${firstName} and sort_key is not null order by username desc`, k + 1);
    const after = await keyedFrom(db, sql`username > ${lastName} and sort_key is not null order by username`, k + 1);
    const left = before.slice(0, k).reverse();
    const right = after.slice(0, k);
    const from = before.length > k ? BigInt(before[k]!.key) : 0n;
    const users = [...left, ...run, ...right];
    const moved = [...left, ...right];
    if (after.length <= k) return renumber(keys, users, moved, from, ORDER_KEY_GAP);
    const room = (BigInt(after[k]!.key) - from) / BigInt(users.length + 1);
    if (room >= RENUMBERED_SPACING) return renumber(keys, users, moved, from, room);
  }
}

/** Up to `limit` keyed users by a condition and order on `users`. */
async function keyedFrom(db: Kysely<any>, where: ReturnType<typeof sql>, limit: number): Promise<Keyed[]> {
  const { rows } = await sql<Keyed>`select id, username, cast(sort_key as text) as key from users where ${where} limit ${limit}`.execute(db);
  return rows;
}

/** Renumbers `users` (in username order) from `low` by `spacing`; `moved` are the keyed ones among them, whose index entries go first. */
async function renumber(keys: PendingKeys, users: readonly { id: number }[], moved: readonly Keyed[], low: bigint, spacing: bigint): Promise<number[]> {
  const { db } = keys;
  const ids = moved.map((u) => u.id);
  if (ids.length > 0) {
    await sql`delete from users_search where rowid in (select value from json_each(${jsonIntegers(moved.map((u) => BigInt(u.key)))}))`.execute(db);
    await sql`update users set sort_key = null where id in ${idsIn(ids)}`.execute(db);
  }
  keys.add(users, low, spacing);
  return ids;
}
