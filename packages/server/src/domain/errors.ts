/**
 * What went wrong, in the domain's words. The rules throw these; `http/errors.ts` alone decides
 * which HTTP status and error code each kind becomes.
 */
export type DomainErrorKind =
  /** The input breaks a rule of a field or of the request. */
  | "invalid"
  /** The user, group, role or other object named does not exist. */
  | "not-found"
  /** A name that must be unique is taken. */
  | "name-taken"
  /** A rule refuses the change (built-in objects, the last system administrator, a profile in use, …). */
  | "refused"
  /** The change was based on a version that is no longer current. */
  | "stale"
  /** The actor's roles do not allow this. */
  | "not-permitted"
  /** A login or re-authentication is refused; never says why. */
  | "credentials-refused"
  /** Too many attempts; `details.retryAfterSeconds` says when to try again. */
  | "too-many-attempts"
  /** Something the change needs (the store, a directory) cannot be reached. */
  | "unavailable"
  /** The store stayed busy with other writers through every try: nothing was written, sending it again shortly can succeed. */
  | "busy";

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    /** Facts a client may act on (field names, ids); never secrets. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

/** The object named does not exist (or its id is not even well-formed). */
export function notFound(what: string, id: string): DomainError {
  return new DomainError("not-found", `The specified ${what} does not exist.`, { id });
}

/** A write based on an old version; `currentVersion` is the one to read again. */
export function staleVersion(currentVersion: number): DomainError {
  return new DomainError("stale", "The resource was changed by someone else; read it again and retry.", { currentVersion });
}

/** An administrator's own password is not set by the administrator routes: only by PUT /me/password, with the current one. */
export function ownPasswordRefused(username: string): DomainError {
  return new DomainError("refused", "Your own password is changed with PUT /security/v1/me/password, which asks for the current one.", { username });
}
