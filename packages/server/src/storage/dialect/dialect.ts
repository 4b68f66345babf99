import type { Expression, Kysely, SqlBool } from "kysely";

/**
 * What differs between the stores. Everything else (queries, migrations, mappings) is written once
 * against Kysely; this is the contained place where SQLite and PostgreSQL part ways.
 */
export interface StoreDialect {
  readonly name: "sqlite" | "postgres";
  /** Column type of the serial primary keys, as DDL. */
  readonly serialPrimaryKey: string;
  /** Text type whose ordering is by code point on both stores (keyset paging relies on it). */
  readonly orderedText: string;
  /** Creates the substring index over users.search_text (run by the initial migration). */
  createUserSearchIndex(db: Kysely<any>): Promise<void>;
  /** A condition on the `users` table: search_text contains `needle` (already lower-cased). */
  userSearchMatches(needle: string): Expression<SqlBool>;
}
