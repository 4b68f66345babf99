import { randomUUID } from "node:crypto";
import { isIP } from "node:net";
import { sql, type ExpressionBuilder, type Kysely } from "kysely";
import * as oidc from "openid-client";
import type { SecretBox } from "../auth/secret-box.js";
import { recordAudit, type Actor } from "../domain/audit.js";
import { DomainError, notFound, staleVersion } from "../domain/errors.js";
import { namersAmong, type GroupNamer } from "../domain/groups.js";
import { assertSystemAdministratorRemains } from "../domain/last-admin.js";
import { assertVisibleName } from "../domain/names.js";
import { assertMayConfigureLoginSource, madeBySystemAdministrator } from "../domain/role-rules.js";
import { definedOnly, type AdminActor } from "../domain/users.js";
import { checkPrecondition, type Precondition } from "../domain/versioned.js";
import { isUniqueViolation } from "../storage/constraints.js";
import type { Database, IdentityProviderRow } from "../storage/schema.js";
import type { Store } from "../storage/store.js";
import { isoNow } from "../storage/time.js";
import { boundedFetch, PROVIDER_ANSWER_MAX, tooLarge } from "./bounded-fetch.js";

/** What `clientSecret` reads as; sending it back keeps the stored secret. */
const SECRET_MASK = "**********";

export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "none";

/** The OpenID Connect part of a provider (Ops Center's `config`): endpoints, scopes, claim mapping. */
export interface OidcSettings {
  issuer: string;
  authorizationUrl: string;
  tokenUrl: string;
  userInfoUrl: string | null;
  jwksUrl: string;
  scopes: string[];
  clientAuthMethod: ClientAuthMethod;
  usernameClaim: string;
  emailClaim: string;
  firstNameClaim: string;
  lastNameClaim: string;
  groupsClaim: string;
  /** Link a first login to the local user with the same email, when the provider says it is verified. */
  trustEmail: boolean;
  /** The discovery document says the provider puts `iss` in its answers (RFC 9207): one without it is refused. Kept, not shown. */
  issParameterSupported?: boolean;
}

export interface GroupMapping {
  idpGroupName: string;
  localGroupId: string;
}

/** A provider as the store keeps it (the `config` column holds all but alias, display name and enabled). */
export interface Provider {
  id: number;
  uuid: string;
  alias: string;
  displayName: string;
  enabled: boolean;
  version: number;
  fromUrl: string | null;
  guiOrder: number;
  defaultGroupList: string[];
  customGroupList: GroupMapping[];
  clientId: string;
  /** Sealed by the secret box; null without one (`clientAuthMethod: none`). */
  sealedSecret: string | null;
  /**
   * Where browsers come back (the origin the administrator added it through), kept so that the
   * redirect URI never comes from an anonymous request's Host header. ECM_PUBLIC_URL overrides it;
   * providers added before it was kept have none.
   */
  callbackBase?: string;
  config: OidcSettings;
}

type StoredConfig = Omit<Provider, "id" | "uuid" | "alias" | "displayName" | "enabled" | "version">;

/** The API's view of a provider: Ops Center's field names, the secret masked, the redirect URI to register. */
export interface ProviderView {
  id: string;
  providerType: "oidc";
  alias: string;
  displayName: string;
  fromUrl: string | null;
  enabled: boolean;
  guiOrder: number;
  defaultGroupList: string[];
  customGroupList: GroupMapping[];
  clientId: string;
  clientSecret: string | null;
  config: OidcSettings & { redirectUri: string };
}

/** What becomes of a provider's links when its issuer or client id changes (providers.ts settleLinks). */
export type LinkFate = "keep" | "remove";

/** What a subject is unique within: the provider's issuer, and the client for providers that give each client its own. */
export const subjectsOf = (p: Pick<Provider, "clientId" | "config">) => JSON.stringify([p.config.issuer, p.clientId]);

/** What a create or an update sends; on update, fields left out keep their value. */
export interface ProviderInput {
  /** The administrator's origin: kept by a create, and by an update of a provider that has none; never moved. */
  callbackBase?: string;
  alias?: string;
  displayName?: string;
  fromUrl?: string | null;
  enabled?: boolean;
  guiOrder?: number;
  defaultGroupList?: string[];
  customGroupList?: GroupMapping[];
  clientId?: string;
  clientSecret?: string | null;
  config?: Partial<OidcSettings>;
}

export const DEFAULT_SETTINGS: Omit<OidcSettings, "issuer" | "authorizationUrl" | "tokenUrl" | "userInfoUrl" | "jwksUrl"> = {
  scopes: ["openid", "profile", "email"],
  clientAuthMethod: "client_secret_basic",
  usernameClaim: "preferred_username",
  emailClaim: "email",
  firstNameClaim: "given_name",
  lastNameClaim: "family_name",
  groupsClaim: "groups",
  trustEmail: false,
};

const ENDPOINTS = ["issuer", "authorizationUrl", "tokenUrl", "userInfoUrl", "jwksUrl"] as const;

export function toProvider(row: IdentityProviderRow): Provider {
  const stored = JSON.parse(row.config) as StoredConfig;
  return { ...stored, id: row.id, uuid: row.uuid, alias: row.alias, displayName: row.display_name, enabled: row.enabled === 1, version: row.version };
}

/** The `config` column of a provider: all but what has columns of its own. */
export function storedConfig(p: Omit<Provider, "id" | "uuid" | "version">): string {
  const { alias, displayName, enabled, ...stored } = p;
  return JSON.stringify(stored satisfies StoredConfig);
}

/** Where this service is for a provider's browsers: ECM_PUBLIC_URL, else where the provider was added (`fallback` for one added before that was kept). */
export function publicBaseOf(p: Pick<Provider, "callbackBase">, publicUrl: string | undefined, fallback: string): string {
  return publicUrl ?? p.callbackBase ?? fallback;
}

/** The URL the provider sends the browser back to: what an administrator registers at the provider. */
export function redirectUriOf(publicBase: string, alias: string): string {
  return `${publicBase}/portal/auth/v1/providers/${encodeURIComponent(alias)}/callback`;
}

export function toProviderView(p: Provider, publicBase: string): ProviderView {
  return {
    id: p.uuid,
    providerType: "oidc",
    alias: p.alias,
    displayName: p.displayName,
    fromUrl: p.fromUrl,
    enabled: p.enabled,
    guiOrder: p.guiOrder,
    defaultGroupList: p.defaultGroupList,
    customGroupList: p.customGroupList,
    clientId: p.clientId,
    clientSecret: p.sealedSecret === null ? null : SECRET_MASK,
    config: { ...withoutInternal(p.config), redirectUri: redirectUriOf(publicBase, p.alias) },
  };
}

function withoutInternal(c: OidcSettings): Omit<OidcSettings, "issParameterSupported"> {
  const { issParameterSupported, ...shown } = c;
  return shown;
}

/** Loopback hosts may be reached over plain HTTP (a provider on the same machine, tests); all others only over HTTPS. */
function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

/** The longest endpoint or issuer a provider's settings take (the API's limit). */
export const URL_MAX = 2048;

/** `name`: the field as a refusal calls it (`config.tokenUrl, as read from the discovery document,`). */
function checkUrl(value: string, field: string, name = field): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DomainError("invalid", `${name} is not a URL.`, { field });
  }
  // It would be kept, shown and audited in the clear, and the authorization URL sent to every browser that logs in.
  if (url.username || url.password) throw new DomainError("invalid", `${name} must not hold a user name or password: the client's secret goes in clientSecret (write-only).`, { field });
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackUrl(url))) return;
  throw new DomainError("invalid", `${name} must be an https URL (plain http only on loopback).`, { field });
}

/** ID tokens must be signed with a public key the provider publishes (never a shared secret, never unsigned). */
export const SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/** The openid-client configuration of a provider, from its stored endpoints (no discovery per login). */
export function clientConfiguration(p: Provider, secrets: SecretBox, timeoutSeconds: number): oidc.Configuration {
  const { config: c } = p;
  const secret = p.sealedSecret === null ? undefined : secrets.open(p.sealedSecret);
  const auth = c.clientAuthMethod === "none" ? oidc.None() : c.clientAuthMethod === "client_secret_post" ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
  const server: oidc.ServerMetadata = {
    issuer: c.issuer,
    authorization_endpoint: c.authorizationUrl,
    token_endpoint: c.tokenUrl,
    jwks_uri: c.jwksUrl,
    id_token_signing_alg_values_supported: SIGNING_ALGORITHMS,
    ...(c.userInfoUrl ? { userinfo_endpoint: c.userInfoUrl } : {}),
  };
  const configuration = new oidc.Configuration(server, p.clientId, undefined, auth);
  configuration[oidc.customFetch] = boundedFetch;
  configuration.timeout = timeoutSeconds;
  if ([c.authorizationUrl, c.tokenUrl, c.userInfoUrl].some((u) => u && new URL(u).protocol === "http:")) oidc.allowInsecureRequests(configuration);
  return configuration;
}

/** The endpoints a discovery document names (`fromUrl`: the issuer or its `/.well-known/openid-configuration`). */
async function discover(fromUrl: string, timeoutSeconds: number): Promise<Partial<OidcSettings>> {
  checkUrl(fromUrl, "fromUrl");
  const url = new URL(fromUrl);
  try {
    const found = await oidc.discovery(url, "discovery", undefined, oidc.None(), {
      execute: url.protocol === "http:" ? [oidc.allowInsecureRequests] : [],
      timeout: timeoutSeconds,
      [oidc.customFetch]: boundedFetch,
    });
    const m = found.serverMetadata();
    return {
      issuer: m.issuer,
      ...(m.authorization_endpoint ? { authorizationUrl: m.authorization_endpoint } : {}),
      ...(m.token_endpoint ? { tokenUrl: m.token_endpoint } : {}),
      ...(m.jwks_uri ? { jwksUrl: m.jwks_uri } : {}),
      userInfoUrl: m.userinfo_endpoint ?? null,
      issParameterSupported: m.authorization_response_iss_parameter_supported === true,
    };
  } catch (error) {
    throw new DomainError("invalid", `The discovery document at fromUrl could not be read: ${discoveryProblem(error, timeoutSeconds)}.`, { field: "fromUrl" });
  }
}

/** Why discovery failed, in people's words rather than the libraries' ("fetch failed"). */
function discoveryProblem(error: unknown, timeoutSeconds: number): string {
  if (tooLarge(error)) return `its answer is larger than ${PROVIDER_ANSWER_MAX}`;
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; status?: number; message?: string } };
  if (e.code === "OAUTH_RESPONSE_IS_NOT_CONFORM" && typeof e.cause?.status === "number") return `it answered HTTP ${e.cause.status}, not the document`;
  if (e.code === "OAUTH_PARSE_ERROR" || e.code === "OAUTH_RESPONSE_IS_NOT_JSON") return "its answer is not JSON";
  if (e.code === "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED") return "the issuer it names is not the address it was read from";
  if (e.name === "TimeoutError" || e.name === "AbortError" || e.code === "OAUTH_TIMEOUT") return `it did not answer within ${timeoutSeconds} seconds`;
  const cause = e.cause?.code ?? "";
  if (cause === "ENOTFOUND" || cause === "EAI_AGAIN") return "its host name is not known";
  if (cause === "ECONNREFUSED" || cause === "ECONNRESET" || e.cause?.message === "bad port") return "nothing answers at that address";
  if (/CERT|SSL|TLS/.test(cause)) return `its TLS certificate is not trusted (${cause})`;
  if (e.name === "TypeError") return "it could not be reached";
  return "its answer is not an OpenID Connect discovery document";
}

const providerTarget = (p: Pick<Provider, "uuid" | "alias">) => ({ type: "identity-provider", id: p.uuid, name: p.alias });

/**
 * Who acts in the audit log for a provider: its logins and refusals, the users and links they make,
 * its logouts. "unknown" when no provider has the alias asked for: a caller's text is not logged as one.
 */
export function providerActor(alias: string | undefined, sourceIp: string | null, id: number | null = null): Actor {
  return { id, name: `identity-provider:${alias ?? "unknown"}`, sourceIp };
}

/** The settings an audit event shows: everything but the secret, which shows only whether it changed. */
function audited(p: Omit<Provider, "id" | "uuid" | "version">): Record<string, unknown> {
  const { sealedSecret, ...rest } = p;
  return { ...rest, clientSecretSet: sealedSecret !== null };
}

/** Ends the sessions opened through a provider (it was disabled or deleted). Pass the transaction's db. */
async function revokeProviderSessions(db: Kysely<Database>, providerId: number): Promise<void> {
  await db.updateTable("sessions").set({ revoked_at: isoNow() }).where("provider_id", "=", providerId).where("revoked_at", "is", null).execute();
  await db.deleteFrom("login_codes").where("provider_id", "=", providerId).execute();
}

/** The local groups a provider puts its users in: its default groups and those its groups claim maps to. */
export const groupsNamed = (p: Pick<Provider, "defaultGroupList" | "customGroupList">) => [...p.defaultGroupList, ...p.customGroupList.map((m) => m.localGroupId)];

/** Condition on `users`: the user has no way in but identity providers (no password, no directory, no API key that has not expired). */
export const withoutOwnLogin = () =>
  sql<boolean>`users.password_hash is null and users.directory_id is null
    and not exists (select 1 from api_keys k where k.user_id = users.id and (k.expires_at is null or k.expires_at > ${isoNow()}))`;

/** The providers whose group lists name these groups, as a refusal to delete them names them. */
export async function providersNamingGroups(on: Kysely<Database>, groupUuids: readonly string[]): Promise<GroupNamer[]> {
  // A few rows of settings: read whole, the ids are inside their JSON.
  const providers = (await on.selectFrom("identity_providers").selectAll().execute()).map(toProvider);
  return namersAmong(providers, groupUuids, groupsNamed, (p, group) => ({ by: `identity provider "${p.alias}" (${p.defaultGroupList.includes(group) ? "defaultGroupList" : "customGroupList"})` }));
}

/**
 * Configuration of identity providers: validation, discovery, the sealed client secret, audit. Every
 * change is one transaction with its audit event.
 */
export function createProviderAdmin({ db, dialect }: Pick<Store, "db" | "dialect">, secrets: SecretBox, timeoutSeconds: number) {
  async function load(alias: string, on: Kysely<Database> = db): Promise<Provider> {
    const row = await on.selectFrom("identity_providers").selectAll().where("alias", "=", alias).executeTakeFirst();
    if (!row) throw notFound("identity provider", alias);
    return toProvider(row);
  }

  /** Local groups a change names must exist (those it names already are not asked about again: a change of anything else goes through). */
  async function checkGroups(on: Kysely<Database>, p: Pick<Provider, "defaultGroupList" | "customGroupList">, current?: Pick<Provider, "defaultGroupList" | "customGroupList">): Promise<void> {
    const known = new Set(current ? groupsNamed(current) : []);
    const ids = [...new Set(groupsNamed(p).map((id) => id.toLowerCase()))].filter((id) => !known.has(id));
    if (ids.length === 0) return;
    // Locked until the change commits: a delete of one waits for it, and then sees it named (domain/groups.ts remove).
    const found = new Set((await dialect.lockedAgainstDelete(on.selectFrom("groups").select("uuid").where("uuid", "in", ids)).execute()).map((g) => g.uuid));
    const missing = ids.find((id) => !found.has(id));
    if (missing) {
      const field = p.defaultGroupList.includes(missing) ? "defaultGroupList" : "customGroupList";
      throw new DomainError("invalid", `${field} names a group that does not exist: ${missing}.`, { field, groupId: missing });
    }
  }

  /** The next state of a provider from its current one (none on create) and the request; discovery fills endpoints not sent. */
  async function merge(current: Omit<Provider, "id" | "uuid" | "version"> | undefined, input: ProviderInput): Promise<Omit<Provider, "id" | "uuid" | "version">> {
    const fromUrl = input.fromUrl === undefined ? current?.fromUrl ?? null : input.fromUrl;
    const discovered = fromUrl !== null && fromUrl !== current?.fromUrl ? await discover(fromUrl, timeoutSeconds) : {};
    // The redirect URI a GET shows is read-only: sent back, it is not kept.
    const { redirectUri: _shown, ...sent } = (input.config ?? {}) as Partial<OidcSettings> & { redirectUri?: string };
    // With a new fromUrl, an endpoint sent as a GET showed it is the old provider's, not an override:
    // the new discovery document's takes its place (else a GET body sent back with a new fromUrl keeps logging in at the old one).
    const newProvider = current !== undefined && fromUrl !== current.fromUrl;
    if (newProvider) for (const field of ENDPOINTS) if (sent[field] === current.config[field]) delete sent[field];
    // Nor does an endpoint the new document leaves out stay the old provider's: it is sent, or refused below.
    const kept = newProvider ? Object.fromEntries(Object.entries(current.config).filter(([field]) => !(ENDPOINTS as readonly string[]).includes(field))) : current?.config;
    const config = { ...DEFAULT_SETTINGS, ...kept, ...discovered, ...definedOnly(sent) } as Partial<OidcSettings>;
    for (const field of ENDPOINTS) {
      const value = config[field];
      if (field === "userInfoUrl" && (value === null || value === undefined)) {
        config.userInfoUrl = null;
        continue;
      }
      if (!value) throw new DomainError("invalid", `config.${field} is required: set it, or a fromUrl whose discovery document names it.`, { field: `config.${field}` });
      // A discovery document's values are held to the limits and rules of values sent, so that a GET's body can be sent back;
      // a refusal says where the value came from (the administrator sent only fromUrl).
      const name = field in discovered && sent[field] === undefined ? `config.${field}, as read from the discovery document,` : `config.${field}`;
      if (typeof value !== "string" || value.length > URL_MAX) throw new DomainError("invalid", `${name} must be text of at most ${URL_MAX} characters.`, { field: `config.${field}` });
      if (field !== "issuer") checkUrl(value, `config.${field}`, name);
    }
    if (!config.scopes!.includes("openid")) throw new DomainError("invalid", "config.scopes must include openid.", { field: "config.scopes" });
    let sealedSecret = current?.sealedSecret ?? null;
    const secretSent = input.clientSecret !== undefined && input.clientSecret !== SECRET_MASK;
    if (secretSent) sealedSecret = input.clientSecret === null || input.clientSecret === "" ? null : secrets.seal(input.clientSecret!);
    if (config.clientAuthMethod === "none") {
      // Said, not dropped: a secret sent with a public client means one of the two was a mistake.
      if (secretSent && input.clientSecret) {
        throw new DomainError("invalid", "clientSecret cannot be kept with clientAuthMethod none (a public client sends no secret): leave it out, or choose client_secret_basic or client_secret_post.", { field: "clientSecret" });
      }
      // A public client keeps no secret: switching back to a secret method later needs one sent anew.
      sealedSecret = null;
    }
    // The stored secret goes only to the token endpoint it was given for: whoever moves it sends it again.
    if (!secretSent && sealedSecret !== null && current && config.tokenUrl !== current.config.tokenUrl) {
      throw new DomainError("invalid", "clientSecret must be sent again when the token endpoint changes (a new fromUrl or config.tokenUrl): the stored secret is sent only where it was given for.", { field: "clientSecret" });
    }
    if (sealedSecret === null && config.clientAuthMethod !== "none") {
      throw new DomainError("invalid", `clientSecret is required with clientAuthMethod ${config.clientAuthMethod}.`, { field: "clientSecret" });
    }
    // Shown on the login page's button and beside linked users: nothing that hides or turns the text around. Checked
    // when new or changed, so that a name saved before this rule stops no other change (a GET's body sent back).
    if (input.displayName !== undefined && input.displayName !== current?.displayName) {
      if (!/^\S(.*\S)?$/.test(input.displayName)) throw new DomainError("invalid", "displayName must not start or end with white space, nor hold line breaks.", { field: "displayName" });
      assertVisibleName("displayName", input.displayName);
    }
    return {
      alias: current?.alias ?? input.alias!,
      displayName: input.displayName ?? current?.displayName ?? input.alias!,
      enabled: input.enabled ?? current?.enabled ?? true,
      fromUrl,
      guiOrder: input.guiOrder ?? current?.guiOrder ?? 0,
      defaultGroupList: (input.defaultGroupList ?? current?.defaultGroupList ?? []).map((id) => id.toLowerCase()),
      customGroupList: (input.customGroupList ?? current?.customGroupList ?? []).map((m) => ({ idpGroupName: m.idpGroupName, localGroupId: m.localGroupId.toLowerCase() })),
      clientId: input.clientId ?? current?.clientId ?? "",
      sealedSecret,
      ...((current?.callbackBase ?? input.callbackBase) !== undefined && { callbackBase: current?.callbackBase ?? input.callbackBase }),
      config: config as OidcSettings,
    };
  }


  /**
   * Removes a provider's links, the memberships its group mapping made and the sessions opened through it;
   * returns what the audit event says of it, with the users left without a way to log in (no password,
   * no directory, no API key, no other link).
   */
  async function removeLinks(trx: Kysely<Database>, providerId: number): Promise<Record<string, unknown>> {
    const stranded = await trx
      .selectFrom("users")
      .innerJoin("federated_identities as f", "f.user_id", "users.id")
      .select(["users.uuid", "users.username"])
      .where("f.provider_id", "=", providerId)
      .where(withoutOwnLogin())
      .where((eb) => eb.not(eb.exists(eb.selectFrom("federated_identities as o").select("o.user_id").whereRef("o.user_id", "=", "users.id").where("o.provider_id", "!=", providerId))))
      .orderBy("users.username")
      .execute();
    await revokeProviderSessions(trx, providerId);
    // The memberships its group mapping made go with the links, as a removed directory's sync's do: kept, they
    // would be by hand, with their roles, decided by no login again.
    const mapped = await trx.deleteFrom("group_members").where("mapped_by", "=", providerId).executeTakeFirst();
    const links = await trx.deleteFrom("federated_identities").where("provider_id", "=", providerId).executeTakeFirst();
    // The users it made are made local after the commit (releaseMadeUsers): marked with it, so that a
    // stop before they all are has the next start finish, without walking the users to find them.
    await trx.insertInto("provider_releases").values({ provider_id: providerId }).execute();
    return {
      linksRemoved: Number(links.numDeletedRows),
      mappedMembershipsRemoved: Number(mapped.numDeletedRows),
      // Capped: the event stays readable; the count says how many there were.
      usersWithoutLogin: stranded.slice(0, 1000).map((u) => ({ id: u.uuid, username: u.username })),
      usersWithoutLoginCount: stranded.length,
    };
  }

  /**
   * A provider whose issuer or client id changes may now say another person's subject where a link
   * holds the same text (subjects are unique per issuer only; some providers, as Entra ID, give each
   * client its own): its links stay only when the administrator says they are the same users
   * (`keep`), or go as at a removal of the provider (`remove`, the users it made becoming local ones);
   * asked for neither, the change is refused. Logins begun before it are not finished.
   */
  async function settleLinks(trx: Kysely<Database>, p: Provider, links: LinkFate | undefined): Promise<Record<string, unknown>> {
    await trx.deleteFrom("provider_logins").where("provider_id", "=", p.id).execute();
    const { count } = await trx.selectFrom("federated_identities").select((eb) => eb.fn.countAll<string | number>().as("count")).where("provider_id", "=", p.id).executeTakeFirstOrThrow();
    const linked = Number(count);
    if (linked === 0) return {};
    if (links === undefined) {
      throw new DomainError(
        "refused",
        `This change of the provider's issuer or clientId may give its ${linked} linked subject${linked === 1 ? "" : "s"} to other people (a subject is unique only at its issuer): ` +
          "say what becomes of the links with links=keep (the same people, with the same subjects, at the new issuer or client) or links=remove (they are removed as when the provider is deleted; its users log in again as new users or by verified email). Nothing was changed.",
        { field: "links", links: linked },
      );
    }
    if (links === "keep") return { linksKept: linked };
    // The users it made become local ones after the commit (releaseMadeUsers), as at a removal.
    const removed = await removeLinks(trx, p.id);
    // A link may have been the last system administrator's way in.
    await assertSystemAdministratorRemains(trx);
    return removed;
  }

  return {
    load,

    async list(): Promise<Provider[]> {
      const rows = await db.selectFrom("identity_providers").selectAll().execute();
      return rows.map(toProvider).sort((a, b) => a.guiOrder - b.guiOrder || (a.alias < b.alias ? -1 : 1));
    },

    async create(actor: AdminActor, input: ProviderInput): Promise<Provider> {
      const next = await merge(undefined, input);
      const now = isoNow();
      try {
        return await db.transaction().execute(async (trx) => {
          // Aliases are told apart without regard to case: Corp beside corp would read as one provider. Checked
          // here for the alias in the answer; two creates at once are told apart by the store (migration 014q).
          const alike = await trx.selectFrom("identity_providers").select("alias").where(sql<string>`lower(alias)`, "=", next.alias.toLowerCase()).executeTakeFirst();
          if (alike) throw new DomainError("name-taken", `An identity provider with this alias already exists: ${alike.alias} (aliases are told apart without regard to case).`, { field: "alias", existing: alike.alias });
          await checkGroups(trx, next);
          await assertMayConfigureLoginSource(trx, actor.roles, null, groupsNamed(next), "add this identity provider");
          const row = await trx
            .insertInto("identity_providers")
            .values({ uuid: randomUUID(), alias: next.alias, display_name: next.displayName, enabled: next.enabled ? 1 : 0, config: storedConfig(next), created_at: now, updated_at: now, by_system_administrator: madeBySystemAdministrator(actor.roles) })
            .returningAll()
            .executeTakeFirstOrThrow();
          const created = toProvider(row);
          await recordAudit(trx, actor, { action: "identity-provider.create", target: providerTarget(created), details: { after: audited(next) } });
          return created;
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new DomainError("name-taken", "An identity provider with this alias already exists.", { field: "alias" });
        throw error;
      }
    },

    /**
     * Partial update; the alias never changes. Disabling ends the sessions opened through the
     * provider. One that changes nothing (a GET's body sent back) writes and audits nothing.
     */
    async update(actor: AdminActor, alias: string, input: ProviderInput, precondition: Precondition, links?: LinkFate): Promise<Provider> {
      const current = await load(alias);
      checkPrecondition(current, precondition);
      // Before discovery reads a new fromUrl: a refused caller gets nothing done.
      await assertMayConfigureLoginSource(db, actor.roles, { providerId: current.id }, groupsNamed(current), "change this identity provider");
      const next = await merge(current, input);
      const before = audited(current);
      const after = audited(next);
      const changed = Object.keys(after).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
      const secretChanged = current.sealedSecret !== next.sealedSecret;
      // As for users: the provider as it is, its version (and every node's copy of it) untouched; but sent
      // by a system administrator, it becomes theirs (it opens their accounts again: role-rules.ts madeBySystemAdministrator).
      if (changed.length === 0 && !secretChanged) {
        if (madeBySystemAdministrator(actor.roles) === 1) {
          await db.transaction().execute(async (trx) => {
            // Only the version this administrator saw: one changed meanwhile is not theirs.
            const taken = await trx.updateTable("identity_providers").set({ by_system_administrator: 1 }).where("id", "=", current.id).where("version", "=", current.version).where("by_system_administrator", "=", 0).executeTakeFirst();
            if (Number(taken.numUpdatedRows) > 0) await recordAudit(trx, actor, { action: "identity-provider.update", target: providerTarget(current), details: { after: { bySystemAdministrator: true } } });
          });
        }
        return current;
      }
      const updated = await db.transaction().execute(async (trx) => {
        await checkGroups(trx, next, current);
        await assertMayConfigureLoginSource(trx, actor.roles, { providerId: current.id }, [...groupsNamed(current), ...groupsNamed(next)], "change this identity provider");
        const row = await trx
          .updateTable("identity_providers")
          // The display name only when it changes: SQLite's trigger rebuilds every linked user's document when it is written.
          .set({ ...(next.displayName !== current.displayName ? { display_name: next.displayName } : {}), enabled: next.enabled ? 1 : 0, config: storedConfig(next), version: sql<number>`version + 1`, updated_at: isoNow(), by_system_administrator: madeBySystemAdministrator(actor.roles) })
          .where("id", "=", current.id)
          .where("version", "=", current.version)
          .returningAll()
          .executeTakeFirst();
        if (!row) throw staleVersion((await load(alias, trx)).version);
        if (current.enabled && !next.enabled) {
          await revokeProviderSessions(trx, current.id);
          // It may be the last system administrator's way in.
          await assertSystemAdministratorRemains(trx);
        }
        const linkChanges = subjectsOf(next) === subjectsOf(current) ? {} : await settleLinks(trx, current, links);
        await recordAudit(trx, actor, {
          action: "identity-provider.update",
          target: providerTarget(current),
          details: { before: pick(before, changed), after: pick(after, changed), ...(secretChanged ? { clientSecretChanged: true } : {}), ...linkChanges },
        });
        return toProvider(row);
      });
      if (subjectsOf(next) !== subjectsOf(current) && links === "remove") await releaseMadeUsers(current.id);
      return updated;
    },

    /**
     * Deletes a provider, its links and the memberships its group mapping made, ends the sessions opened through it, keeps the users it made
     * as local users, and says in the audit log which users are left without a way to log in (no
     * password, no directory, no API key, no other link).
     */
    async remove(actor: AdminActor, alias: string, precondition: Precondition): Promise<void> {
      const removed = await db.transaction().execute(async (trx) => {
        const p = await load(alias, trx);
        checkPrecondition(p, precondition);
        await assertMayConfigureLoginSource(trx, actor.roles, { providerId: p.id }, groupsNamed(p), "remove this identity provider");
        const removedLinks = await removeLinks(trx, p.id);
        // Deleted meanwhile by another request: that one says so, this one finds nothing.
        if (Number((await trx.deleteFrom("identity_providers").where("id", "=", p.id).executeTakeFirst()).numDeletedRows) === 0) throw notFound("identity provider", alias);
        await assertSystemAdministratorRemains(trx);
        await recordAudit(trx, actor, { action: "identity-provider.delete", target: providerTarget(p), details: { before: audited(p), ...removedLinks } });
        return p.id;
      });
      await releaseMadeUsers(removed);
    },

    /**
     * The users that providers made and no longer vouch for (the provider deleted, or its links removed at a
     * change of its issuer or client) become local users (as a removed directory's do), their source saying
     * so in every view: in batches after the change's commit, as a provider may have made a million (and on
     * SQLite each row rebuilds the user's document); and at each start, for a release a stop or a store error
     * cut short (marked in the store by the change's transaction: with none marked, a start reads no user).
     */
    releaseMadeUsers: () => releaseMadeUsers(),
  };

  /**
   * Finishes the releases marked (those of `providerId`, else every one), then deletes the marks it
   * read: one a removal writes meanwhile stays, for its own release. Several nodes may finish the same
   * release at once: they make the same users local. Nothing marked, the users are not read.
   */
  async function releaseMadeUsers(providerId?: number): Promise<void> {
    const marks = await db.selectFrom("provider_releases").select(["id", "provider_id"]).$if(providerId !== undefined, (q) => q.where("provider_id", "=", providerId!)).execute();
    if (marks.length === 0) return;
    for (const provider of new Set(marks.map((m) => m.provider_id))) await releaseUsersOf(provider);
    await db.deleteFrom("provider_releases").where("id", "in", marks.map((m) => m.id)).execute();
  }

  /**
   * Makes local the users that `providerId` made and that have no link to it any more: a user a
   * provider made is linked to it from the login that made it on, until the link is removed (an
   * unlink releases its user at once; a provider's deletion or links=remove here, after their commit).
   */
  async function releaseUsersOf(providerId: number): Promise<void> {
    const unvouched = (eb: ExpressionBuilder<Database, "users">) =>
      eb.and([
        eb("users.identity_provider_id", "=", providerId),
        eb.not(eb.exists(eb.selectFrom("federated_identities as f").select("f.user_id").whereRef("f.user_id", "=", "users.id").where("f.provider_id", "=", providerId))),
      ]);
    for (;;) {
      const batch = await db.selectFrom("users").select("id").where(unvouched).limit(1000).execute();
      if (batch.length === 0) return;
      // Checked again as written: a user linked again meanwhile stays its provider's.
      await db.updateTable("users").set({ identity_provider_id: null }).where("id", "in", batch.map((u) => u.id)).where(unvouched).execute();
    }
  }
}

export type ProviderAdmin = ReturnType<typeof createProviderAdmin>;

function pick(values: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, values[k]]));
}
