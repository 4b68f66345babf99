import rateLimit, { type FastifyRateLimitStore } from "@fastify/rate-limit";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import type { Kysely } from "kysely";
import type { AttemptLimit } from "../auth/login.js";
import type { RateLimitSettings } from "../config.js";
import type { Database } from "../storage/schema.js";
import { RateCounters } from "../storage/rate-counters.js";
import { addressKey } from "../auth/client-address.js";
import { ApiError } from "./errors.js";

/** @fastify/rate-limit's store, kept in the database: limits hold across every process and node, not per process. */
function storeOn(db: Kysely<Database>) {
  const counters = new RateCounters(db);
  return class DatabaseRateStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void {
      counters.hit(key, timeWindow, max).then(
        ({ hits, resetAt }) => callback(null, { current: hits, ttl: Math.max(0, resetAt - Date.now()) }),
        (error: Error) => callback(error),
      );
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  };
}

/** Registers @fastify/rate-limit on the store, for the limits routes ask for with `attemptLimits` (none is global). */
export async function registerRateLimits(app: FastifyInstance, db: Kysely<Database>): Promise<void> {
  await app.register(rateLimit, { global: false, store: storeOn(db) });
}

/** How a route names the account an attempt is on, whether the client's address is familiar to it, and how a refused attempt is audited. */
export interface AccountOf {
  key(request: FastifyRequest): string;
  familiar(request: FastifyRequest): Promise<boolean>;
  /** Records an attempt the address's or the account's limit refused (auth/login.ts aggregates them per minute). */
  refused(request: FastifyRequest, limit: AttemptLimit): Promise<void> | void;
}

/**
 * A preHandler that limits attempts (`what`: login, password change) per client address, and per
 * account from addresses not familiar to it — so a guesser cannot use up the owner's attempts from
 * where the owner logs in. Past a limit: 429 in the error shape with `Retry-After`, and the refusal
 * in the audit log.
 */
export function attemptLimits(app: FastifyInstance, settings: RateLimitSettings, what: string, account: AccountOf): preHandlerAsyncHookHandler {
  const timeWindow = settings.windowSeconds * 1000;
  const limits = [
    settings.perAddress > 0 && { scope: "address" as const, check: app.createRateLimit({ max: settings.perAddress, timeWindow, keyGenerator: (request) => `${what}|address|${addressKey(request.ip)}` }) },
    settings.perAccount > 0 && {
      scope: "account" as const,
      check: app.createRateLimit({ max: settings.perAccount, timeWindow, keyGenerator: (request) => `${what}|account|${account.key(request)}`, allowList: (request) => account.familiar(request) }),
    },
  ].filter((limit) => limit !== false);
  return async (request) => {
    for (const { scope, check } of limits) {
      const result = await check(request);
      if (!result.isAllowed && result.isExceeded) {
        await account.refused(request, scope);
        await holdRefusal(settings, addressKey(request.ip));
        throw new ApiError("tooManyRequests", `Too many ${what} attempts; try again in ${result.ttlInSeconds} s.`, { retryAfterSeconds: result.ttlInSeconds });
      }
    }
  };
}

/**
 * A preHandler that limits what anonymous callers may start from one client address (`max` per
 * window; 0: no limit) — work that writes to the store or calls out before anyone is known.
 */
export function addressLimit(app: FastifyInstance, settings: RateLimitSettings, what: string, max: number): preHandlerAsyncHookHandler {
  if (max <= 0) return async () => {};
  const check = app.createRateLimit({ max, timeWindow: settings.windowSeconds * 1000, keyGenerator: (request) => `${what}|address|${addressKey(request.ip)}` });
  return async (request) => {
    const result = await check(request);
    if (!result.isAllowed && result.isExceeded) {
      await holdRefusal(settings, addressKey(request.ip));
      throw new ApiError("tooManyRequests", `Too many ${what}s from this address; try again in ${result.ttlInSeconds} s.`, { retryAfterSeconds: result.ttlInSeconds });
    }
  };
}

/** Refusals held at once per client address (this process), and how many at most. */
const held = new Map<string, number>();
const MAX_HELD_PER_ADDRESS = 16;

/**
 * Holds a refusal before answering it. A client that sends its next attempt as soon as it is
 * answered (a guessing loop) then gets at most one answer a second per connection, and its
 * connections per address are capped: refusals answered at once bought it thousands a second, each
 * a turn of the event loop that a legitimate login waited behind. A held request costs a timer.
 */
async function holdRefusal(settings: RateLimitSettings, address: string): Promise<void> {
  const holding = held.get(address) ?? 0;
  // Pipelined requests are read while earlier ones are held: past a few, answered at once, so what
  // is held stays bounded by addresses, not by how fast one connection sends.
  if (settings.refusalDelayMs <= 0 || holding >= MAX_HELD_PER_ADDRESS) return;
  held.set(address, holding + 1);
  try {
    await sleep(settings.refusalDelayMs);
  } finally {
    const left = held.get(address)! - 1;
    if (left === 0) held.delete(address);
    else held.set(address, left);
  }
}

