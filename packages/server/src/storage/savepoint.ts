import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

/** Runs `work` in a savepoint of `trx`, so a failure undoes only its own writes. */
export async function savepoint<T>(trx: Kysely<Database>, work: () => Promise<T>): Promise<T> {
  const name = sql.raw(`sp_${randomUUID().replaceAll("-", "")}`);
  await sql`savepoint ${name}`.execute(trx);
  try {
    const result = await work();
    await sql`release savepoint ${name}`.execute(trx);
    return result;
  } catch (error) {
    await sql`rollback to savepoint ${name}`.execute(trx);
    await sql`release savepoint ${name}`.execute(trx);
    throw error;
  }
}
