import { randomBytes } from "node:crypto";
import { NoResultError, sql, type ExpressionBuilder, type Kysely } from "kysely";
import { addressKey } from "../auth/client-address.js";
import { loginRefusal } from "../auth/login.js";
import { directoryLetsIn } from "../auth/sessions.js";
import { recordAudit, userTarget } from "../domain/audit.js";
import { DomainError, notFound } from "../domain/errors.js";
import { holdVersion, type Precondition } from "../domain/versioned.js";
import { assertSystemAdministratorRemains } from "../domain/last-admin.js";
import { requireUser } from "../domain/lookups.js";
import { assertMayConfigureLoginSource, grantsSystemAdministrator, madeBySystemAdministrator, NOT_MADE_BY_SYSTEM_ADMINISTRATOR } from "../domain/role-rules.js";
import { SYSTEM_ADMINISTRATOR, USERS_GROUP } from "../domain/roles.js";
import { confusableKey, INVISIBLE, normalizeName } from "../domain/names.js";
import { assertMayAdminister, newUserRow, type AdminActor } from "../domain/users.js";
import { emailKeyOf, fold, isEmail, NAME_MAX, USERNAME_MAX } from "../domain/user-fields.js";
import { isForeignKeyViolation, isUniqueViolation } from "../storage/constraints.js";
import type { GroupQueries } from "../storage/group-queries.js";
import type { Database, UserRow } from "../storage/schema.js";
import type { Store } from "../storage/store.js";
import { isoNow } from "../storage/time.js";
import { createUserQueries } from "../storage/user-queries.js";
import { groupsNamed, providerActor, subjectsOf, toProvider, withoutOwnLogin, type OidcSettings, type Provider } from "./providers.js";

/** Who the provider says logged in, read from its claims through the provider's claim mapping. */
export interface ProviderIdentity {
  subject: string;
  /** The provider's session (`sid`), for back-channel logout. */
  sid: string | null;
  username: string | null;
  email: string | null;
  /** The provider sent an email claim that is not an e-mail address (checked as the user API checks one): it is neither stored nor matched. */
  invalidEmail: boolean;
  /** Only an explicit `email_verified: true` counts (Entra ID omits it: fail closed). */
  emailVerified: boolean;
  firstName: string | null;
  lastName: string | null;
  /** Values of the groups claim; undefined when the provider sent none (the mapped groups then stay as they are). */
  groups: string[] | undefined;
  /**
   * The provider left the groups out as too many and points elsewhere for them (`_claim_names`, as Entra ID
   * past 200 groups): not read, so taken as none — the memberships the mapping made go rather than stay unchecked.
   */
  groupsNotSent: boolean;
}

/** Text a store can hold, within `max` characters; anything else is treated as absent. */
function text(value: unknown, max: number): string | null {
  if (typeof value !== "string") return null;
  const trimmed = value.trim();
  return trimmed && trimmed.length <= max && !/[\u0000\p{Cs}]/u.test(trimmed) ? trimmed : null;
}

export function identityOf(c: OidcSettings, idToken: Record<string, unknown>, userInfo: Record<string, unknown> = {}): ProviderIdentity {
  // The ID token's claims win; userinfo fills what it lacks.
  const claims = { ...userInfo, ...idToken };
  const groups = claims[c.groupsClaim];
  const elsewhere = claims._claim_names;
  const groupsNotSent = groups === undefined && typeof elsewhere === "object" && elsewhere !== null && Object.hasOwn(elsewhere, c.groupsClaim);
  const claimedEmail = text(claims[c.emailClaim], Infinity);
  const email = claimedEmail !== null && isEmail(claimedEmail) ? claimedEmail : null;
  // email_verified speaks of the `email` claim of the same answer: it verifies an address only where that
  // answer gives this very address (not another claim's value, nor the other answer's email).
  // Read as the address is (trimmed): the address verified is the one stored and matched.
  const verified = c.emailClaim === "email" && claimedEmail !== null && [idToken, userInfo].some((source) => text(source.email, Infinity) === claimedEmail && source.email_verified === true);
  return {
    subject: claims.sub as string,
    sid: text(claims.sid, 1024),
    username: text(claims[c.usernameClaim], 1024),
    email,
    invalidEmail: claimedEmail !== null && email === null,
    emailVerified: verified,
    firstName: text(claims[c.firstNameClaim], NAME_MAX),
    lastName: text(claims[c.lastNameClaim], NAME_MAX),
    groups: groupsNotSent ? [] : Array.isArray(groups) ? groups.filter((g): g is string => typeof g === "string") : typeof groups === "string" ? [groups] : undefined,
    groupsNotSent,
  };
}

/** The claims a login needs that the ID token lacks (then they are read from userinfo). */
export function missingClaims(c: OidcSettings, claims: Record<string, unknown>): boolean {
  return [c.usernameClaim, c.emailClaim, c.groupsClaim].some((name) => !(name in claims)) || (c.trustEmail && !("email_verified" in claims));
}

/**
 * Letters (with up to three marks each) and digits of any script and `. _ - @` (USERNAME_PATTERN) in
 * the stored form (NFKC); anything else, and an invisible letter such as a Hangul filler, becomes `_`.
 */
function usernameBase(identity: ProviderIdentity): string {
  const raw = identity.username ?? identity.subject;
  let clean = "";
  let marksMayFollow = 0;
  for (const ch of normalizeName(raw)) {
    const mark = /^\p{M}$/u.test(ch);
    const kept = !INVISIBLE.test(ch) && (mark ? marksMayFollow > 0 : /^[\p{L}\p{N}._@-]$/u.test(ch));
    clean += kept ? ch : "_";
    marksMayFollow = kept && mark ? marksMayFollow - 1 : kept && /^\p{L}$/u.test(ch) ? 3 : 0;
  }
  return clean || "user";
}

/**
 * The clash rule for a new user's username: the claim's value as it is; if a user has that name (or
 * login name), or one that looks like it (domain/names.ts), `<name>-<alias>`; then `<name>-<alias>-2` … `-9`; then `<name>-<alias>-<8 random hex>`.
 * Each is cut to the 64-character limit from the name's end, keeping the suffix whole.
 */
function usernameCandidates(base: string, alias: string): string[] {
  const fit = (suffix: string) => [...base].slice(0, USERNAME_MAX - [...suffix].length).join("") + suffix;
  return [fit(""), fit(`-${alias}`), ...Array.from({ length: 8 }, (_, i) => fit(`-${alias}-${i + 2}`))];
}


/** A login through a provider that is refused for the account's state; `reason` goes to the audit log only. */
export class LoginRefused extends DomainError {
  constructor(readonly reason: string, readonly user: UserRow | null) {
    super("credentials-refused", "The login through the identity provider was refused.");
  }
}

/** Tries of a provider login's resolution that a racing first login's unique name or link turned away. */
const RESOLVE_ATTEMPTS = 4;

/**
 * The linking rules: which local user a provider login is, creating or linking one on a first login,
 * and the provider's mapped groups brought up to date at every login.
 */
export function createLinking(store: Store, groups: GroupQueries) {
  const { db, dialect } = store;

  async function groupIds(on: Kysely<Database>, uuids: string[]): Promise<Map<string, { id: number; name: string }>> {
    if (uuids.length === 0) return new Map();
    const rows = await on.selectFrom("groups").select(["id", "uuid", "name"]).where("uuid", "in", uuids).execute();
    return new Map(rows.map((g) => [g.uuid, { id: g.id, name: g.name }]));
  }

  /**
   * A user linked without a password of its own logs in through the provider only: a password change
   * asked of it could never be made, and would hold it at its password page for good.
   */
  async function dropUnmakeablePasswordChange(on: Kysely<Database>, user: UserRow): Promise<void> {
    if (user.password_hash !== null || user.change_password === 0) return;
    await on.updateTable("users").set({ change_password: 0, version: sql<number>`version + 1`, updated_at: isoNow() }).where("id", "=", user.id).execute();
  }

  /** Joins the user to these groups; returns the names of those it was not in. */
  async function joinGroups(on: Kysely<Database>, userId: number, uuids: string[]): Promise<string[]> {
    const joined: string[] = [];
    for (const g of (await groupIds(on, uuids)).values()) if (await groups.addMember(on, g.id, userId)) joined.push(g.name);
    return joined;
  }

  /**
   * Local users a verified email may link to: exactly one non-built-in user with that email, no link
   * to this provider yet, no system-administrator role, and none through this provider's groups — a security administrator may configure
   * a provider, and a link is as much power as the password, which only a system administrator may
   * set for a system administrator (link such an account by hand).
   */
  async function emailMatch(on: Kysely<Database>, p: Provider, email: string): Promise<UserRow | undefined> {
    const rows = await on
      .selectFrom("users")
      .selectAll("users")
      .where("users.email_key", "=", emailKeyOf(email))
      // Never an account a provider's login made (its provider since removed too): its email is whatever
      // that provider's user claimed, maybe someone else's, and a link would let both subjects into one
      // account. Nor does such an account's copy of the address stop its owner's local account from linking.
      .where("users.provider_made", "=", 0)
      // A local account a person logs in to: not a directory's user, a service account (keys only) or a profile (a template).
      .where("users.directory_id", "is", null)
      .where("users.service_account", "=", 0)
      .where("users.profile_id", "!=", 0)
      .limit(2)
      .execute();
    if (rows.length !== 1 || rows[0]!.builtin === 1) return undefined;
    // A provider whose groups grant system-administrator would give the role to an account whose password someone here may know.
    if (await grantsSystemAdministrator(on, groupsNamed(p))) return undefined;
    if ((await createUserQueries({ ...store, db: on }).holdingRole(SYSTEM_ADMINISTRATOR, rows)).size > 0) return undefined;
    const linked = await on.selectFrom("federated_identities").select("user_id").where("user_id", "=", rows[0]!.id).where("provider_id", "=", p.id).executeTakeFirst();
    return linked ? undefined : rows[0];
  }

  /** A new user of the provider; `apart`: a name of the random form at once (first logins racing for the same names). */
  async function createUser(on: Kysely<Database>, p: Provider, identity: ProviderIdentity, apart: boolean): Promise<UserRow> {
    const random = () => usernameCandidates(usernameBase(identity), `${p.alias}-${randomBytes(4).toString("hex")}`)[1]!;
    const candidates = apart ? [random()] : usernameCandidates(usernameBase(identity), p.alias);
    const keys = candidates.map(confusableKey);
    // A name is taken when it equals or looks like a username or login name (rows older than the
    // look-alike keys may have none: their names are compared too).
    const taken = await on
      .selectFrom("users")
      .select(["username", "login_name"])
      .where((eb) =>
        eb.or([eb("username", "in", candidates), eb("login_key", "in", candidates.map(fold)), eb("username_skeleton", "in", keys), eb("login_skeleton", "in", keys)]),
      )
      .execute();
    const used = new Set(taken.flatMap((t) => [confusableKey(t.username), confusableKey(t.login_name)]));
    const username = candidates.find((_, i) => !used.has(keys[i]!)) ?? random();
    const { firstName, lastName, email } = identity;
    // Where the user came from: its extended view's `source` (`identity-provider`).
    return createUserQueries({ ...store, db: on }).insert({ ...newUserRow({ username, firstName, lastName, email }, null, isoNow()), identity_provider_id: p.id, provider_made: 1 });
  }

  /**
   * Brings the user's memberships in the provider's mapped groups in line with the groups claim; returns
   * what changed. It removes only what its mapping made at a login (`mapped_by`), in any group (a mapping
   * since dropped too), never a membership an administrator or a directory's sync made, nor one of the
   * provider's default groups.
   */
  async function mapGroups(on: Kysely<Database>, p: Provider, user: UserRow, claimed: string[]): Promise<{ added: string[]; removed: string[] } | null> {
    const names = new Set(claimed);
    const wanted = new Set(p.customGroupList.filter((m) => names.has(m.idpGroupName)).map((m) => m.localGroupId));
    const defaults = new Set(p.defaultGroupList);
    const current = await on
      .selectFrom("group_members as m")
      .innerJoin("groups as g", "g.id", "m.group_id")
      .select(["g.id", "g.uuid", "g.name", "m.mapped_by"])
      .where("m.user_id", "=", user.id)
      .where((eb) => (wanted.size === 0 ? eb("m.mapped_by", "=", p.id) : eb.or([eb("m.mapped_by", "=", p.id), eb("g.uuid", "in", [...wanted])])))
      .execute();
    const have = new Set(current.map((m) => m.uuid));
    const added: string[] = [];
    for (const g of (await groupIds(on, [...wanted].filter((uuid) => !have.has(uuid)))).values()) {
      if (await groups.addMember(on, g.id, user.id, { mappedBy: p.id })) added.push(g.name);
    }
    const removed = current.filter((m) => m.mapped_by === p.id && !wanted.has(m.uuid) && !defaults.has(m.uuid));
    if (removed.length > 0) {
      // Still the mapping's when deleted: one an administrator made their own since it was read stays.
      await on.deleteFrom("group_members").where("user_id", "=", user.id).where("group_id", "in", removed.map((g) => g.id)).where("mapped_by", "=", p.id).execute();
      await assertSystemAdministratorRemains(on);
    }
    return added.length + removed.length > 0 ? { added, removed: removed.map((g) => g.name) } : null;
  }

  /** Whether failed logins from this address (its key: a /64 for IPv6) have locked the user out for it: a condition on `users`. */
  function addressLockedOut(sourceIp: string | null) {
    return (eb: ExpressionBuilder<Database, "users">) =>
      eb.exists(
        eb
          .selectFrom("login_sources")
          .select("login_sources.user_id")
          .whereRef("login_sources.user_id", "=", "users.id")
          .where("login_sources.source", "=", addressKey(sourceIp ?? ""))
          .where("login_sources.locked_out_until", ">", isoNow()),
      );
  }

  /** One attempt of `resolve`, in one transaction: nothing of a refused login is kept. */
  async function resolveOnce(p: Provider, identity: ProviderIdentity, sourceIp: string | null, then: (trx: Kysely<Database>, user: UserRow) => Promise<void>, apart: boolean): Promise<UserRow> {
    return db.transaction().execute(async (trx) => {
      const system = providerActor(p.alias, sourceIp);
      const link = { alias: p.alias, subject: identity.subject };
      const linked = await trx
        .selectFrom("federated_identities as f")
        .innerJoin("users", "users.id", "f.user_id")
        .innerJoin("identity_providers as p", "p.id", "f.provider_id")
        .selectAll("users")
        .select(["f.by_system_administrator as link_by_system_administrator", "p.by_system_administrator as provider_by_system_administrator"])
        // The address's lockout of a linked user in the same read (a round trip less at every login but the first).
        .select((eb) => addressLockedOut(sourceIp)(eb).as("address_locked_out"))
        .where("f.provider_id", "=", p.id)
        .where("f.subject", "=", identity.subject)
        .executeTakeFirst();
      let user: UserRow;
      /** Whether a system administrator made the link and the provider's configuration (role-rules.ts madeBySystemAdministrator). */
      let bySystemAdministrator: boolean;
      /** Whether failed logins from this address have locked the account out for it; read below when not with the link. */
      let lockedOut: boolean | undefined;
      if (linked) {
        const { link_by_system_administrator, provider_by_system_administrator, address_locked_out, ...row } = linked;
        user = row;
        bySystemAdministrator = link_by_system_administrator === 1 && provider_by_system_administrator === 1;
        lockedOut = Boolean(address_locked_out); // PostgreSQL's boolean, SQLite's 0 or 1
      } else {
        const byEmail = p.config.trustEmail && identity.emailVerified && identity.email ? await emailMatch(trx, p, identity.email) : undefined;
        // A user the login makes is as trusted as the provider's configuration; a link to an existing
        // account by its email is not a system administrator's: a security administrator may have set that email.
        const made = byEmail ? 0 : (await trx.selectFrom("identity_providers").select("by_system_administrator").where("id", "=", p.id).executeTakeFirstOrThrow()).by_system_administrator;
        bySystemAdministrator = made === 1;
        if (byEmail) {
          user = byEmail;
          await dropUnmakeablePasswordChange(trx, user);
          await joinGroups(trx, user.id, p.defaultGroupList);
          await recordAudit(trx, system, { action: "user.link", target: userTarget(user), details: { ...link, by: "verified-email" } });
        } else {
          user = await createUser(trx, p, identity, apart);
          const usersGroup = await groups.findByName(USERS_GROUP, trx);
          if (usersGroup) await groups.addMember(trx, usersGroup.id, user.id);
          await joinGroups(trx, user.id, p.defaultGroupList);
          await recordAudit(trx, system, { action: "user.create", target: userTarget(user), details: { after: { username: user.username, email: user.email, firstName: user.first_name, lastName: user.last_name }, ...link } });
          await recordAudit(trx, system, { action: "user.link", target: userTarget(user), details: { ...link, by: "new-user" } });
        }
        await trx.insertInto("federated_identities").values({ provider_id: p.id, subject: identity.subject, user_id: user.id, created_at: isoNow(), by_system_administrator: made }).execute();
      }
      // The subject is the issuer's the ID token was checked against: one whose issuer or client changed since
      // (its links kept or removed by the administrator) is not linked or let in with it. The provider's row is
      // held as read until this commits (PostgreSQL's share lock; SQLite runs one writer): a change of it that
      // commits meanwhile is waited for and read here, or waits and then finds the link and code this writes.
      // A user already linked writes no link, so the read takes the lock itself.
      const stored = await dialect.lockedAgainstChange(trx.selectFrom("identity_providers").selectAll().where("id", "=", p.id)).executeTakeFirstOrThrow();
      if (subjectsOf(toProvider(stored)) !== subjectsOf(p)) {
        throw new DomainError("unavailable", "The identity provider's issuer or client changed while this login was finishing; log in again.", { retryAfterSeconds: 1 });
      }
      // A service account (linked before such links were refused) logs in only with its keys: refused before its groups follow the provider's.
      const refusal = user.service_account === 1 ? "service-account" : loginRefusal(user, new Date(), { familiar: false });
      if (refusal) throw new LoginRefused(refusal, user);
      // This address's lockout stops the login here as it does a password's (the exchange checks it again).
      lockedOut ??= (await trx.selectFrom("users").select("id").where("id", "=", user.id).where(addressLockedOut(sourceIp)).executeTakeFirst()) !== undefined;
      if (lockedOut) throw new LoginRefused("locked-out", user);
      // A directory's user whose directory is disabled is let in by no way: the rule its sessions and keys answer to.
      if (user.directory_id !== null && !(await trx.selectFrom("users").select("id").where("id", "=", user.id).where(directoryLetsIn).executeTakeFirst())) {
        throw new LoginRefused("directory-disabled", user);
      }
      if (identity.groups !== undefined) {
        const changed = await mapGroups(trx, p, user, identity.groups);
        if (changed) await recordAudit(trx, system, { action: "user.groups-mapped", target: userTarget(user), details: { alias: p.alias, ...changed, ...(identity.groupsNotSent ? { groupsNotSent: true } : {}) } });
      }
      // After the mapped groups: the roles the account holds as this login would open it.
      if (!bySystemAdministrator && (await createUserQueries({ ...store, db: trx }).roleNames(user)).includes(SYSTEM_ADMINISTRATOR)) {
        throw new LoginRefused(NOT_MADE_BY_SYSTEM_ADMINISTRATOR, user);
      }
      await then(trx, user);
      return user;
    });
  }

  return {
    /**
     * The local user of a provider login: the linked one; else the one local user with the same
     * email when the provider is trusted with emails and says this one is verified; else a new
     * user. Refused (LoginRefused) when that user may not log in now. `then` writes the login's own
     * rows in the same transaction: one commit per login.
     */
    async resolve(p: Provider, identity: ProviderIdentity, sourceIp: string | null, then: (trx: Kysely<Database>, user: UserRow) => Promise<void>): Promise<UserRow> {
      // A concurrent first login took the same name or linked the same subject: the next try finds it
      // taken. Several racing for the same names would keep meeting (each sees none of the others'
      // uncommitted rows), so after two tries the name is of the random form.
      for (let attempt = 1; ; attempt++) {
        try {
          return await resolveOnce(p, identity, sourceIp, then, attempt > 2);
        } catch (error) {
          // Something the login writes next to went meanwhile: the provider deleted, or a group or the account.
          if (error instanceof NoResultError || isForeignKeyViolation(error)) {
            const there = await db.selectFrom("identity_providers").select("id").where("id", "=", p.id).executeTakeFirst();
            if (!there) throw notFound("identity provider", p.alias);
            throw new DomainError("unavailable", "What this login needs changed while it was finishing; log in again.", { retryAfterSeconds: 1 });
          }
          if (!isUniqueViolation(error)) throw error;
          if (attempt >= RESOLVE_ATTEMPTS) throw new DomainError("unavailable", "Too many first logins want the same names at once; try again.", { retryAfterSeconds: 1 });
        }
      }
    },

    /** A user's links, each with the subject it is to (what an unlink may name), by alias. */
    async links(userId: string): Promise<{ alias: string; displayName: string; subject: string }[]> {
      const user = await requireUser(createUserQueries(store), userId);
      return db
        .selectFrom("federated_identities")
        .innerJoin("identity_providers", "identity_providers.id", "federated_identities.provider_id")
        .select(["identity_providers.alias", "identity_providers.display_name as displayName", "federated_identities.subject"])
        .where("federated_identities.user_id", "=", user.id)
        .orderBy("identity_providers.alias")
        .execute();
    },

    /** An administrator links a user to a provider's subject (replacing the user's link to that provider). */
    async link(actor: AdminActor, userId: string, p: Provider, subject: string, precondition: Precondition): Promise<void> {
      try {
        await db.transaction().execute(async (trx) => {
          await holdVersion(trx, "users", userId, precondition);
          const q = createUserQueries({ ...store, db: trx });
          const user = await requireUser(q, userId);
          // Whoever holds the subject logs in as this user: as much power as setting its password.
          await assertMayAdminister(q, actor, user, "link a system administrator to an identity provider");
          if (user.service_account === 1) throw new DomainError("refused", "A service account logs in only with its API keys: it cannot be linked to an identity provider.", { alias: p.alias });
          const holder = await trx.selectFrom("federated_identities").select("user_id").where("provider_id", "=", p.id).where("subject", "=", subject).executeTakeFirst();
          if (holder && holder.user_id !== user.id) throw new DomainError("name-taken", "This subject of the identity provider is linked to another user.", { alias: p.alias });
          if (holder) {
            // The same link made again by a system administrator becomes theirs (role-rules.ts madeBySystemAdministrator).
            if (madeBySystemAdministrator(actor.roles) === 1) await trx.updateTable("federated_identities").set({ by_system_administrator: 1 }).where("provider_id", "=", p.id).where("subject", "=", subject).execute();
            return;
          }
          const replaced = await trx.deleteFrom("federated_identities").where("provider_id", "=", p.id).where("user_id", "=", user.id).returning("subject").executeTakeFirst();
          // The replaced subject's sessions end with its link, as at an unlink.
          if (replaced) await trx.updateTable("sessions").set({ revoked_at: isoNow() }).where("provider_id", "=", p.id).where("provider_subject", "=", replaced.subject).where("revoked_at", "is", null).execute();
          await trx.insertInto("federated_identities").values({ provider_id: p.id, subject, user_id: user.id, created_at: isoNow(), by_system_administrator: madeBySystemAdministrator(actor.roles) }).execute();
          await dropUnmakeablePasswordChange(trx, user);
          // Every user of the provider is in its default groups, whoever made the link, and its mapped groups
          // follow its logins: a link through groups that grant system-administrator is a system administrator's to make.
          await assertMayConfigureLoginSource(trx, actor.roles, null, groupsNamed(p), "link a user to this identity provider");
          const joined = await joinGroups(trx, user.id, p.defaultGroupList);
          await recordAudit(trx, actor, {
            action: "user.link",
            target: userTarget(user),
            details: { alias: p.alias, subject, by: "administrator", ...(replaced ? { replacedSubject: replaced.subject } : {}), ...(joined.length > 0 ? { groupsJoined: joined } : {}) },
          });
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new DomainError("name-taken", "This subject of the identity provider is linked to another user.", { alias: p.alias });
        throw error;
      }
    },

    /**
     * An administrator removes a user's link to a provider (only the link to `subject`, when named);
     * the sessions opened through it end, and the memberships its mapping made.
     */
    async unlink(actor: AdminActor, userId: string, p: Provider, subject: string | undefined, precondition: Precondition): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await holdVersion(trx, "users", userId, precondition);
        const q = createUserQueries({ ...store, db: trx });
        const user = await requireUser(q, userId);
        await assertMayAdminister(q, actor, user, "unlink a system administrator from an identity provider");
        const removed = await trx
          .deleteFrom("federated_identities")
          .where("provider_id", "=", p.id)
          .where("user_id", "=", user.id)
          .$if(subject !== undefined, (q) => q.where("subject", "=", subject!))
          .returning("subject")
          .executeTakeFirst();
        if (!removed) {
          // The caller meant another link than the user has: that one stays.
          const other = subject !== undefined && (await trx.selectFrom("federated_identities").select("subject").where("provider_id", "=", p.id).where("user_id", "=", user.id).executeTakeFirst());
          if (other) throw new DomainError("refused", "The user is linked to another subject of this identity provider: nothing was unlinked.", { alias: p.alias, field: "subject" });
          throw notFound("link of the user to the identity provider", p.alias);
        }
        await trx.updateTable("sessions").set({ revoked_at: isoNow() }).where("provider_id", "=", p.id).where("provider_subject", "=", removed.subject).where("revoked_at", "is", null).execute();
        // What the provider vouched for goes with the link: the memberships its mapping made (their roles
        // would stay, decided by no login again), and an account it made is a local one from now on.
        const left = await trx
          .deleteFrom("group_members")
          .where("user_id", "=", user.id)
          .where("mapped_by", "=", p.id)
          .returning("group_id")
          .execute();
        const groupsLeft = left.length === 0 ? [] : (await trx.selectFrom("groups").select("name").where("id", "in", left.map((m) => m.group_id)).orderBy("name").execute()).map((g) => g.name);
        if (user.identity_provider_id === p.id) {
          await trx.updateTable("users").set((eb) => ({ identity_provider_id: null, version: eb("version", "+", 1), updated_at: isoNow() })).where("id", "=", user.id).execute();
        }
        await assertSystemAdministratorRemains(trx);
        const otherWay = await trx
          .selectFrom("users")
          .select("users.id")
          .where("users.id", "=", user.id)
          .where((eb) => eb.or([eb.not(withoutOwnLogin()), eb.exists(eb.selectFrom("federated_identities").select("user_id").where("user_id", "=", user.id))]))
          .executeTakeFirst();
        await recordAudit(trx, actor, {
          action: "user.unlink",
          target: userTarget(user),
          details: { alias: p.alias, subject: removed.subject, ...(groupsLeft.length > 0 ? { groupsLeft } : {}), ...(otherWay ? {} : { leftWithoutLogin: true }) },
        });
      });
    },
  };
}

export type Linking = ReturnType<typeof createLinking>;
