import type { FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import { API_KEY_PREFIX, type ApiKeys } from "../auth/api-keys.js";
import type { Principal, Sessions } from "../auth/sessions.js";
import type { Actor } from "../domain/audit.js";
import type { AdminActor } from "../domain/users.js";
import type { BusyPolicy } from "../storage/busy.js";
import type { RateCounters } from "../storage/rate-counters.js";
import type { UserRow } from "../storage/schema.js";
import type { UserQueries } from "../storage/user-queries.js";
import { DomainError } from "../domain/errors.js";
import { SYSTEM_ADMINISTRATOR } from "../domain/roles.js";
import { addressKey } from "../auth/client-address.js";
import { ApiError, fromDomainError } from "./errors.js";
import type { GuardHook } from "./openapi.js";

/** Who made a request: a login session's user, or an API key's account (then `sessionId` is null). */
export interface Auth {
  user: Principal["user"];
  sessionId: string | null;
  /** The API key used (its id), or null for a login session. */
  apiKeyId: string | null;
  roles: string[];
  /**
   * Why the token or key would not be let in now (with a role the route requires), or null: a long answer
   * asks again as it goes. Let in, `roles` becomes the caller's roles now, and the asking is a use of the token.
   */
  refusalNow(): Promise<ApiError | null>;
  /**
   * How often a long answer asks (`everyMs`: often enough that a token's idle lifetime never runs out while
   * it is read), and how long it waits for an answer (`patienceMs`: as long as the store may take to say it is busy).
   */
  recheck: { everyMs: number; patienceMs: number };
}

declare module "fastify" {
  interface FastifyRequest {
    auth: Auth | null;
  }
}

/** `Bearer <token>`, with any case and spacing (the seed's curl sends `Authorization:Bearer …`). */
function bearerToken(header: string | undefined): string | null {
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match ? match[1]! : null;
}

/** The authenticated request's principal (routes guarded by `guard` always have one). */
export function authOf(request: FastifyRequest): Auth {
  if (!request.auth) throw new ApiError("authenticationRequired", "A bearer token is required.");
  return request.auth;
}

/** Who made an authenticated request, from where: the actor of its audit events. */
export function actorOf(request: FastifyRequest): Actor {
  const { user } = authOf(request);
  return { id: user.id, name: user.username, sourceIp: request.ip };
}

/** The administrator behind a request, with the roles that limit whom and what they may change. */
export function adminActorOf(request: FastifyRequest): AdminActor {
  return { ...actorOf(request), roles: authOf(request).roles };
}

/**
 * API keys refused per client address and window, counted in the store (every node): past `max`, 429
 * without looking more up. Each key tried costs a read of the store; a token tried costs only a
 * signature check (a session is read only for a token this server signed), so tokens are not counted.
 */
export interface RefusedKeyLimit {
  counters: RateCounters;
  windowMs: number;
  /** 0: no limit. */
  max: number;
}

/** The refusal of a caller whose roles are not among `requiredRoles`. */
export function forbidden(requiredRoles: readonly string[]): ApiError {
  return new ApiError("forbidden", "You do not have permission to perform this operation.", { requiredRoles });
}

/**
 * What a guard naming `roles` refuses, for a route open to every account that acts for one of those
 * roles on another's account: 403 without the role, or until a required password change is done.
 */
export function assertActsAs(auth: Auth, roles: readonly string[]): void {
  if (auth.user.change_password === 1) throw passwordChangeFirst(auth.user);
  if (!auth.roles.some((r) => roles.includes(r))) throw forbidden(roles);
}

function passwordChangeFirst(user: Pick<UserRow, "directory_id">): ApiError {
  // A directory's user has no password here to change: its directory asked for the change.
  const here = user.directory_id === null;
  const where = here ? ": PUT /security/v1/me/password." : ", in the directory this account comes from; then log in again.";
  // passwordChangeIn tells clients (the CLI's "run ecm passwd") where, without reading the words.
  return new ApiError("forbidden", `The password must be changed first${where}`, { passwordChangeRequired: true, passwordChangeIn: here ? "here" : "directory" });
}

const invalidCredential = () => new ApiError("authenticationRequired", "The token or API key is invalid, expired or revoked.");

/**
 * How a request of the caller would be answered were its account as `user` says (an import's dry run
 * whose earlier batches disabled the caller or made its password change due: the real import stops
 * there): 401 when disabled or outside its validity (its tokens and keys stop), 403 until a due
 * password change is done; null when it still acts.
 */
export function refusalOfAccountAsLeft(user: Pick<UserRow, "enabled" | "valid_from" | "valid_to" | "change_password" | "directory_id">, now: string): ApiError | null {
  const within = (user.valid_from === null || user.valid_from <= now) && (user.valid_to === null || user.valid_to >= now);
  if (user.enabled !== 1 || !within) return invalidCredential();
  return user.change_password === 1 ? passwordChangeFirst(user) : null;
}

/**
 * Makes `onRequest` hooks that require a valid token and, when roles are named, one of those roles.
 * No or bad token: 401. Valid token without the role: 403. They run before the body is read or
 * validated, so a caller without the right gets no work done and learns nothing of the schema.
 */
export function createGuard(sessions: Sessions, users: UserQueries, apiKeys: ApiKeys, refusedKeys: RefusedKeyLimit, storeBusy: BusyPolicy) {
  /** A guesser of keys: refused at once once past the limit, so a flood costs no lookup. */
  const tooMany = (until: number) => {
    const retryAfterSeconds = Math.max(1, Math.ceil((until - Date.now()) / 1000));
    return new ApiError("tooManyRequests", `Too many invalid API keys from this address; try again in ${retryAfterSeconds} s.`, { retryAfterSeconds });
  };
  const everyMs = Math.min(RECHECK_MS, (sessions.ttlSeconds * 1000) / 3);
  const recheck = { everyMs, patienceMs: Math.max(2 * everyMs, storeBusy.timeoutMs * storeBusy.attempts) };
  type Admitted = Omit<Auth, "refusalNow" | "recheck">;
  /** The request's caller, as its token, key or session lets it in now for a route requiring `roles`. */
  async function admitPrincipal(principal: (Omit<Admitted, "roles"> & Pick<Principal, "bySystemAdministrator">) | null, roles: readonly string[]): Promise<Admitted> {
    if (!principal) throw invalidCredential();
    // Until a required password change is done, the token opens only the routes every role may use.
    if (roles.length > 0 && principal.user.change_password === 1) throw passwordChangeFirst(principal.user);
    const held = await users.roleNames(principal.user);
    // A key, or a session opened by a way in, that a system administrator did not make does not act for
    // an account that holds the role (it may have been planted before the account was promoted: role-rules.ts).
    if (!principal.bySystemAdministrator && held.includes(SYSTEM_ADMINISTRATOR)) {
      throw new ApiError(
        "authenticationRequired",
        principal.apiKeyId === null
          ? "This session was opened by a password, link or directory that a system administrator did not set up, and its account now holds the system-administrator role: log in again; if that is refused, a system administrator resets the password."
          : "This API key was not made by a system administrator, and its account now holds the system-administrator role: it no longer works. A system administrator can make a new one.",
      );
    }
    if (roles.length > 0 && !held.some((r) => roles.includes(r))) {
      throw forbidden(roles);
    }
    const { bySystemAdministrator, ...admitted } = principal;
    return { ...admitted, roles: held };
  }
  /** Lets the caller in: `admit` again on each recheck of a long answer (a refusal then, of any kind, ends it in words). */
  function letIn(request: FastifyRequest, admitted: Admitted, admit: () => Promise<Admitted>): void {
    const auth: Auth = {
      ...admitted,
      recheck,
      refusalNow: () =>
        admit().then(
          (now) => ((auth.roles = now.roles), null),
          (error: unknown) => (error instanceof ApiError ? error : error instanceof DomainError ? fromDomainError(error) : Promise.reject(error)),
        ),
    };
    request.auth = auth;
  }
  /**
   * Lets in, for a route requiring `roles`, the caller of a session named by its id: a download link
   * made by that session, which stands for it on that one request (the id alone opens nothing else).
   */
  async function admitSession(request: FastifyRequest, sessionId: string, roles: readonly string[]): Promise<void> {
    const admit = async () => admitPrincipal(await sessions.principalOf(sessionId).then((session) => session && { ...session, apiKeyId: null }), roles);
    letIn(request, await admit(), admit);
  }
  function guard(...roles: readonly string[]): onRequestAsyncHookHandler & GuardHook {
    /** `use`: false when asking again for a request let in already (its key's use was counted then). */
    async function admit(token: string, use = true): Promise<Admitted> {
      const principal = token.startsWith(API_KEY_PREFIX)
        ? await apiKeys.authenticate(token, use).then((key) => key && { user: key.user, sessionId: null, apiKeyId: key.keyId, bySystemAdministrator: key.bySystemAdministrator })
        : await sessions.authenticate(token).then((session) => session && { ...session, apiKeyId: null });
      return admitPrincipal(principal, roles);
    }
    const hook: onRequestAsyncHookHandler = async (request) => {
      const token = bearerToken(request.headers.authorization);
      if (!token) throw new ApiError("authenticationRequired", "A bearer token is required.");
      const limited = refusedKeys.max > 0 && token.startsWith(API_KEY_PREFIX);
      const key = `refused-api-key|address|${addressKey(request.ip)}`;
      const over = limited ? refusedKeys.counters.overUntil(key) : undefined;
      // Past the limit, only a key let in lately (on any node) is looked up: a script that works, behind the same NAT as a guesser, goes on.
      if (over !== undefined && !(await apiKeys.isRecentlyUsed(token, refusedKeys.windowMs))) throw tooMany(over);
      let admitted: Admitted;
      try {
        admitted = await admit(token);
      } catch (error) {
        if (limited && error instanceof ApiError && error.status === 401) {
          const { hits, resetAt } = await refusedKeys.counters.hit(key, refusedKeys.windowMs, refusedKeys.max);
          if (hits > refusedKeys.max) throw tooMany(resetAt);
        }
        throw error;
      }
      // A refusal of any kind (a rule of the domain too, such as a key's rate limit) ends the answer in words;
      // let in, the caller's roles are taken as they are now (a role removed meanwhile no longer counts).
      letIn(request, admitted, () => admit(token, false));
    };
    return Object.assign(hook, { requiredRoles: roles });
  }
  return Object.assign(guard, { admitSession });
}

export type Guard = ReturnType<typeof createGuard>;

/** How often a long answer asks again whether its caller may still have it, at most. */
const RECHECK_MS = 5000;

/**
 * `chunks`, as long as the caller may still have them: every few seconds while a long answer (a streamed
 * list, an export) is open, whether its reader reads or not, its token or API key is checked again, so a
 * logout, a disabled account or a removed role ends the answer then, not when it is done. Each check is
 * a use of the token: an answer read slowly, or a reader that pauses longer than the token's idle
 * lifetime, keeps its session open. Ended, the answer is cut: the client sees a connection that broke
 * off, and its next request a 401 or 403. (A long write asks before each batch instead:
 * routes/users-import.ts.)
 */
export async function* whileAuthorized<T>(request: FastifyRequest, chunks: AsyncIterable<T>): AsyncGenerator<T> {
  const auth = request.auth;
  if (!auth) return yield* chunks;
  let ended = false;
  let asking = false;
  let ticksAsking = 0;
  const end = (why: string) => {
    // A check that settles after the answer was done must not cut the connection's next request (keep-alive).
    if (ended) return;
    ended = true;
    request.log.info(why);
    request.raw.socket?.destroy();
  };
  const timer = setInterval(() => {
    if (ended) return;
    // A check still unanswered when the store would have said it is busy (a lock held on the session, a store
    // that hangs) is not taken for a yes: the answer ends, as when a check fails.
    if (asking) return void (++ticksAsking * auth.recheck.everyMs >= auth.recheck.patienceMs && end("a long answer was ended: whether its caller may have it was not answered in time"));
    asking = true;
    ticksAsking = 0;
    auth.refusalNow().then(
      (refusal) => refusal && end("a long answer was ended: its token or API key no longer lets the caller have it"),
      // Not known to be allowed is not allowed: the client reads on with its next request.
      (error: unknown) => end(`a long answer was ended: whether its caller may have it could not be checked (${(error as Error).message})`),
    ).finally(() => (asking = false));
  }, auth.recheck.everyMs);
  try {
    for await (const chunk of chunks) {
      if (ended) return;
      yield chunk;
    }
  } finally {
    ended = true;
    clearInterval(timer);
  }
}
