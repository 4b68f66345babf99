import { sql, type Kysely } from "kysely";
import type { Database } from "../storage/schema.js";
import { staleVersion } from "./errors.js";

/** The versions an `If-Match` write may find (any one of them), or undefined (no header, or `*`). */
export type Precondition = readonly number[] | undefined;

/**
 * Reads a user or a group for a change inside `trx`. With `If-Match` the row must have that version,
 * and the caller's write must land only on the version read (a writer that lost the race gets 412).
 * Without it, writers of the same row first queue on its row lock, so each reads — and changes — the
 * row left by the one before, and none is refused.
 */
export async function readForChange<R extends { version: number }>(
  trx: Kysely<Database>,
  table: "users" | "groups",
  uuid: string,
  precondition: Precondition,
  read: () => Promise<R>,
): Promise<R> {
  // A no-op write takes the row lock (held to commit on PostgreSQL; SQLite runs one writer at a time).
  // Ids are stored lowercase and accepted in any case (as the lookups do).
  if (precondition === undefined) await sql`update ${sql.table(table)} set version = version where uuid = ${uuid.toLowerCase()}`.execute(trx);
  const row = await read();
  checkPrecondition(row, precondition);
  return row;
}

/**
 * A write to a part of a user (its password, groups, lockout, keys, links) or of a group (its roles)
 * with `If-Match`: inside the write's transaction, takes the row lock and checks its version there, so
 * a change of the user or group committed after the request was checked still fails it (412). One not
 * found is the write's own lookup to answer.
 */
export async function holdVersion(trx: Kysely<Database>, table: "users" | "groups", uuid: string, precondition: Precondition): Promise<void> {
  if (precondition === undefined) return;
  const { rows } = await sql<{ version: number }>`update ${sql.table(table)} set version = version where uuid = ${uuid.toLowerCase()} returning version`.execute(trx);
  if (rows[0]) checkPrecondition(rows[0], precondition);
}

/** A row read for a change must have a version `If-Match` named, if it named any. */
export function checkPrecondition(row: { version: number }, precondition: Precondition): void {
  if (precondition !== undefined && !precondition.includes(row.version)) throw staleVersion(row.version);
}
