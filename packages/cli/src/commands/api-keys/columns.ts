import type { ECMApiKey } from "ecm-sdk";
import type { Row } from "../../output.js";

export const API_KEY_COLUMNS = ["id", "name", "prefix", "createdAt", "expiresAt", "lastUsedAt"];

export const apiKeyRow = (k: ECMApiKey): Row => k as unknown as Row;
