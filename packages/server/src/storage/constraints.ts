/**
 * True when a write failed on a unique constraint, on either store: callers turn it into a 409 instead
 * of a 500 (a concurrent writer can take a name between the check and the insert).
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // PostgreSQL: unique_violation; better-sqlite3: the extended result codes of UNIQUE and PRIMARY KEY.
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/**
 * True when a write referenced a row that is gone (foreign key), on either store: a concurrent request
 * deleted the user or group between our read and our insert. Callers turn it into a 404 instead of a 500.
 */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "23503" || code === "SQLITE_CONSTRAINT_FOREIGNKEY";
}

