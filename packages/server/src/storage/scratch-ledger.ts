import BetterSqlite3 from "better-sqlite3";

/**
 * Values by key, each also found by any of its index keys, for the length of one job (a dry run's
 * record of what its earlier batches would have written). Kept in a private SQLite database on disk
 * that is deleted when closed, so a job over a file of any size holds no more memory than a page cache.
 */
export class ScratchLedger {
  readonly #db: BetterSqlite3.Database;
  readonly #put: BetterSqlite3.Statement<[string, string]>;
  readonly #index: BetterSqlite3.Statement<[string, string]>;

  constructor() {
    // "" is SQLite's anonymous temporary database: a file of its own, removed on close.
    this.#db = new BetterSqlite3("");
    this.#db.pragma("journal_mode = off");
    this.#db.pragma("synchronous = off");
    this.#db.exec("create table entry (key text primary key, value text not null) without rowid; create table lookup (via text not null, key text not null, primary key (via, key)) without rowid;");
    this.#put = this.#db.prepare("insert into entry (key, value) values (?, ?) on conflict (key) do update set value = excluded.value");
    this.#index = this.#db.prepare("insert or ignore into lookup (via, key) values (?, ?)");
  }

  /** Stores each value under its key (replacing one there), findable by each of its `via` keys too. */
  put(entries: readonly { key: string; value: string; via: readonly string[] }[]): void {
    this.#db.transaction(() => {
      for (const { key, value, via } of entries) {
        this.#put.run(key, value);
        for (const v of via) this.#index.run(v, key);
      }
    })();
  }

  /** The values of those keys that have one. */
  get(keys: readonly string[]): Map<string, string> {
    return new Map(this.#inChunks(keys, (marks) => `select key, value from entry where key in (${marks})`).map((r) => [r.key, r.value]));
  }

  /** The keys found by any of these `via` keys. */
  keysVia(via: readonly string[]): string[] {
    return [...new Set(this.#inChunks(via, (marks) => `select key from lookup where via in (${marks})`).map((r) => r.key))];
  }

  close(): void {
    this.#db.close();
  }

  #inChunks(keys: readonly string[], query: (marks: string) => string): { key: string; value: string }[] {
    const rows: { key: string; value: string }[] = [];
    // SQLite binds at most 32 766 parameters a statement.
    for (let i = 0; i < keys.length; i += 10_000) {
      const chunk = keys.slice(i, i + 10_000);
      rows.push(...(this.#db.prepare(query(chunk.map(() => "?").join(","))).all(...chunk) as { key: string; value: string }[]));
    }
    return rows;
  }
}
