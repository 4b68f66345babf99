import { randomBytes, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { PasswordHasher } from "../auth/passwords.js";
import type { PasswordPolicy } from "./password-policy.js";
import type { Database } from "../storage/schema.js";
import { isoNow } from "../storage/time.js";
import { recordAudit } from "./audit.js";
import { ADMINISTRATORS_GROUP, BUILTIN_ADMIN_USERNAME, BUILTIN_GROUPS, BUILTIN_ROLES, USERS_GROUP } from "./roles.js";
import { groupNameColumns, userNameColumns } from "./names.js";
import { searchTextFor } from "./user-fields.js";

/** Marks a store whose first start is done (the token keys are made by auth/signing-keys.ts). */
const BOOTSTRAPPED_SETTING = "bootstrapped";

export interface BootstrapResult {
  /** Set only when this start created `sysadmin` with a generated password (to be shown once). */
  generatedAdminPassword?: string;
  /** Set when ECM_ADMIN_PASSWORD was given but `sysadmin` already existed with another password: it was not used. */
  adminPasswordIgnored?: boolean;
}

/** What a start says when ECM_ADMIN_PASSWORD is not sysadmin's password: the tour's login would fail without a word otherwise. */
export const ADMIN_PASSWORD_IGNORED =
  "ECM_ADMIN_PASSWORD is ignored: sysadmin already exists with another password, and restarts never change it. " +
  "Log in with that password (printed by the first start, if it generated it), or set a new one: npm run admin -- reset-password sysadmin";

/**
 * First start on an empty store: built-in roles, groups and `sysadmin`. Later starts (and other nodes
 * starting at the same time) find the mark it leaves and change nothing.
 */
export async function bootstrap(db: Kysely<Database>, hasher: PasswordHasher, policy: PasswordPolicy, adminPassword: string | undefined): Promise<BootstrapResult> {
  if (await isBootstrapped(db)) return adminPassword !== undefined && !(await isAdminPassword(db, hasher, adminPassword)) ? { adminPasswordIgnored: true } : {};
  if (adminPassword !== undefined) policy.check(adminPassword, { username: BUILTIN_ADMIN_USERNAME }, "ECM_ADMIN_PASSWORD");
  const password = adminPassword ?? randomBytes(18).toString("base64url");
  const passwordHash = await hasher.hash(password);
  try {
    await db.transaction().execute(async (trx) => {
      const now = isoNow();
      const roleIds = new Map<string, number>();
      for (const role of BUILTIN_ROLES) {
        const row = await trx
          .insertInto("roles")
          .values({ uuid: randomUUID(), name: role.name, description: role.description, builtin: 1, essential: 1 })
          .returning("id")
          .executeTakeFirstOrThrow();
        roleIds.set(role.name, row.id);
      }
      const groupIds = new Map<string, number>();
      for (const group of BUILTIN_GROUPS) {
        const row = await trx
          .insertInto("groups")
          .values({ uuid: randomUUID(), ...groupNameColumns(group.name), description: group.description, builtin: 1, essential: 1, created_at: now, updated_at: now })
          .returning("id")
          .executeTakeFirstOrThrow();
        groupIds.set(group.name, row.id);
        for (const role of group.roles) await trx.insertInto("group_roles").values({ group_id: row.id, role_id: roleIds.get(role)! }).execute();
      }
      const fields = { username: BUILTIN_ADMIN_USERNAME, first_name: null, last_name: null, email: null };
      const admin = await trx
        .insertInto("users")
        .values({
          ...fields,
          ...userNameColumns(BUILTIN_ADMIN_USERNAME),
          uuid: randomUUID(),
          // The installation's own administrator: the start (or break glass) set its password.
          password_by_system_administrator: 1,
          display_name: BUILTIN_ADMIN_USERNAME,
          description: "Built-in user",
          builtin: 1,
          password_hash: passwordHash,
          password_changed_at: now,
          password_never_expires: 1,
          created_at: now,
          updated_at: now,
          search_text: searchTextFor(fields),
        })
        .returning(["id", "uuid"])
        .executeTakeFirstOrThrow();
      for (const group of [ADMINISTRATORS_GROUP, USERS_GROUP]) {
        await trx.insertInto("group_members").values({ group_id: groupIds.get(group)!, user_id: admin.id }).execute();
      }
      await trx.insertInto("settings").values({ key: BOOTSTRAPPED_SETTING, value: "1" }).execute();
      await recordAudit(trx, { id: null, name: "system", sourceIp: null }, { action: "system.bootstrap", target: { type: "user", id: admin.uuid, name: BUILTIN_ADMIN_USERNAME } });
    });
  } catch (error) {
    // Another node bootstrapped the same empty store at the same moment: its work stands.
    if (await isBootstrapped(db)) return {};
    throw error;
  }
  return adminPassword ? {} : { generatedAdminPassword: password };
}

async function isAdminPassword(db: Kysely<Database>, hasher: PasswordHasher, password: string): Promise<boolean> {
  const admin = await db.selectFrom("users").select("password_hash").where("username", "=", BUILTIN_ADMIN_USERNAME).where("builtin", "=", 1).executeTakeFirst();
  return hasher.verify(admin?.password_hash ?? null, password);
}

async function isBootstrapped(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom("settings").select("key").where("key", "=", BOOTSTRAPPED_SETTING).executeTakeFirst();
  return row !== undefined;
}
