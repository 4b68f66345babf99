/** The columns each kind of object is shown with, and its row. */
import type { ECMApiKey, ECMGroup, ECMRole, ECMUser } from "ecm-sdk";
import type { Row } from "./output.js";

export const USER_COLUMNS = ["id", "username", "loginName", "displayName", "email", "locked", "profileId", "guid"];
export const USER_EXTENDED_COLUMNS = [...USER_COLUMNS, "remark", "validFrom", "validTo", "groups", "lockedOut", "lockedOutUntil", "serviceAccount"];
export const GROUP_COLUMNS = ["id", "name", "description", "profileUserId", "guid"];
export const ROLE_COLUMNS = ["name", "description", "builtin"];
export const API_KEY_COLUMNS = ["id", "name", "prefix", "createdAt", "expiresAt", "lastUsedAt"];

// The objects themselves, not copies: a listing of a million users makes a row of each.
export const userRow = (u: ECMUser): Row => u as unknown as Row;
export const groupRow = (g: ECMGroup): Row => g as unknown as Row;
export const roleRow = (r: ECMRole): Row => r as unknown as Row;
export const apiKeyRow = (k: ECMApiKey): Row => k as unknown as Row;
