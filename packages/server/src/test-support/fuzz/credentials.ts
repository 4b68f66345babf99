import { decodeJwt, SignJWT } from "jose";
import { sql } from "kysely";
import type { UserRow } from "../../storage/schema.js";
import { isoNow } from "../../storage/time.js";
import { createSecurityAdministrator, createUser } from "../accounts.js";
import type { TestServer } from "../server.js";

/** Every kind of credential a request of the fuzzer carries. */
export const TOKEN_KINDS = ["sysadmin", "secadmin", "user", "apiKey", "none", "expired", "tampered", "revoked", "revokedApiKey", "garbage"] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** Authorization headers that are not a credential at all. */
const GARBAGE = ["Bearer", "Bearer ", "Bearer  ", "Basic c3lzYWRtaW46eA==", "Bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer ecm_", "Bearer ecm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "Digest x", "Bearer " + "A".repeat(9000), "Bearer \u00ff\u00fe", "bearer a b c"];

/**
 * Tokens of every kind for the fuzzer's requests: of a system administrator (`sysadmin`), a security
 * administrator, a plain user and an API key (of sysadmin); none; expired, tampered with, revoked; an
 * API key revoked; not a credential at all. The fuzzer's own requests may delete, disable or demote
 * the accounts behind them: `refresh` issues fresh tokens and makes the accounts again when they can
 * no longer act as their role.
 */
export class Credentials {
  private headers = new Map<TokenKind, string>();
  private secadmin!: UserRow;
  private user!: UserRow;
  private apiKey = "";
  private generation = 0;

  private constructor(private readonly s: TestServer) {}

  static async create(s: TestServer): Promise<Credentials> {
    const credentials = new Credentials(s);
    await credentials.refresh();
    return credentials;
  }

  /** The Authorization header of a kind (`pick` chooses among the garbage ones), or undefined for none. */
  header(kind: TokenKind, pick: number): string | undefined {
    if (kind === "none") return undefined;
    if (kind === "garbage") return GARBAGE[pick % GARBAGE.length];
    return this.headers.get(kind);
  }

  /** Fresh tokens of every kind, the accounts behind them made again if the fuzzer broke them. */
  async refresh(): Promise<void> {
    const { users, sessions, signingKeys } = this.s.server.deps;
    const sysadmin = await users.findByUsername("sysadmin");
    if (!sysadmin) throw new Error("sysadmin is gone");
    const admin = await this.administratorToken(sysadmin);
    this.headers.set("sysadmin", `Bearer ${admin}`);

    if (!this.secadmin || !(await this.holdsRole(admin, this.secadmin.uuid, "security-administrator"))) {
      this.secadmin = (await createSecurityAdministrator(this.s, admin, `fuzz.secadmin.${++this.generation}`)).user;
    }
    if (!this.user || !(await this.stillActs(this.user.uuid))) this.user = await createUser(this.s, admin, `fuzz.user.${++this.generation}`);
    this.headers.set("secadmin", `Bearer ${await this.tokenOf(this.secadmin)}`);
    this.headers.set("user", `Bearer ${await this.tokenOf(this.user)}`);

    if (!this.apiKey || !(await this.canAct(this.apiKey))) {
      this.apiKey = (await this.newApiKey(admin, sysadmin.uuid)).secret;
      const revokedKey = await this.newApiKey(admin, sysadmin.uuid);
      const r = await this.s.api("DELETE", `/security/v1/users/${sysadmin.uuid}/api-keys/${revokedKey.id}`, { token: admin });
      if (r.status !== 204) throw new Error(`revoking an API key failed: ${r.status} ${r.text}`);
      this.headers.set("revokedApiKey", `Bearer ${revokedKey.secret}`);
    }
    this.headers.set("apiKey", `Bearer ${this.apiKey}`);

    const revoked = await sessions.issue(sysadmin, "127.0.0.1", { bySystemAdministrator: true });
    await sessions.revoke(decodeJwt(revoked.access_token).sid as string);
    this.headers.set("revoked", `Bearer ${revoked.access_token}`);

    const { kid, alg, key } = await signingKeys.current();
    const { sid } = decodeJwt(admin);
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await new SignJWT({ sid }).setProtectedHeader({ alg, kid, typ: "JWT" }).setIssuer("ecm-security").setSubject(sysadmin.uuid).setIssuedAt(past - 600).setExpirationTime(past).sign(key);
    this.headers.set("expired", `Bearer ${expired}`);

    // sysadmin's token with another subject and session, its signature kept.
    const [header, , signature] = admin.split(".");
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(admin), sub: this.user.uuid, sid: "x" })).toString("base64url");
    this.headers.set("tampered", `Bearer ${header}.${payload}.${signature}`);
  }

  /**
   * A system administrator's token: sysadmin's, or — once the fuzzer's requests gave the role to another
   * account and then took it from sysadmin, which the rules allow — that account's. That nobody who
   * can log in holds the role any more is a failure: the last-administrator rule did not hold.
   */
  private async administratorToken(sysadmin: UserRow): Promise<string> {
    const { db } = this.s.server.deps.store;
    const members = db
      .selectFrom("group_roles")
      .innerJoin("roles", "roles.id", "group_roles.role_id")
      .innerJoin("group_members", "group_members.group_id", "group_roles.group_id")
      .where("roles.name", "=", "system-administrator")
      .select("group_members.user_id");
    // Members of a group that grants the role, and the users of a profile that is one; sysadmin first.
    const holders = await db
      .selectFrom("users")
      .select("uuid")
      .where((eb) => eb.or([eb("id", "in", members), eb("profile_id", "in", members)]))
      .orderBy(sql`id = ${sysadmin.id}`, "desc")
      .execute();
    const refused: string[] = [];
    for (const { uuid } of holders) {
      let user = await this.s.server.deps.users.findByUuid(uuid);
      if (!user) continue;
      if (user.change_password === 1 && user.password_hash !== null) {
        // It may administer once its password is changed, as its owner would at the next login; the
        // fuzzer, which does not know the password, stands in for that change.
        await db.updateTable("users").set({ change_password: 0, version: sql<number>`version + 1`, updated_at: isoNow() }).where("id", "=", user.id).execute();
        user = (await this.s.server.deps.users.findByUuid(uuid))!;
      }
      const token = await this.tokenOf(user);
      if (await this.holdsRole(token, uuid, "system-administrator")) return token;
      const me = await this.s.api("GET", "/security/v1/me", { token });
      refused.push(`${user.username} (enabled ${user.enabled}, locked out until ${user.locked_out_until}, valid ${user.valid_from}–${user.valid_to}; /me ${me.status} ${me.text.slice(0, 200)})`);
    }
    throw new Error(`no account that can log in holds system-administrator: the last-administrator rule did not hold; holders: ${refused.join("; ") || "none"}`);
  }

  private async tokenOf(user: UserRow): Promise<string> {
    return (await this.s.server.deps.sessions.issue(user, "127.0.0.1", { bySystemAdministrator: true })).access_token;
  }

  private async canAct(token: string): Promise<boolean> {
    return (await this.s.api("GET", "/security/v1/me", { token })).status === 200;
  }

  /** Whether the account still exists and its tokens work. */
  private async stillActs(uuid: string): Promise<boolean> {
    const user = await this.s.server.deps.users.findByUuid(uuid);
    return user !== undefined && (await this.canAct(await this.tokenOf(user)));
  }

  private async holdsRole(adminToken: string, uuid: string, role: string): Promise<boolean> {
    if (!(await this.stillActs(uuid))) return false;
    const roles = await this.s.api<{ name: string }[]>("GET", `/security/v1/users/${uuid}/roles`, { token: adminToken });
    return roles.status === 200 && roles.body.some((r) => r.name === role);
  }

  private async newApiKey(adminToken: string, userId: string): Promise<{ id: string; secret: string }> {
    const r = await this.s.api<{ id: string; secret: string }>("POST", `/security/v1/users/${userId}/api-keys`, { token: adminToken, body: { name: `fuzz-${++this.generation}` } });
    if (r.status !== 201) throw new Error(`creating an API key failed: ${r.status} ${r.text}`);
    return r.body;
  }
}
