import { sql, type ExpressionBuilder, type Kysely } from "kysely";
import type { Database, UserRow } from "../storage/schema.js";
import { ScratchLedger } from "../storage/scratch-ledger.js";
import { confusableKey, normalizeName } from "./names.js";
import { grantingGroups } from "./role-rules.js";
import { fold } from "./user-fields.js";

/** Which of these users hold system-administrator (through their groups or their profile's). */
async function administratorsAmong(trx: Kysely<Database>, usernames: readonly string[]): Promise<Set<string>> {
  const granting = (eb: ExpressionBuilder<Database, "users">) => eb.selectFrom("group_members").select("user_id").where("group_id", "in", grantingGroups(trx));
  const rows = await trx
    .selectFrom("users")
    .select("username")
    .where("username", "in", usernames)
    .where((eb) => eb.or([eb("id", "in", granting(eb)), eb("profile_id", "in", granting(eb))]))
    .execute();
  return new Set(rows.map((r) => r.username));
}

/** A user as an earlier batch of a dry run left it: its row (without the store's serial id) and its memberships. */
interface Left {
  row: Omit<UserRow, "id">;
  members: { group_id: number; synced_by: number | null; mapped_by: number | null }[];
}

/** The name keys a user holds (as domain/user-import.ts claimNames checks them): a later row taking one is judged with this user as it was left. */
const viaKeys = (r: Pick<UserRow, "login_key" | "username_skeleton" | "login_skeleton">) => [
  `login|${r.login_key}`,
  ...(r.username_skeleton === null ? [] : [`skeleton|${r.username_skeleton}`]),
  ...(r.login_skeleton === null ? [] : [`skeleton|${r.login_skeleton}`]),
];

/**
 * What the earlier batches of a dry run would have written, carried into each later batch: a dry
 * run's batch is rolled back like every other, so without this a row was judged against the store
 * alone, while the real import judges it with every earlier row of its file done (the same username
 * again updates the user an earlier batch created; a login name an earlier batch took is taken, one
 * it gave up is free; the last system administrator an earlier batch left is counted).
 *
 * Each batch's transaction first writes back the users it names — by username, or holding a name its
 * rows would take — as the earlier batches left them; afterwards the users it created or changed are
 * recorded as it left them. The record is on disk (storage/scratch-ledger.ts), so a dry run of any
 * size holds no more memory than a real one; a batch writes back only the users its rows name.
 */
export class DryRunCarry {
  readonly #ledger = new ScratchLedger();
  /** Usernames of system administrators whose users an earlier batch changed: the last-administrator rule needs them as they were left. */
  readonly #administrators = new Set<string>();
  /** Of the batch under way: its usernames' name keys before it (a key it gives up stays findable), and the users written back. */
  #before = new Map<string, string[]>();
  #restored = new Set<string>();
  #batchAdministrators = new Set<string>();

  /**
   * Writes into `trx` the users these rows name as the earlier batches left them. Answers the usernames
   * of those only this dry run made (no id of theirs is to be answered).
   */
  async restore(trx: Kysely<Database>, users: readonly { username: string; loginName?: string }[]): Promise<Set<string>> {
    const usernames = [...new Set(users.map((u) => normalizeName(u.username)))];
    const names = users.flatMap((u) => [u.username, u.loginName ?? u.username]);
    const via = [...new Set([...users.map((u) => `login|${fold(u.loginName ?? u.username)}`), ...names.map((n) => `skeleton|${confusableKey(n)}`)])];
    const wanted = [...new Set([...usernames, ...this.#ledger.keysVia(via)])];
    const madeHere = await this.#writeBack(trx, wanted);
    this.#restored = new Set(wanted);
    const rows = await trx.selectFrom("users").select(["username", "login_key", "username_skeleton", "login_skeleton"]).where("username", "in", usernames).execute();
    this.#before = new Map(rows.map((r) => [r.username, viaKeys(r)]));
    this.#batchAdministrators = await administratorsAmong(trx, usernames);
    return madeHere;
  }

  /** Before the last-administrator rule is asked: the administrators earlier batches changed, as they left them. */
  async restoreAdministrators(trx: Kysely<Database>): Promise<void> {
    await this.#writeBack(trx, [...this.#administrators].filter((u) => !this.#before.has(u) && !this.#restored.has(u)));
  }

  /** Records the users the batch created or changed (by username), as its transaction now holds them. */
  async keep(trx: Kysely<Database>, usernames: readonly string[]): Promise<void> {
    const names = [...new Set(usernames.map(normalizeName))];
    if (names.length === 0) return;
    const rows = await trx.selectFrom("users").selectAll().where("username", "in", names).execute();
    if (rows.length === 0) return;
    // Administrators before the batch or after it (one it created or made one): the rule counts them as they are left.
    const administrators = new Set([...this.#batchAdministrators, ...(await administratorsAmong(trx, names))]);
    const members = new Map<number, Left["members"]>(rows.map((r) => [r.id, []]));
    for (const m of await trx.selectFrom("group_members").select(["user_id", "group_id", "synced_by", "mapped_by"]).where("user_id", "in", [...members.keys()]).execute()) {
      members.get(m.user_id)!.push({ group_id: m.group_id, synced_by: m.synced_by, mapped_by: m.mapped_by });
    }
    this.#ledger.put(
      rows.map((r) => {
        // The serial id is the store's (a user written back again gets another); SQLite's order key is its triggers'.
        const { id, sort_key: _, ...row } = r as UserRow & { sort_key?: unknown };
        if (administrators.has(r.username)) this.#administrators.add(r.username);
        return { key: r.username, value: JSON.stringify({ row, members: members.get(id)! } satisfies Left), via: [...new Set([...viaKeys(r), ...(this.#before.get(r.username) ?? [])])] };
      }),
    );
  }

  /** The rows earlier batches left of these usernames (the password policy reads their names). */
  rows(usernames: readonly string[]): Map<string, Left["row"]> {
    return new Map([...this.#ledger.get(usernames)].map(([username, value]) => [username, (JSON.parse(value) as Left).row]));
  }

  close(): void {
    this.#ledger.close();
  }

  /** Writes these users back as they were left (those the ledger has; again is the same); answers those the store did not have. */
  async #writeBack(trx: Kysely<Database>, usernames: readonly string[]): Promise<Set<string>> {
    const madeHere = new Set<string>();
    const left = [...this.#ledger.get(usernames)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, value]) => JSON.parse(value) as Left);
    if (left.length === 0) return madeHere;
    const stored = new Map((await trx.selectFrom("users").select(["id", "username"]).where("username", "in", left.map((l) => l.row.username)).execute()).map((r) => [r.username, r.id]));
    // Names first let go, then taken: users written back may have swapped them.
    for (const id of stored.values()) await trx.updateTable("users").set({ login_key: sql<string>`${"\u0001"} || cast(id as text)`, username_skeleton: null, login_skeleton: null }).where("id", "=", id).execute();
    for (const { row, members } of left) {
      let id = stored.get(row.username);
      if (id === undefined) {
        id = (await trx.insertInto("users").values(row).returning("id").executeTakeFirstOrThrow()).id;
        madeHere.add(row.username);
      } else {
        await trx.updateTable("users").set(row).where("id", "=", id).execute();
        await trx.deleteFrom("group_members").where("user_id", "=", id).execute();
      }
      if (members.length > 0) await trx.insertInto("group_members").values(members.map((m) => ({ ...m, user_id: id }))).execute();
    }
    return madeHere;
  }
}
