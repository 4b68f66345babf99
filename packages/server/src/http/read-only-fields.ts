import { isDeepStrictEqual } from "node:util";
import { ApiError } from "./errors.js";

/**
 * A resource read with GET may be sent back with PUT as it is: its read-only fields `sent` are taken
 * when they hold what `current` (the resource's view) holds, and another value is a 400 that says,
 * from `reasons`, why it cannot change or where it is changed — never silently dropped.
 */
export function assertReadOnlyUnchanged(
  sent: Record<string, unknown>,
  current: Record<string, unknown>,
  reasons: Record<string, string>,
  same: (sent: unknown, current: unknown, field: string) => boolean = isDeepStrictEqual,
): void {
  const changed = Object.entries(sent).find(([field, value]) => value !== undefined && !same(value, current[field], field));
  if (changed) throw new ApiError("invalidRequest", `${changed[0]} cannot be changed with PUT: ${reasons[changed[0]]}.`, { field: changed[0] });
}
