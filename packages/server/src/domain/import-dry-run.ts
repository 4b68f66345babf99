import { sql, type ExpressionBuilder, type Kysely } from "kysely";
import { isForeignKeyViolation, isUniqueViolation } from "../storage/constraints.js";
import { savepoint } from "../storage/savepoint.js";
import type { Database, UserRow } from "../storage/schema.js";
import { ScratchLedger } from "../storage/scratch-ledger.js";
import { confusableKey, normalizeName } from "./names.js";
import { grantingGroups } from "./role-rules.js";
import { fold } from "./user-fields.js";

/** A user as an earlier batch of a dry run left it: its row (without the store's serial id), its memberships, and whether the dry run made it. */
interface Left {
  row: Omit<UserRow, "id">;
  members: { group_id: number; synced_by: number | null; mapped_by: number | null }[];
  made: boolean;
}

/** The name keys a user holds (as domain/user-import.ts checkNames checks them): a later row taking one is judged with this user as it was left. */
const viaKeys = (r: Pick<UserRow, "login_key" | "username_skeleton" | "login_skeleton">) => [
  `login|${r.login_key}`,
  ...(r.username_skeleton === null ? [] : [`skeleton|${r.username_skeleton}`]),
  ...(r.login_skeleton === null ? [] : [`skeleton|${r.login_skeleton}`]),
];

/** Rounds of following names from user to user (one gave a name up, another took it, …) before a batch stops looking further. */
const MAX_HOPS = 8;

/**
 * What the earlier batches of a dry run would have written, carried into each later batch: a dry
 * run's batch is rolled back like every other, so without this a row was judged against the store
 * alone, while the real import judges it with every earlier row of its file done (the same username
 * again updates the user an earlier batch created; a login name an earlier batch took is taken, one
 * it gave up is free; the last system administrator an earlier batch left is counted).
 *
 * Each batch's transaction first writes back the users it names — by username, holding a name its
 * rows would take or one those users held, or as the profile of one of them — as the earlier batches
 * left them; afterwards the users it created or changed are recorded as it left them. The record is on
 * disk (storage/scratch-ledger.ts), so a dry run of any size holds no more memory than a real one.
 * What others changed meanwhile wins: a user someone else created under a name the dry run made, or
 * a written-back user whose name another took or whose group was deleted, is judged as the store has it.
 */
export class DryRunCarry {
  readonly #ledger = new ScratchLedger();
  /** Usernames of system administrators (before or after) whose users an earlier batch changed: the last-administrator rule needs them as they were left. */
  readonly #administrators = new Set<string>();
  /** Of the batch under way: its usernames' name keys before it (a key it gives up stays findable), the users written back, the administrators among its users before it, those only the dry run made. */
  #before = new Map<string, string[]>();
  #restored = new Set<string>();
  #batchAdministrators = new Set<string>();
  #madeHere = new Set<string>();

  /**
   * Writes into `trx` the users these rows name as the earlier batches left them. Answers the usernames
   * of those only this dry run made (no id of theirs is to be answered).
   */
  async restore(trx: Kysely<Database>, users: readonly { username: string; loginName?: string }[]): Promise<Set<string>> {
    const usernames = [...new Set(users.map((u) => normalizeName(u.username)))];
    const names = users.flatMap((u) => [u.username, u.loginName ?? u.username]);
    // The profiles of the batch's users: their groups are the users' too.
    const profiles = await trx.selectFrom("users as u").innerJoin("users as p", "p.id", "u.profile_id").select("p.username").where("u.username", "in", usernames).where("u.profile_id", ">", 0).execute();
    const wanted = this.#leadingTo([...usernames, ...profiles.map((p) => p.username)], [...users.map((u) => `login|${fold(u.loginName ?? u.username)}`), ...names.map((n) => `skeleton|${confusableKey(n)}`)], new Set());
    this.#madeHere = await this.#writeBack(trx, [...wanted]);
    this.#restored = wanted;
    const rows = await trx.selectFrom("users").select(["username", "login_key", "username_skeleton", "login_skeleton"]).where("username", "in", usernames).execute();
    this.#before = new Map(rows.map((r) => [r.username, viaKeys(r)]));
    this.#batchAdministrators = await administratorsAmong(trx, usernames);
    return this.#madeHere;
  }

  /** Before the last-administrator rule is asked: the administrators earlier batches changed, as they left them. */
  async restoreAdministrators(trx: Kysely<Database>): Promise<void> {
    const inBatch = new Set([...this.#before.keys(), ...this.#restored]);
    const wanted = this.#leadingTo([...this.#administrators].filter((u) => !inBatch.has(u)), [], inBatch);
    await this.#writeBack(trx, [...wanted].filter((u) => !inBatch.has(u)));
  }

  /** Records the users the batch created or changed (by username), as its transaction now holds them. */
  async keep(trx: Kysely<Database>, results: readonly { username?: string | undefined; status: string }[]): Promise<void> {
    const changed = results.filter((r) => r.username !== undefined && (r.status === "created" || r.status === "updated"));
    const names = [...new Set(changed.map((r) => normalizeName(r.username!)))];
    if (names.length === 0) return;
    const made = new Set([...this.#madeHere, ...changed.filter((r) => r.status === "created").map((r) => normalizeName(r.username!))]);
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
        const left: Left = { row, members: members.get(id)!, made: made.has(r.username) };
        return { key: r.username, value: JSON.stringify(left), via: [...new Set([...viaKeys(r), ...(this.#before.get(r.username) ?? [])])] };
      }),
    );
  }

  /** The rows earlier batches left of these usernames (the password policy reads their names). */
  rows(usernames: readonly string[]): Map<string, Left["row"]> {
    return new Map([...this.#left(usernames)].map(([username, left]) => [username, left.row]));
  }

  /** A user as earlier batches left it, its row and its own groups, if they created or changed it (the importing account: may it go on?). */
  leftOf(username: string): { row: Left["row"]; groupIds: number[] } | undefined {
    const left = this.#left([username]).get(username);
    return left && { row: left.row, groupIds: left.members.map((m) => m.group_id) };
  }

  close(): void {
    this.#ledger.close();
  }

  /**
   * These users and those their names lead to in the ledger (not those of `known`): carl took alice's
   * login name, so writing carl back needs alice as she was left, with another, and so on.
   */
  #leadingTo(usernames: readonly string[], via: string[], known: ReadonlySet<string>): Set<string> {
    const wanted = new Set(usernames);
    for (let hop = 0, reached = [...wanted]; hop < MAX_HOPS && (reached.length > 0 || via.length > 0); hop++) {
      via.push(...[...this.#left(reached).values()].flatMap((left) => viaKeys(left.row)));
      reached = this.#ledger.keysVia([...new Set(via)]).filter((u) => !wanted.has(u) && !known.has(u));
      for (const u of reached) wanted.add(u);
      via = [];
    }
    return wanted;
  }

  /** The ledger's record of these users (those it has), read. */
  #left(usernames: readonly string[]): Map<string, Left> {
    return new Map([...this.#ledger.get(usernames)].map(([username, value]) => [username, JSON.parse(value) as Left]));
  }

  /** Writes these users back as they were left (those the ledger has; again is the same); answers those the store did not have. */
  async #writeBack(trx: Kysely<Database>, usernames: readonly string[]): Promise<Set<string>> {
    const madeHere = new Set<string>();
    const left = [...this.#left(usernames)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, l]) => l);
    if (left.length === 0) return madeHere;
    const stored = new Map((await trx.selectFrom("users").select(["id", "username"]).where("username", "in", left.map((l) => l.row.username)).execute()).map((r) => [r.username, r.id]));
    // Someone else made a user of a name only the dry run had made: that one is the store's, as the real import would find it.
    const carried = left.filter((l) => !(l.made && stored.has(l.row.username)));
    const groups = new Set((await trx.selectFrom("groups").select("id").where("id", "in", [...new Set(carried.flatMap((l) => l.members.map((m) => m.group_id)))].concat(-1)).execute()).map((g) => g.id));
    /** Frees a stored user's unique name keys until its row is written back. */
    const letGo = (id: number) => trx.updateTable("users").set({ login_key: sql<string>`${"\u0001"} || cast(id as text)`, username_skeleton: null, login_skeleton: null }).where("id", "=", id).execute();
    /** Writes one back (its names let go first, when `first`); true when it was inserted (the store did not have it). */
    const write = async (l: Left, first: boolean): Promise<boolean> => {
      const { uuid: _, ...row } = l.row;
      let id = stored.get(row.username);
      const inserted = id === undefined;
      if (id === undefined) {
        id = (await trx.insertInto("users").values(l.row).returning("id").executeTakeFirstOrThrow()).id;
      } else {
        if (first) await letGo(id);
        await trx.updateTable("users").set(row).where("id", "=", id).execute();
        await trx.deleteFrom("group_members").where("user_id", "=", id).execute();
      }
      // A group deleted since is gone from the user, as the delete took it from every member.
      const members = l.members.filter((m) => groups.has(m.group_id));
      if (members.length > 0) await trx.insertInto("group_members").values(members.map((m) => ({ ...m, user_id: id }))).execute();
      return inserted;
    };
    try {
      await savepoint(trx, async () => {
        // Names first let go, then taken: users written back may have swapped them.
        for (const l of carried) if (stored.has(l.row.username)) await letGo(stored.get(l.row.username)!);
        for (const l of carried) if (await write(l, false)) madeHere.add(l.row.username);
      });
    } catch (error) {
      if (!isUniqueViolation(error) && !isForeignKeyViolation(error)) throw error;
      // A name another writer took meanwhile: each user that can be is written back, one at a time; the others stay as the store has them.
      madeHere.clear();
      for (const l of carried) {
        const inserted = await savepoint(trx, () => write(l, true)).catch((e: unknown) => {
          if (!isUniqueViolation(e) && !isForeignKeyViolation(e)) throw e;
          return false;
        });
        if (inserted) madeHere.add(l.row.username);
      }
    }
    return madeHere;
  }
}

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
