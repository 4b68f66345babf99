/** The columns each kind of object is shown with, and its row. */
import type { ECMApiKey, ECMGroup, ECMRole, ECMUser } from "ecm-sdk";
import type { Ctx } from "./command.js";
import { profileNamer } from "./lookup.js";
import { textCells, type OutputFormat, type Row } from "./output.js";

export const USER_COLUMNS = ["id", "username", "loginName", "displayName", "email", "locked", "profileId", "guid"];
export const USER_EXTENDED_COLUMNS = [...USER_COLUMNS, "remark", "validFrom", "validTo", "groups", "lockedOut", "lockedOutUntil", "serviceAccount"];
export const GROUP_COLUMNS = ["id", "name", "description", "profileUserId", "guid"];
export const ROLE_COLUMNS = ["name", "description", "builtin"];
export const API_KEY_COLUMNS = ["id", "name", "prefix", "createdAt", "expiresAt", "lastUsedAt"];

// The objects themselves, not copies: a listing of a million users makes a row of each.
export const userRow = (u: ECMUser): Row => u as unknown as Row;

/**
 * On a table or CSV, `profile` beside the column of a profile's number (`profileId`, `profileUserId`):
 * the profile's name, as `users show` gives it. JSON and NDJSON keep the API's answer.
 */
export function withProfile(columns: string[], format: OutputFormat): string[] {
  if (!textCells(format)) return columns;
  const at = columns.findIndex((c) => c === "profileId" || c === "profileUserId") + 1;
  return at === 0 ? columns : [...columns.slice(0, at), "profile", ...columns.slice(at)];
}

/** Groups as the format shows them: the columns, and each group's row (the profile it belongs to by name, withProfile). */
export async function groupRows(ctx: Ctx, groups: ECMGroup[]): Promise<{ columns: string[]; rows: Row[] }> {
  const columns = withProfile(GROUP_COLUMNS, ctx.format);
  if (!textCells(ctx.format)) return { columns, rows: groups.map((g) => g as unknown as Row) };
  // Read only when a group belongs to a profile: most belong to none.
  const name = groups.some((g) => g.profileUserId > 0) ? await profileNamer(ctx) : () => null;
  return { columns, rows: groups.map((g) => ({ ...g, profile: name(g.profileUserId) })) };
}
export const roleRow = (r: ECMRole): Row => r as unknown as Row;
export const apiKeyRow = (k: ECMApiKey): Row => k as unknown as Row;
