import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ExpressionBuilder, Insertable, Kysely } from "kysely";
import * as oidc from "openid-client";
import { addressKey } from "../auth/client-address.js";
import { loginRefusal } from "../auth/login.js";
import type { SecretBox } from "../auth/secret-box.js";
import { SessionNotOpened, type Sessions, type TokenResponse } from "../auth/sessions.js";
import { perMinute, recordAudit, type Actor, type AuditEntry, type AuditTally, userTarget } from "../domain/audit.js";
import { DomainError, notFound } from "../domain/errors.js";
import { isForeignKeyViolation } from "../storage/constraints.js";
import type { Database, ProviderLoginsTable } from "../storage/schema.js";
import type { Store } from "../storage/store.js";
import { isoAfter, isoNow } from "../storage/time.js";
import { valuesAs } from "../storage/values-as.js";
import type { JwksCache } from "./jwks.js";
import { identityOf, LoginRefused, missingClaims, type Linking } from "./linking.js";
import { clientConfiguration, providerActor, SIGNING_ALGORITHMS, toProvider, type Provider } from "./providers.js";
import { checkFailed, claimFailed, classify, libraryDetail } from "./refusals.js";

/** The longest subject OpenID Connect allows (Core 2: `sub` is at most 255 ASCII characters). */
export const SUBJECT_MAX = 255;

/** How long the browser may take at the provider; also the oldest an ID token may be (with an age limit, jose refuses one issued in the future). */
const PENDING_SECONDS = 600;
/** How long the one-time code of a finished login may wait for its exchange. */
const CODE_SECONDS = 60;

/** Clock difference allowed with the provider (openid-client's own checks allow as much). */
export const CLOCK_TOLERANCE_SECONDS = 30;

const sha256 = (text: string) => createHash("sha256").update(text).digest("base64url");

/** Whether a secret sent to us is the one kept, in a time that does not tell where they differ. */
export function sameSecret(sent: string | null, kept: string): boolean {
  return sent !== null && timingSafeEqual(createHash("sha256").update(sent).digest(), createHash("sha256").update(kept).digest());
}
const random = () => randomBytes(32).toString("base64url");

export interface LoginStart {
  /** Goes into the signed cookie that binds the login to this browser. */
  loginId: string;
  authorizationUrl: string;
}

export interface LoginFinish {
  returnTo: string;
  /** Milliseconds the callback waited for the provider (code exchange, userinfo): its Server-Timing. */
  providerMs: number;
  /** One-time code for the `returnTo` fragment: exchanged once, within CODE_SECONDS. */
  code: string;
}

/** A refused provider login, the page its browser came from when the login in progress was known, and the library's words for the server log. */
export class ProviderLoginFailed extends Error {
  constructor(
    readonly refusal: DomainError,
    readonly returnTo: string | null,
    readonly detail: string | null = null,
    /** No login was in progress: anyone can send such a callback, without having started a login first. */
    readonly withoutLogin = false,
    /** The login in progress was not this answer's and is still in progress: the browser keeps its cookie. */
    readonly loginStays = false,
  ) {
    super(refusal.message);
  }
}

/** A provider that is there but disabled: it lets no one log in (404 like an unknown one; the audit log names it). */
export class ProviderDisabled extends DomainError {
  constructor(readonly provider: Provider) {
    super("not-found", "Logging in through this identity provider is turned off: log in another way, or ask an administrator.", { alias: provider.alias });
  }
}

/**
 * The browser login through a provider: authorization code with PKCE, state and nonce kept in the
 * store under an id the browser holds; the callback checks the provider's answer and the ID token
 * (signature against the provider's keys); the session is handed out for a one-time code.
 */
export function createLoginFlow(store: Pick<Store, "db" | "dialect">, secrets: SecretBox, jwks: JwksCache, linking: Linking, sessions: Sessions, tally: AuditTally, inProgressMax: number, timeoutSeconds: number) {
  const { db, dialect } = store;
  /** Each provider's openid-client configuration, kept while its stored version is current (every update bumps it). */
  const configurations = new Map<string, { version: number; configuration: oidc.Configuration }>();
  function configurationOf(p: Provider): oidc.Configuration {
    const kept = configurations.get(p.uuid);
    if (kept?.version === p.version) return kept.configuration;
    const configuration = clientConfiguration(p, secrets, timeoutSeconds);
    configurations.set(p.uuid, { version: p.version, configuration });
    return configuration;
  }

  /**
   * The provider of each alias as last read. A login's statements use it only where the store says, in
   * the same statement, that it is still enabled and at the same version (every update bumps it), so
   * that a login reads the provider's row only after a change, on any node.
   */
  const known = new Map<string, Provider>();

  async function enabledProvider(alias: string, on: Kysely<Database> = db): Promise<Provider> {
    const row = await on.selectFrom("identity_providers").selectAll().where("alias", "=", alias).executeTakeFirst();
    if (row?.enabled !== 1) {
      known.delete(alias);
      throw row ? new ProviderDisabled(toProvider(row)) : notFound("identity provider", alias);
    }
    const p = toProvider(row);
    known.set(alias, p);
    return p;
  }

  /**
   * The other pending logins, counted by the statement that writes one (for keepWithinCap, a round trip
   * less): whether a statement sees its own row differs between stores, so that one is left out.
   */
  const othersPending = (id: string) => (eb: ExpressionBuilder<Database, "provider_logins">) =>
    eb.selectFrom("provider_logins").select((eb) => eb.fn.countAll<number | string>().as("n")).where("id", "!=", id).as("others");

  /** Writes a pending login of `p` only while the store holds `p` enabled and at its version; the pending logins then, this one too, or null when not written. */
  async function writePendingIfCurrent(p: Provider, row: Omit<Insertable<ProviderLoginsTable>, "provider_id">): Promise<number | null> {
    const columns = Object.keys(row) as (keyof typeof row)[];
    const written = await db
      .insertInto("provider_logins")
      .columns([...columns, "provider_id"])
      .expression((eb) =>
        eb
          .selectFrom("identity_providers")
          .select([...valuesAs(eb, row), "id"])
          .where("id", "=", p.id)
          .where("version", "=", p.version)
          .where("enabled", "=", 1),
      )
      .returning(othersPending(row.id))
      .executeTakeFirst();
    return written === undefined ? null : Number(written.others) + 1;
  }

  /**
   * Past `inProgressMax` pending logins (of every provider, on every node), deletes the oldest, expired
   * ones first. Refusing new logins instead would let a few addresses, each under its own limit, keep
   * everyone from logging in; this way a flood must push out a person's login in the seconds it spends
   * at the provider. Nodes trimming at once may delete a few more than needed; the table passes the cap
   * by at most the starts written at that moment.
   */
  async function keepWithinCap(p: Provider, inProgress: number): Promise<void> {
    if (inProgressMax <= 0) return;
    const excess = inProgress - inProgressMax;
    if (excess <= 0) return;
    await db
      .deleteFrom("provider_logins")
      .where("id", "in", (eb) => eb.selectFrom("provider_logins").select("id").orderBy("expires_at").orderBy("id").limit(excess))
      .execute();
    // Anyone may start logins from many addresses: one event a minute per provider says how many pushed one out.
    const actor = providerActor(p.alias, null);
    tally.add(actor, perMinute(actor, { action: "auth.provider-login", target: { type: "identity-provider", id: p.uuid, name: p.alias }, outcome: "failure", details: { alias: p.alias, reason: "too-many-in-progress" } }));
  }

  /**
   * Audits a refused login. `aggregate`: a refusal anyone can cause without limit (a callback with no
   * login in progress) is counted a minute per address and target, not written as a row per request.
   */
  async function refuse(p: Pick<Provider, "uuid" | "alias"> | null, actor: Actor, reason: string, user?: { uuid: string; username: string } | null, aggregate = false): Promise<void> {
    const target = user ? userTarget(user) : p ? { type: "identity-provider", id: p.uuid, name: p.alias } : undefined;
    const entry: AuditEntry = { action: "auth.provider-login", target, outcome: "failure" as const, details: { alias: p?.alias, reason } };
    if (aggregate) tally.add(actor, perMinute(actor, entry));
    else await recordAudit(db, actor, entry);
  }

  return {
    enabledProvider,

    /** Whether this process found `alias` an enabled provider when it last read it. */
    knownProvider: (alias: string) => known.has(alias),

    /**
     * `target` gives, for the provider, where its answer comes back and where the browser goes after.
     * A disabled provider's refusal is a ProviderLoginFailed back to that page; an unknown one's, without a page.
     */
    async begin(alias: string, target: (p: Provider) => { redirectUri: string; returnTo: string }, sourceIp: string | null): Promise<LoginStart> {
      const pending = { id: random(), state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
      const rowOf = (p: Provider) => {
        const { redirectUri, returnTo } = target(p);
        return { id: sha256(pending.id), state: pending.state, nonce: pending.nonce, code_verifier: pending.verifier, redirect_uri: redirectUri, return_to: returnTo, expires_at: isoAfter(PENDING_SECONDS) };
      };
      let p = known.get(alias);
      let row = p ? rowOf(p) : undefined;
      let inProgress = p && row ? await writePendingIfCurrent(p, row) : null;
      if (!p || !row || inProgress === null) {
        // Changed (or not read yet): read it, and write as it says.
        try {
          p = await enabledProvider(alias);
        } catch (error) {
          // A link to a provider removed since: no page of its own to go back to (the console's, by path).
          if (error instanceof DomainError && error.kind === "not-found" && !(error instanceof ProviderDisabled)) throw new ProviderLoginFailed(error, null);
          if (!(error instanceof ProviderDisabled)) throw error;
          // Its page is checked as for any login (a returnTo elsewhere is a 400, not a redirect).
          const { returnTo } = target(error.provider);
          // Anyone may ask without end: counted a minute at a time per address, not a row a request.
          const actor = providerActor(alias, sourceIp);
          const provider = { type: "identity-provider", id: error.provider.uuid, name: error.provider.alias };
          tally.add(actor, perMinute(actor, { action: "auth.provider-login", target: provider, outcome: "failure", details: { alias, reason: "disabled-provider" } }));
          throw new ProviderLoginFailed(error, returnTo);
        }
        row = rowOf(p);
        inProgress = Number((await db.insertInto("provider_logins").values({ ...row, provider_id: p.id }).returning(othersPending(row.id)).executeTakeFirstOrThrow()).others) + 1;
      }
      await keepWithinCap(p, inProgress);
      const url = oidc.buildAuthorizationUrl(configurationOf(p), {
        redirect_uri: row.redirect_uri,
        scope: p.config.scopes.join(" "),
        state: pending.state,
        nonce: pending.nonce,
        // S256 (RFC 7636 4.2): base64url of the verifier's SHA-256.
        code_challenge: sha256(pending.verifier),
        code_challenge_method: "S256",
      });
      return { loginId: pending.id, authorizationUrl: url.href };
    },

    /**
     * The provider's answer (the callback's query) for the login the browser's cookie names: each
     * check, the code exchange, the ID token, then the linking rules. The pending login is used up
     * by its own answer whatever the outcome, so an answer cannot be replayed. A refusal is a ProviderLoginFailed.
     */
    async complete(alias: string, loginId: string | undefined, query: URLSearchParams, sourceIp: string | null): Promise<LoginFinish> {
      // With the version of the provider named by the alias, when it is the login's and enabled.
      const pending =
        loginId === undefined
          ? undefined
          : await db
              .selectFrom("provider_logins")
              .selectAll("provider_logins")
              .select((eb) =>
                eb
                  .selectFrom("identity_providers as p")
                  .select("p.version")
                  .where("p.id", "=", eb.ref("provider_logins.provider_id"))
                  .where("p.alias", "=", alias)
                  .where("p.enabled", "=", 1)
                  .as("provider_version"),
              )
              .where("id", "=", sha256(loginId))
              .executeTakeFirst();
      let p: Provider | null = null;
      /** Which of the provider's endpoints a failure came from. */
      let step: "token" | "userinfo" = "token";
      /** The answer was not this login's (its state differs: an older tab's, a forged one): the login stays for its own. */
      let notItsAnswer = false;
      try {
        const kept = known.get(alias);
        p = kept && pending && kept.id === pending.provider_id && kept.version === pending.provider_version ? kept : await enabledProvider(alias);
        const noLogin = () => checkFailed("no-pending-login", "this browser has no login in progress with this provider (expired, already used, or started in another browser)");
        if (!pending || pending.provider_id !== p.id || pending.expires_at < isoNow()) throw noLogin();
        if (!sameSecret(query.get("state"), pending.state)) {
          notItsAnswer = true;
          throw checkFailed("state-mismatch", "state does not match the login in progress (an answer to a login begun earlier, in another tab perhaps: finish the latest login, or log in again)");
        }
        // Used up by its own answer, whatever comes of it: the answer cannot be replayed (nor sent twice at once).
        const taken = await db.deleteFrom("provider_logins").where("id", "=", pending.id).executeTakeFirst();
        if (taken.numDeletedRows === 0n) throw noLogin();
        const iss = query.get("iss");
        if (iss !== null && iss !== p.config.issuer) throw checkFailed("issuer-mismatch", "iss is not the provider's issuer");
        if (iss === null && p.config.issParameterSupported) throw checkFailed("issuer-missing", "the provider says it sends iss (RFC 9207), and this answer has none");
        // An answer is a code or an error (RFC 6749 4.1.2): with neither, there is nothing to exchange.
        if (!query.get("code") && query.get("error") === null) throw checkFailed("code-missing", "the provider's answer has no code");
        const configuration = configurationOf(p);
        let providerMs = 0;
        const atProvider = async <T>(call: Promise<T>): Promise<T> => {
          const t0 = performance.now();
          try {
            return await call;
          } finally {
            providerMs += performance.now() - t0;
          }
        };
        const callbackUrl = new URL(pending.redirect_uri);
        callbackUrl.search = query.toString();
        const tokens = await atProvider(
          oidc.authorizationCodeGrant(configuration, callbackUrl, {
            pkceCodeVerifier: pending.code_verifier,
            expectedState: pending.state,
            expectedNonce: pending.nonce,
            idTokenExpected: true,
          }),
        );
        // Signatures are always checked, against the provider's published keys.
        const { protectedHeader } = await jwks.verify(tokens.id_token!, p.config.jwksUrl, "id-token", { issuer: p.config.issuer, audience: p.clientId, algorithms: SIGNING_ALGORITHMS, clockTolerance: CLOCK_TOLERANCE_SECONDS, maxTokenAge: PENDING_SECONDS });
        // A token typed as another kind (a back-channel logout token, RFC 8417's typed JWTs) is no ID token, whatever it holds.
        if (typeof protectedHeader.typ === "string" && !["jwt", "application/jwt"].includes(protectedHeader.typ.toLowerCase())) throw checkFailed("id-token-type", `the ID token is typed "${protectedHeader.typ.slice(0, 40)}", another kind of token`);
        const claims: Record<string, unknown> = { ...tokens.claims()! };
        // The subject is the user at the provider (OpenID Connect Core 2: at most 255 characters): an empty one names nobody.
        if (typeof claims.sub !== "string" || claims.sub === "" || claims.sub.length > SUBJECT_MAX) throw claimFailed("sub");
        step = "userinfo";
        const userInfo = p.config.userInfoUrl && missingClaims(p.config, claims) ? await atProvider(oidc.fetchUserInfo(configuration, tokens.access_token, claims.sub as string)) : {};
        const identity = identityOf(p.config, claims, userInfo);
        const code = random();
        await linking.resolve(p, identity, sourceIp, async (trx, user) => {
          await trx
            .insertInto("login_codes")
            .values({ code_hash: sha256(code), provider_id: pending.provider_id, user_id: user.id, subject: identity.subject, sid: identity.sid, source_ip: sourceIp, expires_at: isoAfter(CODE_SECONDS) })
            .execute();
          // A malformed email claim does not stop the login: the user keeps the email it has (or none), and the event says why.
          const note = identity.invalidEmail ? { emailNotStored: "The provider's email claim is not an e-mail address; it was not stored on the user." } : {};
          await recordAudit(trx, { id: user.id, name: user.username, sourceIp }, { action: "auth.provider-login", target: userTarget(user), details: { alias, subject: identity.subject, ...note } });
        });
        return { returnTo: pending.return_to, code, providerMs };
      } catch (thrown) {
        const error = classify(thrown, step);
        // Named once it is known (a disabled one too): an unknown alias is the caller's text, not ours to log.
        const named = p ?? (error instanceof ProviderDisabled ? error.provider : null);
        const reason =
          error instanceof LoginRefused ? error.reason : error instanceof ProviderDisabled ? "disabled-provider" : error.kind === "not-found" ? "unknown-provider" : String(error.details.reason);
        await refuse(named, providerActor(named?.alias, sourceIp), reason, error instanceof LoginRefused ? error.user : null, !pending);
        throw new ProviderLoginFailed(error, pending?.return_to ?? null, libraryDetail(thrown), !pending, notItsAnswer);
      }
    },

    /**
     * The one-time code of a finished login, once and in time, for a session of its user. `browserHolds`:
     * whether the request carries the code's cookie, set by the callback in the browser the login ran in
     * (and cleared by its exchange); a code taken elsewhere (a fragment carried on by a redirect) is
     * refused and stays for that browser.
     */
    async exchange(alias: string, code: string, sourceIp: string | null, browserHolds: "this-code" | "another-code" | "no-code"): Promise<TokenResponse> {
      if (browserHolds !== "this-code") {
        const p = await db.selectFrom("identity_providers").select(["uuid", "alias"]).where("alias", "=", alias).executeTakeFirst();
        await refuse(p ?? null, providerActor(p?.alias, sourceIp, null), browserHolds === "no-code" ? "no-code-cookie" : "code-from-another-browser", null, true);
        // The callback's cookie goes once its code is exchanged or expired: a browser without one may have used its code already.
        throw new DomainError(
          "credentials-refused",
          browserHolds === "no-code"
            ? "This browser has no login code to exchange (it was used or has expired, or the login ran in another browser): log in again."
            : "The login code is exchanged only by the browser the login ran in: log in again there.",
        );
      }
      // Taken only at its own provider's exchange: sent to another, it stays for the one it was made for.
      const row = await db
        .deleteFrom("login_codes")
        .where("code_hash", "=", sha256(code))
        .where("provider_id", "in", (eb) => eb.selectFrom("identity_providers").select("id").where("alias", "=", alias))
        .returningAll()
        .executeTakeFirst();
      // The code's user and provider in one read (both are gone, with the code, if either was deleted).
      const found =
        row && row.expires_at >= isoNow()
          ? await db
              .selectFrom("identity_providers as p")
              .innerJoin("users", (join) => join.on("users.id", "=", row.user_id))
              .leftJoin("federated_identities as f", (join) => join.onRef("f.provider_id", "=", "p.id").on("f.subject", "=", row.subject).on("f.user_id", "=", row.user_id))
              .leftJoin("login_sources as l", (join) => join.on("l.user_id", "=", row.user_id).on("l.source", "=", addressKey(sourceIp ?? "")))
              .leftJoin("directories as d", "d.id", "users.directory_id")
              .selectAll("users")
              .select(["p.id as provider_id", "p.uuid as provider_uuid", "p.enabled as provider_enabled", "p.by_system_administrator as provider_by_system_administrator", "f.user_id as linked", "f.by_system_administrator as link_by_system_administrator", "l.locked_out_until as address_locked_out_until", "d.enabled as directory_enabled"])
              .where("p.id", "=", row.provider_id)
              .where("p.alias", "=", alias)
              .executeTakeFirst()
          : undefined;
      if (!row || !found) {
        const p = await db.selectFrom("identity_providers").select(["uuid", "alias"]).where("alias", "=", alias).executeTakeFirst();
        // A code no login made is anyone's guess: counted, not written a row per request.
        await refuse(p ?? null, providerActor(p?.alias, sourceIp, row?.user_id ?? null), "unknown-or-expired-code", null, !row);
        throw new DomainError("credentials-refused", "The login code is unknown, used or expired: log in again.");
      }
      const { provider_id, provider_uuid, provider_enabled, provider_by_system_administrator, linked, link_by_system_administrator, address_locked_out_until, directory_enabled, ...user } = found;
      const provider = { id: provider_id, uuid: provider_uuid, alias };
      // The provider, the account or its directory may have been disabled since the callback, or the subject unlinked from it. A lockout stops
      // a provider's login as a password's: the account's (every address counts as unfamiliar here), and this address's.
      const now = isoNow();
      const refusal =
        provider_enabled !== 1 ? "disabled-provider"
        : linked === null ? "unlinked-during-login"
        // Linked before links to service accounts were refused: such an account logs in only with its keys.
        : user.service_account === 1 ? "service-account"
        : address_locked_out_until !== null && address_locked_out_until > now ? "locked-out"
        : user.directory_id !== null && directory_enabled !== 1 ? "directory-disabled"
        : loginRefusal(user, new Date(now), { familiar: false });
      if (refusal) {
        await refuse(provider, providerActor(alias, sourceIp, user.id), refusal, user);
        throw new LoginRefused(refusal, user);
      }
      // The session names what back-channel logout finds it by.
      // As trusted as the link and the provider (role-rules.ts madeBySystemAdministrator): the callback checked them, the guard holds to it.
      try {
        return await sessions.issue(user, sourceIp, {
          origin: { providerId: provider.id, subject: row.subject, sid: row.sid },
          bySystemAdministrator: provider_by_system_administrator === 1 && link_by_system_administrator === 1,
          // Still linked through an enabled provider, as read above, and held so until the session is written
          // (by the same statement): an unlink or a disable either comes first (and this login is refused) or waits and ends the session.
          onlyWhile: dialect.lockedForUpdate(
            db
              .selectFrom("federated_identities as f")
              .innerJoin("identity_providers as p", "p.id", "f.provider_id")
              .where("f.provider_id", "=", provider.id)
              .where("f.subject", "=", row.subject)
              .where("f.user_id", "=", row.user_id)
              .where("p.enabled", "=", 1),
          ),
        });
      } catch (error) {
        if (error instanceof SessionNotOpened) {
          await refuse(provider, providerActor(alias, sourceIp, user.id), "unlinked-during-login", user);
          throw new LoginRefused("unlinked-during-login", user);
        }
        // The account was deleted since it was read: no row for the session to name.
        if (!isForeignKeyViolation(error)) throw error;
        await refuse(provider, providerActor(alias, sourceIp, user.id), "changed-during-login", user);
        throw new LoginRefused("changed-during-login", user);
      }
    },

    /** Logins never finished and one-time codes never exchanged, once expired (housekeeping; each is checked for expiry at use). */
    async purgeExpired(): Promise<void> {
      const now = isoNow();
      await db.deleteFrom("provider_logins").where("expires_at", "<", now).execute();
      await db.deleteFrom("login_codes").where("expires_at", "<", now).execute();
    },
  };
}

export type LoginFlow = ReturnType<typeof createLoginFlow>;
